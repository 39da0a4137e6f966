"""Watching a background job for a UI: snapshots to draw, and the job to show after a reload.

:mod:`gsv_core.jobs` gives the raw means (events after an offset, a status); a screen needs
something simpler each time it redraws: how far the job is, what it says it is doing,
whether it has ended and how, its result, and the lines it logged. :class:`JobWatcher` keeps
the offset and the latest progress of one job and returns a :class:`JobSnapshot` per poll;
:meth:`JobWatcher.follow` polls until the job ends (a Gradio handler's loop, with the
progress bar updated from each snapshot). :func:`find_job` picks the job a page shows when
it is opened again: the one still running, else the last one.

Nothing here knows what the job does (formatting, training...) and nothing imports gradio.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsv_core.job_events import JobEvent
from gsv_core.jobs import JobHandle, JobStatus, list_jobs

__all__ = ["JobSnapshot", "JobWatcher", "LogLine", "find_job", "running_jobs"]

MAX_LOG_LINES = 200   # the newest lines kept per job: a log view, not the whole stderr
DEFAULT_POLL_S = 0.5  # how often a following UI redraws (the bar moves per clip, not faster)


@dataclass(frozen=True)
class LogLine:
    """One ``ctx.log`` line of the job (``level``: debug, info, warning, error)."""

    level: str
    message: str


@dataclass(frozen=True)
class JobSnapshot:
    """A job as a screen shows it at one moment.

    ``status`` is the job's :class:`~gsv_core.jobs.JobStatus` (state, cause, advice,
    details, exit code, result, stop requested); ``done``/``total`` are the last progress
    event's (None before the first, ``total`` None when the job does not know it);
    ``message`` is that event's text; ``args`` and ``label`` what the job was started with.
    """

    job_id: str
    job_dir: Path
    label: str
    args: Mapping[str, Any]
    created_at: float | None
    status: JobStatus
    done: float | None = None
    total: float | None = None
    message: str = ""
    logs: tuple[LogLine, ...] = field(default_factory=tuple)

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def fraction(self) -> float | None:
        """``done / total`` in [0, 1]; None while the total is unknown."""
        if self.done is None or not self.total:
            return None
        return min(max(self.done / self.total, 0.0), 1.0)

    @property
    def steps(self) -> tuple[int, int | None] | None:
        """``(done, total)`` as whole units for a progress bar; None before any progress."""
        if self.done is None:
            return None
        return int(self.done), None if self.total is None else int(self.total)

    def log_text(self, *levels: str) -> str:
        """The logged lines of ``levels`` (all when none is given), one per line."""
        return "\n".join(line.message for line in self.logs
                         if not levels or line.level in levels)


class JobWatcher:
    """Follows one job: each :meth:`poll` reads only the events written since the last one.

    One watcher per screen that follows the job (a browser session); several watchers of
    the same job do not disturb each other, since each keeps its own offset.
    """

    def __init__(self, handle: JobHandle, *, max_log_lines: int = MAX_LOG_LINES) -> None:
        self.handle = handle
        self._offset = 0
        self._done: float | None = None
        self._total: float | None = None
        self._message = ""
        self._logs: list[LogLine] = []
        self._max_log_lines = max_log_lines

    def poll(self) -> JobSnapshot:
        """The job now. The status is read before the events: once it says the job ended,
        every event is on disk, so the last snapshot has the final progress and logs."""
        status = self.handle.status()
        events, self._offset = self.handle.events(self._offset)
        for event in events:
            self._take(event)
        return self._snapshot(status)

    def follow(self, on_update: Callable[[JobSnapshot], None] | None = None, *,
               poll_s: float = DEFAULT_POLL_S,
               timeout_s: float | None = None) -> JobSnapshot:
        """Poll until the job ends (or ``timeout_s`` passed), calling ``on_update`` with each
        snapshot; returns the last one. Between polls it waits on the job itself, so the
        end is seen at once rather than after a full ``poll_s``."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            snapshot = self.poll()
            if on_update is not None:
                on_update(snapshot)
            if snapshot.finished:
                return snapshot
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return snapshot
                self.handle.wait(min(poll_s, remaining))
            else:
                self.handle.wait(poll_s)

    def _take(self, event: JobEvent) -> None:
        if event.kind == "progress":
            self._done = float(event.data.get("done") or 0.0)
            total = event.data.get("total")
            self._total = None if total is None else float(total)
            self._message = str(event.data.get("message") or "")
        elif event.kind == "log":
            self._logs.append(LogLine(str(event.data.get("level", "info")),
                                      str(event.data.get("message", ""))))
            del self._logs[:-self._max_log_lines]

    def _snapshot(self, status: JobStatus) -> JobSnapshot:
        handle = self.handle
        created = handle.spec.get("created_at")
        return JobSnapshot(
            job_id=handle.id, job_dir=handle.job_dir, label=handle.label, args=handle.args,
            created_at=None if created is None else float(created), status=status,
            done=self._done, total=self._total, message=self._message, logs=tuple(self._logs))


def _jobs(folders: Iterable[Path], target: str | None) -> list[JobHandle]:
    handles = [handle for folder in folders for handle in list_jobs(Path(folder))
               if target is None or handle.target == target]
    return sorted(handles, key=lambda h: (float(h.spec.get("created_at") or 0.0), h.id))


def running_jobs(folders: Iterable[Path], target: str | None = None) -> list[JobHandle]:
    """The jobs under ``folders`` (of ``target``, when given) still running, oldest first."""
    return [handle for handle in _jobs(folders, target) if handle.is_running()]


def find_job(folders: Iterable[Path], target: str | None = None) -> JobHandle | None:
    """The job a page shows when it is opened again: the newest one still running under
    ``folders`` (of ``target``, when given), else the newest one; None when there is none.

    A running job wins over a newer finished one: that is the one the user can still stop.
    """
    handles = _jobs(folders, target)
    for handle in reversed(handles):
        if handle.is_running():
            return handle
    return handles[-1] if handles else None
