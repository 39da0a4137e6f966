"""One GPT decoding step (token embedding, every layer, output projection) as a CUDA graph.

At batch 1 the eager step is bound by kernel launches: about a dozen small kernels per layer,
24 layers, for a few microseconds of work each. A CUDA graph records those launches once and
replays them with one call. A graph needs shapes and addresses that never change, so the
step here differs from the eager one (``gpt_decode.generate_batch``) in three ways:

- the write position is a device tensor (``positions``, [1] int64) that the step reads, not a
  Python int: keys/values go into the cache by ``index_copy_``;
- attention runs over the whole preallocated cache (``gpt.attend_all_slots``), and an
  additive bias ([B, H, 1, L], -inf) hides the slots not yet written and padded phones; the
  step opens its own slot;
- the input token is read from the shared ``history`` buffer at ``positions - text_len``
  (the reference+generated index equals the audio position), so nothing is copied in.

Where Triton is present (and no autocast), the recorded step is ``gpt_fused_step.fused_step``
instead: the same three points, with attention over the slots written so far, in about half
the kernels. Sampling is a second, small graph (``gpt_graph_sampling``). The text length is a device
tensor too, so one recording serves every decode with the same buffers: ``gpt_graph_pool``
keeps the buffers and graphs between decodes (per batch size, bucketed cache length, dtype),
and :meth:`GraphedDecodeStep.prepare` points a kept step at the next decode's phones.
Recording (two eager warm-up steps, then the capture) took about 20-30 ms on an H100/H200,
the first time in a process 0.1-0.3 s (with Triton, its kernels compile on first use in a
process, then come from Triton's on-disk cache).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch

from gsv_core.models.gpt import Text2SemanticDecoder
from gsv_core.models.gpt_fused_step import fused_step, fused_step_supported

__all__ = ["GraphedDecodeStep", "graph_supported", "static_bias", "static_step"]

WARMUP_STEPS = 2  # eager runs on the capture stream first: lazy cuBLAS/attention setup


def graph_supported(model: Text2SemanticDecoder) -> bool:
    """True where the graphed step can run: CUDA weights, eval mode, not already capturing."""
    param = next(model.parameters())
    return (param.device.type == "cuda" and not model.training
            and not torch.cuda.is_current_stream_capturing())


def _autocast_without_cache() -> AbstractContextManager[object]:
    """Re-enter the caller's CUDA autocast with its weight-cast cache off.

    The cache would hand the graph casts made outside it, whose memory the graph does not
    own; without the cache each replay casts the weights itself (same values).
    """
    if not torch.is_autocast_enabled("cuda"):
        return nullcontext()
    return torch.autocast("cuda", dtype=torch.get_autocast_dtype("cuda"), cache_enabled=False)


def static_step(model: Text2SemanticDecoder, caches: list[tuple[torch.Tensor, torch.Tensor]],
                history: torch.Tensor, bias: torch.Tensor, positions: torch.Tensor,
                text_len: int | torch.Tensor) -> torch.Tensor:
    """The decode step with fixed shapes; what the graph records (runs eagerly anywhere).

    Writes the keys/values of the token ``history[:, positions - text_len]`` at cache slot
    ``positions`` ([1] int64), opens that slot in ``bias`` ([B, H, 1, L] additive, from
    :func:`static_bias`; in place) and returns the next-token logits [B, V]. ``text_len`` is
    an int or a [1] int64 device tensor (what a kept graph reads).
    """
    audio_pos = positions - text_len  # [1]; the history column equals the audio position
    ids = history.index_select(1, audio_pos)  # [B, 1]
    x = model.embed_audio(ids, audio_pos)  # [B, 1, D]
    bias.index_fill_(-1, positions, 0.0)
    hidden = model.h(x, bias, caches, positions)[:, -1]  # [B, D]
    return model.ar_predict_layer(hidden)  # [B, V]


def static_bias(key_valid: torch.Tensor, first_pos: int, heads: int,
                dtype: torch.dtype) -> torch.Tensor:
    """[B, H, 1, L] additive: 0 at real keys the prefill wrote (below ``first_pos``), else -inf.

    One row per head, though all heads agree, so that attention reads it as the [B*H, 1, L]
    start of its scores without an expanding copy in every layer.
    """
    batch, cache_len = key_valid.shape
    written = torch.arange(cache_len, device=key_valid.device) < first_pos  # [L]
    bias = torch.zeros(batch, heads, 1, cache_len, dtype=dtype, device=key_valid.device)
    hidden = ~(key_valid & written).view(batch, 1, 1, cache_len)
    return bias.masked_fill_(hidden, float("-inf"))


class GraphedDecodeStep:
    """A recorded decode step over fixed buffers; call it with the write position.

    Args:
        model: the decoder (CUDA, eval mode).
        caches: per layer (k, v), each [B, H, L, Dh]; the prefill has filled ``[0, first_pos)``.
        history: [B, N] int64 reference + generated tokens; column ``pos - text_len`` holds
            the token fed at cache position ``pos``.
        key_valid: [B, L] bool, False at padded phone positions.
        text_len: phones per row (padded length), the offset between cache and history.
        first_pos: the first cache position a step writes (the prefill length).
        fused: record ``gpt_fused_step.fused_step`` (Triton, ~7 kernels a layer) instead of
            :func:`static_step` (~15); None: where it is supported (Triton, no autocast).

    Recording runs the step a few times for real: the slot ``first_pos`` of every cache gets
    scratch values that the first real step overwrites before reading.
    """

    def __init__(self, model: Text2SemanticDecoder,
                 caches: list[tuple[torch.Tensor, torch.Tensor]], history: torch.Tensor,
                 key_valid: torch.Tensor, text_len: int, first_pos: int,
                 fused: bool | None = None) -> None:
        self.model = model
        self.fused = fused_step_supported(model) if fused is None else fused
        self.key_valid = key_valid.to(torch.uint8).contiguous()  # [B, L], what Triton reads
        self.caches = caches
        self.history = history
        device = key_valid.device
        self.text_len = torch.full((1,), text_len, dtype=torch.long, device=device)
        # Grow the position table now (a graph cannot resize it) and hold on to it: a later,
        # longer decode grows the model's table again, and this graph still reads this one.
        self.position_table = model.ar_audio_position.table(history.shape[1])
        self.positions = torch.full((1,), first_pos, dtype=torch.long, device=device)
        dtype = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") \
            else caches[0][0].dtype  # the scores' dtype, so baddbmm needs no cast
        self.bias = static_bias(key_valid, first_pos, model.config.num_heads, dtype)
        self.graph = torch.cuda.CUDAGraph()
        self.logits = self._record()  # [B, V] in the model's (or autocast's) dtype

    def prepare(self, key_valid: torch.Tensor, text_len: int, first_pos: int) -> None:
        """Point the recorded step at a new decode in the same buffers: its key mask
        ([B, L] bool, the shape recorded), phone length and prefill length. In place, on the
        current stream, so it runs after whatever the previous decode left queued."""
        self.key_valid.copy_(key_valid)
        self.text_len.fill_(text_len)
        self.positions.fill_(first_pos)
        self.bias.copy_(static_bias(key_valid, first_pos, self.model.config.num_heads,
                                    self.bias.dtype))

    def _step(self) -> torch.Tensor:
        if self.fused:
            return fused_step(self.model, self.caches, self.history, self.key_valid,
                              self.positions, self.text_len)
        return static_step(self.model, self.caches, self.history, self.bias, self.positions,
                           self.text_len)

    def _record(self) -> torch.Tensor:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())  # the prefill must be done first
        with torch.cuda.stream(stream), _autocast_without_cache():
            for _ in range(WARMUP_STEPS):
                self._step()
            # thread_local: only this thread is barred from unsafe CUDA calls meanwhile, so
            # other work in the app (another thread) is not broken by the recording.
            self.graph.capture_begin(capture_error_mode="thread_local")
            try:
                logits = self._step()
            finally:
                self.graph.capture_end()
        torch.cuda.current_stream().wait_stream(stream)
        return logits

    def __call__(self, pos: int) -> torch.Tensor:
        """Run the step that writes cache position ``pos``; returns the logits [B, V].

        The returned tensor is the graph's output buffer: the next call overwrites it.
        """
        self.positions.fill_(pos)
        self.graph.replay()
        return self.logits
