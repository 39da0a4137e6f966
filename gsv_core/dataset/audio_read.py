"""Decode any recording a user brings into mono float32 at one sample rate.

soundfile (libsndfile 1.2) reads wav/flac/ogg/mp3; everything it cannot read (m4a/aac, video
containers such as mp4/mkv/webm) goes through PyAV, whose wheels bundle FFmpeg's decoders, so
no ``ffmpeg`` executable is needed. Upstream's slice tool shells out to ffmpeg instead
(``tools/slice_audio.py``). Both paths decode block by block, average the channels and
resample with a soxr stream, so an hour-long 48 kHz stereo file never sits in memory as
floats at its original rate: the peak is about the output (0.46 GB per hour at 32 kHz).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import soundfile
import soxr

from gsv_core.audio import SAMPLE_RATE, check_finite
from gsv_core.errors import DatasetError

__all__ = ["AUDIO_SUFFIXES", "PYAV_SUFFIXES", "SOUNDFILE_SUFFIXES", "read_mono"]

SOUNDFILE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
PYAV_SUFFIXES = (".m4a", ".aac", ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".wma", ".3gp")
AUDIO_SUFFIXES = SOUNDFILE_SUFFIXES + PYAV_SUFFIXES  # what a folder scan picks up
BLOCK_FRAMES = 1 << 20  # frames decoded per block by soundfile (~22 s at 48 kHz)


def read_mono(path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read ``path`` as mono float32 ``[samples]`` at ``sample_rate`` (channels averaged).

    soundfile first, unless the suffix is one only PyAV reads; when soundfile fails, PyAV
    is tried too (FFmpeg reads some mp3/wav variants libsndfile refuses).

    Raises:
        DatasetError: neither decoder can read the file (names the file, both reasons in
            ``details``), or it holds samples that are not numbers (NaN, infinite).
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"The audio file {str(path)!r} does not exist.",
                           "Check the path; it may have been moved or renamed.")
    reasons = []
    if path.suffix.lower() not in PYAV_SUFFIXES:
        try:
            return check_finite(_read_soundfile(path, sample_rate), path)
        except (soundfile.SoundFileError, RuntimeError, OSError) as exc:
            reasons.append(f"soundfile: {exc}")
    try:
        return check_finite(_read_pyav(path, sample_rate), path)
    except _PyAVError as exc:
        reasons.append(f"PyAV: {exc}")
    raise DatasetError(
        f"Cannot decode the audio file {str(path)!r}.",
        "The file is damaged or not audio. Open it in a player; if it plays, convert it to "
        "WAV or FLAC and try again.",
        details="; ".join(reasons))


class _PyAVError(Exception):
    """PyAV could not decode the file (its own errors, or no audio track)."""


def _read_soundfile(path: Path, sample_rate: int) -> np.ndarray:
    with soundfile.SoundFile(os.fspath(path)) as handle:
        rate = handle.samplerate
        blocks = handle.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True)
        return _mono_resampled(blocks, rate, sample_rate)


def _read_pyav(path: Path, sample_rate: int) -> np.ndarray:
    import av  # imported on use: the FFmpeg libraries take a moment to load

    try:
        with av.open(os.fspath(path)) as container:
            if not container.streams.audio:
                raise _PyAVError("no audio track")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or stream.rate
            # Planar float at the stream's own rate and layout: we average the channels and
            # resample ourselves, as for soundfile, so both decoders give the same signal.
            resampler = av.AudioResampler(format="fltp", rate=rate)
            blocks = _pyav_blocks(container.decode(stream), resampler)
            return _mono_resampled(blocks, rate, sample_rate)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise _PyAVError(str(exc)) from exc


def _pyav_blocks(frames: Iterable, resampler) -> Iterator[np.ndarray]:
    """Decoded PyAV frames as float32 ``[samples, channels]`` blocks."""
    for frame in frames:
        for out in resampler.resample(frame):
            yield out.to_ndarray().T  # fltp gives [channels, samples]
    for out in resampler.resample(None):  # flush what the resampler holds
        yield out.to_ndarray().T


def _mono_resampled(blocks: Iterable[np.ndarray], from_rate: int, to_rate: int) -> np.ndarray:
    """Average the channels of ``[samples, channels]`` blocks and resample them (soxr HQ,
    the quality ``gsv_core.audio.resample`` uses) into one float32 array."""
    stream = (soxr.ResampleStream(from_rate, to_rate, 1, dtype="float32", quality="HQ")
              if from_rate != to_rate else None)
    parts = []
    for block in blocks:
        mono = (block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32))
        mono = np.ascontiguousarray(mono, dtype=np.float32)
        parts.append(stream.resample_chunk(mono) if stream is not None else mono.copy())
    if stream is not None:
        parts.append(stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(parts).astype(np.float32, copy=False)
