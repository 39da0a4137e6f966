"""Cut a long recording into speech chunks an ASR model can take in one go (silero-vad).

SenseVoice and Whisper see at most ~30 s at a time, and Paraformer's memory grows with the
length, so a clip longer than ``LONG_CLIP_S`` is transcribed chunk by chunk. silero-vad
(its bundled JIT model; it needs only torch) finds the speech; consecutive speech regions
are packed into chunks of at most ``max_chunk_s``, so the cuts fall in pauses rather than
mid-word. Audio comes in as a numpy array read with soundfile/soxr: silero's own
``read_audio`` needs torchaudio, which is not installed.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

__all__ = ["LONG_CLIP_S", "MAX_CHUNK_S", "SpeechDetector", "pack_regions"]

LONG_CLIP_S = 30.0      # longer clips are chunked (Whisper's window; SenseVoice degrades past it)
MAX_CHUNK_S = 28.0      # a chunk's most, leaving room for the padding inside a 30 s window
PAD_S = 0.2             # silence kept each side of a chunk, so word edges are not clipped
VAD_RATE = 16000

def pack_regions(regions: list[tuple[int, int]], total: int, max_samples: int,
                 pad: int) -> list[tuple[int, int]]:
    """Join consecutive speech ``regions`` (sample offsets) into chunks no longer than
    ``max_samples`` (a region longer than that is cut into equal parts), each padded by
    ``pad`` samples within ``[0, total)``."""
    pieces: list[tuple[int, int]] = []
    for start, end in regions:
        count = max(1, -(-(end - start) // max_samples))
        step = (end - start) / count
        pieces.extend((start + round(i * step), start + round((i + 1) * step))
                      for i in range(count))
    chunks: list[tuple[int, int]] = []
    for start, end in pieces:
        if chunks and end - chunks[-1][0] <= max_samples:
            chunks[-1] = (chunks[-1][0], end)
        else:
            chunks.append((start, end))
    return [(max(0, start - pad), min(total, end + pad)) for start, end in chunks]


class SpeechDetector:
    """silero-vad's bundled JIT model, loaded on first use; one per job (it keeps state
    between the windows of one call, so calls on one detector are serialised)."""

    def __init__(self, max_chunk_s: float = MAX_CHUNK_S) -> None:
        self.max_chunk_s = max_chunk_s
        self._model = None
        self._lock = threading.Lock()

    def chunks(self, audio: np.ndarray, sample_rate: int = VAD_RATE) -> list[tuple[int, int]]:
        """Sample ranges ``(start, end)`` of ``audio`` (mono float32 at ``sample_rate``:
        16 kHz, or 8 kHz) holding its speech, in order, each at most ``max_chunk_s`` plus
        padding. Empty when silero hears no speech."""
        import torch
        from silero_vad import get_speech_timestamps, load_silero_vad

        with self._lock, torch.inference_mode():
            if self._model is None:
                with warnings.catch_warnings():
                    # silero-vad 6.2's loader uses importlib.resources.path and torch.jit.load,
                    # both deprecated upstream of it: nothing a user can act on.
                    warnings.filterwarnings("ignore", "path is deprecated",
                                            DeprecationWarning)
                    warnings.filterwarnings("ignore", ".*torch.jit.load.* is deprecated",
                                            DeprecationWarning)
                    self._model = load_silero_vad()
            regions = get_speech_timestamps(
                torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), self._model,
                sampling_rate=sample_rate, max_speech_duration_s=self.max_chunk_s)
        spans = [(int(r["start"]), int(r["end"])) for r in regions]
        return pack_regions(spans, audio.shape[0], int(self.max_chunk_s * sample_rate),
                            int(PAD_S * sample_rate))
