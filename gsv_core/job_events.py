"""The events file of a background job: one JSON object per line, appended by the child.

A job's child process is the only writer of ``events.jsonl``; the UI (or the CLI) reads it
while the job runs, and again after a restart. Each line is written with one ``write`` on a
file opened unbuffered in append mode, so a reader sees whole lines, except the last one while
it is being written, or forever when the child died in the middle of it: :func:`read_events`
returns only complete lines and an offset that points at the start of the partial one, so the
next read picks it up once it is finished.

A line looks like ``{"kind": "metric", "seq": 12, "time": 1767330000.5, "name": "loss/g",
"value": 2.31, "step": 120}``. ``kind`` is one of :data:`RESERVED_KINDS` (written by
:class:`gsv_core.job_child.JobContext`) or a job's own kind (``step``, ``epoch``...).
NaN and infinity are written as JSON's common extension (``NaN``): a loss that became NaN is
a fact the UI must show, not an encoding error.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

__all__ = [
    "RESERVED_KINDS",
    "EventWriter",
    "JobEvent",
    "collect_metrics",
    "read_events",
    "to_json_line",
]

logger = logging.getLogger(__name__)

# Kinds written by the job machinery itself; a job's own events use other names.
RESERVED_KINDS = frozenset({"started", "progress", "log", "metric", "result", "failed",
                            "stop_seen"})


@dataclass(frozen=True)
class JobEvent:
    """One line of ``events.jsonl``.

    ``kind`` says what happened; ``seq`` counts the writer's lines from 0 (a gap means a line
    was unreadable); ``time_s`` is the child's wall clock (Unix seconds); ``data`` holds the
    other fields of the line (``done``/``total``/``message`` for progress, ``name``/``value``/
    ``step`` for a metric, ``value`` for a result...).
    """

    kind: str
    seq: int
    time_s: float
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_line(cls, obj: Mapping[str, Any]) -> JobEvent:
        """Build from a decoded line; raises ``ValueError`` when kind/seq/time are missing."""
        try:
            kind, seq, time_s = str(obj["kind"]), int(obj["seq"]), float(obj["time"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a job event: {exc!r}") from exc
        data = {k: v for k, v in obj.items() if k not in ("kind", "seq", "time")}
        return cls(kind, seq, time_s, data)


def _jsonable(obj: Any) -> Any:
    """``json.dumps`` fallback: dataclasses, paths, and 0-d numbers (numpy, torch) are common
    in job arguments and results; anything else is refused with its type named."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if getattr(obj, "shape", None) == () and hasattr(obj, "item"):
        return obj.item()  # numpy scalar or 0-d tensor (for a tensor this is a host sync)
    raise TypeError(f"a {type(obj).__module__}.{type(obj).__qualname__} is not JSON-serialisable")


def to_json_line(obj: Mapping[str, Any]) -> bytes:
    """One UTF-8 line ending in ``\\n``; raises ``TypeError`` for what JSON cannot hold.

    ``json.dumps`` escapes newlines inside strings, so the line never contains another one.
    """
    text = json.dumps(obj, ensure_ascii=False, default=_jsonable, allow_nan=True)
    return (text + "\n").encode("utf-8")


class EventWriter:
    """Appends events to one file, a whole line per ``write`` (safe across threads).

    The file is opened unbuffered: each event reaches the operating system at once, so it
    survives the child crashing on the next line (not a power cut: no fsync per line, which
    would cost milliseconds per training step).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seq = 0
        self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 (closed in close())

    def write(self, kind: str, **data: Any) -> JobEvent:
        """Append one event; ``data`` must be JSON-serialisable (see :func:`to_json_line`)."""
        with self._lock:
            now = time.time()
            line = to_json_line({"kind": kind, "seq": self._seq, "time": now, **data})
            self._handle.write(line)
            event = JobEvent(kind, self._seq, now, data)
            self._seq += 1
            return event

    def close(self) -> None:
        with self._lock:
            self._handle.close()

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[JobEvent], int]:
    """The complete events after byte ``offset``, and the offset to read from next time.

    A last line without its ``\\n`` (being written, or cut short by a crash) is not returned
    and the offset stays at its start. A complete line that is not a JSON event (the file was
    edited or damaged) is skipped with a warning rather than hiding every later event. A file
    that does not exist yet reads as no events.
    """
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
    except FileNotFoundError:
        return [], offset
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], offset
    events = []
    for number, raw in enumerate(chunk[:end].split(b"\n")):
        if not raw.strip():
            continue
        try:
            events.append(JobEvent.from_line(json.loads(raw.decode("utf-8"))))
        except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            logger.warning("%s: skipped an unreadable event line (%d after byte %d): %s",
                           path, number + 1, offset, exc)
    return events, offset + end + 1


def collect_metrics(events: Iterable[JobEvent]) -> dict[str, list[tuple[int, float]]]:
    """``{name: [(step, value), ...]}`` from the ``metric`` events, in file order (for plots).

    Non-finite values are kept (as float NaN/inf) so a plot shows where a loss went bad.
    """
    series: dict[str, list[tuple[int, float]]] = {}
    for event in events:
        if event.kind == "metric":
            series.setdefault(str(event.data["name"]), []).append(
                (int(event.data["step"]), float(event.data["value"])))
    return series
