"""Signal measures of one clip for the quality report: pure numpy on samples already read.

Every measure works on 10 ms frames of the mono mix (``FRAME_S``), as mean-square power in
dB relative to full scale; a frame of digital silence reads ``LEVEL_FLOOR_DB``.

- **speech level**: the 95th percentile of frame levels (the loud part of the speech);
- **noise floor**: the 5th percentile (the quietest frames: pauses between words, which a
  slice from the slicer keeps up to half a second of); **SNR** = speech level − noise floor.
  An estimate: a clip without any pause reads a lower SNR than it has, and so does a very
  reverberant one (its tail fills the pauses: T60 1 s reads about 22-25 dB);
- **silence ratio**: the share of frames more than ``QUALITY_SILENCE_BELOW_SPEECH_DB`` below
  the speech level or quieter than ``QUALITY_SILENCE_DBFS``;
- **reverberation** (seconds, a T60 estimate): energy decay after offsets. Where speech
  stops, a dry recording's level falls as fast as the voice stops (hundreds of dB/s); in a
  room it cannot fall faster than the room's reverberant decay (60 dB per T60). So the
  steepest decays of the clip bound its reverberation: slopes are fitted over
  ``DECAY_WINDOW_S`` windows of the level curve that stay ``DECAY_ABOVE_FLOOR_DB`` above the
  noise floor (so noise cannot flatten them), and ``60 / |slope|`` of the
  ``DECAY_PERCENTILE``-th steepest is the estimate. The window (80 ms) is longer than the
  drop where the direct sound stops: when the reverberant sound is about as loud as the
  direct one (a distant microphone; sox ``reverb 90``), the level first falls 10-15 dB in
  20-30 ms and only then follows the room, and a 60 ms window fitted inside that drop read
  a room of several seconds' T60 as 0.29 s (tests/integration/test_dataset_must_hold.py).
  It reads lower than a true T60 when the direct sound is strong (a close microphone): on
  synthetic syllables convolved with decaying noise, ~0.15-0.18 s dry, ~0.32 s for T60
  0.4 s, ~0.42 s for 0.6 s, ~0.56 s for 1 s; espeak-ng speech reads 0.16-0.20 s dry and
  ~0.38 s through sox ``reverb 90 50 100``. None when
  the clip has too few such windows or less than ``DECAY_MIN_RANGE_DB`` between speech and
  noise floor (a noisy clip: its decays are hidden under the noise);
- **loudness**: integrated loudness (ITU-R BS.1770, pyloudnorm) of all channels, LUFS;
  None for clips shorter than its 0.4 s gating block or silent;
- **peak** (dBFS) and **clipped fraction**: share of samples at or above
  ``QUALITY_CLIP_LEVEL`` of full scale, over all channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gsv_core.guidelines.tables import (
    QUALITY_CLIP_LEVEL,
    QUALITY_CLIPPED_FRACTION_MAX,
    QUALITY_SILENCE_BELOW_SPEECH_DB,
    QUALITY_SILENCE_DBFS,
)

__all__ = ["FRAME_S", "AudioMeasures", "clipped_fraction", "frame_levels_db", "is_clipped",
           "measure_audio", "reverb_time_s"]

FRAME_S = 0.010                 # level frames: 10 ms
LEVEL_FLOOR_DB = -120.0         # the level of a frame of digital silence
SPEECH_PERCENTILE = 95
NOISE_PERCENTILE = 5
DECAY_WINDOW_S = 0.08           # slope-fitting window: 8 frames (why: module docstring)
DECAY_ABOVE_FLOOR_DB = 10.0     # a window's every frame this far above the noise floor
DECAY_BELOW_SPEECH_DB = 40.0    # ... and its first frame no further than this below speech
DECAY_PERCENTILE = 5            # of the slopes: the steepest 5 % of the decaying windows
DECAY_MIN_WINDOWS = 3           # fewer decaying windows than this: not measurable
DECAY_MIN_RANGE_DB = 20.0       # speech this far above the noise floor, else not measurable


@dataclass(frozen=True)
class AudioMeasures:
    """The measures of one clip; None where a measure does not apply (see module docstring)."""

    duration_s: float
    peak_dbfs: float | None
    clipped_fraction: float
    lufs: float | None
    speech_dbfs: float
    noise_floor_dbfs: float
    snr_db: float | None
    silence_ratio: float
    reverb_s: float | None


def frame_levels_db(mono: np.ndarray, rate: int) -> np.ndarray:
    """Mean-square level of each whole 10 ms frame in dBFS, ``[frames]`` (tail dropped)."""
    hop = max(1, round(rate * FRAME_S))
    frames = len(mono) // hop
    if frames == 0:
        return np.full(1, LEVEL_FLOOR_DB)
    block = mono[:frames * hop].reshape(frames, hop).astype(np.float64)
    power = np.einsum("ij,ij->i", block, block) / hop
    return 10.0 * np.log10(np.maximum(power, 10 ** (LEVEL_FLOOR_DB / 10)))


def reverb_time_s(levels_db: np.ndarray, noise_floor_db: float,
                  speech_db: float) -> float | None:
    """T60 estimate (s) from the steepest decays of a level curve; see the module docstring."""
    width = round(DECAY_WINDOW_S / FRAME_S)
    if (len(levels_db) < width + DECAY_MIN_WINDOWS
            or speech_db - noise_floor_db < DECAY_MIN_RANGE_DB):
        return None
    windows = np.lib.stride_tricks.sliding_window_view(levels_db, width)
    usable = ((windows.min(axis=1) > noise_floor_db + DECAY_ABOVE_FLOOR_DB)
              & (windows[:, 0] > speech_db - DECAY_BELOW_SPEECH_DB))
    t = (np.arange(width) - (width - 1) / 2) * FRAME_S
    slopes = windows[usable] @ t / float(t @ t)           # dB per second, least squares
    decays = slopes[slopes < 0]
    if len(decays) < DECAY_MIN_WINDOWS:
        return None
    steepest = float(np.percentile(decays, DECAY_PERCENTILE))
    return 60.0 / -steepest


def _lufs(audio: np.ndarray, rate: int) -> float | None:
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    if audio.shape[0] < meter.block_size * rate or audio.shape[1] > 5:
        return None  # shorter than one gating block; BS.1770 weights at most 5 channels
    value = float(meter.integrated_loudness(audio))
    return value if math.isfinite(value) else None


def clipped_fraction(audio: np.ndarray) -> float:
    """The share of samples at or above full scale (``QUALITY_CLIP_LEVEL``), any shape."""
    magnitude = np.abs(np.asarray(audio, dtype=np.float32))
    return float(np.count_nonzero(magnitude >= QUALITY_CLIP_LEVEL)) / max(1, magnitude.size)


def is_clipped(fraction: float) -> bool:
    """Q-1's clipping check on a ``clipped_fraction``: the quality report's per clip, and the
    slicer's per recording (its normalised slices hide clipping from the report)."""
    return fraction > QUALITY_CLIPPED_FRACTION_MAX


