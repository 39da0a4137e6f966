"""What a trainer reports through, and the run's result.

A trainer never prints: it reports through a :class:`TrainReporter`. In a background job that
is the job's :class:`gsv_core.job_child.JobContext` (events go to ``events.jsonl`` for the UI's
bars, plots and log); the CLI passes its own reporter (JSON lines to ``--events FILE``, a
progress line on stderr). Both have the same five methods, so the trainer cannot tell them apart.

Event vocabulary the trainers write (the UI and the CLI read exactly these):

- ``progress(done, total, message)``: optimizer steps done of the run's total; the message
  reads "round 3 of 10, step 120 of 400" (T-1, T-3).
- ``metric(name, value, step)``: one point of a curve at a global optimizer step; names are
  ``"<kind>/<loss>"`` (:data:`METRIC_PREFIX`), e.g. ``sovits/loss_mel``, ``gpt/loss``,
  ``gpt/loss_dpo``, ``gpt/top3_acc``, plus ``<kind>/lr``.
- ``emit("train_step", epoch=, epochs=, step=, steps=, epoch_step=, epoch_steps=,
  samples_per_s=, eta_s=, lr=, gpu_memory_gb=)``: a heartbeat with speed and ETA, at most
  every few seconds.
- ``emit("exported", model=, path=, epoch=, step=)``: a weight file in upstream's format
  (``model`` "sovits" or "gpt": ``emit``'s own first argument is already called ``kind``, and
  every event of a trainer carries ``model=`` so a queue's two runs can be told apart).
- ``emit("checkpoint", path=, epoch=, step=)``: a resume checkpoint was written.
- ``emit("resumed", path=, epoch=, step=)``: the run continues from that checkpoint.
- ``log(message, level)``: warnings a user must read (a missing discriminator, a skipped
  clip, a NaN loss).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["METRIC_PREFIX", "SilentReporter", "TrainReporter", "TrainResult"]

METRIC_PREFIX = {"sovits": "sovits/", "gpt": "gpt/"}


class TrainReporter(Protocol):
    """The reporting half of a JobContext (see :class:`gsv_core.job_child.JobContext`)."""

    def progress(self, done: float, total: float | None = None, message: str = "") -> None: ...

    def log(self, message: str, level: str = "info") -> None: ...

    def metric(self, name: str, value: float, step: int) -> None: ...

    def emit(self, kind: str, **data: Any) -> None: ...

    def should_stop(self) -> bool: ...


@dataclass(frozen=True)
class TrainResult:
    """How a run ended: ``stopped`` True when the user asked; ``exported`` every weight file
    written (upstream format), newest last; ``epoch``/``step`` where it ended."""

    kind: str
    experiment: str
    epoch: int
    step: int
    stopped: bool
    exported: tuple[str, ...] = ()
    resumed_from: str | None = None
    final_losses: dict[str, float] = field(default_factory=dict)


class SilentReporter:
    """What ranks other than 0 report through (only rank 0 speaks for a DDP run): nothing.
    ``should_stop`` asks ``inner`` when given (a rank that sees the stop file itself), else
    is always False (the ranks learn of a stop from rank 0)."""

    def __init__(self, inner: TrainReporter | None = None) -> None:
        self.inner = inner

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        pass

    def log(self, message: str, level: str = "info") -> None:
        pass

    def metric(self, name: str, value: float, step: int) -> None:
        pass

    def emit(self, kind: str, **data: Any) -> None:
        pass

    def should_stop(self) -> bool:
        return self.inner.should_stop() if self.inner is not None else False
