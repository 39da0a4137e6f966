"""Streaming within one segment (upstream's streaming modes 2 and 3): decode the semantic
tokens of a segment in overlapping chunks and hand out audio as soon as each chunk is ready.

Entry point for ``InferenceEngine.stream``::

    stream_segment_chunks(
        sovits: SoVITSGenerator,
        semantic_tokens: torch.Tensor | Iterable[torch.Tensor],  # [n] (or [1, 1, n]) int64,
                                     # or an iterator of new-token pieces as GPT produces them
        phone_ids: torch.Tensor,     # [1, T_text]
        *,
        ge: torch.Tensor | None = None,            # [1, gin, 1] from sovits.style_embedding
        refer_specs: Sequence[torch.Tensor] | None = None,  # or the reference spectrograms
        speed: float = 1.0,
        noise_scale: float = 0.5,
        generator: torch.Generator | None = None,  # random source of the prior noise
        overlap_length: int = 2,     # tokens decoded twice and cross-faded at each seam
        min_chunk_length: int = 16,  # new tokens per chunk at least (> overlap_length)
        quiet_similarity: torch.Tensor | None = None,  # mode 2 borders; None: mode 3
        noise: FrameNoise | None = None,  # prior noise per frame; None: from generator
    ) -> Iterator[StreamedChunk]     # StreamedChunk(audio: float32 [n_samples], final: bool)

Mode 3 (``quiet_similarity=None``) cuts every ``min_chunk_length`` tokens. Mode 2 passes
:func:`quiet_token_similarity` of the GPT's token embedding and cuts, like upstream, after at
least ``min_chunk_length`` tokens where two consecutive tokens sound like silence, so seams
fall in pauses. Both decide a cut as each token arrives, as upstream does after every GPT
step, also when several tokens (or the whole segment) come at once: the borders depend on the
tokens only, not on how they are grouped.

How a chunk is decoded, and why the streamed audio equals a whole render away from seams:

- Time: one 25 Hz token is 2 SoVITS frames, one frame ``hop_length`` (640) samples at 32 kHz,
  so a token is 1280 samples at speed 1.
- Content encoder (``enc_p``): it attends over the whole sequence, so a chunk is encoded
  with every token known so far (the prefix up to the chunk's end), as upstream does. The
  prefix is fixed by the chunk borders, never by how fast tokens arrive, so the output does
  not depend on timing. The last chunk sees every token and equals the whole render; an
  earlier chunk lacks only the tokens after it, which a trained model barely attends to.
- Flow and HiFiGAN are convolutions: each chunk re-decodes frames before its start
  (``FLOW_CONTEXT_FRAMES`` through the flow, ``DECODER_CONTEXT_FRAMES`` through HiFiGAN, their
  receptive fields) and drops their samples, so its left edge sees what the whole render sees.
- Prior noise: ``decode`` draws ``randn`` over the whole segment at once, whose layout
  depends on the segment's length, unknown while streaming. Here the noise of frame ``f`` is
  drawn in fixed blocks of frames, in order, from ``generator`` (:class:`FrameNoise`), so a
  frame gets the same noise however the segment is cut. A whole render with the same
  :class:`FrameNoise` (or with ``noise_scale`` 0) therefore matches the stream; the
  engine's whole ``synthesize`` draws a different (equally valid) sample for the same seed.
- Seams: each chunk holds back its last ``overlap_length`` tokens of audio; the next chunk
  decodes them again (now with context on both sides) and the two versions are cross-faded
  with a raised-cosine fade (``sin²`` in, ``cos²`` out). The two versions are nearly the
  same signal, so gains that sum to 1 keep the level (an equal-power fade would swell by up
  to 3 dB on correlated audio) and the fade's zero slope at both ends leaves no corner.
  Upstream also searches a lag (SOLA) because its chunks draw fresh noise; ours share
  frames and noise, so there is no lag to find.
- Speed: frames are resampled on one global grid (output frame ``i`` reads the content at
  ``(i + 0.5) · speed - 0.5``, the linear rule ``decode`` uses), so chunks line up; at a
  speed other than 1 ``decode`` stretches by ``T / (int(T / speed) + 1)`` instead, a
  difference below one frame over the segment.

Upstream's mode 2 yields the pending tokens past the cut again in its next chunk (48b1a01,
``infer_panel_naive``): those tokens are decoded twice. Here each token belongs to one chunk.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gsv_core.errors import ConfigError
from gsv_core.models.sovits import SoVITSGenerator

__all__ = [
    "DECODER_CONTEXT_FRAMES",
    "EDGE_GUARD_FRAMES",
    "FLOW_CONTEXT_FRAMES",
    "QUIET_TOKEN",
    "FrameNoise",
    "StreamedChunk",
    "cross_fade",
    "next_chunk_length",
    "quiet_token_similarity",
    "stream_segment_chunks",
]

# Frames decoded again before a chunk's start, so its left edge sees what the whole render
# sees. The flow is 4 couplings of 4 convolutions of kernel 5 (±2 frames each: ±32 frames);
# HiFiGAN reaches ±3 frames in its first convolution and ±6 in its first resblocks (kernel 11,
# dilations 1/3/5 at 64 samples a frame), under a frame in the later ones. The flow is cheap,
# HiFiGAN is most of the work, so each gets its own context.
FLOW_CONTEXT_FRAMES = 40
DECODER_CONTEXT_FRAMES = 12

# Upstream's "mute" semantic token for v1/v2 (TTS.py ``mute_tokens``), and its threshold on
# the cosine similarity to it above which a token counts as quiet (``chunk_split_thershold``).
QUIET_TOKEN = 486
QUIET_THRESHOLD = 0.0
# Mode 2 looks this many tokens past the minimum before choosing a cut (upstream's value).
QUIET_LOOKAHEAD_TOKENS = 2

# Frames at the end of a non-final chunk that are decoded but never used: past the last
# known token the flow and HiFiGAN see zero padding and the content encoder no future, so
# the last frames are the least like the whole render (on the tiny fixture the error rises
# about 5x over the last 3.5 frames). The cross-fade uses the frames before them.
EDGE_GUARD_FRAMES = 4

NOISE_BLOCK_FRAMES = 256


@dataclass(frozen=True)
class StreamedChunk:
    """Audio of one chunk, ready to play: float32 mono at the SoVITS sample rate."""

    audio: np.ndarray
    final: bool  # the segment's last chunk


def quiet_token_similarity(
    token_embedding: torch.Tensor, quiet_token: int = QUIET_TOKEN
) -> torch.Tensor:
    """Cosine similarity ``[vocab]`` of every semantic token to the silence token, in the
    GPT's token embedding ``[vocab, dim]`` (``gpt.ar_audio_embedding.word_embeddings.weight``).
    Compute it once per GPT model; mode 2 cuts where tokens are close to silence."""
    weight = token_embedding.detach().float()
    return F.cosine_similarity(weight[quiet_token].unsqueeze(0), weight, dim=-1)


def next_chunk_length(
    pending: torch.Tensor,
    min_chunk_length: int,
    quiet_similarity: torch.Tensor | None = None,
    threshold: float = QUIET_THRESHOLD,
) -> int | None:
    """How many of the ``pending`` tokens (``[n]``, not yet in a chunk) form the next chunk,
    or None to wait for more.

    Without ``quiet_similarity`` (mode 3): every ``min_chunk_length`` tokens. With it (mode
    2, upstream's rule): once ``min_chunk_length + 2`` tokens wait, each token scores its
    similarity above ``threshold`` (-1 when below), a position scores itself plus the next
    token, and the chunk ends after the best position that leaves at least
    ``min_chunk_length`` tokens, if that score is at least 0; otherwise it waits.

    Upstream takes the best position over all pending tokens and then drops it when it is
    too early, so one quiet pair among the first ``min_chunk_length`` tokens blocks every
    later cut of the segment; here only the positions that may cut compete.
    """
    count = int(pending.shape[0])
    if quiet_similarity is None:
        return min_chunk_length if count >= min_chunk_length else None
    if count < min_chunk_length + QUIET_LOOKAHEAD_TOKENS:
        return None
    score = quiet_similarity.to(pending.device)[pending] - threshold
    score = torch.where(score < 0, torch.full_like(score, -1.0), score)
    pair = score.clone()
    pair[:-1] = score[:-1] + score[1:]
    first = min_chunk_length - 1  # a cut here leaves exactly min_chunk_length tokens
    best = first + int(pair[first:].argmax())
    return best + 1 if pair[best] >= 0 else None


class FrameNoise:
    """Standard normal prior noise per output frame, the same however a segment is chunked.

    Blocks of ``NOISE_BLOCK_FRAMES`` frames are drawn in order from ``generator``, so frame
    ``f`` always comes from the same draw. Pass one instance to a whole render to compare it
    with a stream."""

    def __init__(self, channels: int, generator: torch.Generator | None,
                 device: torch.device, dtype: torch.dtype) -> None:
        self._channels = channels
        self._generator = generator
        self._device = device
        self._dtype = dtype
        self._blocks: list[torch.Tensor] = []

    def frames(self, start: int, stop: int) -> torch.Tensor:
        """Noise ``[1, channels, stop - start]`` of frames ``start`` to ``stop``."""
        while len(self._blocks) * NOISE_BLOCK_FRAMES < stop:
            self._blocks.append(torch.randn(
                (1, self._channels, NOISE_BLOCK_FRAMES), generator=self._generator,
                device=self._device, dtype=self._dtype,
            ))  # fmt: skip
        return torch.cat(self._blocks, dim=2)[:, :, start:stop]


@dataclass(frozen=True)
class _Timing:
    """Frame arithmetic of one segment: tokens → content frames → output frames."""

    frames_per_token: int
    hop: int
    speed: float

    def output_frames(self, content_frames: int, *, complete: bool) -> int:
        """Output frames computable from ``content_frames``: all of them for the complete
        segment (``decode``'s count), else those whose two interpolation neighbours exist."""
        if self.speed == 1:
            return content_frames
        if complete:
            return int(content_frames / self.speed) + 1
        return max(0, math.floor((content_frames - 0.5) / self.speed - 0.5) + 1)

    def overlap_frames(self, overlap_tokens: int) -> int:
        return round(overlap_tokens * self.frames_per_token / self.speed)


def _resample(stats: torch.Tensor, start: int, stop: int, speed: float) -> torch.Tensor:
    """Output frames ``start..stop`` of content stats ``[1, C, T]`` on the global grid."""
    if speed == 1:
        return stats[:, :, start:stop]
    last = stats.shape[2] - 1
    # positions in float64 on the CPU (MPS has no float64), then indices and weights moved
    position = ((torch.arange(start, stop, dtype=torch.float64) + 0.5) * speed
                - 0.5).clamp(min=0.0, max=float(last))
    left = position.floor().long()
    right = (left + 1).clamp(max=last)
    weight = (position - left).to(device=stats.device, dtype=stats.dtype)
    left, right = left.to(stats.device), right.to(stats.device)
    return stats[:, :, left] * (1 - weight) + stats[:, :, right] * weight


def cross_fade(tail: torch.Tensor, head: torch.Tensor) -> torch.Tensor:
    """``head`` (``[n]``, n ≥ len(tail)) with its first ``len(tail)`` samples faded in over
    ``tail``, the previous chunk's version of the same samples.

    Raised-cosine gains (``sin²`` in, ``cos²`` out) sum to 1, which keeps the level of two
    near-equal signals, and have zero slope at both ends, so neither end has a corner."""
    length = tail.shape[0]
    if length == 0:
        return head
    phase = (torch.arange(length, dtype=torch.float64) + 0.5) / length  # CPU: MPS lacks fp64
    fade_in = (torch.sin(phase * (math.pi / 2)) ** 2).to(device=head.device, dtype=head.dtype)
    mixed = head.clone()
    mixed[:length] = tail.to(head.dtype) * (1 - fade_in) + head[:length] * fade_in
    return mixed


class _SegmentDecoder:
    """Decodes output frames of one segment from a token prefix (see the module doc)."""

    def __init__(self, sovits: SoVITSGenerator, phone_ids: torch.Tensor, ge: torch.Tensor,
                 timing: _Timing, noise_scale: float, noise: FrameNoise) -> None:
        self.sovits = sovits
        self.phone_ids = phone_ids
        self.dtype = sovits.ssl_proj.weight.dtype
        self.ge = ge.to(self.dtype)
        self.timing = timing
        self.noise_scale = noise_scale
        self.noise = noise

    def prior(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prior mean and log-std ``[1, C, T_content]`` at speed 1 of a token prefix."""
        codes = tokens.view(1, 1, -1)
        content = self.sovits.quantizer.decode(codes)  # [1, 768, T25]
        content = content.repeat_interleave(self.timing.frames_per_token, dim=2).to(self.dtype)
        m_p, logs_p, _ = self.sovits.enc_p.infer(content, self.phone_ids, self.ge)
        return m_p, logs_p

    def audio(self, m_p: torch.Tensor, logs_p: torch.Tensor, start: int,
              stop: int) -> torch.Tensor:
        """Samples ``[n]`` (float32) of output frames ``start..stop``, decoded with left
        context (``FLOW_CONTEXT_FRAMES``, ``DECODER_CONTEXT_FRAMES``) that is then dropped."""
        first = max(0, start - FLOW_CONTEXT_FRAMES)
        mean = _resample(m_p, first, stop, self.timing.speed)
        z_p = mean
        if self.noise_scale:
            log_std = _resample(logs_p, first, stop, self.timing.speed)
            z_p = mean + self.noise.frames(first, stop) * torch.exp(log_std) * self.noise_scale
        mask = torch.ones((1, 1, z_p.shape[2]), device=z_p.device, dtype=z_p.dtype)
        z = self.sovits.flow(z_p, mask, g=self.ge, reverse=True)
        decoded = max(0, start - DECODER_CONTEXT_FRAMES)
        wav = self.sovits.dec(z[:, :, decoded - first:], g=self.ge)[0, 0]
        return wav[(start - decoded) * self.timing.hop:].float()


def _token_pieces(semantic_tokens: torch.Tensor | Iterable[torch.Tensor]) -> Iterator[
        torch.Tensor]:
    if isinstance(semantic_tokens, torch.Tensor):
        semantic_tokens = (semantic_tokens,)
    for piece in semantic_tokens:
        if piece.dim() > 1 and math.prod(piece.shape[:-1]) != 1:
            raise ConfigError(
                f"streaming decodes one segment at a time; got tokens of shape "
                f"{tuple(piece.shape)}"
            )
        yield piece.reshape(-1).long()


def _check(overlap_length: int, min_chunk_length: int, speed: float) -> None:
    if overlap_length < 0:
        raise ConfigError(f"overlap_length must be 0 or more, got {overlap_length}")
    if min_chunk_length <= overlap_length:
        raise ConfigError(
            f"min_chunk_length ({min_chunk_length}) must be greater than overlap_length "
            f"({overlap_length})",
            "Each chunk re-decodes overlap_length tokens of the one before; raise "
            "min_chunk_length or lower overlap_length.",
        )
    if speed <= 0:
        raise ConfigError(f"speed must be positive, got {speed}")


@torch.no_grad()
def stream_segment_chunks(
    sovits: SoVITSGenerator,
    semantic_tokens: torch.Tensor | Iterable[torch.Tensor],
    phone_ids: torch.Tensor,
    *,
    ge: torch.Tensor | None = None,
    refer_specs: Sequence[torch.Tensor] | None = None,
    speed: float = 1.0,
    noise_scale: float = 0.5,
    generator: torch.Generator | None = None,
    overlap_length: int = 2,
    min_chunk_length: int = 16,
    quiet_similarity: torch.Tensor | None = None,
    noise: FrameNoise | None = None,
) -> Iterator[StreamedChunk]:
    """Yield one segment's audio chunk by chunk (see the module doc for the method).

    Args:
        sovits: the SoVITS generator, in eval mode.
        semantic_tokens: the segment's tokens ``[n]`` as GPT returned them
            (``DecodeResult.semantic_for_sovits``), or an iterable of new-token pieces,
            consumed as it produces them (a chunk is decoded as soon as its tokens exist).
        phone_ids: the segment's phones ``[1, T_text]``.
        ge / refer_specs: the reference style, exactly one of them.
        speed, noise_scale, generator: as in ``SoVITSGenerator.decode``.
        overlap_length: tokens of overlap decoded by both chunks of a seam and cross-faded.
        min_chunk_length: new tokens per chunk at least; greater than ``overlap_length``.
        quiet_similarity: :func:`quiet_token_similarity` for mode 2 cuts; None for mode 3.
        noise: the prior noise per frame; by default drawn from ``generator``. Give the same
            one to a whole render to compare the two.

    Yields:
        :class:`StreamedChunk` s whose audio, concatenated, is the segment; the last has
        ``final=True``. A segment without tokens yields nothing.
    """
    _check(overlap_length, min_chunk_length, speed)
    if (refer_specs is None) == (ge is None):
        raise ConfigError("streaming needs exactly one of refer_specs or ge")
    if ge is None:
        ge = sovits.style_embedding(refer_specs)
    config = sovits.config
    timing = _Timing(frames_per_token=2 if config.semantic_frame_rate == "25hz" else 1,
                     hop=math.prod(config.upsample_rates), speed=speed)
    dtype = sovits.ssl_proj.weight.dtype
    if noise is None:
        noise = FrameNoise(config.inter_channels, generator, phone_ids.device, dtype)
    decoder = _SegmentDecoder(sovits, phone_ids, ge, timing, noise_scale, noise)
    overlap_frames = timing.overlap_frames(overlap_length)

    tokens = torch.zeros(0, dtype=torch.long, device=phone_ids.device)
    chunked = 0  # tokens already in a chunk
    emitted = 0  # output frames already handed out
    tail: torch.Tensor | None = None  # held-back samples of frames emitted..emitted+overlap

    def chunk(end_token: int, final: bool) -> StreamedChunk | None:
        nonlocal emitted, tail
        m_p, logs_p = decoder.prior(tokens[:end_token])
        decoded = timing.output_frames(m_p.shape[2], complete=final)
        stop = decoded if final else decoded - EDGE_GUARD_FRAMES
        if not final and stop - overlap_frames <= emitted:  # nothing new to hand out yet
            return None
        audio = decoder.audio(m_p, logs_p, emitted, decoded)[: (stop - emitted) * timing.hop]
        if tail is not None:
            audio = cross_fade(tail, audio)
        if final:
            ready, tail = audio, None
        else:
            cut = (stop - overlap_frames - emitted) * timing.hop
            ready, tail = audio[:cut], (audio[cut:] if overlap_frames else None)
            emitted = stop - overlap_frames
        return StreamedChunk(audio=ready.cpu().numpy().astype(np.float32), final=final)

    # The cuts are decided on the CPU (no device sync per token) and as if the tokens came
    # one at a time, as upstream checks after every GPT step: the borders, and so the audio,
    # do not depend on how the tokens are grouped into pieces (one GPT step, a block of
    # steps, the whole segment).
    similarity = None if quiet_similarity is None else quiet_similarity.detach().float().cpu()
    known = torch.zeros(0, dtype=torch.long)  # the tokens so far, on the CPU
    for piece in _token_pieces(semantic_tokens):
        tokens = torch.cat([tokens, piece.to(tokens.device)])
        arrived, known = known.shape[0], torch.cat([known, piece.cpu()])
        for count in range(arrived + 1, known.shape[0] + 1):
            while (length := next_chunk_length(known[chunked:count], min_chunk_length,
                                               similarity)) is not None:
                chunked += length
                if (ready := chunk(chunked, final=False)) is not None:
                    yield ready
    if tokens.shape[0] > 0:
        yield chunk(tokens.shape[0], final=True)
