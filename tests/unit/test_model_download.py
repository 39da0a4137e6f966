"""Pretrained downloads through the real ``hf_hub_download`` from a loopback stand-in hub.

The hub itself cannot be reached from tests (tests/fake_hub.py serves its two requests on
127.0.0.1); everything on our side and in huggingface_hub is the real code: byte progress,
stopping between chunks (finished files kept, no partial file left), resuming a connection
that drops mid-file, the error that names the file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gsv_core.errors import ModelMissing
from gsv_core.models.download import DownloadStopped, download_missing
from gsv_core.models.registry import pretrained_status, require_pretrained
from gsv_core.workspace import Workspace
from tests.fake_hub import CHUNK, HUB_FILES, V2, FakeHub

GPT_FILE = f"{V2}/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"


def test_download_missing_fetches_only_what_is_missing(tmp_path: Path,
                                                       fake_hub: FakeHub) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.pretrained_v2_dir.mkdir(parents=True)
    (ws.pretrained_v2_dir / "s2D2333k.pth").write_text("already here")
    seen: list[str] = []
    written = download_missing(ws, on_file=seen.append, endpoint=fake_hub.endpoint)
    assert sorted(seen) == sorted(set(HUB_FILES) - {f"{V2}/s2D2333k.pth"})
    assert sorted(fake_hub.gets()) == sorted(seen)
    assert len(written) == len(HUB_FILES) - 1
    assert all(s.present for s in pretrained_status(ws))
    assert (ws.pretrained_v2_dir / "s2D2333k.pth").read_text() == "already here"
    served = (tmp_path / "hub" / "chinese-roberta-wwm-ext-large" / "tokenizer.json")
    assert (ws.bert_dir / "tokenizer.json").read_bytes() == served.read_bytes()
    assert download_missing(ws, endpoint=fake_hub.endpoint) == []  # nothing left to fetch


def test_bytes_are_reported_as_they_come(tmp_path: Path, fake_hub: FakeHub) -> None:
    ws = Workspace(tmp_path)
    reports: list[tuple[str, int, int | None]] = []
    download_missing(ws, keys=["gpt"], on_bytes=lambda *r: reports.append(r),
                     endpoint=fake_hub.endpoint)
    size = (tmp_path / "hub" / GPT_FILE).stat().st_size
    assert {path for path, _, _ in reports} == {GPT_FILE}
    assert all(total == size for _, _, total in reports)
    done = [count for _, count, _ in reports]
    assert done == sorted(done) and done[-1] == size and len(done) > 1  # several steps
    assert require_pretrained(ws, "gpt").read_bytes() == (tmp_path / "hub" / GPT_FILE
                                                          ).read_bytes()


def test_download_failure_names_the_file_and_keeps_what_came(tmp_path: Path,
                                                             fake_hub: FakeHub) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "hub" / f"{V2}/s2D2333k.pth").unlink()  # the hub lacks this file
    with pytest.raises(ModelMissing) as info:
        download_missing(ws, keys=["sovits_generator", "sovits_discriminator"],
                         endpoint=fake_hub.endpoint)
    assert "s2D2333k.pth" in info.value.message and fake_hub.endpoint in info.value.message
    assert str(ws.pretrained_v2_dir / "s2D2333k.pth") in info.value.advice
    assert require_pretrained(ws, "sovits_generator").is_file()  # the earlier file is kept


def test_a_stop_keeps_the_finished_files_and_leaves_no_partial_one(tmp_path: Path,
                                                                    fake_hub: FakeHub) -> None:
    ws = Workspace(tmp_path)
    generator = f"{V2}/s2G2333k.pth"
    stop = threading.Event()

    def on_bytes(path: str, done: int, _total: int | None) -> None:
        if path != generator and done >= 2 * CHUNK:
            stop.set()  # the user presses stop during the second file

    with pytest.raises(DownloadStopped, match=r"s2D2333k\.pth"):
        download_missing(ws, keys=["sovits_generator", "sovits_discriminator"],
                         on_bytes=on_bytes, should_stop=stop.is_set,
                         endpoint=fake_hub.endpoint)
    assert require_pretrained(ws, "sovits_generator").is_file()  # the finished file stays
    assert not (ws.pretrained_v2_dir / "s2D2333k.pth").exists()  # never half a file
    assert not [p for p in ws.pretrained_dir.rglob("*") if p.name.endswith(".incomplete")]
    fake_hub.requests.clear()
    download_missing(ws, endpoint=fake_hub.endpoint)  # pressed again: the rest comes
    assert generator not in fake_hub.gets()
    assert all(status.present for status in pretrained_status(ws))


def test_a_connection_dropped_mid_file_is_resumed_from_there(tmp_path: Path,
                                                              fake_hub: FakeHub) -> None:
    ws = Workspace(tmp_path)
    fake_hub.cut_once_after = CHUNK
    download_missing(ws, keys=["gpt"], endpoint=fake_hub.endpoint)
    assert fake_hub.ranges == [0, CHUNK]  # the second request asked for the rest only
    assert require_pretrained(ws, "gpt").read_bytes() == (tmp_path / "hub" / GPT_FILE
                                                          ).read_bytes()


def test_a_hub_that_is_down_is_an_error_and_the_next_try_completes(
        tmp_path: Path, fake_hub: FakeHub) -> None:
    ws = Workspace(tmp_path)
    fake_hub.fail_status = 500
    with pytest.raises(ModelMissing, match="Could not download") as info:
        download_missing(ws, keys=["gpt"], endpoint=fake_hub.endpoint)
    assert "Settings tab" in info.value.advice  # the mirror hint
    fake_hub.fail_status = None
    download_missing(ws, keys=["gpt"], endpoint=fake_hub.endpoint)
    assert require_pretrained(ws, "gpt").is_file()


def test_a_stop_before_a_file_starts_fetches_nothing(tmp_path: Path,
                                                     fake_hub: FakeHub) -> None:
    with pytest.raises(DownloadStopped):
        download_missing(Workspace(tmp_path), should_stop=lambda: True,
                         endpoint=fake_hub.endpoint)
    assert fake_hub.requests == []
