"""The text half of formatting (``2-name2text`` rows, ``3-bert``), here or in its own process.

On a GPU the text stage runs beside the audio stage (:mod:`gsv_core.prepare.run`). Both are
Python-heavy where they start (cleaning labels: jieba and pypinyin, ~7 ms a label; loading
models: ``from_pretrained``), so on one interpreter they take turns on its lock: measured on an
H200, a thread beside the audio stage gained nothing (docs/benchmarks.md). So the stage runs
in a spawned process of its own (:func:`run_in_process`), which loads its own polyphone
backend and BERT; progress and the stop request travel through a manager's queue and event,
as :mod:`gsv_core.prepare.sharding` does for the audio stage.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gsv_core.dataset.annotations import Clip
from gsv_core.errors import GsvError
from gsv_core.prepare.feature_files import save_tensor
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.prepare.outcome import ClipFailure, timed
from gsv_core.prepare.text_step import ClipText, bert_features, clean_clip_text
from gsv_core.workspace import Workspace

__all__ = ["TextOutcome", "TextWork", "run_here", "run_in_process"]

Report = Callable[[int, str], None]   # (labels finished since the last call, message)

STOP_CHECK_LABELS = 64   # labels cleaned between two looks at the Stop request
_RELAY_POLL_S = 0.1


@dataclass(frozen=True)
class TextWork:
    """What the text stage is to do (picklable: it is sent to the text process)."""

    todo: tuple[Clip, ...]
    readings: str
    workspace: Workspace
    polyphone_bert_dir: Path | None   # the tokenizer g2pW needs (request.bert_dir)
    bert_dir: Path | None             # None when no clip is Mandarin
    device: str
    dtype: str                        # "float16" / "float32"
    bert_batch: int
    files: ExperimentFiles


@dataclass
class TextOutcome:
    """The cleaned labels whose outputs are complete, the labels that failed, the phase
    times, and whether a stop ended the stage early."""

    texts: list[ClipText] = field(default_factory=list)
    failures: list[ClipFailure] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    stopped: bool = False


def run_here(work: TextWork, polyphones: object | None, report: Report,
             should_stop: Callable[[], bool]) -> TextOutcome:
    """Clean ``work.todo``, then compute and write the BERT features of the Mandarin ones.

    A stop ends it between labels (every ``STOP_CHECK_LABELS``) or BERT batches; only labels
    whose outputs are all written are returned.
    """
    outcome = TextOutcome()

    def stop_now() -> bool:
        outcome.stopped = outcome.stopped or should_stop()
        return outcome.stopped

    with timed(outcome.seconds, "labels cleaned"):
        texts = []
        for index, clip in enumerate(work.todo):
            if index % STOP_CHECK_LABELS == 0 and stop_now():
                break
            try:
                texts.append(clean_clip_text(clip.name, clip.text, clip.language,
                                             readings=work.readings,
                                             polyphones=polyphones))  # type: ignore[arg-type]
            except GsvError as exc:
                outcome.failures.append(ClipFailure(clip.line_number, clip.name, "text",
                                                    f"{exc.message} {exc.advice}".strip()))
    mandarin = [t for t in texts if t.needs_bert]
    written = (_bert(work, mandarin, outcome, report, stop_now)
               if mandarin and not outcome.stopped else set())
    if not outcome.stopped:
        report(len(work.todo) - len(mandarin), "labels cleaned")
    outcome.texts = [t for t in texts if not t.needs_bert or t.name in written]
    return outcome


def _bert(work: TextWork, mandarin: Sequence[ClipText], outcome: TextOutcome, report: Report,
          stop_now: Callable[[], bool]) -> set[str]:
    from gsv_core.features import BertFeatures

    assert work.bert_dir is not None
    dtype = getattr(torch, work.dtype)
    with timed(outcome.seconds, "BERT load"):
        bert = BertFeatures.load(work.bert_dir, work.device, dtype)
    work.files.bert_dir.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    for first in range(0, len(mandarin), work.bert_batch):
        if first and stop_now():   # the labels were just checked
            break
        chunk = mandarin[first:first + work.bert_batch]
        with timed(outcome.seconds, "BERT"):
            features = bert_features(bert, chunk, max_batch=work.bert_batch, dtype=dtype)
        with timed(outcome.seconds, "BERT write"):
            for text, feature in zip(chunk, features, strict=True):
                save_tensor(feature, work.files.bert_file(text.name))
                written.add(text.name)
        report(len(chunk), f"BERT: {chunk[-1].name}")
    return written


def _in_child(work: TextWork, messages: queue.Queue, stop: threading.Event) -> TextOutcome:
    polyphones = None
    if any(clip.language == "zh" for clip in work.todo):
        from gsv_core.text import load_polyphone_backend

        polyphones = load_polyphone_backend(work.workspace, bert_dir=work.polyphone_bert_dir)
    return run_here(work, polyphones, lambda n, text: messages.put((n, text)), stop.is_set)


class InProcess:
    """The text stage running in a spawned process; ``result`` waits for it.

    While it runs, a relay thread here passes its progress to ``report`` and the stop
    request (``should_stop``, or :meth:`abort`) to it.
    """

    def __init__(self, work: TextWork, report: Report, should_stop: Callable[[], bool]) -> None:
        context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
        self._manager = context.Manager()
        self._pool = ProcessPoolExecutor(1, mp_context=context)
        self._messages, self._stop = self._manager.Queue(), self._manager.Event()
        self._future: Future[TextOutcome] = self._pool.submit(_in_child, work, self._messages,
                                                              self._stop)
        self._report, self._should_stop = report, should_stop
        self._relay = threading.Thread(target=self._pass_on, name="prepare-text-relay",
                                       daemon=True)
        self._relay.start()

    def _pass_on(self) -> None:
        while not self._future.done():
            if self._should_stop():
                self._stop.set()
            try:
                self._report(*self._messages.get(timeout=_RELAY_POLL_S))
            except queue.Empty:
                continue
            except (EOFError, OSError):   # the manager went away
                return
        self._drain()

    def _drain(self) -> None:
        with contextlib.suppress(queue.Empty, EOFError, OSError):
            while not self._messages.empty():
                self._report(*self._messages.get_nowait())

    @property
    def failed(self) -> bool:
        """True once the stage ended with an error (the audio stage may stop then)."""
        return self._future.done() and self._future.exception() is not None

    def abort(self) -> None:
        """Ask the stage to stop (the audio stage failed)."""
        with contextlib.suppress(EOFError, OSError):
            self._stop.set()

    def result(self) -> TextOutcome:
        """Wait for the stage; re-raises its error. Shuts the process and manager down."""
        try:
            outcome = self._future.result()
        finally:
            self._relay.join()
            self._pool.shutdown()
            self._manager.shutdown()
        return outcome


def run_in_process(work: TextWork, report: Report,
                   should_stop: Callable[[], bool]) -> InProcess:
    """Start the text stage in its own process; returns at once (see :class:`InProcess`)."""
    return InProcess(work, report, should_stop)
