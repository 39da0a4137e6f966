"""Transcribing a folder with tiny random funasr models (SenseVoiceSmall, Paraformer) built here.

The models are random, so only the structure is checked: one line per clip, the language
codes, resume, failures, long clips chunked by silero-vad. Nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from gsv_core.dataset.annotations import read_list
from gsv_core.dataset.asr import AsrOptions
from gsv_core.dataset.asr_job import partial_path, transcribe_folder
from gsv_core.dataset.vad import MAX_CHUNK_S, PAD_S, SpeechDetector
from gsv_core.errors import ConfigError
from gsv_core.hardware import detect_machine
from gsv_core.workspace import Workspace
from tests import asr_fixtures
from tests.asr_fixtures import RATE, clips_folder, speech, write_clip

tiny_sensevoice = asr_fixtures.tiny_sensevoice
tiny_paraformer = asr_fixtures.tiny_paraformer
tiny_punctuation = asr_fixtures.tiny_punctuation
tiny_fsmn_vad = asr_fixtures.tiny_fsmn_vad

pytestmark = pytest.mark.slow  # builds tiny models (funasr import ~10 s on first use)

CPU = detect_machine({"GSV_FAKE_GPU": "cpu"})


def run(folder: Path, model: Path, tmp_path: Path, language: str = "zh", **kwargs):
    return transcribe_folder(folder, AsrOptions(model=str(model), language=language),
                             workspace=Workspace(tmp_path / "ws"), profile=CPU, **kwargs)


def test_sensevoice_writes_one_line_per_clip_and_reports_the_corrupt_one(
        tiny_sensevoice: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 3, corrupt=True)
    steps: list[tuple[int, int]] = []
    result = run(folder, tiny_sensevoice, tmp_path, progress=lambda d, t, m: steps.append((d, t)))
    assert result.list_path == tmp_path / "ws" / "output" / "asr_opt" / "voice.list"
    assert [f.path.name for f in result.failures] == ["bad.wav"]
    assert "Cannot decode" in result.failures[0].message
    assert (result.transcribed, result.reused, result.device, result.precision) == (
        3, 0, "cpu", "float32")
    labels = read_list(result.list_path)
    assert not labels.issues
    assert [Path(c.wav).name for c in labels.clips] == ["clip_0.wav", "clip_1.wav",
                                                        "clip_2.wav"]
    assert {(c.speaker, c.language) for c in labels.clips} == {("voice", "zh")}
    assert all(Path(c.wav).is_absolute() and c.text for c in labels.clips)
    assert "|ZH|" in result.list_path.read_text(encoding="utf-8")  # upper case, as upstream
    assert steps[0] == (0, 4) and steps[-1] == (4, 4)


def test_a_second_run_reuses_finished_clips_without_loading_the_model(
        tiny_sensevoice: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 2)
    first = run(folder, tiny_sensevoice, tmp_path)
    second = run(folder, tiny_sensevoice, tmp_path)
    assert (second.reused, second.transcribed, second.device) == (2, 0, "")
    assert second.written is not None and not second.written.written  # same content
    assert second.clips == first.clips
    # a clip that changed on disk is transcribed again; the other is reused
    write_clip(folder / "clip_1.wav", speech(1.5, 7))
    third = run(folder, tiny_sensevoice, tmp_path)
    assert (third.reused, third.transcribed) == (1, 1)
    # other settings (language) do not reuse records made with different ones
    fourth = run(folder, tiny_sensevoice, tmp_path, language="ja")
    assert (fourth.reused, fourth.transcribed) == (0, 2)
    assert {c.language for c in fourth.clips} == {"ja"}


def test_a_stop_keeps_finished_clips_and_the_next_run_continues(
        tiny_sensevoice: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 3)
    asked = []

    def stop_after_one() -> bool:
        asked.append(True)
        return len(asked) > 1

    stopped = run(folder, tiny_sensevoice, tmp_path, should_stop=stop_after_one)
    assert stopped.stopped and stopped.written is None
    assert [p.name for p in stopped.not_started] == ["clip_1.wav", "clip_2.wav"]
    assert not stopped.list_path.exists()  # an incomplete list is never written
    records = partial_path(stopped.list_path).read_text(encoding="utf-8").splitlines()
    assert [Path(json.loads(r)["wav"]).name for r in records] == ["clip_0.wav"]
    # a crash in the middle of a write leaves a cut line: it is ignored
    with partial_path(stopped.list_path).open("a", encoding="utf-8") as handle:
        handle.write('{"v": 1, "wav": "cut')
    resumed = run(folder, tiny_sensevoice, tmp_path)
    assert (resumed.reused, resumed.transcribed, resumed.ok) == (1, 2, True)
    assert len(read_list(resumed.list_path).clips) == 3


def test_an_edited_list_is_kept_as_a_backup(tiny_sensevoice: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 1)
    out = tmp_path / "labels" / "mine.list"
    out.parent.mkdir()
    out.write_text("a.wav|me|ZH|my own edit\n", encoding="utf-8")
    result = run(folder, tiny_sensevoice, tmp_path, output=out)
    assert result.written is not None and result.written.backup == out.with_name("mine.list.bak")
    assert result.written.backup.read_text(encoding="utf-8") == "a.wav|me|ZH|my own edit\n"
    assert partial_path(out).is_file()


def test_auto_writes_only_languages_gpt_sovits_trains(tiny_sensevoice: Path,
                                                       tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 4)
    result = run(folder, tiny_sensevoice, tmp_path, language="auto")
    # a random model names a language or not: each clip is either labelled with one of
    # the five or reported, never written as AUTO
    assert len(result.clips) + len(result.failures) == 4
    assert {c.language for c in result.clips} <= {"zh", "yue", "en", "ja", "ko"}
    assert all("language" in f.message for f in result.failures)
    if result.clips:
        assert not read_list(result.list_path).issues


def test_a_long_clip_is_cut_into_speech_chunks_by_silero(tmp_path: Path) -> None:
    audio = speech(75.0, 3, pauses_s=1.0, phrase_s=7.0)
    chunks = SpeechDetector().chunks(audio, RATE)
    assert len(chunks) >= 3
    limit = (MAX_CHUNK_S + 2 * PAD_S) * RATE
    assert all(0 <= start < end <= len(audio) and end - start <= limit for start, end in chunks)
    assert all(a[1] <= b[0] for a, b in pairwise(chunks))
    # the speech is covered: ~7 s phrases with 1 s pauses, so most of the file is in chunks
    assert sum(end - start for start, end in chunks) > 0.7 * len(audio)
    assert SpeechDetector().chunks(np.zeros(40 * RATE, dtype=np.float32), RATE) == []


def test_a_long_clip_keeps_one_line(tiny_sensevoice: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 1, long_s=45.0)
    result = run(folder, tiny_sensevoice, tmp_path)
    assert result.ok
    assert sorted(Path(c.wav).name for c in result.clips) == ["clip_0.wav", "long.wav"]
    silent = tmp_path / "quiet"
    write_clip(silent / "silence.wav", 0.0 * speech(35.0, 1))
    write_clip(silent / "ok.wav", speech(2.0, 2))
    quiet = run(silent, tiny_sensevoice, tmp_path)
    assert [f.path.name for f in quiet.failures] == ["silence.wav"]
    assert "No speech" in quiet.failures[0].message


def test_paraformer_transcribes_chinese_only(tiny_paraformer: Path, tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 2)
    result = run(folder, tiny_paraformer, tmp_path)
    assert result.ok and {c.language for c in result.clips} == {"zh"}
    with pytest.raises(ConfigError, match="Mandarin"):
        run(folder, tiny_paraformer, tmp_path, language="en")


def test_paraformer_runs_with_its_vad_and_punctuation_folders(
        tiny_paraformer: Path, tiny_fsmn_vad: Path, tiny_punctuation: Path,
        tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 2)
    options = AsrOptions(model=str(tiny_paraformer), language="zh", vad_model=str(tiny_fsmn_vad),
                         punc_model=str(tiny_punctuation))
    result = transcribe_folder(folder, options, workspace=Workspace(tmp_path / "ws"),
                               profile=CPU)
    assert result.ok and len(read_list(result.list_path).clips) == 2
    # records made with the helper folders are not reused without them, and vice versa
    plain = run(folder, tiny_paraformer, tmp_path)
    assert (plain.reused, plain.transcribed) == (0, 2)


def test_helper_folders_of_the_wrong_kind_or_with_a_jieba_word_list_are_refused(
        tiny_paraformer: Path, tiny_sensevoice: Path, tiny_fsmn_vad: Path,
        tiny_punctuation: Path, tmp_path: Path) -> None:
    import shutil

    folder = clips_folder(tmp_path / "voice", 1)

    def attempt(model: Path, **helpers: str) -> None:
        transcribe_folder(folder, AsrOptions(model=str(model), language="zh", **helpers),
                          workspace=Workspace(tmp_path / "ws"), profile=CPU)

    with pytest.raises(ConfigError, match="not an FSMN-VAD model"):
        attempt(tiny_paraformer, vad_model=str(tiny_punctuation))
    with pytest.raises(ConfigError, match="only Paraformer"):
        attempt(tiny_sensevoice, punc_model=str(tiny_punctuation))
    with_words = tmp_path / "punc-with-words"
    shutil.copytree(tiny_punctuation, with_words)
    (with_words / "jieba_usr_dict").write_text("测试 10\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="jieba"):
        attempt(tiny_paraformer, punc_model=str(with_words))


def test_the_command_line_lists_failures_and_exits_1(tiny_sensevoice: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from gsv_core.cli import main

    folder = clips_folder(tmp_path / "voice", 2, corrupt=True)
    out = tmp_path / "voice.list"
    code = main(["asr", os.fspath(folder), "--lang", "yue", "--model",
                 os.fspath(tiny_sensevoice), "--out", os.fspath(out), "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 1
    assert "FAILED" in captured.err and "bad.wav" in captured.err
    assert "[3/3]" in captured.err
    assert f"2 clips in {out}" in captured.out
    assert {c.language for c in read_list(out).clips} == {"yue"}
    assert main(["asr", os.fspath(folder / "clip_0.wav"), "--lang", "zh", "--model",
                 os.fspath(tiny_sensevoice)]) == 2
