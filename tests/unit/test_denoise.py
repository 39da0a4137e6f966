"""Denoise before slicing (issue 10): it lowers a measured noise floor, leaves clean audio
nearly as it was, is off by default, and one recording it fails on is skipped and reported."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gsv_core.dataset import slice_job
from gsv_core.dataset.denoise import (
    DEFAULT_STRENGTH,
    DenoiseOptions,
    denoise,
    denoise_status,
    noise_profile,
)
from gsv_core.dataset.quality_measures import measure_audio
from gsv_core.dataset.slice_job import CleanupOptions, slice_audio
from gsv_core.errors import ConfigError, DatasetError

SR = 32000


def speech_like(seconds: float, seed: int, level: float = 0.3) -> np.ndarray:
    """Syllables of a harmonic tone (100-220 Hz f0, 11 partials) with short gaps and some
    pauses, over a -70 dBFS floor (the generator of tests/unit/test_quality.py)."""
    from scipy.signal.windows import tukey

    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * SR))
    start = 0.15
    while start < seconds - 0.5:
        length = rng.uniform(0.12, 0.3)
        t = np.arange(int(length * SR)) / SR
        f0 = rng.uniform(100, 220)
        tone = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 12))
        first = int(start * SR)
        out[first:first + len(t)] += level * tukey(len(t), 0.5) * tone / 3
        start += length + (rng.uniform(0.2, 0.4) if rng.random() < 0.2 else rng.uniform(.02, .06))
    return (out + rng.normal(0, 10 ** (-70 / 20), len(out))).astype(np.float32)


def with_noise(clean: np.ndarray, noise_dbfs: float, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (clean + rng.normal(0, 10 ** (noise_dbfs / 20), len(clean))).astype(np.float32)


def with_hum(clean: np.ndarray, level: float = 0.01) -> np.ndarray:
    """Mains hum: 50 Hz and its odd harmonics, steady all through."""
    t = np.arange(len(clean)) / SR
    hum = sum(np.sin(2 * np.pi * 50 * k * t) / k for k in (1, 3, 5, 7))
    return (clean + level * hum).astype(np.float32)


def rms_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2) / np.mean(b ** 2)))


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return speech_like(8, seed=1)


# --- the signal ------------------------------------------------------------------------

def test_denoise_lowers_the_noise_floor_of_noisy_speech(clean: np.ndarray) -> None:
    noisy = with_noise(clean, -40)
    before, after = measure_audio(noisy, SR), measure_audio(denoise(noisy, SR), SR)
    assert before.noise_floor_dbfs == pytest.approx(-40, abs=1.5)
    assert after.noise_floor_dbfs < before.noise_floor_dbfs - 10   # measured: -12.3 dB
    assert after.snr_db > before.snr_db + 8
    assert abs(after.speech_dbfs - before.speech_dbfs) < 1.0       # the voice stays
    # and the result is closer to the clean signal than the noisy input was
    assert rms_difference(denoise(noisy, SR), clean) < rms_difference(noisy, clean) / 1.5


def test_denoise_removes_steady_hum_too(clean: np.ndarray) -> None:
    hummed = with_hum(clean)
    before, after = measure_audio(hummed, SR), measure_audio(denoise(hummed, SR), SR)
    assert after.noise_floor_dbfs < before.noise_floor_dbfs - 10


def test_a_clean_signal_is_left_nearly_unchanged(clean: np.ndarray) -> None:
    out = denoise(clean, SR)
    before, after = measure_audio(clean, SR), measure_audio(out, SR)
    assert rms_difference(out, clean) < 0.05                       # measured: 1.8 %
    assert abs(after.speech_dbfs - before.speech_dbfs) < 0.3
    assert abs(after.lufs - before.lufs) < 0.3


def test_stronger_settings_remove_more(clean: np.ndarray) -> None:
    noisy = with_noise(clean, -40)
    floors = [measure_audio(denoise(noisy, SR, DenoiseOptions(s)), SR).noise_floor_dbfs
              for s in (0.3, DEFAULT_STRENGTH, 1.0)]
    assert floors[0] > floors[1] > floors[2]


def test_output_keeps_length_rate_and_dtype_and_the_input_untouched(clean: np.ndarray) -> None:
    noisy = with_noise(clean, -40)
    copy = noisy.copy()
    out = denoise(noisy, SR)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert np.array_equal(noisy, copy)


def test_silence_and_tiny_inputs_come_back_unchanged() -> None:
    assert np.array_equal(denoise(np.zeros(SR, np.float32), SR), np.zeros(SR, np.float32))
    tiny = np.full(500, 0.1, np.float32)
    assert np.array_equal(denoise(tiny, SR), tiny)
    assert denoise(np.zeros(0, np.float32), SR).shape == (0,)


def test_the_noise_profile_is_the_quiet_part_not_the_speech(clean: np.ndarray) -> None:
    noisy = with_noise(clean, -40)
    profile = noise_profile(noisy, SR)
    level_db = 10 * np.log10(np.mean(profile.astype(np.float64) ** 2))
    assert level_db == pytest.approx(-40, abs=2)  # the speech is around -21 dBFS
    assert 0 < len(profile) <= 0.11 * len(noisy)


def test_a_long_recording_profile_is_capped_and_spread_over_it() -> None:
    rng = np.random.default_rng(0)
    long = rng.normal(0, 0.01, 120 * SR).astype(np.float32)  # 2 min of noise
    long[60 * SR:] *= 0.5  # the second half quieter: the quietest blocks are all there
    profile = noise_profile(long, SR)
    assert len(profile) <= 18 * SR
    assert len(profile) > 10 * SR


def test_stereo_input_is_refused_with_advice() -> None:
    with pytest.raises(DatasetError, match="one channel"):
        denoise(np.zeros((SR, 2), np.float32), SR)


@pytest.mark.parametrize("strength", [0.0, 0.05, 1.5, -1, float("nan"), True, "0.5"])
def test_bad_strengths_are_refused_naming_the_field(strength: object) -> None:
    with pytest.raises(ConfigError, match="strength"):
        DenoiseOptions(strength)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="strength"):
        CleanupOptions(denoise=True, denoise_strength=strength)  # type: ignore[arg-type]


def test_importing_the_module_does_not_import_noisereduce() -> None:
    code = ("import sys, gsv_core.dataset.denoise, gsv_core.dataset.slice_job\n"
            "assert 'noisereduce' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_missing_noisereduce_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail, as on a machine without the package
    monkeypatch.setitem(sys.modules, "noisereduce", None)
    available, why = denoise_status()
    assert not available
    assert why.startswith("denoise skipped:") and "to enable:" in why and "pip install" in why
    with pytest.raises(DatasetError, match="noisereduce"):
        denoise(with_noise(speech_like(2, 0), -40), SR)


# --- in the slicing job ----------------------------------------------------------------

def recording(path: Path, audio: np.ndarray) -> Path:
    """``audio`` twice with a second of quiet between (two slices at the default settings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    gap = with_noise(np.zeros(SR, np.float32), -40, seed=9)
    sf.write(path, np.concatenate([audio, gap, audio]), SR, subtype="FLOAT")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def floor_of(paths: list[Path]) -> float:
    return float(np.mean([measure_audio(sf.read(p)[0], SR).noise_floor_dbfs for p in paths]))


def test_off_by_default() -> None:
    assert CleanupOptions() == CleanupOptions(denoise=False, separate_model=None, keep_dir=None)
    assert not CleanupOptions().active


def test_the_job_denoises_before_cutting_and_never_touches_the_source(
        tmp_path: Path, clean: np.ndarray) -> None:
    source = recording(tmp_path / "in" / "talk.wav", with_noise(clean[:5 * SR], -40))
    before = digest(source)
    plain = slice_audio(source, tmp_path / "plain", workers=1)
    cleaned = slice_audio(source, tmp_path / "clean", workers=1,
                          cleanup=CleanupOptions(denoise=True, keep_dir=tmp_path / "kept"))
    assert plain.ok and cleaned.ok and not cleaned.notices
    assert len(plain.slices) == len(cleaned.slices) == 2
    # the same cuts (within 20 ms: the quietest frame of the denoised gap moves), and a
    # lower noise floor in the slices
    for a, b in zip(plain.slices, cleaned.slices, strict=True):
        assert abs(a.start_sample - b.start_sample) <= 0.02 * SR
        assert abs(a.end_sample - b.end_sample) <= 0.02 * SR
    assert floor_of([s.path for s in cleaned.slices]) < \
        floor_of([s.path for s in plain.slices]) - 8
    assert digest(source) == before
    assert [p.name for p in cleaned.cleaned] == ["talk.wav_cleaned.wav"]
    kept, rate = sf.read(cleaned.cleaned[0])
    assert rate == SR and len(kept) == sf.info(source).frames
    # no work folder is left in the output
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == \
        sorted(s.path.name for s in cleaned.slices)


def test_a_kept_recording_never_replaces_an_earlier_one(tmp_path: Path,
                                                         clean: np.ndarray) -> None:
    source = recording(tmp_path / "in" / "talk.wav", with_noise(clean[:5 * SR], -40))
    options = CleanupOptions(denoise=True, keep_dir=tmp_path / "kept")
    first = slice_audio(source, tmp_path / "a", workers=1, cleanup=options)
    second = slice_audio(source, tmp_path / "b", workers=1, cleanup=options)
    assert first.cleaned[0].name == "talk.wav_cleaned.wav"
    assert second.cleaned[0].name == "talk.wav_cleaned-2.wav"


def test_bad_files_are_skipped_and_reported_with_denoise_on(tmp_path: Path,
                                                           clean: np.ndarray) -> None:
    folder = tmp_path / "in"
    recording(folder / "good.wav", with_noise(clean[:5 * SR], -40))
    (folder / "broken.flac").write_bytes(b"fLaC but not really")
    result = slice_audio(folder, tmp_path / "out", workers=2,
                         cleanup=CleanupOptions(denoise=True))
    assert [f.source.name for f in result.failures] == ["broken.flac"]
    assert len(result.slices) == 2


def test_a_file_denoise_fails_on_is_reported_and_the_others_go_on(
        tmp_path: Path, clean: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real denoise failure cannot be provoked with valid audio, so this one file's
    # denoise raises as noisereduce's would (in this process: workers=1).
    real = slice_job.denoise
    calls = []

    def failing_once(audio: np.ndarray, rate: int, options: DenoiseOptions) -> np.ndarray:
        calls.append(len(audio))
        if len(calls) == 1:
            raise DatasetError("Denoise failed on this recording: boom.", "Slice it without.")
        return real(audio, rate, options)

    monkeypatch.setattr(slice_job, "denoise", failing_once)
    folder = tmp_path / "in"
    recording(folder / "a.wav", with_noise(clean[:5 * SR], -40))
    recording(folder / "b.wav", with_noise(clean[:5 * SR], -40, seed=6))
    result = slice_audio(folder, tmp_path / "out", workers=1,
                         cleanup=CleanupOptions(denoise=True))
    assert [f.source.name for f in result.failures] == ["a.wav"]
    assert "Denoise failed" in result.failures[0].message
    assert {s.source.name for s in result.slices} == {"b.wav"}


def test_a_missing_denoise_library_skips_the_step_with_a_notice(
        tmp_path: Path, clean: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "noisereduce", None)
    source = recording(tmp_path / "talk.wav", with_noise(clean[:5 * SR], -40))
    result = slice_audio(source, tmp_path / "out", workers=1,
                         cleanup=CleanupOptions(denoise=True))
    assert result.ok and len(result.slices) == 2
    assert len(result.notices) == 1 and result.notices[0].startswith("denoise skipped:")
