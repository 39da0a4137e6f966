"""The quality report finds exactly the problems planted in generated audio (Q-1, Q-4, Q-5)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from gsv_core.dataset.quality import analyse_files, analyse_list, report_to_dict
from gsv_core.dataset.quality_measures import measure_audio
from gsv_core.guidelines.tables import QUALITY_REVERB_MAX_S, QUALITY_SNR_MIN_DB

RATE = 32000


def speech_like(seconds: float, seed: int, rate: int = RATE, level: float = 0.3) -> np.ndarray:
    """Syllables of a harmonic tone (100-220 Hz, 11 partials) with short gaps and a few
    pauses, over a noise floor at -70 dBFS: enough of speech's level pattern for the
    measures (offsets, pauses, loudness), with no speech engine needed."""
    from scipy.signal.windows import tukey

    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate))
    start = 0.15
    while start < seconds - 0.5:
        length = rng.uniform(0.12, 0.3)
        t = np.arange(int(length * rate)) / rate
        f0 = rng.uniform(100, 220)
        tone = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 12))
        first = int(start * rate)
        out[first:first + len(t)] += level * tukey(len(t), 0.5) * tone / 3
        start += length + (rng.uniform(0.2, 0.4) if rng.random() < 0.2 else rng.uniform(.02, .06))
    return (out + rng.normal(0, 10 ** (-70 / 20), len(out))).astype(np.float32)


def reverberant(dry: np.ndarray, t60_s: float, seed: int) -> np.ndarray:
    """``dry`` convolved with a decaying noise tail (60 dB down after ``t60_s``), same RMS."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(t60_s * RATE)) / RATE
    tail = rng.normal(0, 1, len(t)) * 10 ** (-3 * t / t60_s)
    tail[0] = 8.0  # the direct sound
    wet = np.convolve(dry, tail)[:len(dry)]
    return (wet * np.sqrt(np.mean(dry ** 2) / np.mean(wet ** 2))).astype(np.float32)


def write(folder: Path, name: str, audio: np.ndarray, rate: int = RATE) -> Path:
    path = folder / name
    soundfile.write(path, audio, rate, subtype="PCM_16")
    return path


