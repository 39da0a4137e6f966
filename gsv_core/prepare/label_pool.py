"""Cleaning many labels at once, in worker processes beside the model stages.

Cleaning a label is pure Python (jieba, pypinyin, the readings; ~7 ms a Mandarin label on the
H200 host's CPU). On a thread of the formatting process it holds the interpreter lock that
the model loading and the GPU feeding need: the HuBERT/SoVITS load took 5.7 s beside it and
1.2 s alone (docs/benchmarks.md, issue 10). Worker processes import the text front end only,
never torch, and each warms its own jieba while the parent loads the models. They are
spawned (the same on Linux, macOS and Windows, and safe once the parent has started CUDA).

A list under 1000 labels, or a machine with few cores, is cleaned in the calling process.
Starting a worker costs ~2 s (Python, then jieba's dictionaries), and on the H200 host one
hour of clips (360 labels) formatted slower with four workers than in-process (11.4 s
against 10.6 s; the model loads took longer beside the starting workers; docs/benchmarks.md,
2026-12-03): the workers are for the long lists, where serial cleaning takes 7 s and more.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from gsv_core.errors import GsvError
from gsv_core.prepare.labels import ClipText, clean_clip_text
from gsv_core.prepare.outcome import ClipFailure
from gsv_core.workspace import Workspace

__all__ = ["LabelCleaner", "LabelTask", "PolyphoneSource", "worker_count"]

MIN_LABELS = 1000            # fewer are cleaned in-process (see the module docstring)
LABELS_PER_WORKER = 250      # a worker's share is worth its start-up from here on
MAX_WORKERS = 4              # each holds jieba's dictionaries (~150 MB of memory)
KEPT_CORES = 2               # for the formatting process's own stage threads
STOP_CHECK_LABELS = 64       # labels cleaned in-process between two looks at Stop


@dataclass(frozen=True)
class LabelTask:
    """One label to clean: what ``clean_clip_text`` needs, plus its line for a failure."""

    name: str
    text: str
    language: str
    line_number: int


@dataclass(frozen=True)
class PolyphoneSource:
    """How a worker loads the same Mandarin polyphone reader the parent chose (g2pW from
    these folders when it is there, else pypinyin); ``needed`` is False without Mandarin."""

    needed: bool
    workspace: Workspace | None = None
    bert_dir: Path | None = None


def worker_count(labels: int, cpus: int | None = None) -> int:
    """Worker processes for ``labels`` labels on ``cpus`` cores; 0 = clean in this process."""
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    if labels < MIN_LABELS:
        return 0
    workers = min(MAX_WORKERS, cpus - KEPT_CORES, labels // LABELS_PER_WORKER)
    return workers if workers >= 2 else 0


Cleaned = ClipText | ClipFailure


def clean_one(task: LabelTask, readings: str, polyphones: object | None) -> Cleaned:
    """The label's cleaned text, or the failure that names its line and what to do."""
    try:
        return clean_clip_text(task.name, task.text, task.language, readings=readings,
                               polyphones=polyphones)  # type: ignore[arg-type]
    except GsvError as exc:
        return ClipFailure(task.line_number, task.name, "text",
                           f"{exc.message} {exc.advice}".strip())


class LabelCleaner:
    """Cleans ``tasks`` in order: in worker processes from :meth:`start` on when there are
    enough of them (``workers=None``: :func:`worker_count`), else in :meth:`collect`.

    ``polyphones`` is the parent's loaded reader (the in-process path); ``source`` tells a
    worker how to load the same one. Use as a context manager, so workers always end.
    """

    def __init__(self, tasks: Sequence[LabelTask], readings: str, polyphones: object | None,
                 source: PolyphoneSource, *, workers: int | None = None) -> None:
        self.tasks, self.readings, self.polyphones, self.source = (
            list(tasks), readings, polyphones, source)
        self.workers = worker_count(len(self.tasks)) if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future[list[Cleaned]]] = []

    @property
    def in_workers(self) -> bool:
        return self.workers > 0 and bool(self.tasks)

    def start(self) -> None:
        """Hand every label to the workers now; they clean while the caller does other work."""
        if not self.in_workers or self._pool is not None:
            return
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(self.readings, self.source))
        size = max(8, math.ceil(len(self.tasks) / (self.workers * 4)))
        self._futures = [self._pool.submit(_clean_chunk, self.tasks[i:i + size])
                         for i in range(0, len(self.tasks), size)]

    def collect(self, should_stop: Callable[[], bool]) -> tuple[list[ClipText],
                                                                 list[ClipFailure], bool]:
        """(cleaned labels, failed ones, whether a stop ended it early), in the list's order.

        ``should_stop`` is asked between chunks (workers) or every 64 labels (in-process).
        """
        self.start()
        results: list[Cleaned] = []
        stopped = False
        if self._pool is None:
            for index, task in enumerate(self.tasks):
                if index % STOP_CHECK_LABELS == 0 and should_stop():
                    stopped = True
                    break
                results.append(clean_one(task, self.readings, self.polyphones))
        else:
            for future in self._futures:
                if should_stop():
                    stopped = True
                    break
                try:
                    results.extend(future.result())
                except BrokenProcessPool as exc:
                    raise RuntimeError(
                        "A label-cleaning worker process ended unexpectedly (out of memory?). "
                        "Format again; it continues where it stopped.") from exc
        texts = [r for r in results if isinstance(r, ClipText)]
        failures = [r for r in results if isinstance(r, ClipFailure)]
        return texts, failures, stopped

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> LabelCleaner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# In each worker process: the readings mode and the polyphone reader, set once at its start.
_worker_state: dict[str, object] = {}


def _start_worker(readings: str, source: PolyphoneSource) -> None:
    polyphones = None
    if source.needed:
        from gsv_core.text import load_polyphone_backend

        polyphones = load_polyphone_backend(source.workspace, bert_dir=source.bert_dir)
    _worker_state.update(readings=readings, polyphones=polyphones)


def _clean_chunk(tasks: Sequence[LabelTask]) -> list[Cleaned]:
    readings, polyphones = _worker_state["readings"], _worker_state["polyphones"]
    return [clean_one(task, str(readings), polyphones) for task in tasks]
