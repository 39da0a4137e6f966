"""The proofreading state kept beside a `.list`: which clips a person reviewed, which left it.

It lives in ``<list stem>.review.json`` next to the list (``voice.list`` →
``voice.review.json``), so it travels with the dataset and survives a browser reload or an
app restart. Upstream has no such file (subfix_webui.py keeps nothing but the list), and
its readers never look at it, so a list proofread here still trains upstream.

- ``reviewed``: the clip names (audio base names, upstream's key for a clip's feature
  files) a person marked as checked. A name stays marked after the clip is deleted, so
  restoring it brings its mark back.
- ``removed``: the lines that left the set (deleted, or replaced by a merge or a split)
  with the position they had, so they can be restored; their audio is never deleted.
- ``list_sha256``: the hash of the list content proofreading last wrote. When the list on
  disk still has it, the next write replaces our own earlier version and needs no backup
  (one backup of the user's file per outside change, not one per edit).

Written with ``write_atomically``: a crash leaves the old file or the new one. A file that
cannot be read is an error, never silently replaced: it holds a person's work.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import DatasetError

__all__ = ["REVIEW_FORMAT", "REVIEW_VERSION", "RemovedClip", "ReviewState", "encode_review",
           "load_review", "review_path", "save_review", "sha256_of"]

REVIEW_FORMAT = "gsv-studio/review"
REVIEW_VERSION = 1

RemovalReason = Literal["deleted", "merged", "split"]
_REASONS = ("deleted", "merged", "split")


@dataclass(frozen=True)
class RemovedClip:
    """A clip that left the list; its audio file is still where ``line`` points."""

    name: str                          # the audio's base name
    line: str                          # its `.list` line when it was removed (no line end)
    index: int                         # its 0-based position then; restore puts it back there
    reason: RemovalReason
    replaced_by: tuple[str, ...] = ()  # names of the clips made from it (merge, split)


@dataclass(frozen=True)
class ReviewState:
    """Everything the review file holds (see the module docstring)."""

    reviewed: frozenset[str] = frozenset()
    removed: tuple[RemovedClip, ...] = ()
    list_sha256: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False)  # unknown keys, kept


def review_path(list_path: str | os.PathLike[str]) -> Path:
    """Where the review file of ``list_path`` lives: ``<stem>.review.json`` beside it."""
    return Path(list_path).with_suffix(".review.json")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _bad_file(path: Path, problem: str, exc: Exception | None = None) -> DatasetError:
    return DatasetError(
        f"The proofreading file {os.fspath(path)!r} cannot be used: {problem}.",
        "It holds which clips were reviewed and which were removed: fix it, or move it away "
        "to start the review again (the .list itself is not affected).",
        details=str(exc) if exc else "")


def _removed_from_json(path: Path, raw: object) -> RemovedClip:
    if not isinstance(raw, dict):
        raise _bad_file(path, "an entry of 'removed' is not an object")
    try:
        name, line, index, reason = raw["name"], raw["line"], raw["index"], raw["reason"]
        replaced_by = tuple(raw.get("replaced_by", ()))
    except (KeyError, TypeError) as exc:
        raise _bad_file(path, "an entry of 'removed' lacks a field", exc) from exc
    if not (isinstance(name, str) and isinstance(line, str) and isinstance(index, int)
            and not isinstance(index, bool) and index >= 0 and reason in _REASONS
            and all(isinstance(n, str) for n in replaced_by)):
        raise _bad_file(path, f"the removed entry {raw!r} has a wrong field")
    return RemovedClip(name=name, line=line, index=index, reason=reason,
                       replaced_by=replaced_by)


def load_review(path: str | os.PathLike[str]) -> tuple[ReviewState, str | None]:
    """Read a review file: its state and the hash of its bytes (``None``: no file yet).

    Raises:
        DatasetError: the file exists but is unreadable, not JSON, or not a review file.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ReviewState(), None
    except OSError as exc:
        raise _bad_file(path, "it cannot be read", exc) from exc
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad_file(path, "it is not JSON text", exc) from exc
    if not isinstance(raw, dict) or raw.get("format") != REVIEW_FORMAT:
        raise _bad_file(path, f"it is not a {REVIEW_FORMAT} file")
    if raw.get("version") != REVIEW_VERSION:
        raise _bad_file(path, f"version {raw.get('version')!r} is not {REVIEW_VERSION} "
                              "(made by another GSV Studio version)")
    reviewed = raw.get("reviewed", [])
    removed = raw.get("removed", [])
    list_sha256 = raw.get("list_sha256")
    if not (isinstance(reviewed, list) and all(isinstance(n, str) for n in reviewed)):
        raise _bad_file(path, "'reviewed' is not a list of clip names")
    if not isinstance(removed, list):
        raise _bad_file(path, "'removed' is not a list")
    if list_sha256 is not None and not isinstance(list_sha256, str):
        raise _bad_file(path, "'list_sha256' is not text")
    known = {"format", "version", "reviewed", "removed", "list_sha256"}
    state = ReviewState(reviewed=frozenset(reviewed),
                        removed=tuple(_removed_from_json(path, r) for r in removed),
                        list_sha256=list_sha256,
                        extra={k: v for k, v in raw.items() if k not in known})
    return state, sha256_of(data)


def encode_review(state: ReviewState) -> bytes:
    """The file's bytes: sorted names and two-space indents, so diffs stay readable."""
    body: dict[str, object] = {
        **state.extra,
        "format": REVIEW_FORMAT,
        "version": REVIEW_VERSION,
        "list_sha256": state.list_sha256,
        "reviewed": sorted(state.reviewed),
        "removed": [{"name": r.name, "line": r.line, "index": r.index, "reason": r.reason,
                     "replaced_by": list(r.replaced_by)} for r in state.removed],
    }
    return (json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def save_review(path: str | os.PathLike[str], state: ReviewState) -> str:
    """Write ``state`` atomically; returns the hash of the bytes written."""
    data = encode_review(state)
    write_atomically(path, lambda handle: handle.write(data))
    return sha256_of(data)
