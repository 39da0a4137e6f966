"""Workspace layout (GPT-SoVITS compatible) and experiment-name rules (X-1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.errors import ConfigError
from gsv_core.workspace import Workspace, check_experiment_name


def test_layout_matches_gpt_sovits(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    assert ws.slicer_dir == tmp_path / "output" / "slicer_opt"
    assert ws.asr_dir == tmp_path / "output" / "asr_opt"
    assert ws.experiment_dir("voice") == tmp_path / "logs" / "voice"
    assert ws.sovits_weights_dir == tmp_path / "SoVITS_weights_v2"
    assert ws.gpt_weights_dir == tmp_path / "GPT_weights_v2"
    pretrained = tmp_path / "GPT_SoVITS" / "pretrained_models"
    assert ws.pretrained_v2_dir == pretrained / "gsv-v2final-pretrained"
    assert ws.bert_dir == pretrained / "chinese-roberta-wwm-ext-large"
    assert ws.hubert_dir == pretrained / "chinese-hubert-base"


def test_root_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Workspace(Path("ws")).root == tmp_path / "ws"


def test_create_makes_folders_and_lists_experiments(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "ws").create()
    assert ws.slicer_dir.is_dir() and ws.gpt_weights_dir.is_dir() and ws.pretrained_dir.is_dir()
    assert ws.experiments() == []
    ws.experiment_dir("小明 voice 2").mkdir()
    ws.experiment_dir("alpha").mkdir()
    assert ws.experiments() == ["alpha", "小明 voice 2"]


@pytest.mark.parametrize("name", ["小明", "my voice", "voix d'été", "a.b", "中文 名字 1", "🎤"])
def test_x1_unicode_and_spaces_are_allowed(name: str) -> None:
    assert check_experiment_name(name) == name


@pytest.mark.parametrize("name", [
    "", "   ", "..", "a/b", "a\\b", "../up", "x..y", "c:", "a|b", "tab\there", " lead", "trail ",
    "dot.",
])
def test_x1_path_like_names_are_refused(name: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        Workspace(tmp_path).experiment_dir(name)
    assert info.value.rule == "X-1"
