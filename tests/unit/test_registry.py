"""Pretrained-model registry: missing-file reports, trained weights, the models folder.

Downloads are tests/unit/test_model_download.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.errors import ModelMissing
from gsv_core.models.registry import (
    V2_PRETRAINED,
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


def test_a_models_folder_setting_moves_every_pretrained_path(tmp_path: Path) -> None:
    install = tmp_path / "GPT-SoVITS" / "GPT_SoVITS" / "pretrained_models"
    (install / "gsv-v2final-pretrained").mkdir(parents=True)
    (install / "gsv-v2final-pretrained" / "s2G2333k.pth").write_text("x")
    ws = Workspace(tmp_path / "ws", models_dir=install)
    assert ws.pretrained_dir == install and ws.bert_dir == install / "chinese-roberta-wwm-ext-large"
    assert require_pretrained(ws, "sovits_generator") == install / V2 / "s2G2333k.pth"
    assert not Workspace(tmp_path / "ws").pretrained_v2_dir.exists()  # the default is apart
    relative = Workspace(tmp_path / "ws", models_dir=Path("../GPT-SoVITS/GPT_SoVITS/"
                                                           "pretrained_models"))
    assert relative.pretrained_dir == install  # taken from the workspace
