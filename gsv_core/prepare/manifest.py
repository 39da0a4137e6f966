"""What each formatted output was computed from, so that a re-run redoes only what changed.

Upstream reuses any output file that exists (1-get-text.py, 3-get-semantic.py): edit a label
or replace a clip and it trains on the old features. Here every output is recorded with a
key, a hash of everything it depends on; a re-run recomputes an output only when its key
changed or its file is gone. The three keys of a clip:

- ``text``: the label text, its language, the readings mode, the front end's version and,
  for Chinese, the BERT model (→ its ``2-name2text.txt`` row and ``3-bert`` file);
- ``audio``: the audio file's bytes and the HuBERT model (→ ``4-cnhubert``, ``5-wav32k``);
- ``semantic``: the ``audio`` key and the SoVITS model (→ its ``6-name2semantic.tsv`` row).

So changing one label recomputes that clip's text row and BERT file only. Precision and
batching are not part of a key: they change features by float rounding only.

A model is identified by the SHA-256 of its files; the hash of a file whose size and mtime
have not changed since it was last hashed is remembered (hashing a 1.3 GB BERT costs about a
second): in the manifest, and in one cache for the whole workspace
(``output/cache/file-hashes.json``), so a second experiment formatted with the same
pretrained models does not hash them again. The cache is only a cache: unreadable, it is
ignored; a file whose size or mtime changed is hashed again. Each save drops the entries
that can never be used again (their file is gone, or its size or mtime changed), so the
cache holds about one entry per file that still exists rather than growing with every clip
ever formatted.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsv_core.atomic_write import write_atomically
from gsv_core.file_digest import sha256_file

__all__ = ["ClipKeys", "FileHasher", "Manifest", "digest", "load_hash_cache",
           "prune_hash_cache", "save_hash_cache"]

MANIFEST_FORMAT = 1
HASH_CACHE_FORMAT = 1
_HASH_THREADS = 8   # hashlib releases the GIL on large buffers: reading and hashing overlap


def digest(*parts: object) -> str:
    """A short stable hash of JSON-serialisable ``parts``."""
    data = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


class FileHasher:
    """SHA-256 of files, remembering (size, mtime) → hash between runs."""

    def __init__(self, known: Mapping[str, Any] | None = None) -> None:
        self._known: dict[str, list[Any]] = {k: list(v) for k, v in (known or {}).items()}
        self._used: set[str] = set()

    def file(self, path: Path) -> str:
        stat = path.stat()
        key = os.fspath(path.resolve())
        self._used.add(key)
        known = self._known.get(key)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return str(known[2])
        value = sha256_file(path)
        self._known[key] = [stat.st_size, stat.st_mtime_ns, value]
        return value

    def prefetch(self, paths: Sequence[Path]) -> None:
        """Hash ``paths`` on several threads, so the ``file`` calls that follow are lookups
        (hundreds of clips: reading and hashing them one after the other costs seconds).
        A file that cannot be read is left for ``file`` to report."""
        def hash_one(path: Path) -> None:
            with contextlib.suppress(OSError):
                self.file(path)

        with ThreadPoolExecutor(_HASH_THREADS) as pool:
            list(pool.map(hash_one, paths))

    def model(self, path: Path, files: Iterable[str] | None = None) -> str:
        """Identity of a model file, or of a folder (every file in it, or ``files``)."""
        if path.is_file():
            return digest("file", self.file(path))
        names = sorted(files) if files is not None else sorted(
            p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        return digest("folder", [(name, self.file(path / name)) for name in names
                                 if (path / name).is_file()])

    @property
    def known(self) -> dict[str, list[Any]]:
        """Every hash this hasher knows (given and computed): the workspace cache's part."""
        return dict(self._known)

    @property
    def used(self) -> dict[str, list[Any]]:
        """The hashes of the files asked about: what one experiment's manifest keeps."""
        return {key: self._known[key] for key in self._used if key in self._known}


@dataclass
class ClipKeys:
    """The recorded keys of one clip (``None``: that output was never made)."""

    text: str | None = None
    audio: str | None = None
    semantic: str | None = None
    has_bert: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "audio": self.audio, "semantic": self.semantic,
                "has_bert": self.has_bert}


@dataclass
class Manifest:
    """The manifest of one experiment folder (``layout.MANIFEST``)."""

    clips: dict[str, ClipKeys] = field(default_factory=dict)
    file_hashes: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """The recorded manifest; an empty one when there is none or it is unreadable
        (then every output is recomputed: never trust what cannot be read)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            return cls()
        clips = {}
        for name, keys in (data.get("clips") or {}).items():
            if isinstance(keys, dict):
                clips[str(name)] = ClipKeys(keys.get("text"), keys.get("audio"),
                                            keys.get("semantic"), bool(keys.get("has_bert")))
        hashes = data.get("file_hashes")
        return cls(clips, hashes if isinstance(hashes, dict) else {})

    def save(self, path: Path) -> None:
        payload = {"format": MANIFEST_FORMAT,
                   "clips": {name: keys.to_json() for name, keys in sorted(self.clips.items())},
                   "file_hashes": self.file_hashes}
        data = json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")
        write_atomically(path, lambda handle: handle.write(data))


def load_hash_cache(path: Path) -> dict[str, list[Any]]:
    """The workspace's remembered file hashes (empty when absent or unreadable)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != HASH_CACHE_FORMAT:
        return {}
    hashes = data.get("files")
    if not isinstance(hashes, dict):
        return {}
    return {str(k): v for k, v in hashes.items()
            if isinstance(v, list) and len(v) == 3 and isinstance(v[2], str)}


def _still_valid(key: str, entry: Sequence[Any]) -> bool:
    """Whether a cache entry can still be used: its file exists with the size and mtime
    it was hashed at (one stat). A file that cannot be stat-ed for another reason than
    being gone (permissions, a drive not mounted right now) keeps its entry."""
    try:
        stat = os.stat(key)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns


def prune_hash_cache(hashes: Mapping[str, list[Any]]) -> dict[str, list[Any]]:
    """``hashes`` without the entries that no lookup can match any more (see
    ``_still_valid``): without this the workspace cache only grew, by every clip of every
    dataset ever formatted, deleted or not."""
    return {key: entry for key, entry in hashes.items() if _still_valid(key, entry)}


def save_hash_cache(path: Path, hashes: Mapping[str, list[Any]]) -> None:
    """Remember ``hashes`` (merged with what another run saved meanwhile, entries of files
    gone or changed dropped); best effort."""
    merged = prune_hash_cache({**load_hash_cache(path), **hashes})
    data = json.dumps({"format": HASH_CACHE_FORMAT, "files": merged},
                      ensure_ascii=False).encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda handle: handle.write(data))
    except OSError:
        pass   # a cache that cannot be written only costs time next run
