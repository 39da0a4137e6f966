"""Reference features kept across calls, keyed by what they are computed from.

HuBERT, the spectrograms and the prompt's BERT take longer than a short sentence's decode,
and a user (or an API client) sends the same reference again and again. The key hashes the
bytes of every clip (so a file replaced under the same name is recomputed), the prompt text
and language, the prompt-free flag and the identity of the models the features depend on
(the SoVITS file for tokens and style; the HuBERT and BERT folders). The cache belongs to one
engine (no global state) and keeps the most recently used entries.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Generic, TypeVar

from gsv_core.file_digest import update_with_file

__all__ = ["PromptCache", "reference_key"]

_T = TypeVar("_T")
DEFAULT_CAPACITY = 16


def reference_key(clips: Iterable[Path | None], parts: Iterable[str]) -> str:
    """A sha256 of the clips' bytes (in order) and the other ``parts``.

    A missing clip hashes as its name: reading it later raises the error that names it.
    """
    digest = hashlib.sha256()
    for clip in clips:
        digest.update(b"\0clip\0")
        if clip is None:
            digest.update(b"none")
        elif Path(clip).is_file():
            update_with_file(digest, Path(clip))
        else:
            digest.update(str(clip).encode("utf-8", "surrogatepass"))
    for part in parts:
        digest.update(b"\0part\0" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


class PromptCache(Generic[_T]):
    """A small least-recently-used map from :func:`reference_key` to computed features."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[str, _T] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: str, compute: Callable[[], _T]) -> _T:
        """The cached value of ``key``, or ``compute()`` stored under it."""
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key]
        self.misses += 1
        value = compute()
        self._entries[key] = value
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
