"""The ASR job's pure parts: SenseVoice tags, chunk packing, the side file of finished clips,
the clips folder, the command line's refusals, and that nothing heavy loads on import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gsv_core.dataset.asr_funasr import parse_sensevoice_text
from gsv_core.dataset.asr_job import (
    _clean,
    _load_records,
    collect_clips,
    default_list_path,
    partial_path,
)
from gsv_core.dataset.vad import pack_regions
from gsv_core.errors import ConfigError
from gsv_core.workspace import Workspace


@pytest.mark.parametrize(("raw", "text", "language"), [
    ("<|zh|><|NEUTRAL|><|Speech|><|withitn|>你好，世界。", "你好，世界。", "zh"),
    ("<|en|><|HAPPY|><|Speech|><|withitn|>Hello there.", "Hello there.", "en"),
    ("<|yue|><|NEUTRAL|><|BGM|><|woitn|>早晨", "早晨", "yue"),
    ("<|nospeech|><|EMO_UNKNOWN|><|Event_UNK|><|woitn|>", "", "nospeech"),
    ("<|NEUTRAL|>no language tag", "no language tag", None),
    ("mid <|ja|>tag", "mid tag", "ja"),
])
def test_sensevoice_tags_give_the_language_and_leave_the_text(raw: str, text: str,
                                                              language: str | None) -> None:
    assert parse_sensevoice_text(raw) == (text, language)


def test_speech_regions_pack_into_chunks_within_the_limit() -> None:
    # three 10 s regions with 1 s pauses, at 1 sample per 10 ms for readability
    regions = [(0, 1000), (1100, 2100), (2200, 3200)]
    assert pack_regions(regions, 3300, 2800, 20) == [(0, 2120), (2180, 3220)]
    # one region longer than the limit is cut into equal parts
    assert pack_regions([(0, 6000)], 6000, 2800, 0) == [(0, 2000), (2000, 4000), (4000, 6000)]
    assert pack_regions([], 100, 50, 5) == []


def test_transcripts_become_one_list_field() -> None:
    assert _clean(" a|b\nc\r\n d ") == "a b c d"


def record(wav: str, settings: dict, **extra) -> str:
    return json.dumps({"v": 1, "wav": wav, "size": 1, "mtime_ns": 2, "settings": settings,
                       "language": "zh", "text": "t", **extra})


def test_records_are_reused_only_with_the_same_settings(tmp_path: Path) -> None:
    side = partial_path(tmp_path / "voice.list")
    assert side.name == "voice.list.partial.jsonl"
    mine, other = {"engine": "funasr", "language": "zh"}, {"engine": "funasr", "language": "ja"}
    side.write_text("\n".join([record("/a.wav", mine), record("/b.wav", other),
                               record("/a.wav", mine, text="newer"), '{"v": 1, "wav": "/c.w'])
                    + "\n", encoding="utf-8")
    records = _load_records(side, mine)
    assert list(records) == ["/a.wav"] and records["/a.wav"]["text"] == "newer"
    assert _load_records(tmp_path / "none.jsonl", mine) == {}


def test_the_clips_folder_is_its_top_level_audio(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.wav", "a.flac", ".hidden.wav", "notes.txt", "sub/c.wav"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in collect_clips(tmp_path)] == ["a.flac", "b.wav"]
    with pytest.raises(ConfigError, match="holds no audio"):
        collect_clips(_empty(tmp_path))
    with pytest.raises(ConfigError, match="does not exist"):
        collect_clips(tmp_path / "missing")
    workspace = Workspace(tmp_path / "ws")
    assert default_list_path(workspace, tmp_path / "sub") == workspace.asr_dir / "sub.list"


def _empty(root: Path) -> Path:
    folder = root / "empty"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("argv", [
    [],                                             # no folder
    ["clips"],                                      # no --lang / --model
    ["clips", "--lang", "de", "--model", "m"],      # a language v2 does not train
    ["clips", "--lang", "zh", "--model", "m", "--precision", "fp8"],
])
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    from gsv_core.dataset.asr_cli import main

    assert main(argv) == 2
    assert "usage: gsv-studio asr" in capsys.readouterr().err


def test_a_missing_folder_or_model_exits_2_naming_it(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    from gsv_core.dataset.asr_cli import main

    assert main([str(tmp_path / "nowhere"), "--lang", "zh", "--model", str(tmp_path)]) == 2
    assert "nowhere" in capsys.readouterr().err
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.wav").write_bytes(b"")
    assert main([str(tmp_path / "clips"), "--lang", "zh", "--model",
                 str(tmp_path / "no-model")]) == 2
    error = capsys.readouterr().err
    assert "no-model" in error and "does not exist" in error


def test_importing_the_asr_modules_and_the_tab_loads_no_engine() -> None:
    code = ("import sys, gsv_core, gsv_core.dataset.asr_job, gsv_core.dataset.asr_cli, "
            "gsv_core.dataset.asr_ui, gsv_core.cli, tabs.dataset.asr\n"
            "heavy = [m for m in ('funasr', 'faster_whisper', 'ctranslate2', 'silero_vad', "
            "'torch', 'modelscope') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-2000:]


def test_ctrl_c_once_asks_to_stop_and_twice_quits(capsys: pytest.CaptureFixture) -> None:
    import signal

    from gsv_core.dataset.asr_cli import _stop_on_first_interrupt

    before = signal.getsignal(signal.SIGINT)
    should_stop, restore = _stop_on_first_interrupt()
    try:
        assert not should_stop()
        signal.raise_signal(signal.SIGINT)
        assert should_stop() and "Stopping after this clip" in capsys.readouterr().err
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before