@pytest.fixture
def planted(tmp_path: Path) -> tuple[Path, Path]:
    """A folder with one clip per problem, plus clean ones, and a .list naming them."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for seed in range(4):
        write(folder, f"good{seed}.wav", speech_like(8, seed))
    write(folder, "中文 文件 名.wav", speech_like(6, 10))                    # fine
    write(folder, "quiet.wav", speech_like(8, 11) * 0.05)                   # loudness_outlier
    burst = speech_like(8, 12)
    burst[RATE:RATE + RATE // 4] *= 8                                       # one shouted word
    write(folder, "clipped.wav", np.clip(burst, -1, 1))                     # clipping
    noise = np.random.default_rng(13).normal(0, 0.03, 8 * RATE)
    write(folder, "noisy.wav", speech_like(8, 13) + noise.astype(np.float32))  # noisy
    write(folder, "reverb.wav", reverberant(speech_like(8, 14), 0.8, 14))   # reverberant
    silent = speech_like(8, 15)
    quiet_tail = np.random.default_rng(15).normal(0, 1e-4, 13 * RATE // 2)
    silent[int(1.5 * RATE):] = quiet_tail                                   # 1.5 s of speech
    write(folder, "silent.wav", silent)                                     # mostly_silent
    write(folder, "long.wav", speech_like(40, 16))                          # too_long
    short = speech_like(3, 17)[RATE // 8:RATE // 8 + int(0.7 * RATE)]
    write(folder, "short.wav", short)                                       # too_short
    write(folder, "narrow.wav", speech_like(8, 18, rate=16000), 16000)      # sample_rate
    stereo = speech_like(8, 19)
    write(folder, "stereo.wav", np.stack([stereo, stereo], axis=1))         # channels (warning)
    (folder / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 20)  # unreadable
    names = sorted(p.name for p in folder.iterdir())
    lines = [f"{name}|spk|ZH|一句话。" for name in names]
    lines[0] = lines[0].replace("|ZH|", "|AUTO|")                        # unknown_language
    lines += ["missing.wav|spk|ZH|不在这里", "no fields here",             # missing, bad_line
              f"other/{names[1]}|spk|EN|again"]                            # duplicate_name
    listed = tmp_path / "set.list"
    listed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listed, folder


def by_check(report: dict) -> dict[str, set[str]]:
    return {p["check"]: {Path(c).name for c in p["clips"]} for p in report["problems"]}


def test_exactly_the_planted_problems_are_reported(planted: tuple[Path, Path]) -> None:
    listed, folder = planted
    names = sorted(p.name for p in folder.iterdir())
    calls: list[tuple[int, int]] = []
    report = report_to_dict(analyse_list(listed, audio_dir=folder,
                                         progress=lambda d, t, _: calls.append((d, t))))
    assert by_check(report) == {
        "unknown_language": {names[0]}, "missing_audio": {"missing.wav"},
        "bad_line": {f"line {len(names) + 2}"}, "duplicate_name": {names[1]},
        "loudness_outlier": {"quiet.wav"}, "clipping": {"clipped.wav"},
        "noisy": {"noisy.wav"}, "reverberant": {"reverb.wav"},
        "mostly_silent": {"silent.wav"}, "too_long": {"long.wav"},
        "too_short": {"short.wav"}, "sample_rate": {"narrow.wav"},
        "channels": {"stereo.wav"}, "unreadable": {"corrupt.wav"}}
    clips = {Path(c["path"]).name: c for c in report["clips"]}
    assert clips["中文 文件 名.wav"]["problems"] == []
    assert all(clips[f"good{i}.wav"]["problems"] == [] for i in range(4))
    assert clips["corrupt.wav"]["lufs"] is None and clips["corrupt.wav"]["duration_s"] == 0
    assert clips["stereo.wav"]["channels"] == 2 and clips["narrow.wav"]["sample_rate"] == 16000
    summary = report["summary"]
    assert summary["verdict"] == "poor"
    assert summary["clips"] == len(names) - 1          # all but the corrupt file measured
    assert summary["p95_slice_s"] > 8 and summary["lufs_spread_db"] > 20
    assert calls[-1] == (len(names) + 1, len(names) + 1)  # + missing.wav, measured as missing
    messages = {p["check"]: p for p in report["problems"]}
    assert any(f"line {len(names) + 2}" in d.lower() for d in messages["bad_line"]["details"])
    json.dumps(report, allow_nan=False)                 # valid JSON: no NaN or infinity


def test_clean_clips_give_a_good_verdict_and_the_promised_shape(tmp_path: Path) -> None:
    for seed in range(3):
        write(tmp_path, f"c{seed}.wav", speech_like(5, seed))
    report = report_to_dict(analyse_files(tmp_path))
    assert report["problems"] == [] and report["summary"]["verdict"] == "good"
    assert set(report) == {"clips", "summary", "problems"}
    assert {"clips", "minutes", "p95_slice_s", "lufs_spread_db", "verdict"} <= set(
        report["summary"])
    assert report["summary"]["minutes"] == pytest.approx(15 / 60, abs=1e-3)
    keys = {"path", "duration_s", "sample_rate", "channels", "lufs", "peak_dbfs",
            "clipped_fraction", "snr_db", "reverb", "silence_ratio", "problems"}
    assert all(keys <= set(clip) for clip in report["clips"])
    assert isinstance(report["clips"][0]["sample_rate"], int)


def test_no_measured_clip_is_a_poor_verdict(tmp_path: Path) -> None:
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    report = analyse_files(tmp_path)
    assert report.summary.verdict == "poor" and report.summary.clips == 0


def test_should_stop_ends_the_analysis_early(tmp_path: Path) -> None:
    for seed in range(3):
        write(tmp_path, f"c{seed}.wav", speech_like(2, seed))
    report = analyse_files(tmp_path, should_stop=lambda: True)
    assert report.clips == ()


@pytest.mark.parametrize("t60_s", [0.6, 1.0])
def test_reverb_estimate_rises_with_the_room(t60_s: float) -> None:
    dry = measure_audio(speech_like(8, 3), RATE).reverb_s
    wet = measure_audio(reverberant(speech_like(8, 3), t60_s, 3), RATE).reverb_s
    assert dry is not None and wet is not None
    assert dry < QUALITY_REVERB_MAX_S < wet


@pytest.mark.parametrize("seed", [3, 5])
def test_a_room_with_a_strong_direct_sound_still_reads_reverberant(seed: int) -> None:
    # T60 1.5 s, the direct sound 6 dB above all the reverberation: the level first drops
    # ~6 dB where the voice stops, then follows the room. A 60 ms fitting window sat inside
    # that drop and read about 0.29 s (below the threshold); 80 ms reaches into the tail.
    rng = np.random.default_rng(seed)
    t = np.arange(int(1.5 * RATE)) / RATE
    tail = rng.normal(0, 1, len(t)) * 10 ** (-3 * t / 1.5)
    tail *= np.sqrt(10 ** (-6 / 10) / np.sum(tail ** 2))   # reverberant energy: direct - 6 dB
    tail[0] = 1.0
    audio = np.convolve(speech_like(8, seed), tail)[:8 * RATE].astype(np.float32)
    assert measure_audio(audio, RATE).reverb_s > QUALITY_REVERB_MAX_S


def test_noise_floor_and_snr_follow_added_noise() -> None:
    clean = speech_like(6, 4)
    noise = np.random.default_rng(4).normal(0, 0.01, len(clean)).astype(np.float32)
    dirty = measure_audio(clean + noise, RATE)
    assert measure_audio(clean, RATE).snr_db > QUALITY_SNR_MIN_DB > dirty.snr_db
    assert dirty.noise_floor_dbfs == pytest.approx(20 * np.log10(0.01), abs=2)
    assert dirty.reverb_s is None      # decays hidden under the noise: not measurable


def test_silence_and_short_audio_have_no_loudness() -> None:
    silent = measure_audio(np.zeros(RATE * 2, np.float32), RATE)
    assert (silent.lufs, silent.snr_db, silent.peak_dbfs, silent.silence_ratio) == (
        None, None, None, 1.0)
    assert measure_audio(speech_like(0.3, 5), RATE).lufs is None   # under one 0.4 s block


def test_worker_processes_give_the_same_report_in_order(tmp_path: Path) -> None:
    for seed in range(3):
        write(tmp_path, f"c{seed}.wav", speech_like(2, seed) * (0.1 if seed == 1 else 1))
    one = report_to_dict(analyse_files(tmp_path))
    two = report_to_dict(analyse_files(tmp_path, workers=2))
    assert two == one and [Path(c["path"]).name for c in two["clips"]] == ["c0.wav", "c1.wav",
                                                                          "c2.wav"]
