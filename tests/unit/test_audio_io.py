"""Audio encoding for the API, the tab and the CLI (gsv_core/infer/audio_io.py, issue 8 item 4)."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
import pytest
import soundfile as sf

from gsv_core.errors import ConfigError
from gsv_core.infer import audio_io

RATE = 32000


def _tone(duration_s: float = 0.5, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(RATE * duration_s)) / RATE
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_streaming_wav_header_is_the_44_bytes_wave_writes_for_zero_frames() -> None:
    header = audio_io.streaming_wav_header(RATE)
    # Field by field, as the RIFF/WAVE format defines it (not through the wave module).
    expected = (b"RIFF" + struct.pack("<I", 36) + b"WAVE"
                + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
                + b"data" + struct.pack("<I", 0))
    assert header == expected
    assert len(header) == 44


def test_a_streamed_wav_reads_back_as_its_pcm() -> None:
    tone = _tone()
    stream = audio_io.streaming_wav_header(RATE) + audio_io.encode(tone, RATE, "raw")
    pcm = np.frombuffer(stream[44:], dtype="<i2")
    np.testing.assert_array_equal(pcm, audio_io.to_int16(tone))


def test_whole_wav_is_16_bit_pcm_mono() -> None:
    tone = _tone()
    data = audio_io.encode(tone, RATE, "wav")
    info = sf.info(io.BytesIO(data))
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (
        RATE, 1, "PCM_16", len(tone))
    with wave.open(io.BytesIO(data)) as reader:
        assert reader.getsampwidth() == 2
    decoded, _ = sf.read(io.BytesIO(data), dtype="float32")
    np.testing.assert_allclose(decoded, tone, atol=1 / 16000)


def test_raw_is_headerless_int16() -> None:
    tone = _tone(0.1)
    data = audio_io.encode(tone, RATE, "raw")
    assert len(data) == 2 * len(tone)
    np.testing.assert_array_equal(np.frombuffer(data, dtype="<i2"), audio_io.to_int16(tone))


def test_ogg_is_a_complete_vorbis_file() -> None:
    tone = _tone()
    data = audio_io.encode(tone, RATE, "ogg")
    assert data[:4] == b"OggS"
    decoded, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == RATE
    assert abs(len(decoded) - len(tone)) < RATE // 100
    # lossy, but the tone survives: correlation with the input is high
    n = min(len(decoded), len(tone))
    assert np.corrcoef(decoded[:n], tone[:n])[0, 1] > 0.9


def test_ogg_of_a_long_clip_is_written_in_blocks() -> None:
    """More frames than one block: the blocks join into one file of the whole length."""
    tone = _tone(audio_io.OGG_BLOCK_FRAMES * 2.5 / RATE, 0.3)
    decoded, _ = sf.read(io.BytesIO(audio_io.encode(tone, RATE, "ogg")), dtype="float32")
    assert abs(len(decoded) - len(tone)) < RATE // 100


def test_to_int16_clips_instead_of_wrapping() -> None:
    samples = audio_io.to_int16(np.array([2.0, 1.0, -1.0, -3.0, np.nan, 0.5], np.float32))
    assert samples.tolist() == [32767, 32767, -32767, -32767, 0, 16384]


def test_unknown_media_type_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match="mp3"):
        audio_io.encode(_tone(0.1), RATE, "mp3")


def test_aac_without_ffmpeg_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")  # no executable can be found
    with pytest.raises(ConfigError, match="ffmpeg"):
        audio_io.require_media_type("aac")
    with pytest.raises(ConfigError, match="ffmpeg"):
        audio_io.encode(_tone(0.1), RATE, "aac")


@pytest.mark.skipif(audio_io.ffmpeg_executable() is None, reason="no ffmpeg on this machine")
def test_aac_with_ffmpeg_is_adts() -> None:
    data = audio_io.encode(_tone(), RATE, "aac")
    assert data[0] == 0xFF and data[1] & 0xF0 == 0xF0  # ADTS sync word
