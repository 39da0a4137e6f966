"""Pretrained-model registry: missing-file reports and downloads from a fake hub.

The Hugging Face hub cannot be reached from tests (and must not be), so
``huggingface_hub.hf_hub_download`` is replaced by a stand-in that copies from a local
folder laid out like the ``lj1995/GPT-SoVITS`` repository. Everything else is real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.errors import ModelMissing
from gsv_core.models.registry import (
    HF_REPO,
    V2_PRETRAINED,
    download_missing,
    inference_models,
    pretrained_status,
    require_pretrained,
    trained_gpt_weights,
    trained_sovits_weights,
)
from gsv_core.workspace import Workspace
from tests.fake_hub import HUB_FILES, V2


def test_empty_workspace_reports_every_expected_path(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws")
    statuses = pretrained_status(ws)
    assert [s.model.key for s in statuses] == [m.key for m in V2_PRETRAINED]
    assert not any(s.present for s in statuses)
    missing = {p.relative_to(ws.pretrained_dir).as_posix() for s in statuses for p in s.missing}
    assert missing == set(HUB_FILES)
    with pytest.raises(ModelMissing) as info:
        require_pretrained(ws, "sovits_generator")
    assert info.value.expected_paths == (str(ws.pretrained_v2_dir / "s2G2333k.pth"),)
    assert str(ws.pretrained_v2_dir / "s2G2333k.pth") in info.value.message


def test_present_files_are_found_and_safetensors_counts(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    for name in ("config.json", "preprocessor_config.json", "model.safetensors"):
        (ws.hubert_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (ws.hubert_dir / name).write_text("x")
    assert require_pretrained(ws, "hubert") == ws.hubert_dir
    (ws.hubert_dir / "config.json").unlink()
    with pytest.raises(ModelMissing, match=r"config\.json"):
        require_pretrained(ws, "hubert")


def test_download_missing_fetches_only_what_is_missing(tmp_path: Path, fake_hub: list) -> None:
    ws = Workspace(tmp_path / "ws")
    ws.pretrained_v2_dir.mkdir(parents=True)
    (ws.pretrained_v2_dir / "s2D2333k.pth").write_text("already here")
    seen: list[str] = []
    written = download_missing(ws, on_file=seen.append)
    assert f"{V2}/s2D2333k.pth" not in seen
    assert sorted(seen) == sorted(set(HUB_FILES) - {f"{V2}/s2D2333k.pth"})
    assert all(repo == HF_REPO for repo, _ in fake_hub)
    assert len(written) == len(HUB_FILES) - 1
    assert all(s.present for s in pretrained_status(ws))
    assert (ws.pretrained_v2_dir / "s2D2333k.pth").read_text() == "already here"
    assert (ws.bert_dir / "tokenizer.json").read_text() == (
        "content of chinese-roberta-wwm-ext-large/tokenizer.json")
    assert download_missing(ws) == []  # nothing left to fetch


def test_download_of_selected_models(tmp_path: Path, fake_hub: list) -> None:
    ws = Workspace(tmp_path)
    download_missing(ws, keys=["gpt"])
    assert [f for _, f in fake_hub] == [f"{V2}/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"]
    assert require_pretrained(ws, "gpt").is_file()


def test_download_failure_names_the_file(tmp_path: Path, fake_hub: list) -> None:
    ws = Workspace(tmp_path)
    (tmp_path / "hub" / f"{V2}/s2D2333k.pth").unlink()  # the hub lacks this file
    with pytest.raises(ModelMissing) as info:
        download_missing(ws, keys=["sovits_generator", "sovits_discriminator"])
    assert "s2D2333k.pth" in info.value.message
    assert require_pretrained(ws, "sovits_generator").is_file()  # earlier file kept


def test_trained_weights_are_listed(tmp_path: Path) -> None:
    ws = Workspace(tmp_path).create()
    for name in ("b_e8_s96.pth", "a_e4_s48.pth", "notes.txt"):
        (ws.sovits_weights_dir / name).write_text("x")
    (ws.gpt_weights_dir / "小明-e15.ckpt").write_text("x")
    assert [p.name for p in trained_sovits_weights(ws)] == ["a_e4_s48.pth", "b_e8_s96.pth"]
    assert [p.name for p in trained_gpt_weights(ws)] == ["小明-e15.ckpt"]
    assert trained_gpt_weights(Workspace(tmp_path / "empty")) == []


def test_inference_models_lists_trained_then_official(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path).create()
    assert inference_models(workspace).gpt == () and inference_models(workspace).sovits == ()
    (workspace.gpt_weights_dir / "voice-e10.ckpt").write_bytes(b"x")
    (workspace.gpt_weights_dir / "notes.txt").write_text("not a model")
    (workspace.sovits_weights_dir / "voice_e8_s96.pth").write_bytes(b"x")
    official = workspace.pretrained_v2_dir / "s2G2333k.pth"
    official.parent.mkdir(parents=True)
    official.write_bytes(b"x")
    models = inference_models(workspace)
    assert [p.name for p in models.gpt] == ["voice-e10.ckpt"] and models.official_gpt is None
    assert [p.name for p in models.sovits] == ["voice_e8_s96.pth", "s2G2333k.pth"]
    assert models.official_sovits == official
