"""Audio format constants of GPT-SoVITS v2, and loading/resampling of audio files.

Every number that fixes the audio format lives here; the models, the spectrogram and the
dataset code import them instead of repeating them. Files are read with soundfile and
resampled with soxr: torchaudio is not used (see design.md: no build for current torch,
and a broken install makes other imports crash).
"""

from __future__ import annotations

import os

import numpy as np
import soundfile
import soxr

from gsv_core.errors import DatasetError

__all__ = [
    "HOP_LENGTH",
    "HUBERT_HOP_LENGTH",
    "HUBERT_SAMPLE_RATE",
    "MAX_WAV_VALUE",
    "MEL_FMAX",
    "MEL_FMIN",
    "N_FFT",
    "N_MELS",
    "N_SPEC_BINS",
    "REF_SPEC_BINS",
    "SAMPLES_PER_TOKEN",
    "SAMPLE_RATE",
    "SPEC_FRAME_RATE",
    "SPEC_PAD",
    "SSL_FRAME_RATE",
    "TOKEN_RATE",
    "WIN_LENGTH",
    "check_finite",
    "load_audio",
    "resample",
]

SAMPLE_RATE = 32000  # Hz: SoVITS input spectrograms and output waveforms
HUBERT_SAMPLE_RATE = 16000  # Hz: what chinese-hubert-base reads
N_FFT = 2048  # STFT size (s2.json "filter_length")
HOP_LENGTH = 640  # samples between spectrogram frames at 32 kHz
WIN_LENGTH = 2048  # periodic Hann window length
SPEC_PAD = (N_FFT - HOP_LENGTH) // 2  # 704 samples of reflect padding each side; no centring
N_SPEC_BINS = N_FFT // 2 + 1  # 1025 linear-frequency bins
REF_SPEC_BINS = 704  # the v2 reference (style) encoder reads only the lowest 704 bins
N_MELS = 128  # Slaney mel bins, used by the training loss
MEL_FMIN = 0.0
MEL_FMAX = SAMPLE_RATE / 2  # s2.json "mel_fmax": null means Nyquist
MAX_WAV_VALUE = 32768.0  # int16 full scale
SPEC_FRAME_RATE = SAMPLE_RATE // HOP_LENGTH  # 50 Hz: spectrogram frames per second
HUBERT_HOP_LENGTH = 320  # HuBERT's stride at 16 kHz
SSL_FRAME_RATE = HUBERT_SAMPLE_RATE // HUBERT_HOP_LENGTH  # 50 Hz, aligned with spectrogram frames
TOKEN_RATE = 25  # Hz: semantic tokens (the SoVITS ssl_proj halves 50 Hz with stride 2)
SAMPLES_PER_TOKEN = SAMPLE_RATE // TOKEN_RATE  # 1280 output samples per semantic token

assert SPEC_FRAME_RATE == SSL_FRAME_RATE == 2 * TOKEN_RATE  # the models rely on this alignment


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample a mono float signal ``[samples]`` with soxr (high quality); float32 out."""
    audio = np.asarray(audio, dtype=np.float32)
    if from_rate == to_rate:
        return audio
    return soxr.resample(audio, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


def check_finite(audio: np.ndarray, path: str | os.PathLike[str]) -> np.ndarray:
    """``audio`` if every sample is a number; else DatasetError naming the file.

    Why: a damaged float WAV can hold NaN or infinite samples. Let through, they turn the
    slicer's loudness, the quality measures and every model feature into NaN, and a 16-bit
    slice written from them is noise, all without a word.
    """
    if not np.isfinite(audio).all():
        bad = int(np.count_nonzero(~np.isfinite(audio)))
        raise DatasetError(
            f"The audio file {os.fspath(path)!r} holds {bad} samples that are not numbers "
            "(NaN or infinite): a damaged floating-point recording.",
            "Export it again from the recording program (16-bit PCM WAV is safest), or "
            "leave it out.")
    return audio


def load_audio(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as mono float32 in [-1, 1] at ``sample_rate``; shape ``[samples]``.

    Channels are averaged, as upstream's loader does (librosa ``mono=True``).

    Raises:
        DatasetError: the file is missing, not a format libsndfile can read, or holds
            samples that are not numbers.
    """
    try:
        audio, file_rate = soundfile.read(os.fspath(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, OSError) as exc:
        raise DatasetError(
            f"Cannot read the audio file {os.fspath(path)!r}.",
            "Check that the file exists and is a wav, flac, ogg or mp3 file.",
            details=str(exc),
        ) from exc
    return resample(check_finite(audio, path).mean(axis=1), file_rate, sample_rate)
