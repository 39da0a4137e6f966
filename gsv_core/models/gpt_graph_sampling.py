"""The sampling step with fixed shapes, so that it can live inside a CUDA graph.

``gpt_sampling.sample_next`` is the reference; this module computes the same numbers with
shapes that never change, which a graph needs, and without reading anything back to the host:

- the repetition penalty reads a ``seen`` mask [B, V] (True where a token occurred in the
  reference or earlier output) instead of gathering over a history that grows each step. The
  penalised value of a seen logit is the same expression on the same number
  (``where(x < 0, x * p, x / p)``), and every distinct seen token is penalised once, as in the
  gather-then-scatter reference;
- top-p, temperature and top-k are ``gpt_sampling.token_probs`` itself (already fixed-shape);
- the noise is the same ``exponential_`` draw on a tensor of the same shape, so a generator
  at the same state gives the same tokens;
- the token, the ``seen`` update and the stop flag (token or penalised argmax is EOS) are
  written into device buffers at the step's column, read back by the host once every few
  steps (``gpt_decode``) instead of once per step (~0.1 ms each on an H200).

Steps that may not choose EOS yet sample over the logits without their EOS column (a view),
as the reference does by slicing; the recorded graph is one per variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gsv_core.models.gpt_sampling import SamplingOptions, token_probs

__all__ = ["GraphedSampler", "SamplerBuffers", "penalise_seen", "seen_mask", "static_sample"]


def seen_mask(previous: torch.Tensor, vocab: int) -> torch.Tensor:
    """[B, vocab] bool, True at every id in ``previous`` [B, T] (the penalty's token set)."""
    seen = torch.zeros(previous.shape[0], vocab, dtype=torch.bool, device=previous.device)
    return seen.scatter_(1, previous.long(), True)


def penalise_seen(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """``apply_repetition_penalty`` with a ``seen`` mask [B, V]; in place, returns ``logits``."""
    if penalty == 1.0:
        return logits
    score = torch.where(logits < 0, logits * penalty, logits / penalty)
    return logits.copy_(torch.where(seen, score, logits))


@dataclass(frozen=True)
class SamplerBuffers:
    """The device buffers one decode shares between its model step and its sampling step.

    ``raw_logits`` [B, V] (the model step's output), ``history`` [B, N] int64 (reference +
    generated), ``seen`` [B, V] bool, ``stops`` [S, B] bool (per step: EOS chosen or
    argmax), ``positions`` [1] int64 (the cache slot of the step's input token).
    """

    raw_logits: torch.Tensor
    history: torch.Tensor
    seen: torch.Tensor
    stops: torch.Tensor
    positions: torch.Tensor
    # ints, or [1] int64 device tensors where a kept graph serves decodes of other lengths
    text_len: int | torch.Tensor  # history column of a cache slot = slot - text_len
    prompt_len: int | torch.Tensor  # step index of a history column = column - prompt_len


def static_sample(buffers: SamplerBuffers, options: SamplingOptions, eos_allowed: bool,
                  eos_id: int, generator: torch.Generator | None) -> None:
    """Sample the token after cache slot ``positions`` and write it, its flag and ``seen``.

    The step's output column is ``positions - text_len + 1``. Same maths as the eager loop
    in ``gpt_decode`` (``sample_next`` and the EOS test), with fixed shapes.
    """
    logits = buffers.raw_logits.float()  # [B, V]
    seen = buffers.seen
    if not eos_allowed:
        logits, seen = logits[:, :-1], seen[:, :-1]  # views: EOS may not be chosen yet
    penalise_seen(logits, seen, options.repetition_penalty)
    probs = token_probs(logits, options)
    noise = torch.empty_like(probs).exponential_(1, generator=generator)
    token = (probs / noise).argmax(dim=-1, keepdim=True)  # [B, 1]
    column = buffers.positions - buffers.text_len + 1  # [1]
    buffers.history.index_copy_(1, column, token)
    buffers.seen.scatter_(1, token, True)
    stop = (token[:, 0] == eos_id) | (logits.argmax(dim=-1) == eos_id)  # [B]
    buffers.stops.index_copy_(0, column - buffers.prompt_len, stop.unsqueeze(0))


class GraphedSampler:
    """:func:`static_sample` recorded as a CUDA graph; ``replay()`` samples one step.

    The graph draws from ``generator`` (or torch's default CUDA generator when None) through
    PyTorch's graph-safe RNG: each replay advances the generator as one eager draw would.
    Before recording, the step runs once on scratch copies with a scratch generator, so that
    lazily loaded kernels are loaded without touching the real buffers or RNG state.
    """

    def __init__(self, buffers: SamplerBuffers, options: SamplingOptions, eos_allowed: bool,
                 eos_id: int, generator: torch.Generator | None) -> None:
        device = buffers.raw_logits.device
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        scratch = SamplerBuffers(*(t.clone() for t in (
            buffers.raw_logits, buffers.history, buffers.seen, buffers.stops,
            buffers.positions)), buffers.text_len, buffers.prompt_len)
        self.graph = torch.cuda.CUDAGraph()
        if generator is not None:
            self.graph.register_generator_state(generator)
        with torch.cuda.stream(stream):
            static_sample(scratch, options, eos_allowed, eos_id,
                          torch.Generator(device).manual_seed(0))
            self.graph.capture_begin(capture_error_mode="thread_local")
            try:
                static_sample(buffers, options, eos_allowed, eos_id, generator)
            finally:
                self.graph.capture_end()
        torch.cuda.current_stream().wait_stream(stream)

    def replay(self) -> None:
        self.graph.replay()
