"""Write a file so that readers see the old file or the whole new one, never half of it.

The bytes go to a temporary file beside the target, are fsynced, and the temporary file
is then renamed over the target (or linked to it when an existing file must be kept); the
folder is fsynced after, so the rename survives a crash. The file gets the permissions a
plain ``open(path, "wb")`` gives (0666 less the umask), not ``mkstemp``'s private 0600:
weights and audio are meant to be copied and shared.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["remove_stale_temporaries", "write_atomically"]

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}  # no space, over quota
# The temporary file of a write of ``<name>``: ``.<name>.<16 hex digits>.tmp``.
_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{16}\.tmp$")


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], None], *,
                     replace_existing: bool = True) -> Path:
    """Write ``path`` through ``write(handle)`` atomically and durably.

    With ``replace_existing`` False an existing file (even one made meanwhile by another
    program) is left alone and ``FileExistsError`` is raised. On any error the temporary
    file is removed and the target is untouched; a full disk or quota is a ``DiskFull``
    that says so, not an ``OSError`` traceback.
    """
    path = Path(path)
    try:
        return _write(path, write, replace_existing)
    except OSError as exc:
        if exc.errno not in _FULL:
            raise
        from gsv_core.errors import DiskFull

        raise DiskFull(
            f"The disk holding {path.parent} is full: {path.name} was not written.",
            "Free some space there (old exports in SoVITS_weights_v2 or GPT_weights_v2, "
            "experiments in logs/ you no longer need), then try again; the file that was "
            "there before is unchanged.", details=str(exc)) from exc


def _write(path: Path, write: Callable[[BinaryIO], None], replace_existing: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    # O_EXCL: never write into a file that already exists (a random name makes that rare).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        if replace_existing:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # FileExistsError when path exists
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_folder(path.parent)
    return path


def _fsync_folder(folder: Path) -> None:
    """Persist a rename in ``folder`` (POSIX; Windows cannot open a folder for fsync)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: str | os.PathLike[str],
                             owns: Callable[[str], bool]) -> list[Path]:
    """Delete the temporary files that writes killed mid-way left in ``folder``.

    A process killed inside :func:`write_atomically` (SIGKILL, a power cut) runs no
    ``finally``: its ``.<name>.<hex>.tmp`` stays, never under the final name but taking disk
    space (a SoVITS export is 150 MB). Only files whose target name ``owns(name)`` claims are
    removed, so a caller clears its own (an experiment's checkpoints at its next start) and
    never a write another program may have in progress. Returns the files removed.
    """
    removed = []
    base = Path(folder)
    if not base.is_dir():
        return removed
    for path in base.iterdir():
        match = _TEMPORARY.match(path.name)
        if match and owns(match["name"]) and path.is_file():
            try:
                path.unlink()
            except OSError:  # in use on Windows: left for the next start
                continue
            removed.append(path)
    return removed
