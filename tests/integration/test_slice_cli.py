"""``gsv-studio slice IN OUT``: exit codes, messages, and the settings reaching the slicer."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gsv_core.dataset.slice_cli import build_parser, main

SR = 32000


def recording(path: Path, seed: int = 0) -> Path:
    """5 s loud, 1 s silence, 5 s loud (two slices with the defaults)."""
    rng = np.random.default_rng(seed)
    audio = np.concatenate([rng.uniform(-0.5, 0.5, 5 * SR), np.zeros(SR),
                            rng.uniform(-0.5, 0.5, 5 * SR)]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SR, subtype="PCM_16")
    return path


def test_slices_a_folder_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    recording(tmp_path / "in" / "a.wav")
    recording(tmp_path / "in" / "b.wav", seed=1)
    assert main([str(tmp_path / "in"), str(tmp_path / "out"), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert len(list((tmp_path / "out").glob("*.wav"))) == 4
    assert "[2/2] b.wav: 2 slice(s)" in captured.err
    assert "4 slices (4 written" in captured.out


def test_some_files_failed_exits_1_and_lists_them(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    recording(tmp_path / "in" / "good.wav")
    (tmp_path / "in" / "broken.flac").write_bytes(b"fLaC but broken")
    assert main([str(tmp_path / "in"), str(tmp_path / "out"), "--workers", "1"]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and "broken.flac" in err
    assert "1 file(s) failed" in err
    assert len(list((tmp_path / "out").glob("good.wav_*.wav"))) == 2


@pytest.mark.parametrize(("flags", "named"), [
    (["--min-interval-ms", "5"], "min_interval_ms"),
    (["--max-sil-kept-ms", "1", "--hop-ms", "10"], "max_sil_kept_ms"),
    (["--max-slice-s", "40"], "max_slice_s"),
    (["--threshold-db", "12"], "threshold_db"),
    (["--workers", "0"], "workers"),
    (["--denoise", "--denoise-strength", "2"], "strength"),
    (["--denoise", "--denoise-strength", "0"], "strength"),
    (["--denoise-strength", "0.5"], "--denoise"),
    (["--keep-cleaned", "kept"], "no clean-up step"),
])
def test_bad_settings_exit_2_with_the_field_named(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 flags: list[str], named: str) -> None:
    source = recording(tmp_path / "a.wav")
    assert main([str(source), str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err
    assert named in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_missing_input_and_unparsable_flags_exit_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:
    assert main([str(tmp_path / "nothing"), str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([str(tmp_path), str(tmp_path / "out"), "--hop-ms", "ten"]) == 2
    assert main([]) == 2


def test_settings_reach_the_slicer(tmp_path: Path) -> None:
    # the 1 s gap is not cut once min_interval exceeds it; the 11 s slice is then re-cut
    # by the maximum, and with the maximum off it stays whole
    source = recording(tmp_path / "a.wav")
    assert main([str(source), str(tmp_path / "x"), "--min-interval-ms", "1500",
                 "--workers", "1"]) == 0
    assert len(list((tmp_path / "x").glob("*.wav"))) == 2
    assert main([str(source), str(tmp_path / "y"), "--min-interval-ms", "1500",
                 "--max-slice-s", "0", "--workers", "1"]) == 0
    assert [p.name for p in (tmp_path / "y").glob("*.wav")] == ["a.wav_0000000000_0000352000.wav"]


def test_the_console_script_dispatches_to_slice(tmp_path: Path) -> None:
    source = recording(tmp_path / "a.wav")
    done = subprocess.run([sys.executable, "-m", "gsv_core.cli", "slice", str(source),
                           str(tmp_path / "out"), "--workers", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list((tmp_path / "out").glob("*.wav"))) == 2


# --- clean up first (issue 10): --denoise, --separate-model ----------------------------

def noisy_recording(path: Path) -> Path:
    """Speech-like tones, a gap and tones again, all over -40 dBFS noise (two slices)."""
    rng = np.random.default_rng(3)
    t = np.arange(5 * SR) / SR
    tones = 0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    audio = np.concatenate([tones, np.zeros(SR), tones])
    audio = audio + rng.normal(0, 10 ** (-40 / 20), len(audio))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio.astype(np.float32), SR, subtype="FLOAT")
    return path


def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to resolve or connect fails the test."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_clean_up_is_off_by_default() -> None:
    args = build_parser().parse_args(["in", "out"])
    assert (args.denoise, args.denoise_strength, args.separate_model, args.keep_cleaned) == \
        (False, None, None, None)


def test_denoise_flag_slices_the_cleaned_audio_and_keeps_it_when_asked(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from gsv_core.dataset.quality_measures import measure_audio

    source = noisy_recording(tmp_path / "in" / "a.wav")
    before = source.read_bytes()
    assert main([str(source), str(tmp_path / "plain"), "--workers", "1"]) == 0
    assert main([str(source), str(tmp_path / "clean"), "--workers", "1", "--denoise",
                 "--denoise-strength", "0.9", "--keep-cleaned", str(tmp_path / "kept")]) == 0
    out = capsys.readouterr()
    assert "after denoise 0.9" in out.err
    assert "1 cleaned recording(s) kept" in out.out
    assert source.read_bytes() == before
    assert [p.name for p in (tmp_path / "kept").iterdir()] == ["a.wav_cleaned.wav"]

    def floor(folder: str) -> float:
        paths = sorted((tmp_path / folder).glob("*.wav"))
        assert len(paths) == 2
        return max(measure_audio(sf.read(p)[0], SR).noise_floor_dbfs for p in paths)

    assert floor("clean") < floor("plain") - 8


def test_a_missing_separation_model_is_skipped_with_a_message_and_exit_1(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    no_network(monkeypatch)
    source = recording(tmp_path / "a.wav")
    code = main([str(source), str(tmp_path / "out"), "--workers", "1",
                 "--separate-model", str(tmp_path / "models" / "UVR-MDX-NET-Voc_FT.onnx")])
    err = capsys.readouterr().err
    assert code == 1
    assert "vocal separation skipped:" in err and "to enable:" in err
    assert "Traceback" not in err
    # the files are still sliced, without separation, and no work folder is left
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["a.wav_0000000000_0000160640.wav", "a.wav_0000175680_0000352000.wav"]
