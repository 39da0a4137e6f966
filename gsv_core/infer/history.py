"""The last results of one UI session: text, settings and audio, newest first.

A user tries a sentence with several seeds or settings and wants to compare them by ear,
so each result is kept (as a WAV file the browser can play and download) until it falls
off the end of the list. The history is an immutable value a session holds (Gradio keeps
one per browser tab); :func:`record` returns the next value and deletes the files of the
results it dropped, so a long session keeps at most ``limit`` files on disk.

The app's results folder goes when the app does: at exit (``atexit``), and when the server
closes normally (the caller calls :func:`remove_results`, since a restart replaces the
process without running ``atexit``). A crash or a kill leaves it behind, so each new folder
first removes the folders of earlier runs that nobody uses any more
(:func:`remove_stale_results`): two apps may run side by side, so a folder is only removed
when the process that made it is gone (its ``owner.json`` names the process by id and start
time, so a reused process id does not count), or, for a folder without that file (made
before it existed, or this very moment), when nothing in it changed for a day.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psutil

__all__ = ["HISTORY_LIMIT", "RESULTS_PREFIX", "STALE_AFTER_S", "HistoryEntry", "SessionHistory",
           "discard", "record", "remove_results", "remove_stale_results", "results_folder",
           "write_result"]

log = logging.getLogger(__name__)

HISTORY_LIMIT = 10  # results a session keeps (issue 8 item 2)
RESULTS_PREFIX = "gsv-studio-results-"
OWNER_FILE = "owner.json"  # {"pid": …, "started": …}: the process that made the folder
STALE_AFTER_S = 24 * 3600  # a folder of unknown owner, unchanged this long, is abandoned
# psutil rounds process start times (to 10 ms on Linux); two readings of one process agree
# within this, while a process that reuses the id starts at least this much later.
START_TIME_TOLERANCE_S = 1.0


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


def results_folder(root: Path | None = None) -> Path:
    """A fresh folder for one app's result files, under ``root`` (the system temp folder).

    The temp folder, because Gradio serves files from there without ``allowed_paths``
    and the operating system clears it eventually. The folder names its owner (this
    process) and is removed at exit; abandoned folders of earlier runs are removed first
    (see the module docstring).
    """
    remove_stale_results(root)
    folder = Path(tempfile.mkdtemp(prefix=RESULTS_PREFIX, dir=root))
    (folder / OWNER_FILE).write_text(json.dumps(_owner(os.getpid())), encoding="utf-8")
    atexit.register(remove_results, folder)
    return folder


def remove_results(folder: Path) -> None:
    """Delete an app's results folder with every file in it (already gone is fine)."""
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return
    except OSError as exc:  # a file still open elsewhere (Windows): only disk space now
        log.warning("could not delete the results folder %s: %s", folder, exc)
        return
    log.info("deleted the results folder %s", folder)


def remove_stale_results(root: Path | None = None, *, now_s: float | None = None,
                         stale_after_s: float = STALE_AFTER_S) -> list[Path]:
    """Delete the results folders under ``root`` that no running app uses; returns them.

    A folder whose ``owner.json`` names a process that is gone is removed whatever its age;
    a folder without a readable owner only when nothing in it changed for ``stale_after_s``
    (``now_s``: the clock, for tests). Only this user's folders are looked at, and links
    never: a shared temp folder holds other people's files.
    """
    base = Path(tempfile.gettempdir() if root is None else root)
    now_s = time.time() if now_s is None else now_s
    removed = []
    for folder in sorted(base.glob(RESULTS_PREFIX + "*")):
        try:
            if folder.is_symlink() or not folder.is_dir() or not _mine(folder):
                continue
            owner = _read_owner(folder)
            abandoned = (not _running(owner) if owner is not None
                         else now_s - _last_change_s(folder) > stale_after_s)
        except FileNotFoundError:  # another app removed it meanwhile
            continue
        if abandoned:
            remove_results(folder)
            if not folder.exists():
                removed.append(folder)
    return removed


def _owner(pid: int) -> dict[str, float]:
    return {"pid": pid, "started": psutil.Process(pid).create_time()}


def _read_owner(folder: Path) -> dict[str, float] | None:
    """The owner file's process, or None when it is missing or unreadable."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        return {"pid": int(owner["pid"]), "started": float(owner["started"])}
    except (OSError, ValueError, TypeError, KeyError) as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("unreadable owner file in %s (%s): judging the folder by its age",
                        folder, exc)
        return None


def _running(owner: dict[str, float]) -> bool:
    """True while the process that wrote ``owner`` runs (not a later one with its id)."""
    try:
        started = psutil.Process(int(owner["pid"])).create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # exists, but we may not look at it: someone uses the folder
        return True
    return abs(started - owner["started"]) < START_TIME_TOLERANCE_S


def _mine(folder: Path) -> bool:
    getuid = getattr(os, "getuid", None)  # Windows' temp folder is per user already
    return getuid is None or folder.stat().st_uid == getuid()


def _last_change_s(folder: Path) -> float:
    """The latest modification time of the folder and of the files in it."""
    times = [folder.stat().st_mtime]
    for path in folder.iterdir():
        try:
            times.append(path.lstat().st_mtime)
        except FileNotFoundError:  # deleted meanwhile by its own app
            continue
    return max(times)


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
