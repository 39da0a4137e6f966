"""The workspace's file-hash cache (gsv_core.prepare.manifest): saved entries of files that
are gone or changed are dropped, so it no longer only grows."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gsv_core.prepare.manifest import (
    HASH_CACHE_FORMAT,
    FileHasher,
    load_hash_cache,
    prune_hash_cache,
    save_hash_cache,
)


def hashed(*paths: Path) -> dict[str, list]:
    hasher = FileHasher()
    for path in paths:
        hasher.file(path)
    return hasher.known


def key(path: Path) -> str:
    return os.fspath(path.resolve())


def test_saving_drops_the_entries_of_deleted_files(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "file-hashes.json"
    kept, deleted, later = (tmp_path / name for name in ("kept.wav", "deleted.wav", "later.wav"))
    for path in (kept, deleted, later):
        path.write_bytes(path.name.encode())
    save_hash_cache(cache, hashed(kept, deleted))
    assert set(load_hash_cache(cache)) == {key(kept), key(deleted)}
    deleted.unlink()
    save_hash_cache(cache, hashed(later))   # a later run that never asked about the others
    assert set(load_hash_cache(cache)) == {key(kept), key(later)}


def test_an_entry_of_a_changed_file_is_dropped_and_one_in_a_gone_folder_too(
        tmp_path: Path) -> None:
    changed = tmp_path / "changed.wav"
    changed.write_bytes(b"before")
    entries = hashed(changed)
    changed.write_bytes(b"after, longer")   # another size: that entry can never match again
    entries["/nonexistent-folder/clip.wav"] = [3, 1, "ab" * 32]
    missing_parent = tmp_path / "a-file.txt"
    missing_parent.write_text("x")
    entries[os.fspath(missing_parent / "clip.wav")] = [3, 1, "cd" * 32]   # NotADirectoryError
    assert prune_hash_cache(entries) == {}


def test_an_entry_of_an_unchanged_file_is_kept_and_used_without_hashing(
        tmp_path: Path) -> None:
    cache = tmp_path / "file-hashes.json"
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"audio")
    stat = clip.stat()
    remembered = {key(clip): [stat.st_size, stat.st_mtime_ns, "remembered"]}   # not its hash
    save_hash_cache(cache, remembered)
    data = json.loads(cache.read_text(encoding="utf-8"))
    assert data == {"format": HASH_CACHE_FORMAT, "files": remembered}
    assert FileHasher(load_hash_cache(cache)).file(clip) == "remembered"   # a lookup
