"""``gsv-studio plan``: the guideline engine's training plan, for scripts and support.

Prints a readable plan, or with ``--json`` one JSON object whose shape is a
compatibility promise (keys may be added, never removed or renamed)::

    {"gpu": {"name", "vram_gb", "row_gb", "usable", "reasons"},
     "limits": {"sovits_batch": L, "gpt_batch": L, "sovits_epochs": L, "gpt_epochs": L,
                "lr_weight": L, "save_every": L},
     "dpo": {"available", "recommended", "reasons"},
     "plan": {"sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "dpo",
              "emotion_classification", "order", "device", "warnings"}}

with each ``L`` = ``{"min", "max", "default", "reasons"}`` and every reason
starting with its rule id. Exit codes: 0 ok, 2 bad arguments (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from gsv_core.errors import ConfigError
from gsv_core.guidelines import DatasetSummary, Limit, TrainPlan, classify_gpu, recommend
from gsv_core.hardware import FAKE_GPU_ENV, MachineProfile, detect_machine

__all__ = ["build_parser", "main", "plan_to_dict"]

EXIT_OK, EXIT_USAGE = 0, 2


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio plan",
        description="Recommend a GPT-SoVITS v2 training plan for a GPU and a dataset, "
                    "following the training guidelines (every reason names its rule).")
    parser.add_argument("--gpu", metavar="NAME:GB[;NAME:GB...]",
                        help="cards to plan for, e.g. 'NVIDIA GeForce RTX 4090:24', or 'cpu' / "
                             "'mps' (default: this machine's hardware)")
    parser.add_argument("--gpu-index", type=int, default=None,
                        help="which card to train on (default: the usable card with most memory)")
    parser.add_argument("--dpo", action="store_true",
                        help="turn DPO on (the GPT batch limit then uses the DPO row)")
    parser.add_argument("--minutes", type=_non_negative, default=None,
                        help="total dataset duration in minutes")
    parser.add_argument("--p95-slice", type=_positive, default=None, metavar="S",
                        help="95th-percentile slice length in seconds")
    parser.add_argument("--quality", choices=("good", "poor", "unknown"), default="unknown",
                        help="verdict of the dataset quality checks")
    parser.add_argument("--reviewed", type=_fraction, default=0.0, metavar="F",
                        help="fraction (0-1) of labels proofread by a person")
    parser.add_argument("--goal", choices=("best", "fast"), default="best",
                        help="'best' quality or 'fast' training")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _limit_dict(limit: Limit) -> dict[str, object]:
    return {"min": limit.min, "max": limit.max, "default": limit.default,
            "reasons": limit.reason_texts()}


def plan_to_dict(plan: TrainPlan, profile: MachineProfile) -> dict[str, object]:
    """The JSON form of a plan (see the module docstring for the promised shape)."""
    gpu = plan.decision.gpu or (profile.gpus[0] if profile.gpus else None)
    verdict = classify_gpu(gpu) if gpu is not None else None
    gpu_reasons = [r.text() for r in (verdict.reasons if verdict else ())]
    gpu_reasons += [r.text() for r in plan.decision.reasons if r.text() not in gpu_reasons]
    chosen = plan.limits
    limits = {name: _limit_dict(getattr(chosen, name)) for name in (
        "sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "lr_weight")}
    # One "save_every" for the promised shape: SoVITS's (both follow the same rule);
    # the GPT one is given too.
    limits["save_every"] = _limit_dict(chosen.sovits_save_every)
    limits["gpt_save_every"] = _limit_dict(chosen.gpt_save_every)
    return {
        "gpu": {"name": gpu.name if gpu else "CPU", "vram_gb": gpu.vram_gb if gpu else 0,
                "row_gb": verdict.row_gb if verdict else None,
                "usable": bool(verdict and verdict.usable), "reasons": gpu_reasons},
        "limits": limits,
        "dpo": {"available": plan.dpo.available, "recommended": plan.dpo.recommended,
                "needs_confirmation": plan.dpo.needs_confirmation,
                "reasons": [r.text() for r in plan.dpo.reasons]},
        "plan": {
            "sovits_batch": int(chosen.sovits_batch.value),
            "gpt_batch": int(chosen.gpt_batch.value),
            "sovits_epochs": int(chosen.sovits_epochs.value),
            "gpt_epochs": int(chosen.gpt_epochs.value), "dpo": plan.dpo_on,
            "emotion_classification": plan.emotion.recommended,
            "order": list(plan.schedule.order), "parallel": plan.schedule.parallel,
            "device": plan.decision.device, "inference_device": plan.decision.inference_device,
            "lr_weight": chosen.lr_weight.value,
            "sovits_save_every": int(chosen.sovits_save_every.value),
            "gpt_save_every": int(chosen.gpt_save_every.value),
            "warnings": [r.text() for r in plan.warnings],
            "notes": [r.text() for r in (*plan.schedule.reasons, *plan.emotion.reasons,
                                         *plan.dataset_length.reasons, *chosen.heat.reasons)]},
    }


def format_plan(data: dict) -> str:
    """The readable form: the plan first, then each limit with its reasons."""
    gpu, plan = data["gpu"], data["plan"]
    lines = [f"GPU: {gpu['name']} ({gpu['vram_gb']} GB, "
             f"{'usable' if gpu['usable'] else 'not usable for training'})"]
    lines += [f"  - {reason}" for reason in gpu["reasons"]]
    lines.append(f"Train on: {plan['device']}   order: {' -> '.join(plan['order'])}"
                 f"{' (in parallel)' if plan['parallel'] else ''}")
    lines.append(f"Plan: SoVITS batch {plan['sovits_batch']}, {plan['sovits_epochs']} rounds; "
                 f"GPT batch {plan['gpt_batch']}, {plan['gpt_epochs']} rounds; "
                 f"DPO {'on' if plan['dpo'] else 'off'}; "
                 "emotion classification "
                 f"{'recommended' if plan['emotion_classification'] else 'optional'}")
    for name, limit in data["limits"].items():
        lines.append(f"{name}: {limit['min']}-{limit['max']} (default {limit['default']})")
        lines += [f"  - {reason}" for reason in limit["reasons"]]
    lines.append(f"DPO: {'available' if data['dpo']['available'] else 'not available'}"
                 f"{', recommended' if data['dpo']['recommended'] else ''}")
    lines += [f"  - {reason}" for reason in data["dpo"]["reasons"]]
    if plan["warnings"]:
        lines.append("Warnings:")
        lines += [f"  ! {warning}" for warning in plan["warnings"]]
    lines.append("Notes:")
    lines += [f"  - {note}" for note in plan["notes"]]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a message on bad arguments
    env = {FAKE_GPU_ENV: args.gpu} if args.gpu else None
    try:
        profile = detect_machine(env, fake_source="--gpu")
        dataset = DatasetSummary(
            total_duration_s=None if args.minutes is None else args.minutes * 60,
            p95_slice_s=args.p95_slice, quality=args.quality, reviewed_fraction=args.reviewed)
        plan = recommend(profile, dataset, args.goal, gpu_index=args.gpu_index, dpo=args.dpo)
    except ConfigError as exc:
        print(f"gsv-studio plan: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    data = plan_to_dict(plan, profile)
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_plan(data))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
