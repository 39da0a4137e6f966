"""``gsv-studio plan``: the guideline engine's training plan, for scripts and support.

Without ``--dpo``/``--no-dpo`` the plan is exactly the one the training tab's
"Use the recommended plan" button applies: both call
``gsv_core.guidelines.plan_from_fields`` with the same inputs, and DPO follows
the goal's recommendation (D-1..D-3). The flags override it.

Prints a readable plan, or with ``--json`` one JSON object whose shape is a
compatibility promise (keys may be added, never removed or renamed)::

    {"gpu": {"name", "vram_gb", "row_gb", "usable", "reasons"},
     "limits": {"sovits_batch": L, "gpt_batch": L, "sovits_epochs": L, "gpt_epochs": L,
                "lr_weight": L, "sovits_save_every": L, "gpt_save_every": L,
                "save_every": L},
     "dpo": {"available", "recommended", "needs_confirmation", "reasons"},
     "plan": {"sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "dpo",
              "dpo_confirmed", "emotion_classification", "order", "parallel", "device",
              "sovits_device", "gpt_device", "inference_device", "lr_weight",
              "sovits_save_every", "gpt_save_every", "warnings", "blockers", "notes"}}

with each ``L`` = ``{"min", "max", "default", "value", "binding", "reasons"}``:
``binding`` is the reason that sets the maximum now, ``reasons`` all of them,
every reason starting with its rule id. ``limits.save_every`` is the SoVITS
save interval, kept under its first name for compatibility (same as
``limits.sovits_save_every``). ``gpu`` is the card SoVITS trains on (or the
first card when training runs on the CPU); in parallel training GPT's card is
``plan.gpt_device``, and ``limits.gpt_batch`` and ``dpo`` are that card's.

``--dataset-report FILE`` reads the dataset facts (minutes, 95th-percentile slice, clips,
quality verdict) from a saved ``gsv-studio quality --json`` report, the measured summary
the Dataset tab also hands the engine; a dataset flag given as well wins (said on stderr).

Exit codes: 0 ok, 2 bad arguments (a message on stderr saying what to change).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence

from gsv_core.errors import ConfigError, DatasetError
from gsv_core.guidelines import (
    Limit,
    TrainPlan,
    classify_gpu,
    dataset_from_fields,
    plan_from_fields,
)
from gsv_core.hardware import FAKE_GPU_ENV, MachineProfile, detect_machine, parse_fake_gpu

__all__ = ["build_parser", "finite_number", "format_plan", "main", "plan_to_dict"]

EXIT_OK, EXIT_USAGE = 0, 2

# The dataset flags and the plan_from_fields argument each one fills.
_DATASET_FLAGS = (("--minutes", "minutes"), ("--p95-slice", "p95_slice_s"),
                  ("--clips", "clip_count"), ("--quality", "quality"),
                  ("--reviewed", "reviewed_pct"))


def finite_number(text: str) -> float:
    """argparse type: a finite number; the range is checked by the guideline engine
    (``dataset_from_fields``, ``training_limits``), also for ``gsv-studio train``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number: give a plain "
                                         "number such as 45")
    return value


def _reviewed_pct(text: str) -> float:
    """'0.5' (a fraction) or '50%' (a percentage) → 50.0 percent proofread."""
    stripped = text.strip()
    percent = stripped.endswith("%")
    advice = "give a fraction from 0 to 1 (e.g. 0.5) or a percentage (e.g. 50%)"
    try:
        value = float(stripped[:-1] if percent else stripped)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number: {advice}") from None
    pct = value if percent else value * 100
    if not (math.isfinite(pct) and 0 <= pct <= 100):
        raise argparse.ArgumentTypeError(f"'{text}' is out of range: {advice}")
    return pct


