"""Resume checkpoints: written atomically, read newest-intact-first (T-2, issue 11 item 3).

A resume checkpoint holds everything a run needs to continue exactly where it stopped: model
and optimizer state, the grad scaler, the sampler's position and RNG state, epoch and step.
Files are named ``<kind>-e<epoch>-s<step>.resume.pt`` in ``logs/<exp>/resume/``, written
through :func:`gsv_core.atomic_write.write_atomically`, so a file under its final name is
always whole. A file that is damaged anyway (a disk error, a copy cut short) is skipped with a
warning and the next newest one is used; it is never deleted, so nothing is lost silently.
The newest ``keep`` good files are kept, older ones removed after a new one is written.
"""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gsv_core.atomic_write import remove_stale_temporaries, write_atomically

__all__ = ["RESUME_FOLDER", "ResumePoint", "find_resume_points", "load_newest",
           "load_optimizer_state", "remove_interrupted_writes", "resume_dir", "save_resume"]

logger = logging.getLogger(__name__)

RESUME_FOLDER = "resume"
_NAME = re.compile(r"^(?P<kind>sovits|gpt)-e(?P<epoch>\d+)-s(?P<step>\d+)\.resume\.pt$")


@dataclass(frozen=True)
class ResumePoint:
    path: Path
    kind: str
    epoch: int
    step: int


def resume_dir(experiment_dir: str | os.PathLike[str]) -> Path:
    return Path(experiment_dir) / RESUME_FOLDER


def find_resume_points(experiment_dir: str | os.PathLike[str], kind: str) -> list[ResumePoint]:
    """The resume files of ``kind``, newest (highest epoch, then step) first."""
    folder = resume_dir(experiment_dir)
    points = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = _NAME.match(path.name)
            if match and match["kind"] == kind:
                points.append(ResumePoint(path, kind, int(match["epoch"]), int(match["step"])))
    return sorted(points, key=lambda p: (p.epoch, p.step), reverse=True)


def save_resume(experiment_dir: str | os.PathLike[str], kind: str, epoch: int, step: int,
                state: Mapping[str, Any], *, keep: int = 2) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists and dicts of them) as the resume
    point for ``epoch`` (the last *finished* epoch, or the current one when stopped mid-epoch)
    and ``step`` (optimizer steps so far); then drop all but the newest ``keep`` files."""
    folder = resume_dir(experiment_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-e{epoch:04d}-s{step:08d}.resume.pt"
    buffer = io.BytesIO()
    torch.save({"kind": kind, "epoch": epoch, "step": step, **state}, buffer)
    payload = buffer.getvalue()
    write_atomically(path, lambda handle: handle.write(payload))
    for old in find_resume_points(experiment_dir, kind)[keep:]:
        try:
            old.path.unlink()
        except OSError as exc:  # another reader on Windows; harmless, tried again next time
            logger.warning("could not remove the old resume file %s: %s", old.path, exc)
    return path


def load_newest(experiment_dir: str | os.PathLike[str], kind: str, *,
                warn: Callable[[str], None] | None = None,
                map_location: str | torch.device = "cpu") -> tuple[ResumePoint, dict] | None:
    """The newest resume point that loads, with its state; None when there is none.

    A file that fails to load is reported through ``warn`` (the run's log) and skipped.
    ``weights_only`` loading: a resume file holds data, never code.
    """
    for point in find_resume_points(experiment_dir, kind):
        try:
            state = torch.load(point.path, map_location=map_location, weights_only=True)
            if not isinstance(state, dict) or state.get("kind") != kind:
                raise ValueError("not a resume checkpoint of this kind")
        except Exception as exc:  # any damage means "skip this one"
            message = (f"The resume checkpoint {point.path.name} is damaged ({exc}); using an "
                       "older one. The file is left in place.")
            logger.warning(message)
            if warn is not None:
                warn(message)
            continue
        return point, state
    return None


_IMPLEMENTATION_FLAGS = ("fused", "foreach", "capturable")


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Load a saved optimizer state into ``optimizer`` but keep this run's implementation.

    Why: ``Optimizer.load_state_dict`` takes the saved groups' ``fused``/``foreach`` flags and
    places each ``step`` counter by them, so a checkpoint written on a CPU (plain AdamW, step
    on the CPU) made the fused CUDA AdamW of a resumed GPU run stop at its first step
    ("state_steps is on cpu"), and one written on a GPU switched a CPU run to the fused
    kernel. The flags of the optimizer as this run built it win, and where they ask for a
    fused or capturable step the counters move to their parameter's device as float32.
    """
    kept = [{k: group.get(k) for k in _IMPLEMENTATION_FLAGS if k in group}
            for group in optimizer.param_groups]
    optimizer.load_state_dict(dict(state))
    for group, flags in zip(optimizer.param_groups, kept, strict=True):
        group.update(flags)
        on_device = bool(group.get("fused") or group.get("capturable"))
        for param in group["params"]:
            counters = optimizer.state.get(param)
            if not counters or not isinstance(counters.get("step"), torch.Tensor):
                continue
            step = counters["step"]
            counters["step"] = (step.to(param.device, torch.float32) if on_device
                                else step.to("cpu", torch.float32))


def remove_interrupted_writes(experiment_dir: str | os.PathLike[str], kind: str,
                              weights_dir: str | os.PathLike[str], export_prefix: str,
                              export_suffix: str, log: Callable[[str], None] | None = None
                              ) -> list[Path]:
    """At a run's start: delete what checkpoint and export writes of an earlier run of this
    experiment and ``kind`` left when the process was killed inside them (temporary files,
    never under a final name; see ``atomic_write.remove_stale_temporaries``); ``log`` is
    told what went."""
    removed = remove_stale_temporaries(resume_dir(experiment_dir),
                                       lambda name: name.startswith(f"{kind}-"))
    removed += remove_stale_temporaries(
        weights_dir, lambda name: name.startswith(export_prefix) and name.endswith(export_suffix))
    if removed and log is not None:
        log(f"Removed {len(removed)} unfinished file(s) of an interrupted run: "
            + ", ".join(p.name for p in removed))
    return removed
