"""The batch probe from the Training tab: starting it, and what the saved probes say.

:func:`start_probe` measures SoVITS, then GPT (with the DPO setting that would run), on the
card the guidelines chose, as one background job (``gsv_core.train.batch_probe:run_probes``)
holding that card's lock like a training does (one GPU job per card). :func:`saved_measurements`
reads the probes saved for the card and the experiment's current data, as
:func:`gsv_core.guidelines.training_limits` takes them; :func:`probe_lines` says them in words.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gsv_core.errors import ConfigError
from gsv_core.guidelines import TrainingLimits
from gsv_core.hardware import GpuInfo, MachineProfile
from gsv_core.i18n import mark
from gsv_core.job_watch import JobSnapshot, find_job
from gsv_core.jobs import JobHandle, jobs_folder
from gsv_core.models.registry import require_pretrained
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.train.launch import check_formatted, start_gpu_job
from gsv_core.train.probe_results import (
    DEFAULT_TIME_LIMIT_S,
    ProbeResult,
    load_probe,
    measured_batch,
)
from gsv_core.train.run_form import KIND_NAMES
from gsv_core.workspace import Workspace

__all__ = ["PROBE_LABEL", "PROBE_TARGET", "find_probe", "probe_card", "probe_job_text",
           "probe_lines", "saved_measurements", "start_probe"]

PROBE_TARGET = "gsv_core.train.batch_probe:run_probes"
PROBE_LABEL = "Batch probe"
Translate = Callable[..., str]


def probe_card(profile: MachineProfile, limits: TrainingLimits) -> GpuInfo | None:
    """The card the limits were computed for, or None when training would use the CPU."""
    device = limits.decision.device
    if not device.startswith("cuda"):
        return None
    index = int(device.split(":", 1)[1])
    return next((gpu for gpu in profile.gpus if gpu.index == index), None)


def _saved(workspace: Workspace, experiment: str, gpu: GpuInfo,
           ) -> dict[tuple[str, bool], ProbeResult | None]:
    files = ExperimentFiles.of(workspace, experiment)
    return {(kind, dpo): load_probe(files, kind, dpo, gpu.name, gpu.vram_gb)  # type: ignore[arg-type]
            for kind, dpo in (("sovits", False), ("gpt", False), ("gpt", True))}


def saved_measurements(workspace: Workspace | None, experiment: str | None,
                       gpu: GpuInfo | None, use: bool) -> dict[str, Any]:
    """``training_limits``' ``*_measured`` arguments: the probes saved for ``gpu`` and the
    experiment's current data (none on the CPU, without a workspace, for an unsafe name or a
    missing folder)."""
    if gpu is None or not experiment or workspace is None:
        return {}
    try:
        saved = _saved(workspace, experiment, gpu)
    except ConfigError:   # a name that cannot be a folder: the run section says why
        return {}
    return {"sovits_measured": measured_batch(saved["sovits", False], use),
            "gpt_measured": measured_batch(saved["gpt", False], use),
            "gpt_dpo_measured": measured_batch(saved["gpt", True], use)}


def _result_line(result: ProbeResult, table: int, t: Translate) -> str:
    model = KIND_NAMES[result.kind] + (" + DPO" if result.dpo else "")
    if result.largest_fit is None:
        return t(mark("{model}: even batch 1 ran out of memory."), model=model)
    if result.first_failure is not None:
        return t(mark("{model}: batch {fit} fits, {fail} ran out of memory (the tables say "
                      "{table})."), model=model, fit=result.largest_fit,
                 fail=result.first_failure, table=table)
    return t(mark("{model}: batch {fit} fits; larger sizes were not tried (the tables say "
                  "{table})."), model=model, fit=result.largest_fit, table=table)


def probe_lines(workspace: Workspace | None, experiment: str | None, profile: MachineProfile,
                limits: TrainingLimits, rules: TrainingLimits, t: Translate) -> list[str]:
    """What the saved probes say for this card and experiment, one line a model; ``rules``
    are the limits without any measurement (the tables' values to compare with)."""
    gpu = probe_card(profile, limits)
    if gpu is None:
        return [t(mark("The batch probe measures GPU memory; training here runs on the CPU."))]
    if not experiment or workspace is None:
        return []
    try:
        saved = _saved(workspace, experiment, gpu)
    except ConfigError:
        return []
    tables = {"sovits": int(rules.sovits_batch.max), "gpt": int(rules.gpt_batch.max)}
    lines = [_result_line(result, tables[kind], t) for (kind, dpo), result in saved.items()
             if result is not None and (kind == "sovits" or dpo == limits.dpo_on)]
    if not lines:
        lines.append(t(mark("Not measured on {card} for this data yet."), card=gpu.name))
    return lines


def start_probe(workspace: Workspace, experiment: str, profile: MachineProfile,
                rules: TrainingLimits, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
                ) -> JobHandle:
    """Start measuring SoVITS then GPT on the card ``rules`` chose (the limits without any
    measurement: each search starts at the tables' value); returns at once.

    Raises:
        ConfigError: training would run on the CPU, or a model of the experiment is training.
        DatasetError: the experiment is not formatted for SoVITS or GPT.
        ModelMissing: a pretrained model to start from is missing (where to put it).
        HardwareError: the card is in use by another job (named).
    """
    gpu = probe_card(profile, rules)
    if gpu is None:
        raise ConfigError("The batch probe measures GPU memory, and training here runs on "
                          "the CPU, where every batch fits.",
                          "Run it on a machine with an NVIDIA GPU.")
    for kind in ("sovits", "gpt"):
        check_formatted(workspace, experiment, kind)
    for key in ("sovits_generator", "gpt"):   # say what is missing now, not from the job
        require_pretrained(workspace, key)
    configs, starts = [], []
    for kind, limit in (("sovits", rules.sovits_batch), ("gpt", rules.gpt_batch)):
        config = TrainConfig(kind=kind, workspace=str(workspace.root),  # type: ignore[arg-type]
                             experiment=experiment, epochs=1, batch_size=int(limit.max),
                             save_every=1, lr_weight=float(rules.lr_weight.value),
                             dpo=kind == "gpt" and rules.dpo_on, device="cuda", gpus=(0,))
        configs.append(json.loads(config.to_json()))
        starts.append(int(limit.max))
    args = {"configs": configs, "starts": starts, "time_limit_s": time_limit_s,
            "card_name": gpu.name, "card_gb": gpu.vram_gb}
    return start_gpu_job(workspace, experiment, (gpu.index,), PROBE_TARGET, args,
                         kinds=["batch probe"], label=PROBE_LABEL)


def find_probe(workspace: Workspace, experiment: str | None) -> JobHandle | None:
    """The experiment's running probe, else its newest; None when never probed here."""
    if not experiment:
        return None
    try:
        return find_job([jobs_folder(workspace, experiment)], PROBE_TARGET)
    except ConfigError:
        return None


def probe_job_text(snapshot: JobSnapshot, t: Translate) -> str:
    """How a probe job stands or ended, for the status under the button."""
    status = snapshot.status
    if status.state == "running":
        return "⏳ " + (snapshot.message or t(mark("starting")))
    if status.state == "failed":
        text = "❌ " + t(mark("The batch probe failed: {cause}"), cause=status.cause)
        return text + (f"\n\n{status.advice}" if status.advice else "")
    done = t(mark("The batch probe was stopped; what it measured is kept.")) \
        if status.state == "stopped" else t(mark("The batch probe finished."))
    return ("⏹ " if status.state == "stopped" else "✅ ") + done

