"""The last results of one UI session: text, settings and audio, newest first.

A user tries a sentence with several seeds or settings and wants to compare them by ear,
so each result is kept (as a WAV file the browser can play and download) until it falls
off the end of the list. The history is an immutable value a session holds (Gradio keeps
one per browser tab); :func:`record` returns the next value and deletes the files of the
results it dropped, so a long session keeps at most ``limit`` files on disk.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["HISTORY_LIMIT", "HistoryEntry", "SessionHistory", "discard", "record",
           "results_folder", "write_result"]

log = logging.getLogger(__name__)

HISTORY_LIMIT = 10  # results a session keeps (issue 8 item 2)


@dataclass(frozen=True)
class HistoryEntry:
    """One synthesis result of the session."""

    number: int                             # 1 for the session's first result, then 2, …
    text: str                               # the text that was spoken
    settings: tuple[tuple[str, str], ...]   # (name, value) pairs, as given to record()
    audio_path: Path                        # 16-bit PCM WAV
    duration_s: float
    seed: int                               # the seed actually used (reproduces the result)


@dataclass(frozen=True)
class SessionHistory:
    """The session's results, newest first, at most ``limit`` of them."""

    entries: tuple[HistoryEntry, ...] = ()
    recorded: int = 0                       # results ever recorded (numbers the next one)
    limit: int = HISTORY_LIMIT


def results_folder() -> Path:
    """A fresh folder for one app's result files, under the system temp folder.

    The temp folder, because Gradio serves files from there without ``allowed_paths``
    and the operating system clears it eventually.
    """
    return Path(tempfile.mkdtemp(prefix="gsv-studio-results-"))


def write_result(audio: np.ndarray, sample_rate: int, folder: Path, prefix: str) -> Path:
    """Write float mono ``audio`` in [-1, 1] as a 16-bit PCM WAV (every browser plays it)
    under a new unique name in ``folder``; returns the path.

    Every session of the app writes into the same folder and numbers from 1: a unique name
    keeps one session from overwriting (or, when dropping, deleting) another's file.
    """
    from gsv_core.infer.audio_io import wav_bytes  # lazily: listing needs no audio library

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=prefix, suffix=".wav",
                                     delete=False) as file:
        file.write(wav_bytes(audio, sample_rate))
    return Path(file.name)


def record(history: SessionHistory, audio: np.ndarray, sample_rate: int, text: str,
           settings: Mapping[str, object], seed: int, folder: Path) -> SessionHistory:
    """Write ``audio`` to ``folder`` and return the history with it first.

    ``audio`` is float mono in [-1, 1]; it is stored as 16-bit PCM WAV, which every browser
    plays. The results pushed past ``limit`` lose their files.
    """
    number = history.recorded + 1
    path = write_result(audio, sample_rate, folder, f"result-{number:04d}-seed{seed}-")
    entry = HistoryEntry(number=number, text=text,
                         settings=tuple((str(k), str(v)) for k, v in settings.items()),
                         audio_path=path, duration_s=len(np.ravel(audio)) / sample_rate,
                         seed=seed)
    kept = (entry, *history.entries)[:history.limit]
    discard(dropped.audio_path for dropped in (entry, *history.entries)[history.limit:])
    return SessionHistory(entries=kept, recorded=number, limit=history.limit)


def discard(paths: Iterable[Path]) -> None:
    """Delete result files that are no longer shown (already gone is fine)."""
    for path in paths:
        try:
            Path(path).unlink(missing_ok=True)
        except OSError as exc:  # the file is only disk space now; say so and go on
            log.warning("could not delete the old result %s: %s", path, exc)
