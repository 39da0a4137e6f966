"""Hashing a file's bytes in chunks, for caches keyed by content (prompt cache, prepare manifest).

``hashlib.file_digest`` would do it, but it needs Python 3.11 and we support 3.10.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["sha256_file", "update_with_file"]

_READ_CHUNK_BYTES = 1 << 20


def update_with_file(digest: hashlib._Hash, path: Path) -> None:
    """Feed the bytes of ``path`` to ``digest``, a megabyte at a time."""
    with open(path, "rb") as handle:
        while chunk := handle.read(_READ_CHUNK_BYTES):
            digest.update(chunk)


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of the bytes of ``path``."""
    digest = hashlib.sha256()
    update_with_file(digest, path)
    return digest.hexdigest()
