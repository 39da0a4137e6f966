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


def test_a_full_disk_is_said_and_the_old_file_stays(tmp_path: Path) -> None:
    import errno

    from gsv_core.errors import DiskFull

    (tmp_path / "resume").mkdir()
    target = tmp_path / "resume" / "sovits-e0001.resume.pt"
    target.write_bytes(b"the previous checkpoint")

    def fills_the_disk(handle) -> None:
        handle.write(b"half of the new one")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(DiskFull) as info:
        write_atomically(target, fills_the_disk)
    assert str(target.parent) in info.value.message and target.name in info.value.message
    assert "unchanged" in info.value.advice
    assert target.read_bytes() == b"the previous checkpoint"
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left
    with pytest.raises(PermissionError):  # other errors stay what they are
        write_atomically(target, lambda h: (_ for _ in ()).throw(PermissionError("no")))


def test_stale_temporaries_of_killed_writes_are_removed_only_for_their_owner(
        tmp_path: Path) -> None:
    from gsv_core.atomic_write import remove_stale_temporaries

    mine = tmp_path / ".voice_e2_s8.pth.0123456789abcdef.tmp"
    other = tmp_path / ".other_e1_s4.pth.fedcba9876543210.tmp"
    unrelated = tmp_path / ".notes.tmp"
    for path in (mine, other, unrelated):
        path.write_bytes(b"x")
    removed = remove_stale_temporaries(tmp_path, lambda name: name.startswith("voice_e"))
    assert removed == [mine] and other.exists() and unrelated.exists()
    assert remove_stale_temporaries(tmp_path / "missing", lambda name: True) == []
