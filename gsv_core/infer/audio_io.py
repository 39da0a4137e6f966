"""Synthesised audio to bytes: the formats the API, the Inference tab and ``gsv-studio tts`` send.

Everything here is 16-bit mono PCM at heart, as upstream's ``api_v2.py`` sends it (48b1a01):

- ``wav``: a whole RIFF/WAVE file, 16-bit PCM.
- ``raw``: headerless little-endian int16 samples (the client must know the rate: 32 kHz).
- ``ogg``: a complete Ogg Vorbis file (libsndfile through soundfile).
- ``aac``: ADTS AAC made by an ``ffmpeg`` executable; without one it is a ConfigError, not
  an empty body as upstream returns when ffmpeg is missing.

A streamed WAV cannot know its length up front, so it starts with the 44-byte header the
standard library's ``wave`` module writes for zero frames (RIFF size 36, data size 0) and
continues with raw int16 PCM; players and upstream clients read such a stream to its end.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np
import soundfile as sf

from gsv_core.errors import ConfigError

__all__ = [
    "CONTENT_TYPES",
    "MEDIA_TYPES",
    "encode",
    "ffmpeg_executable",
    "require_media_type",
    "streaming_wav_header",
    "to_int16",
    "wav_bytes",
]

MEDIA_TYPES: tuple[str, ...] = ("wav", "raw", "ogg", "aac")
# upstream answers "audio/<media_type>" for each, streamed or not; clients may check it
CONTENT_TYPES: dict[str, str] = {name: f"audio/{name}" for name in MEDIA_TYPES}
SAMPLE_WIDTH_BYTES = 2  # int16
INT16_SCALE = 32767  # full scale maps to ±32767, so +1.0 cannot wrap around to -32768
# libsndfile's Vorbis encoder can overflow the stack on one very long write (upstream issue
# #1199, libsndfile #1023); writing in blocks of this many frames avoids that.
OGG_BLOCK_FRAMES = 65536
AAC_BITRATE = "192k"  # upstream's choice


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] → int16 samples; values outside are clipped, NaN becomes 0."""
    samples = np.nan_to_num(np.asarray(audio, dtype=np.float32).reshape(-1))
    return np.round(np.clip(samples, -1.0, 1.0) * INT16_SCALE).astype(np.int16)


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """A whole mono 16-bit PCM WAV file."""
    buffer = io.BytesIO()
    sf.write(buffer, to_int16(audio), sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def streaming_wav_header(sample_rate: int) -> bytes:
    """The 44 bytes ``wave`` writes for a mono 16-bit file of zero frames: the first bytes of
    a streamed WAV, before any PCM."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as header:
        header.setnchannels(1)
        header.setsampwidth(SAMPLE_WIDTH_BYTES)
        header.setframerate(sample_rate)
        header.writeframes(b"")
    return buffer.getvalue()


def ffmpeg_executable() -> str | None:
    """Path of the ``ffmpeg`` on PATH, or None."""
    return shutil.which("ffmpeg")


def require_media_type(media_type: str) -> str:
    """``media_type`` when this machine can encode it; a ConfigError naming the choices, or
    the missing ffmpeg for aac, otherwise. Checked before any synthesis starts."""
    if media_type not in MEDIA_TYPES:
        raise ConfigError(f"media_type: {media_type} is not supported",
                          f"Use one of {', '.join(MEDIA_TYPES)}.")
    if media_type == "aac" and ffmpeg_executable() is None:
        raise ConfigError("media_type: aac needs an ffmpeg executable, and none is on PATH "
                          "of the server",
                          "Install ffmpeg on the server, or ask for wav, raw or ogg.")
    return media_type


def _ogg_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    buffer = io.BytesIO()
    with sf.SoundFile(buffer, mode="w", samplerate=sample_rate, channels=1, format="OGG",
                      subtype="VORBIS") as ogg:
        for start in range(0, len(samples), OGG_BLOCK_FRAMES):
            ogg.write(samples[start:start + OGG_BLOCK_FRAMES])
    return buffer.getvalue()


def _aac_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    executable = ffmpeg_executable()
    if executable is None:
        require_media_type("aac")  # raises the ConfigError that names the missing ffmpeg
    command = [executable, "-hide_banner", "-loglevel", "error", "-f", "s16le",
               "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0", "-c:a", "aac",
               "-b:a", AAC_BITRATE, "-vn", "-f", "adts", "pipe:1"]
    done = subprocess.run(command, input=samples.tobytes(), capture_output=True, check=False)
    if done.returncode != 0:
        raise ConfigError(f"ffmpeg could not encode aac: "
                          f"{done.stderr.decode(errors='replace').strip()[-300:]}",
                          "Ask for wav, raw or ogg, or check the server's ffmpeg.")
    return done.stdout


def encode(audio: np.ndarray, sample_rate: int, media_type: str) -> bytes:
    """``audio`` (float mono) as one complete ``wav``, ``raw``, ``ogg`` or ``aac`` body.

    Raises:
        ConfigError: an unknown media type, or aac without an ffmpeg executable.
    """
    require_media_type(media_type)
    samples = to_int16(audio)
    if media_type == "wav":
        return wav_bytes(audio, sample_rate)
    if media_type == "raw":
        return samples.astype("<i2").tobytes()
    if media_type == "ogg":
        return _ogg_bytes(samples, sample_rate)
    return _aac_bytes(samples.astype("<i2"), sample_rate)
