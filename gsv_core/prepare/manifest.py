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
have not changed since the last run is taken from the manifest (hashing a 1.3 GB BERT on
every run would cost seconds).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsv_core.atomic_write import write_atomically
from gsv_core.file_digest import sha256_file

__all__ = ["ClipKeys", "FileHasher", "Manifest", "digest"]

MANIFEST_FORMAT = 1


def digest(*parts: object) -> str:
    """A short stable hash of JSON-serialisable ``parts``."""
    data = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:32]


class FileHasher:
    """SHA-256 of files, remembering (size, mtime) → hash between runs."""

    def __init__(self, known: Mapping[str, Any] | None = None) -> None:
        self._known: dict[str, list[Any]] = {k: list(v) for k, v in (known or {}).items()}

    def file(self, path: Path) -> str:
        stat = path.stat()
        key = os.fspath(path.resolve())
        known = self._known.get(key)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return str(known[2])
        value = sha256_file(path)
        self._known[key] = [stat.st_size, stat.st_mtime_ns, value]
        return value

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
        return dict(self._known)


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
