"""Step 2 of formatting, the audio half: ``5-wav32k`` and HuBERT's input signal.

Upstream's ``prepare_datasets/2-get-hubert-wav32k.py`` reads each clip at 32 kHz, divides by
its peak and mixes that with the original (``x/peak·0.95·0.5 + 0.5·x``, so loud and quiet
clips end up closer), writes the mix as int16 (``5-wav32k``) and feeds HuBERT the same mix
on a scale of 1145.14 instead of 32768 — raw, without the feature extractor's
normalisation — resampled to 16 kHz by librosa's default, soxr "HQ". Its quirks kept for
compatibility: the int16 conversion truncates toward zero. Its silent skips become errors
here: a clip louder than 2.2× full scale (upstream: "filtered"), a silent clip (upstream
divides by zero and writes NaN features), an unreadable file.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soxr

from gsv_core.audio import HUBERT_SAMPLE_RATE, MAX_WAV_VALUE, SAMPLE_RATE, load_audio
from gsv_core.errors import DatasetError

__all__ = ["MAX_PEAK", "PreparedAudio", "hubert_input", "prepare_audio"]

PEAK_TARGET = 0.95      # "maxx": the peak-normalised part's peak
PEAK_MIX = 0.5          # "alpha": share of the peak-normalised signal in the mix
MAX_PEAK = 2.2          # louder clips are refused (upstream skips them)
HUBERT_SCALE = 1145.14  # upstream's full scale for HuBERT's input
_INT16_MIN, _INT16_MAX = -32768, 32767


@dataclass(frozen=True)
class PreparedAudio:
    """One clip's 32 kHz int16 samples for ``5-wav32k`` and 16 kHz float32 HuBERT input."""

    wav32k: np.ndarray        # int16 [samples]
    hubert_16k: np.ndarray    # float32 [samples16]

    @property
    def seconds(self) -> float:
        return len(self.wav32k) / SAMPLE_RATE


def _mix(audio: np.ndarray, peak: float, scale: float) -> np.ndarray:
    return audio / peak * (PEAK_TARGET * PEAK_MIX * scale) + ((1 - PEAK_MIX) * scale) * audio


def hubert_input(audio_32k: np.ndarray, peak: float) -> np.ndarray:
    """The 16 kHz signal upstream feeds HuBERT (librosa.resample's soxr_hq and its length)."""
    mixed = _mix(audio_32k, peak, HUBERT_SCALE).astype(np.float32)
    out = soxr.resample(mixed, SAMPLE_RATE, HUBERT_SAMPLE_RATE, quality="HQ")
    length = math.ceil(len(mixed) * HUBERT_SAMPLE_RATE / SAMPLE_RATE)  # librosa fix_length
    if len(out) < length:
        out = np.pad(out, (0, length - len(out)))
    return np.ascontiguousarray(out[:length], dtype=np.float32)


def prepare_audio(path: str | os.PathLike[str]) -> PreparedAudio:
    """Read and normalise one clip as upstream does; DatasetError naming the problem."""
    audio = load_audio(path, SAMPLE_RATE)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > MAX_PEAK:
        raise DatasetError(f"the audio peaks at {peak:.2f}× full scale (over {MAX_PEAK}).",
                           "Re-export it without gain, or run it through the slicer again.")
    if peak == 0.0:
        raise DatasetError("the audio is silent (all samples are zero).",
                           "Delete the clip from the list.")
    wav = _mix(audio, peak, MAX_WAV_VALUE)
    wav32k = np.clip(wav, _INT16_MIN, _INT16_MAX).astype(np.int16)  # truncates, as upstream
    return PreparedAudio(wav32k, hubert_input(audio, peak))
