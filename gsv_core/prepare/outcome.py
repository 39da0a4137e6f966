"""What a formatting run reports: counts per step, and every clip that failed with its line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["ClipFailure", "PrepareResult", "Stage", "timed"]

Stage = Literal["text", "audio", "semantic"]


@dataclass(frozen=True)
class ClipFailure:
    """One clip that could not be formatted; its outputs of that step were not written."""

    line_number: int
    name: str
    stage: Stage
    message: str

    def __str__(self) -> str:
        return f"line {self.line_number} ({self.name}), {self.stage}: {self.message}"


@dataclass
class PrepareResult:
    """The outcome of :func:`gsv_core.prepare.prepare_dataset`.

    ``computed``/``reused`` count clips per step (``text``, ``audio``, ``semantic``);
    ``removed`` the clips no longer in the list whose outputs were deleted.
    """

    folder: Path
    clips: int
    computed: dict[str, int] = field(default_factory=lambda: {"text": 0, "audio": 0,
                                                              "semantic": 0})
    reused: dict[str, int] = field(default_factory=lambda: {"text": 0, "audio": 0,
                                                            "semantic": 0})
    removed: int = 0
    failures: list[ClipFailure] = field(default_factory=list)
    stopped: bool = False
    devices: tuple[str, ...] = ()
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase (timed)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stopped

    @property
    def exit_code(self) -> int:
        """0 all formatted, 1 some clips failed (listed) or the run was stopped."""
        return 0 if self.ok else 1

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["folder"] = str(self.folder)
        data["devices"] = list(self.devices)
        return data


@contextmanager
def timed(seconds: dict[str, float], phase: str) -> Iterator[None]:
    """Add the wall time of the ``with`` body to ``seconds[phase]``.

    The phases say where a slow run spends its time (the bench prints them; the UI shows
    them after a run). GPU work is counted where it is waited for (a NaN check, a copy to
    the CPU), so the phase that reads a result carries its kernels.
    """
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds[phase] = seconds.get(phase, 0.0) + time.perf_counter() - start
