"""Linear and mel spectrograms with the exact GPT-SoVITS v2 settings.

The linear magnitude spectrogram is what SoVITS reads (posterior encoder, reference
encoder); the log-mel spectrogram is what its training loss compares. Settings come from
``gsv_core.audio``: reflect-pad 704 samples each side, STFT n_fft 2048 / hop 640 / periodic
Hann 2048 without centring, magnitude ``sqrt(re² + im² + 1e-8)``; 128 Slaney mel bins over
0–16 kHz, then ``log(clamp(x, 1e-5))``.

The mel matrix is our own numpy implementation of the Slaney formulas (the same numbers as
``librosa.filters.mel(htk=False, norm="slaney")``), which keeps librosa and numba out of the
dependencies. Everything runs in float32 whatever the input dtype: fp16 STFTs lose too much
precision, and the loss is meant to be computed in fp32.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from gsv_core.audio import HOP_LENGTH, MEL_FMAX, MEL_FMIN, N_FFT, N_MELS, SAMPLE_RATE, WIN_LENGTH

__all__ = ["mel_filterbank", "mel_spectrogram", "spec_to_mel", "spectrogram"]

_MAGNITUDE_EPS = 1e-8  # inside the sqrt, keeps the gradient finite at zero energy
_LOG_CLAMP = 1e-5  # floor before the log (about -11.5)

# Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_SLANEY_HZ_PER_MEL = 200.0 / 3
_SLANEY_BREAK_HZ = 1000.0
_SLANEY_BREAK_MEL = _SLANEY_BREAK_HZ / _SLANEY_HZ_PER_MEL  # 15 mels
_SLANEY_LOG_STEP = np.log(6.4) / 27.0  # ln(6.4)/27 per mel above the break


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / _SLANEY_HZ_PER_MEL
    above = np.maximum(hz, _SLANEY_BREAK_HZ) / _SLANEY_BREAK_HZ
    log = _SLANEY_BREAK_MEL + np.log(above) / _SLANEY_LOG_STEP
    return np.where(hz >= _SLANEY_BREAK_HZ, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * _SLANEY_HZ_PER_MEL
    above = np.maximum(mel, _SLANEY_BREAK_MEL) - _SLANEY_BREAK_MEL
    log = _SLANEY_BREAK_HZ * np.exp(_SLANEY_LOG_STEP * above)
    return np.where(mel >= _SLANEY_BREAK_MEL, log, linear)


@lru_cache(maxsize=8)
def mel_filterbank(
    sample_rate: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = MEL_FMIN,
    fmax: float | None = MEL_FMAX,
) -> np.ndarray:
    """Slaney-normalised triangular mel filters, float32 ``[n_mels, n_fft // 2 + 1]``.

    Each filter rises from band edge ``i`` to ``i + 1`` and falls to ``i + 2`` (edges evenly
    spaced in mels) and is scaled by ``2 / (f[i+2] - f[i])`` so each has unit area in Hz.
    The returned array is read-only because it is cached.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    bin_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)  # [n_bins]
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    widths_hz = np.diff(edges_hz)  # [n_mels + 1]
    offsets = edges_hz[:, None] - bin_hz[None, :]  # [n_mels + 2, n_bins]
    rising = -offsets[:-2] / widths_hz[:-1, None]
    falling = offsets[2:] / widths_hz[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (edges_hz[2:] - edges_hz[:-2]))[:, None]
    weights = weights.astype(np.float32)
    weights.flags.writeable = False
    return weights


# The cached tensors are built outside inference mode: one first made inside
# ``torch.inference_mode`` (as the inference engine runs) would be an inference tensor, and
# autograd refuses to save those for backward when training later reuses the cached copy.

@lru_cache(maxsize=8)
def _mel_matrix(device: torch.device, n_fft: int, n_mels: int, sample_rate: int) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.from_numpy(mel_filterbank(sample_rate, n_fft, n_mels).copy()).to(device)


@lru_cache(maxsize=8)
def _hann_window(device: torch.device, win_length: int) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.hann_window(win_length, periodic=True, dtype=torch.float32,
                                 device=device)


def spectrogram(
    wav: torch.Tensor,
    n_fft: int = N_FFT,
    hop_length: int = HOP_LENGTH,
    win_length: int = WIN_LENGTH,
) -> torch.Tensor:
    """Linear magnitude spectrogram: ``wav`` ``[B, samples]`` → float32 ``[B, bins, frames]``.

    ``bins = n_fft // 2 + 1``;
    ``frames = samples // hop_length`` when ``samples`` is a multiple of the hop (the
    ``(n_fft - hop) / 2`` reflect padding each side makes every hop one frame).
    """
    pad = (n_fft - hop_length) // 2
    padded = F.pad(wav.float().unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    stft = torch.stft(
        padded,
        n_fft,
        hop_length=hop_length,
        win_length=win_length,
        window=_hann_window(padded.device, win_length),
        center=False,
        normalized=False,
        onesided=True,
        return_complex=True,
    )  # [B, n_bins, frames]
    return torch.sqrt(torch.view_as_real(stft).pow(2).sum(-1) + _MAGNITUDE_EPS)


def spec_to_mel(
    spec: torch.Tensor, sample_rate: int = SAMPLE_RATE, n_mels: int = N_MELS
) -> torch.Tensor:
    """Log-mel from a linear spectrogram ``[B, bins, frames]`` → float32 ``[B, n_mels, frames]``."""
    n_fft = (spec.shape[-2] - 1) * 2
    mel = torch.matmul(_mel_matrix(spec.device, n_fft, n_mels, sample_rate), spec.float())
    return torch.log(torch.clamp(mel, min=_LOG_CLAMP))


def mel_spectrogram(wav: torch.Tensor) -> torch.Tensor:
    """Log-mel spectrogram of ``wav`` ``[B, samples]`` → float32 ``[B, 128, frames]``."""
    return spec_to_mel(spectrogram(wav))
