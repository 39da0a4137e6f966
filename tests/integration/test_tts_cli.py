"""``gsv-studio tts`` with the tiny models (issue 8 item 5): audio out, exit 2 naming the option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gsv_core import cli
from gsv_core.tts_cli import main
from tests.infer_fixtures import REFERENCE_TEXT, InferSetup, infer_setup, write_voiced_wav

__all__ = ["infer_setup"]

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _args(setup: InferSetup, out: Path, *extra: str, text: str | None = "今天天气很不错。"
          ) -> list[str]:
    args = ["--workspace", str(setup.workspace.root), "--device", "cpu",
            "--gpt", str(setup.gpt_path), "--sovits", str(setup.sovits_path),
            "--ref", str(setup.reference_wav), "--prompt-text", REFERENCE_TEXT,
            "--prompt-lang", "zh", "--lang", "zh", "--out", str(out), "--seed", "3"]
    return [*args, *(["--text", text] if text is not None else []), *extra]


def test_writes_a_16_bit_wav_and_reports_the_seed(infer_setup, tmp_path, capsys) -> None:
    out = tmp_path / "out" / "hello.wav"
    assert main(_args(infer_setup, out)) == 0
    info = sf.info(out)
    assert (info.samplerate, info.channels, info.subtype) == (32000, 1, "PCM_16")
    assert info.frames > 0
    assert "seed 3" in capsys.readouterr().out
    assert [p.name for p in out.parent.iterdir()] == ["hello.wav"]  # no temporary left


def test_same_seed_same_file_and_overwrite(infer_setup, tmp_path) -> None:
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    assert main(_args(infer_setup, first)) == 0
    assert main(_args(infer_setup, second)) == 0
    assert first.read_bytes() == second.read_bytes()
    assert main(_args(infer_setup, second, "--seed", "4", "--overwrite")) == 0
    assert first.read_bytes() != second.read_bytes()


def test_text_file_and_ogg_output(infer_setup, tmp_path) -> None:
    text = tmp_path / "text.txt"
    text.write_text("今天天气很不错。\n\n我们一起去公园吧。", encoding="utf-8")
    out = tmp_path / "speech.ogg"
    assert main(_args(infer_setup, out, "--text-file", str(text), text=None)) == 0
    audio, rate = sf.read(out, dtype="float32")
    assert rate == 32000 and len(audio) > 0 and np.isfinite(audio).all()


def test_an_existing_out_is_never_overwritten(infer_setup, tmp_path, capsys) -> None:
    out = tmp_path / "keep.wav"
    out.write_bytes(b"precious")
    assert main(_args(infer_setup, out)) == 2
    assert out.read_bytes() == b"precious"
    err = capsys.readouterr().err
    assert "--out" in err and "--overwrite" in err


@pytest.mark.parametrize(("extra", "option"), [
    (["--lang", "klingon"], "--lang"),
    (["--prompt-lang", "xx"], "--prompt-lang"),
    (["--top-k", "-1"], "--top-k"),
    (["--speed", "40"], "--speed"),
    (["--temperature", "0"], "--temperature"),
    (["--ref", "/nonexistent/ref.wav"], "--ref"),
    (["--extra-ref", "/nonexistent/extra.wav"], "--extra-ref"),
    (["--gpt", "/nonexistent/g.ckpt"], "--gpt"),
    (["--sovits", "/nonexistent/s.pth"], "--sovits"),
    (["--text-file", "/nonexistent/t.txt"], "--text-file"),
])
def test_bad_input_exits_2_naming_the_option(infer_setup, tmp_path, capsys, extra: list[str],
                                             option: str) -> None:
    out = tmp_path / "x.wav"
    text = None if option == "--text-file" else "今天天气很不错。"
    assert main(_args(infer_setup, out, *extra, text=text)) == 2
    err = capsys.readouterr().err
    assert f"error: {option}" in err, err
    assert not out.exists()


def test_engine_errors_name_the_option(infer_setup, tmp_path, capsys) -> None:
    short = write_voiced_wav(tmp_path / "short.wav", 1.0)  # outside 3-10 s
    not_weights = tmp_path / "notes.ckpt"
    not_weights.write_text("not a checkpoint")
    cases = [(["--ref", str(short)], "--ref"), (["--gpt", str(not_weights)], "--gpt")]
    for extra, option in cases:
        assert main(_args(infer_setup, tmp_path / "x.wav", *extra)) == 2
        assert f"error: {option}" in capsys.readouterr().err
    assert main(_args(infer_setup, tmp_path / "x.wav", text="   ")) == 2
    assert "error: --text" in capsys.readouterr().err
    assert main(_args(infer_setup, tmp_path / "x.mp4")) == 2
    assert "error: --out" in capsys.readouterr().err
    assert not (tmp_path / "x.wav").exists()


def test_readings_default_to_improved_and_upstream_reads_otherwise(infer_setup,
                                                                    tmp_path) -> None:
    outs = {name: tmp_path / f"{name}.wav" for name in ("default", "improved", "upstream")}
    for name, out in outs.items():
        extra = [] if name == "default" else ["--readings", name]
        assert main(_args(infer_setup, out, *extra, text="电池5000mAh。")) == 0
    assert outs["default"].read_bytes() == outs["improved"].read_bytes()
    assert outs["upstream"].read_bytes() != outs["improved"].read_bytes()


def test_a_bad_readings_value_exits_2_naming_the_option(infer_setup, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(_args(infer_setup, tmp_path / "x.wav", "--readings", "fancy"))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--readings" in err and "improved" in err and "upstream" in err
    assert not (tmp_path / "x.wav").exists()


def test_text_with_nothing_readable_exits_2_naming_its_lines(infer_setup, tmp_path,
                                                             capsys) -> None:
    text = tmp_path / "text.txt"
    text.write_text("！！！\n\n😀🎉\n", encoding="utf-8")
    out = tmp_path / "x.wav"
    assert main(_args(infer_setup, out, "--text-file", str(text), text=None)) == 2
    err = capsys.readouterr().err
    assert "error: --text-file: Nothing in the text can be read aloud" in err
    assert "line 1" in err and "line 3" in err and "line 2" not in err
    assert not out.exists()


def test_missing_required_options_exit_2(infer_setup, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--text", "你好", "--out", str(tmp_path / "x.wav")])
    assert exited.value.code == 2 and "--ref" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main([*_args(infer_setup, tmp_path / "x.wav"), "--text-file", "t.txt"])
    assert exited.value.code == 2  # --text and --text-file together


def test_the_console_script_dispatches_tts(infer_setup, tmp_path) -> None:
    out = tmp_path / "cli.wav"
    assert cli.main(["tts", *_args(infer_setup, out)]) == 0
    assert sf.info(out).frames > 0


def test_help_answers_without_loading_models() -> None:
    result = subprocess.run([sys.executable, "-m", "gsv_core.cli", "tts", "--help"],
                            capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0
    for option in ("--gpt", "--sovits", "--ref", "--prompt-text", "--prompt-lang", "--text",
                   "--text-file", "--lang", "--readings", "--out", "--overwrite"):
        assert option in result.stdout


def test_the_output_gets_normal_file_permissions(tmp_path: Path) -> None:
    """The rendered file is shared like any other: 0666 less the umask, not mkstemp's 0600."""
    from gsv_core import tts_cli

    out = tmp_path / "out.wav"
    previous = os.umask(0o022)
    try:
        tts_cli._write_new(out, b"RIFF", overwrite=False)
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o644
