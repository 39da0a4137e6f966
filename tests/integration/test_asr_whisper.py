"""Transcribing with a tiny random Whisper converted offline to CTranslate2 (faster-whisper).

Structure only (the model is random): lines, languages, the CPU precision, and that a
detected language outside the five trained ones is never written. The temperature
fallback is off here: a random model's output always looks unreliable, so each clip would
be decoded six times (about 10 s each on two cores) without changing what is checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gsv_core.dataset.annotations import read_list
from gsv_core.dataset.asr import AsrOptions
from gsv_core.dataset.asr_job import transcribe_folder
from gsv_core.errors import ConfigError
from gsv_core.hardware import detect_machine
from gsv_core.workspace import Workspace
from tests import asr_fixtures
from tests.asr_fixtures import clips_folder

tiny_whisper = asr_fixtures.tiny_whisper

pytestmark = pytest.mark.slow  # builds tiny models (funasr import ~10 s on first use)

CPU = detect_machine({"GSV_FAKE_GPU": "cpu"})


def run(folder: Path, model: Path, tmp_path: Path, language: str, **options):
    options = {"temperature_fallback": False, "beam_size": 2, **options}
    return transcribe_folder(folder, AsrOptions(model=str(model), language=language, **options),
                             workspace=Workspace(tmp_path / "ws"), profile=CPU)


def test_english_clips_get_en_lines_with_int8_on_the_cpu(tiny_whisper: Path,
                                                         tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "speaker", 2, corrupt=True)
    result = run(folder, tiny_whisper, tmp_path, "en")
    assert (result.device, result.precision) == ("cpu", "int8")
    assert result.device_note == "no NVIDIA GPU found"
    assert [f.path.name for f in result.failures] == ["bad.wav"]
    labels = read_list(result.list_path)
    assert not labels.issues
    assert [(Path(c.wav).name, c.speaker, c.language) for c in labels.clips] == [
        ("clip_0.wav", "speaker", "en"), ("clip_1.wav", "speaker", "en")]


def test_auto_labels_each_clip_with_the_likeliest_trained_language(tiny_whisper: Path,
                                                                   tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "speaker", 2)
    result = run(folder, tiny_whisper, tmp_path, "auto")
    assert result.ok
    assert {c.language for c in result.clips} <= {"zh", "yue", "en", "ja", "ko"}
    # the random model's first guess is some other language: each clip says so
    assert len(result.warnings) == len(result.clips)
    assert all("Check it while proofreading" in w for w in result.warnings)
    assert not read_list(result.list_path).issues


def test_half_precision_on_the_cpu_is_refused_before_any_clip(tiny_whisper: Path,
                                                              tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "speaker", 1)
    with pytest.raises(ConfigError, match="float16 runs only on a CUDA GPU"):
        run(folder, tiny_whisper, tmp_path, "ja", precision="float16")
    assert not (tmp_path / "ws" / "output" / "asr_opt" / "speaker.list").exists()


def test_a_gpu_in_the_profile_without_usable_cuda_falls_back_to_the_cpu(
        tiny_whisper: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "speaker", 1)
    card = detect_machine({"GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"})
    result = transcribe_folder(
        folder, AsrOptions(model=str(tiny_whisper), language="ko", temperature_fallback=False,
                           beam_size=1), workspace=Workspace(tmp_path / "ws"), profile=card)
    assert result.device == "cpu" and "RTX 4090" in result.device_note
    assert {c.language for c in result.clips} == {"ko"}


def test_the_command_line_runs_whisper(tiny_whisper: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture) -> None:
    from gsv_core.dataset.asr_cli import main

    folder = clips_folder(tmp_path / "speaker", 1)
    code = main([os.fspath(folder), "--lang", "ja", "--model", os.fspath(tiny_whisper),
                 "--engine", "whisper", "--beam-size", "1", "--no-temperature-fallback",
                 "--workspace", os.fspath(tmp_path / "ws")])
    assert code == 0, capsys.readouterr().err
    out = tmp_path / "ws" / "output" / "asr_opt" / "speaker.list"
    assert [c.language for c in read_list(out).clips] == ["ja"]
    assert main([os.fspath(folder), "--lang", "ja", "--model", os.fspath(tiny_whisper),
                 "--engine", "funasr"]) == 2
    assert "faster-whisper model, not a funasr one" in capsys.readouterr().err