def measure_audio(audio: np.ndarray, rate: int) -> AudioMeasures:
    """Measure ``audio`` ``[samples, channels]`` float in [-1, 1] at ``rate`` Hz."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[:, None]
    magnitude = np.abs(audio)
    peak = float(magnitude.max()) if magnitude.size else 0.0
    clipped = clipped_fraction(magnitude)
    mono = audio.mean(axis=1) if audio.shape[1] > 1 else audio[:, 0]
    levels = frame_levels_db(mono, rate)
    speech = float(np.percentile(levels, SPEECH_PERCENTILE))
    floor = float(np.percentile(levels, NOISE_PERCENTILE))
    silent_below = max(speech - QUALITY_SILENCE_BELOW_SPEECH_DB, QUALITY_SILENCE_DBFS)
    silence_ratio = float(np.mean(levels < silent_below))
    has_speech = speech > QUALITY_SILENCE_DBFS
    return AudioMeasures(
        duration_s=audio.shape[0] / rate,
        peak_dbfs=20 * math.log10(peak) if peak > 0 else None,
        clipped_fraction=clipped,
        lufs=_lufs(audio, rate) if has_speech else None,
        speech_dbfs=speech, noise_floor_dbfs=floor,
        snr_db=speech - floor if has_speech else None,
        silence_ratio=silence_ratio if has_speech else 1.0,
        reverb_s=reverb_time_s(levels, floor, speech) if has_speech else None)
