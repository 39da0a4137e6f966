"""The weight pickers' order and the dataset clips offered as references (infer.catalog)."""

from __future__ import annotations

import os
from pathlib import Path

from gsv_core.infer.catalog import dataset_clips, weight_catalog
from gsv_core.workspace import Workspace

OFFICIAL_GPT = "gsv-v2final-pretrained/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"


def touch(path: Path, modified_s: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (modified_s, modified_s))
    return path


def test_weights_are_grouped_by_experiment_newest_first_epochs_by_number(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws").create()
    sovits = ws.sovits_weights_dir
    # "old" trained first; its e10 must come before e9 and e2 (names sort e10 < e2 < e9).
    for epoch, when in ((2, 100), (9, 110), (10, 120)):
        touch(sovits / f"old_e{epoch}_s{epoch * 10}.pth", when)
    touch(sovits / "new voice_e3_s30.pth", 500)
    touch(sovits / "new voice_e12_s120.pth", 400)
    touch(sovits / "hand-named.pth", 50)
    official = touch(ws.pretrained_v2_dir / "s2G2333k.pth", 900)  # newest, but listed last
    catalog = weight_catalog(ws)
    assert [(e.experiment, e.epoch) for e in catalog.sovits] == [
        ("new voice", 12), ("new voice", 3), ("old", 10), ("old", 9), ("old", 2),
        ("hand-named", None), (None, None)]
    assert catalog.sovits[-1].path == official and catalog.sovits[-1].official
    assert catalog.sovits[0].step == 120


def test_gpt_names_and_the_official_gpt_last(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws").create()
    touch(ws.gpt_weights_dir / "alice-e8.ckpt", 10)
    touch(ws.gpt_weights_dir / "alice-e15.ckpt", 20)
    touch(ws.gpt_weights_dir / "a-b-e4.ckpt", 30)  # a dash inside the experiment name
    touch(ws.pretrained_dir / OFFICIAL_GPT, 1)
    catalog = weight_catalog(ws)
    assert [(e.experiment, e.epoch) for e in catalog.gpt] == [
        ("a-b", 4), ("alice", 15), ("alice", 8), (None, None)]
    assert catalog.gpt[-1].path.name.startswith("s1bert25hz")


def test_no_models_is_an_empty_state_naming_the_folders(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws")
    catalog = weight_catalog(ws)
    assert catalog.empty and catalog.gpt == () and catalog.sovits == ()
    assert (catalog.gpt_folder, catalog.sovits_folder) == (ws.gpt_weights_dir,
                                                           ws.sovits_weights_dir)
    touch(ws.gpt_weights_dir / "x-e1.ckpt", 1)
    assert weight_catalog(ws).empty  # a GPT alone cannot speak
    touch(ws.sovits_weights_dir / "x_e1_s5.pth", 1)
    assert not weight_catalog(ws).empty


def test_dataset_clips_from_list_files(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws").create()
    clip = touch(ws.slicer_dir / "a.wav", 1)
    touch(ws.slicer_dir / "b.wav", 1)
    (ws.asr_dir / "slicer_opt.list").write_text(
        f"{clip}|spk|ZH|你好世界\n"
        "output/slicer_opt/b.wav|spk|en|hello | world\n"   # relative to the workspace; '|' in text
        "output/slicer_opt/gone.wav|spk|EN|missing audio\n"
        "broken line\n"
        f"{clip}|spk|XX|unknown language\n\n", encoding="utf-8")
    clips = dataset_clips(ws)
    assert [(c.audio_path, c.text, c.language) for c in clips] == [
        (clip, "你好世界", "all_zh"), (ws.slicer_dir / "b.wav", "hello | world", "en")]
    assert dataset_clips(ws, limit=1) == clips[:1]
    assert dataset_clips(Workspace(tmp_path / "empty")) == []


def test_ab_lists_experiments_with_epochs_and_their_epochs_lowest_first(tmp_path) -> None:
    ws = Workspace(tmp_path / "ws").create()
    for epoch in (10, 2, 9):
        touch(ws.sovits_weights_dir / f"old_e{epoch}_s{epoch}.pth", 100 + epoch)
    touch(ws.sovits_weights_dir / "new_e1_s1.pth", 500)
    touch(ws.sovits_weights_dir / "hand-named.pth", 600)  # no epoch: nothing to compare
    touch(ws.pretrained_v2_dir / "s2G2333k.pth", 700)
    catalog = weight_catalog(ws)
    assert catalog.sovits_experiments() == ["new", "old"]
    assert [f.epoch for f in catalog.sovits_epochs("old")] == [2, 9, 10]
    assert catalog.sovits_epochs("nobody") == []