def _gpu_index(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a GPU index: give a whole number such as 0") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio plan",
        description="Recommend a GPT-SoVITS v2 training plan for a GPU and a dataset, "
                    "following the training guidelines (every reason names its rule). "
                    "Without --dpo/--no-dpo, DPO follows the recommendation for --goal.")
    parser.add_argument("--gpu", metavar="NAME:GB[;NAME:GB...]",
                        help="cards to plan for, e.g. 'NVIDIA GeForce RTX 4090:24', or 'cpu' / "
                             "'mps' (default: this machine's hardware)")
    parser.add_argument("--gpu-index", type=_gpu_index, default=None, metavar="N",
                        help="which card to train on (default: the usable card with most memory)")
    dpo = parser.add_mutually_exclusive_group()
    dpo.add_argument("--dpo", dest="dpo", action="store_const", const=True, default=None,
                     help="turn DPO on (the GPT batch limit then uses the DPO row)")
    dpo.add_argument("--no-dpo", dest="dpo", action="store_const", const=False,
                     help="turn DPO off")
    parser.add_argument("--confirm-dpo", action="store_true",
                        help="accept DPO on a dataset that failed its quality checks or is not "
                             "fully proofread (D-3)")
    parser.add_argument("--minutes", type=finite_number, default=None,
                        help="total dataset duration in minutes (default: not measured)")
    parser.add_argument("--p95-slice", type=finite_number, default=None, metavar="S",
                        help="95th-percentile slice length in seconds")
    parser.add_argument("--clips", type=finite_number, default=None, metavar="N",
                        help="number of clips in the dataset (a batch holds at most this many)")
    parser.add_argument("--quality", choices=("good", "poor", "unknown"), default=None,
                        help="verdict of the dataset quality checks (default: unknown)")
    parser.add_argument("--dataset-report", metavar="FILE", default=None,
                        help="a saved quality report (gsv-studio quality LIST --json > FILE): "
                             "its minutes, 95th-percentile slice, clips and verdict; "
                             "--minutes, --p95-slice, --clips or --quality given too win")
    parser.add_argument("--reviewed", type=_reviewed_pct, default=0.0, metavar="F|P%",
                        help="share of labels proofread by a person: a fraction (0.5) or a "
                             "percentage (50%%)")
    parser.add_argument("--emotion-list", metavar="LIST", default=None,
                        help="the dataset's .list: its emotion tags (LIST.emotion.tsv, from "
                             "gsv-studio emotion) say whether E-1 was done and how much was "
                             "reviewed")
    parser.add_argument("--goal", choices=("best", "fast"), default="best",
                        help="'best' quality or 'fast' training")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _limit_dict(limit: Limit) -> dict[str, object]:
    return {"min": limit.min, "max": limit.max, "default": limit.default, "value": limit.value,
            "binding": limit.binding.text() if limit.binding else None,
            "reasons": limit.reason_texts()}


def plan_to_dict(plan: TrainPlan, profile: MachineProfile) -> dict[str, object]:
    """The JSON form of a plan (see the module docstring for the promised shape)."""
    gpu = plan.decision.gpu or (profile.gpus[0] if profile.gpus else None)
    verdict = classify_gpu(gpu) if gpu is not None else None
    gpu_reasons = [r.text() for r in (verdict.reasons if verdict else ())]
    gpu_reasons += [r.text() for r in plan.decision.reasons if r.text() not in gpu_reasons]
    chosen = plan.limits
    limits = {name: _limit_dict(getattr(chosen, name)) for name in (
        "sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "lr_weight",
        "sovits_save_every", "gpt_save_every")}
    limits["save_every"] = limits["sovits_save_every"]  # the first name, kept for compatibility
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
            "dpo_confirmed": chosen.dpo_confirmed,
            "emotion_classification": plan.emotion.recommended,
            "order": list(plan.schedule.order), "parallel": plan.schedule.parallel,
            "device": plan.decision.device, "sovits_device": plan.schedule.sovits_device,
            "gpt_device": plan.schedule.gpt_device,
            "inference_device": plan.decision.inference_device,
            "lr_weight": chosen.lr_weight.value,
            "sovits_save_every": int(chosen.sovits_save_every.value),
            "gpt_save_every": int(chosen.gpt_save_every.value),
            "warnings": [r.text() for r in plan.warnings],
            "blockers": [r.text() for r in plan.blockers],
            "notes": [r.text() for r in (*plan.schedule.reasons, *plan.emotion.reasons,
                                         *plan.dataset_length.reasons, *chosen.heat.reasons)]},
    }


def _device_label(device: str) -> str:
    """'cuda:1' → 'GPU 1'; 'cpu' → 'the CPU'."""
    return f"GPU {device.split(':', 1)[1]}" if device.startswith("cuda:") else "the CPU"


def _order_line(plan: dict) -> str:
    if plan["parallel"]:
        return (f"Order: in parallel: SoVITS on {_device_label(plan['sovits_device'])}, "
                f"GPT on {_device_label(plan['gpt_device'])}")
    return f"Order: SoVITS first, then GPT, both on {_device_label(plan['sovits_device'])}"


