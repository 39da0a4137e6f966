"""Write a file so that readers see the old file or the whole new one, never half of it.

The bytes go to a temporary file beside the target, are fsynced, and the temporary file
is then renamed over the target (or linked to it when an existing file must be kept); the
folder is fsynced after, so the rename survives a crash. The file gets the permissions a
plain ``open(path, "wb")`` gives (0666 less the umask), not ``mkstemp``'s private 0600:
weights and audio are meant to be copied and shared.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike[str], write: Callable[[BinaryIO], None], *,
                     replace_existing: bool = True) -> Path:
    """Write ``path`` through ``write(handle)`` atomically and durably.

    With ``replace_existing`` False an existing file (even one made meanwhile by another
    program) is left alone and ``FileExistsError`` is raised. On any error the temporary
    file is removed and the target is untouched.
    """
    path = Path(path)
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
