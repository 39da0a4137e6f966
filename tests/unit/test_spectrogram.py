"""Audio in, spectrogram and mel out: the v2 format constants, file loading, the Slaney
filterbank, and the reference numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gsv_core.audio import (
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    N_SPEC_BINS,
    SAMPLE_RATE,
    SAMPLES_PER_TOKEN,
    SPEC_PAD,
    load_audio,
)
from gsv_core.errors import DatasetError
from gsv_core.models.spectrogram import mel_filterbank, mel_spectrogram, spec_to_mel, spectrogram
from tests.reference_compare import assert_close_to_reference


def test_frame_count_is_one_per_hop() -> None:
    wav = torch.randn(2, 37 * HOP_LENGTH) * 0.1
    spec = spectrogram(wav)
    assert spec.shape == (2, N_SPEC_BINS, 37)
    assert spec.dtype == torch.float32


def test_sine_peaks_at_its_bin() -> None:
    bin_index = 100
    t = torch.arange(20 * HOP_LENGTH) / SAMPLE_RATE
    wav = 0.5 * torch.sin(2 * math.pi * bin_index * SAMPLE_RATE / N_FFT * t)
    spec = spectrogram(wav.unsqueeze(0))
    # the edge frames mix in reflect padding; every interior frame sees the pure sine
    assert torch.all(spec[0, :, 2:-2].argmax(dim=0) == bin_index)
    # a 0.5-amplitude sine under a periodic Hann window of 2048 has a peak of 0.5 * 2048 / 4
    assert spec[0, bin_index, 5].item() == pytest.approx(0.5 * N_FFT / 4, rel=1e-3)


def test_fp16_input_is_computed_in_fp32() -> None:
    wav = torch.randn(1, 10 * HOP_LENGTH) * 0.1
    assert torch.equal(spectrogram(wav.half()), spectrogram(wav.half().float()))


def test_slaney_filters_have_unit_area_and_ordered_peaks() -> None:
    weights = mel_filterbank()
    assert weights.shape == (N_MELS, N_SPEC_BINS)
    assert weights.dtype == np.float32
    assert np.all(weights >= 0)
    peaks = weights.argmax(axis=1)
    assert np.all(np.diff(peaks) >= 0)
    # Slaney normalisation: each triangle integrates to 1 over Hz (bins are sr/n_fft Hz apart);
    # the narrow low filters span few bins, so check the wide upper ones
    areas = weights.sum(axis=1) * SAMPLE_RATE / N_FFT
    np.testing.assert_allclose(areas[40:-1], 1.0, rtol=0.05)
    # below 1 kHz the Slaney scale is linear: equal spacing of the first filter peaks
    low_peaks_hz = peaks[1:8] * SAMPLE_RATE / N_FFT
    assert np.ptp(np.diff(low_peaks_hz)) <= 2 * SAMPLE_RATE / N_FFT


def test_mel_floor_is_log_1e5() -> None:
    silence = torch.zeros(1, N_SPEC_BINS, 3)
    assert torch.allclose(spec_to_mel(silence), torch.full((1, N_MELS, 3), math.log(1e-5)))


def test_matches_reference_spectrogram_and_mel(reference: dict) -> None:
    assert_close_to_reference(spectrogram(reference["mel.wav"]), reference["mel.spec"])
    assert_close_to_reference(mel_spectrogram(reference["mel.wav"]), reference["mel.mel"])
    assert_close_to_reference(
        spectrogram(reference["sovits.decode.refer_wav"]), reference["sovits.decode.refer_spec"]
    )


def test_format_constants() -> None:
    assert (SPEC_PAD, N_SPEC_BINS, SAMPLES_PER_TOKEN) == (704, 1025, 1280)
    assert SAMPLES_PER_TOKEN == 2 * HOP_LENGTH  # one token spans two spectrogram frames


def test_load_audio_mixes_down_and_resamples(tmp_path: Path) -> None:
    rate, seconds, tone_hz = 44100, 1.0, 1000.0
    t = np.arange(int(rate * seconds)) / rate
    left = 0.5 * np.sin(2 * np.pi * tone_hz * t)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, 0.5 * left], axis=1), rate, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - SAMPLE_RATE * seconds) <= 1
    assert np.abs(audio).max() == pytest.approx(0.375, abs=0.01)  # mean of 0.5 and 0.25
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(
        tone_hz, abs=1.0
    )


def test_load_audio_names_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    with pytest.raises(DatasetError, match=r"not_audio\.wav"):
        load_audio(bad)
    with pytest.raises(DatasetError):
        load_audio(tmp_path / "missing.wav")


def test_windows_cached_under_inference_mode_still_train() -> None:
    """The inference engine runs under torch.inference_mode; the window and mel matrix it
    caches there must not poison a later training step ("Inference tensors cannot be saved
    for backward")."""
    from gsv_core.models import spectrogram as spec

    spec._hann_window.cache_clear()
    spec._mel_matrix.cache_clear()
    with torch.inference_mode():
        spec.mel_spectrogram(torch.zeros(1, 6400))
    wav = torch.randn(1, 6400, requires_grad=True)
    spec.mel_spectrogram(wav).sum().backward()
    assert wav.grad is not None and torch.isfinite(wav.grad).all()
