"""gsv_core.atomic_write: whole file or nothing, normal permissions, existing files kept."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gsv_core.atomic_write import write_atomically


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_permissions_are_those_of_a_plain_open(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        with open(tmp_path / "plain.bin", "wb"):
            pass
        written = write_atomically(tmp_path / "out.wav", lambda handle: handle.write(b"x"))
    finally:
        os.umask(previous)
    assert written.stat().st_mode & 0o777 == (tmp_path / "plain.bin").stat().st_mode & 0o777


def test_an_existing_file_is_kept_unless_replacing(tmp_path: Path) -> None:
    out = tmp_path / "out" / "out.wav"
    out.parent.mkdir()
    out.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        write_atomically(out, lambda handle: handle.write(b"new"), replace_existing=False)
    assert out.read_bytes() == b"mine"
    write_atomically(out, lambda handle: handle.write(b"new"))
    assert out.read_bytes() == b"new"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.wav"]  # no temporary left


def test_a_failed_write_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out" / "out.wav"
    out.parent.mkdir()
    out.write_bytes(b"mine")

    def crash(handle) -> None:
        handle.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(out, crash)
    assert out.read_bytes() == b"mine"
    assert sorted(p.name for p in out.parent.iterdir()) == ["out.wav"]
