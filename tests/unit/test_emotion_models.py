"""emotion2vec folder checks: the exact layout is named, nothing reaches funasr or the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.emotion.models import LAYOUT, check_model_folder
from gsv_core.errors import ModelMissing

TOKENS = "生气/angry\n厌恶/disgusted\n恐惧/fearful\n开心/happy\n中立/neutral\n其他/other\n" \
         "难过/sad\n吃惊/surprised\n<unk>\n"


def folder(tmp_path: Path, model: str = "Emotion2vec", tokens: str = TOKENS) -> Path:
    path = tmp_path / "e2v"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(f"model: {model}\n", encoding="utf-8")
    (path / "model.pt").write_bytes(b"")
    (path / "tokens.txt").write_text(tokens, encoding="utf-8")
    return path


def test_a_complete_folder_passes(tmp_path: Path) -> None:
    assert check_model_folder(folder(tmp_path)) == tmp_path / "e2v"


def test_a_missing_folder_names_every_file_expected(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing) as info:
        check_model_folder(tmp_path / "typo")
    assert [Path(p).name for p in info.value.expected_paths] == list(LAYOUT)
    assert "tokens.txt" in info.value.advice


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = folder(tmp_path)
    (path / "model.pt").unlink()
    with pytest.raises(ModelMissing, match=r"model\.pt"):
        check_model_folder(path)


def test_another_model_or_wrong_labels_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="SenseVoiceSmall"):
        check_model_folder(folder(tmp_path, model="SenseVoiceSmall"))
    with pytest.raises(ModelMissing, match="nine labels"):
        check_model_folder(folder(tmp_path / "x", tokens="happy\nsad\n"))