def format_plan(data: dict) -> str:
    """The readable form: the plan first, then each limit with its reasons."""
    gpu, plan = data["gpu"], data["plan"]
    if plan["device"] == "cpu":
        lines = [f"Training device: CPU ({gpu['name']} cannot train)" if gpu["vram_gb"] else
                 "Training device: CPU (no GPU found)"]
    else:
        lines = [f"Training device: {_device_label(plan['device'])}: {gpu['name']} "
                 f"({gpu['vram_gb']} GB)"]
    lines += [f"  - {reason}" for reason in gpu["reasons"]]
    lines.append(_order_line(plan))
    lines.append(f"Plan: SoVITS batch {plan['sovits_batch']}, {plan['sovits_epochs']} rounds; "
                 f"GPT batch {plan['gpt_batch']}, {plan['gpt_epochs']} rounds; "
                 f"DPO {'on' if plan['dpo'] else 'off'}; "
                 "emotion classification "
                 f"{'first (recommended)' if plan['emotion_classification'] else 'optional'}")
    for name, limit in data["limits"].items():
        if name == "save_every":
            continue  # the same limit as sovits_save_every, printed once
        lines.append(f"{name}: {limit['min']}-{limit['max']} (default {limit['default']}) — "
                     f"{limit['binding']}")
        lines += [f"  - {reason}" for reason in limit["reasons"] if reason != limit["binding"]]
    lines.append(f"DPO: {'available' if data['dpo']['available'] else 'not available'}"
                 f"{', recommended' if data['dpo']['recommended'] else ''}")
    lines += [f"  - {reason}" for reason in data["dpo"]["reasons"]]
    if plan["blockers"]:
        lines.append("Cannot start as set:")
        lines += [f"  ✗ {blocker}" for blocker in plan["blockers"]]
    if plan["warnings"]:
        lines.append("Warnings:")
        lines += [f"  ! {warning}" for warning in plan["warnings"]]
    lines.append("Notes:")
    lines += [f"  - {note}" for note in plan["notes"]]
    return "\n".join(lines)


def _dataset_flag_problems(fields: dict[str, object]) -> list[str]:
    """Each refused dataset value, prefixed with the flag that gave it."""
    problems = []
    for flag, field in _DATASET_FLAGS:
        only = {name: None for _, name in _DATASET_FLAGS} | {field: fields[field]}
        problems += [f"{flag}: {p.text()}" for p in dataset_from_fields(**only).problems]
    return problems


def _gpu_index_problem(profile: MachineProfile, index: int | None) -> str | None:
    known = [gpu.index for gpu in profile.gpus]
    if index is None or index in known:
        return None
    found = ", ".join(map(str, known)) or "none"
    return (f"--gpu-index {index}: there is no GPU with that index (GPUs found: {found}). "
            "Leave --gpu-index out to train on the best usable card.")


def _usage_error(message: str) -> int:
    print(f"gsv-studio plan: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _print(text: str) -> None:
    """Print, staying quiet when the reader went away (``gsv-studio plan | head -1``)."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's documented recipe: point stdout at devnull so the flush at exit
        # does not raise (and print a traceback) a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _with_report(fields: dict[str, object], report_path: str) -> dict[str, object]:
    """The report's dataset fields, except where a flag gave a value (noted on stderr)."""
    from gsv_core.dataset.quality_summary import read_dataset_report

    measured = read_dataset_report(report_path)
    for flag, field in _DATASET_FLAGS:
        if field in measured and fields[field] is not None:
            print(f"gsv-studio plan: {flag} {fields[field]} overrides the report's "
                  f"{measured[field]}", file=sys.stderr)
    return {field: value if value is not None or field not in measured else measured[field]
            for field, value in fields.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 with a message on bad arguments
    fields = {field: getattr(args, flag[2:].replace("-", "_")) for flag, field in _DATASET_FLAGS}
    try:
        if args.dataset_report is not None:
            fields = _with_report(fields, args.dataset_report)
        if args.gpu is not None:
            parse_fake_gpu(args.gpu, "--gpu")  # an empty or malformed --gpu is an error here
        env = {FAKE_GPU_ENV: args.gpu} if args.gpu is not None else None
        profile = detect_machine(env, fake_source="--gpu")
        problems = _dataset_flag_problems(fields)
        index_problem = _gpu_index_problem(profile, args.gpu_index)
        if problems or index_problem:
            return _usage_error(" ".join([*problems, *filter(None, [index_problem])]))
        state = None
        if args.emotion_list is not None:
            from gsv_core.emotion.results import emotion_state

            state = emotion_state(args.emotion_list)
        plan = plan_from_fields(profile, **fields, goal=args.goal, gpu_index=args.gpu_index,
                                dpo=args.dpo, dpo_confirmed=args.confirm_dpo,
                                emotion_state=state)
    except (ConfigError, DatasetError) as exc:
        return _usage_error(str(exc))
    data = plan_to_dict(plan, profile)
    _print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_plan(data))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
