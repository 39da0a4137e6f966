"""Optional stationary denoise of a recording before it is sliced (issue 10, off by default).

Spectral gating through ``noisereduce`` (its stationary mode): per frequency, a threshold is
set from the level statistics of a stretch of noise (mean + 1.5 standard deviations, in dB);
bins of the short-time spectrum below it are attenuated by ``strength`` (``prop_decrease``),
bins above it are kept. It suits the steady hiss, hum and fan noise of home recordings; it
does not remove reverberation, music or other voices (that is vocal separation's job,
``separate.py``).

Two choices differ from the library's defaults, each measured on generated speech-like audio
(``tests/unit/test_denoise.py``):

- **The noise profile is the quietest part of the recording** (the quietest 10 % of its
  50 ms blocks, digital silence left out), not the whole signal: given the whole signal, the
  library counts the speech itself as "noise" and gates it (a tone-and-pause test signal
  lost 15 dB of speech level). With the quiet part, speech loses well under 1 dB.
- **The mask is smoothed over 100 Hz instead of 500 Hz.** The library smooths the gate with
  a zero-padded convolution, so the lowest 500 Hz (where a voice's fundamental lies) are
  attenuated even where nothing is gated: at the default, a clean signal came out 8 %
  (RMS) different at strength 0. At 100 Hz it is 0.5 %.

The signal is the slicer's: mono float32 at 32 kHz (``audio_read.read_mono``), and the
result has the same length, rate and dtype. ``noisereduce`` (pure Python on scipy) is
imported on first use, so importing this module costs nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gsv_core.errors import ConfigError, DatasetError

__all__ = [
    "DEFAULT_STRENGTH",
    "STRENGTH_RANGE",
    "DenoiseOptions",
    "denoise",
    "denoise_status",
    "noise_profile",
]

DEFAULT_STRENGTH = 0.8          # noise bins keep 20 % of their amplitude (about -14 dB)
STRENGTH_RANGE = (0.1, 1.0)     # below 0.1 the change is inaudible: turn denoise off instead
PROFILE_BLOCK_S = 0.05          # noise profile: blocks of 50 ms, longer than one FFT window
PROFILE_PERCENTILE = 10         # ... the quietest 10 % of them
PROFILE_MAX_S = 18.0            # noisereduce learns from at most its chunk (600000 samples)
DIGITAL_SILENCE_DBFS = -100.0   # blocks quieter than this are not noise to learn from
N_FFT = 1024                    # 32 ms at 32 kHz, noisereduce's default
MASK_SMOOTH_HZ = 100            # see the module docstring (library default 500)
MASK_SMOOTH_MS = 50             # library default: smooths the gate in time against "musical noise"
NOISE_STD_THRESHOLD = 1.5       # library default: threshold = mean + 1.5 std of the noise (dB)


@dataclass(frozen=True)
class DenoiseOptions:
    """How strongly to denoise; validated on construction (a ConfigError naming the field)."""

    strength: float = DEFAULT_STRENGTH  # share of the noise removed (noisereduce prop_decrease)

    def __post_init__(self) -> None:
        value = self.strength
        low, high = STRENGTH_RANGE
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise ConfigError(f"Denoise setting strength: {value!r} is not a number.",
                              f"Give a number from {low:g} to {high:g}, e.g. {DEFAULT_STRENGTH}.")
        if not low <= value <= high:
            raise ConfigError(f"Denoise setting strength: {value:g} is outside {low:g}..{high:g}.",
                              f"Use {DEFAULT_STRENGTH} (removes most steady noise); 1.0 removes "
                              "all it can, lower values keep more of the room sound. To leave "
                              "the audio as it is, turn denoise off.")


def denoise_status() -> tuple[bool, str]:
    """Whether denoise can run here, and, when not, why and what to do."""
    try:
        import noisereduce  # noqa: F401
    except ImportError as exc:
        return False, (f"denoise skipped: the noisereduce package is not installed ({exc}); "
                       "to enable: pip install \"noisereduce>=3.0\"")
    return True, ""


def noise_profile(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """The quietest stretches of ``audio``, joined: what the gate learns the noise from.

    At most ``PROFILE_MAX_S`` of them, spread evenly over the recording (the library reads
    only that much, from the start, so a long recording's profile would otherwise come from
    its first minutes alone). Empty when the recording is shorter than one block or holds
    nothing but digital silence.
    """
    block = max(1, round(PROFILE_BLOCK_S * sample_rate))
    count = len(audio) // block
    if count == 0:
        return np.zeros(0, np.float32)
    blocks = np.asarray(audio[:count * block], dtype=np.float32).reshape(count, block)
    power = np.einsum("ij,ij->i", blocks.astype(np.float64), blocks) / block
    levels = 10.0 * np.log10(np.maximum(power, 1e-30))
    audible = levels > DIGITAL_SILENCE_DBFS
    if not audible.any():
        return np.zeros(0, np.float32)
    quiet = np.flatnonzero(audible & (levels <= np.percentile(levels[audible],
                                                              PROFILE_PERCENTILE)))
    most = max(1, int(PROFILE_MAX_S * sample_rate) // block)
    if len(quiet) > most:
        quiet = quiet[np.linspace(0, len(quiet) - 1, most).round().astype(int)]
    return blocks[quiet].reshape(-1)


def denoise(audio: np.ndarray, sample_rate: int,
            options: DenoiseOptions | None = None) -> np.ndarray:
    """Return ``audio`` (mono float32 ``[samples]``) with its steady background noise reduced.

    Same length, rate and dtype. A recording of digital silence, or one shorter than an FFT
    window, is returned unchanged.

    Raises:
        DatasetError: noisereduce is not installed, or failed on this signal (the caller
            reports it for this file and goes on with the others, X-5).
    """
    options = options or DenoiseOptions()
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise DatasetError(f"Denoise expects one channel, got an array of shape {samples.shape}.",
                           "Mix the recording down to mono first (the slicer does).")
    if len(samples) < N_FFT:
        return samples.copy()
    profile = noise_profile(samples, sample_rate)
    if len(profile) < N_FFT:  # digital silence, or too little quiet audio to learn from
        return samples.copy()
    try:
        import noisereduce
    except ImportError as exc:
        raise DatasetError("Denoise needs the noisereduce package, which is not installed.",
                           "Install it: pip install \"noisereduce>=3.0\", or turn denoise off.",
                           details=repr(exc)) from exc
    try:
        cleaned = noisereduce.reduce_noise(
            y=samples, sr=sample_rate, stationary=True, y_noise=profile,
            prop_decrease=float(options.strength), n_fft=N_FFT,
            freq_mask_smooth_hz=MASK_SMOOTH_HZ, time_mask_smooth_ms=MASK_SMOOTH_MS,
            n_std_thresh_stationary=NOISE_STD_THRESHOLD, n_jobs=1, use_tqdm=False)
    except (ValueError, MemoryError, FloatingPointError) as exc:
        raise DatasetError(f"Denoise failed on this recording: {exc}.",
                           "Slice it without denoise, or split it into shorter files.",
                           details=repr(exc)) from exc
    cleaned = np.asarray(cleaned, dtype=np.float32)
    if cleaned.shape != samples.shape or not np.isfinite(cleaned).all():
        raise DatasetError("Denoise returned an unusable signal (wrong length or not finite).",
                           "Slice this recording without denoise.",
                           details=f"in {samples.shape}, out {cleaned.shape}")
    return cleaned
