"""Emotion classification as a background job, and the device and batch it runs with.

:func:`classification_plan` decides where the model runs (an NVIDIA card when funasr's torch
can use one, else the CPU, saying why; ``dataset.asr.resolve_device``) and how many clips go
through it together (the E-1 batch rule for that card's memory,
:func:`gsv_core.guidelines.emotion_batch_limit`). :func:`start_classification` runs
``gsv_core.emotion.job:run_classification`` through :mod:`gsv_core.jobs`: funasr is
imported in that child only, with progress events and Stop between batches. The job's result
is :class:`~gsv_core.emotion.classify.ClassifyResult` as a dict.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gsv_core.dataset.asr import resolve_device
from gsv_core.emotion.models import check_model_folder
from gsv_core.guidelines import Limit, emotion_batch_limit
from gsv_core.hardware import MachineProfile
from gsv_core.job_watch import find_job
from gsv_core.jobs import JobHandle, jobs_folder, start_job
from gsv_core.workspace import Workspace

__all__ = ["CLASSIFY_TARGET", "ClassificationPlan", "batch_limit", "classification_plan",
           "find_classification", "run_classification", "start_classification"]

CLASSIFY_TARGET = "gsv_core.emotion.job:run_classification"
JOB_LABEL = "Emotions"


@dataclass(frozen=True)
class ClassificationPlan:
    """Where the model runs (``device``, and ``note`` when it is the CPU for a reason) and
    the batch the E-1 rule allows there (``batch``: its value, range and reason)."""

    device: str
    note: str
    batch: Limit


def classification_plan(profile: MachineProfile, device: str = "auto",
                        batch: float | None = None) -> ClassificationPlan:
    """The device (``auto``, ``cpu``, ``cuda`` or ``cuda:N``) and the clamped batch.

    Raises:
        HardwareError: a CUDA device asked for where funasr's torch cannot use it.
    """
    choice = resolve_device(device, profile, "funasr")
    vram = None
    if choice.device.startswith("cuda"):
        index = int(choice.device.split(":", 1)[1])
        vram = next((gpu.vram_gb for gpu in profile.gpus if gpu.index == index), None)
    return ClassificationPlan(choice.device, choice.note, emotion_batch_limit(vram, batch))


def batch_limit(profile: MachineProfile, batch: float | None = None) -> Limit:
    """The E-1 batch limit for the card ``auto`` would pick (the NVIDIA card with the most
    memory), without asking torch whether CUDA works: the UI shows it while it builds, and
    importing torch there costs seconds. A run resolves the device (``classification_plan``)
    and clamps the batch again."""
    cards = [gpu for gpu in profile.gpus if gpu.vendor == "nvidia"]
    vram = max((gpu.vram_gb for gpu in cards), default=None)
    return emotion_batch_limit(vram, batch)


def run_classification(ctx: Any, list_path: str, model_dir: str, device: str = "cpu",
                       batch_size: int = 4, again: bool = False,
                       audio_dir: str | None = None,
                       embeddings: bool = False) -> dict[str, Any]:
    """Job target: classify ``list_path`` (see ``classify.classify_list``)."""
    from gsv_core.emotion.classify import Emotion2vec, classify_list

    check_model_folder(model_dir)   # a clear error before funasr's slow import

    def load() -> Emotion2vec:
        ctx.progress(0, None, "loading emotion2vec (funasr)")
        return Emotion2vec(model_dir, device)

    result = classify_list(list_path, load, batch_size=batch_size, audio_dir=audio_dir,
                           again=again, should_stop=ctx.should_stop, embeddings=embeddings,
                           progress=lambda done, total, message: ctx.progress(done, total,
                                                                               message))
    for problem in result.problems:
        ctx.log(f"line {problem.line_number}: {problem.path}: {problem.message}", "warning")
    data = dataclasses.asdict(result)
    data["results_path"] = os.fspath(result.results_path)
    return data


def start_classification(workspace: Workspace, list_path: str | os.PathLike[str],
                         model_dir: str | os.PathLike[str], plan: ClassificationPlan, *,
                         again: bool = False, embeddings: bool = False) -> JobHandle:
    """Start classifying ``list_path`` in the background with ``plan``; returns at once.

    Raises:
        ModelMissing: the model folder is not a complete emotion2vec_plus folder.
    """
    folder = check_model_folder(model_dir)
    device = plan.device
    env = {}
    if device.startswith("cuda"):   # the job sees its card only, as cuda:0
        env["CUDA_VISIBLE_DEVICES"] = device.split(":", 1)[1]
        device = "cuda:0"
    args = {"list_path": os.fspath(Path(list_path).resolve()), "model_dir": os.fspath(folder),
            "device": device, "batch_size": int(plan.batch.value), "again": again,
            "embeddings": embeddings}
    return start_job(CLASSIFY_TARGET, args, folder=jobs_folder(workspace), env=env,
                     label=JOB_LABEL)


def find_classification(workspace: Workspace) -> JobHandle | None:
    """The running classification, else the newest; None before the first."""
    return find_job([jobs_folder(workspace)], CLASSIFY_TARGET)
