"""Autoregressive GPT decoding with a preallocated key/value cache.

The reference and text are run once (prefill), then one token per step. Keys and values go
into per-layer buffers sized for the longest possible output, so a step writes one slot and
attends over a view: no cache is rebuilt by concatenation.

Stopping rules reproduce upstream ``t2s_model.infer_panel_naive`` (48b1a01):
- in steps 0..10 the EOS column is removed from the logits, so EOS cannot be chosen;
- a step stops on EOS when the sampled token *or* the argmax of the penalised logits is EOS;
  the EOS token is dropped and ``idx`` equals the number of new tokens;
- it stops early once more than ``early_stop_tokens`` new tokens exist (then ``idx`` is one
  less than the number of new tokens), or at ``max_steps``;
- without a reference (prompt-free), ``idx`` is 0.
Upstream's WebUI passes ``y[-idx:]`` (or all new tokens when ``idx`` is 0) to SoVITS; that
is :attr:`DecodeResult.semantic_for_sovits`.

Several sentences can share one reference: their phones are left-padded to a common length
(padded keys are masked) and each sentence stops on its own.

On CUDA the steps after the first replay two CUDA graphs by default: the model step
(``gpt_cuda_graph.py``, with Triton the fused step of ``gpt_fused_step.py``) and the sampling
step (``gpt_graph_sampling.py``), so a token costs two launches and no host sync. Each step's
EOS flags go to a device buffer that is read back every ``STOP_CHECK_STEPS`` steps, one block
behind the GPU; the stopping rules are then applied step by step, so the results equal a check
every step, and the RNG draws of steps queued past the last stop are undone (the generator
ends where the eager loop leaves it). In fp32 the graphs give the eager tokens; in fp16/bf16
their attention rounds differently (same error against fp32), so a near-tie may flip.
``cuda_graph=False`` keeps the eager step, the reference and the only path on CPU.

Tokens as they are made: :func:`decode_steps` is the decode as a generator of
:class:`DecodeProgress`, one after each block of steps (a step, or ``block_steps`` steps, on
the eager path; what each flag read-back makes final on the graphed path), with every
sentence's tokens known so far and, once it stopped, its :class:`DecodeResult`.
:func:`generate_batch` consumes it (and can stop between blocks); :func:`stream_tokens` gives
one sentence's new tokens in pieces, what ``gsv_core.infer.stream`` chunks while the GPT runs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

from gsv_core.errors import ConfigError
from gsv_core.models.gpt import (
    Text2SemanticDecoder,
    joint_attention_mask,
    left_align,
    text_key_mask,
)
from gsv_core.models.gpt_cuda_graph import GraphedDecodeStep, graph_supported
from gsv_core.models.gpt_graph_pool import DecodeSlots, acquire_slots, release_slots
from gsv_core.models.gpt_graph_sampling import GraphedSampler, SamplerBuffers, seen_mask
from gsv_core.models.gpt_sampling import SamplingOptions, sample_next

__all__ = ["DecodeProgress", "DecodeResult", "DecodeStopped", "TokenStream", "decode_steps",
           "generate", "generate_batch", "stream_tokens"]

# Attention kernels for decoding. cuDNN's is left out: it builds an execution plan per
# sequence length, and the key length grows by one every step, so it would plan once per
# token (measured on an H100: fp16 decoding 7x slower than fp32 with it allowed).
DECODE_ATTENTION_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
                             SDPBackend.MATH]


@dataclass(frozen=True)
class DecodeResult:
    """What one sentence decoded to."""

    tokens: torch.Tensor  # [n_new] int64 new semantic tokens, EOS dropped
    idx: int  # upstream's returned idx (see module doc)
    eos: bool  # stopped because EOS was chosen
    steps: int  # decoding steps run
    first_logits: torch.Tensor  # [V or V-1] logits of step 0 before any penalty (diagnostic)

    @property
    def semantic_for_sovits(self) -> torch.Tensor:
        """The tokens upstream hands to SoVITS: the last ``idx`` new tokens, or all if 0.

        After an EOS stop that is every new token. After the early stop (or ``max_steps``)
        with a reference, ``idx`` is one less than the token count, so upstream drops the
        *first* token; a stream (:func:`stream_tokens`) has handed that token out long before
        the decode knows how it ends, so the streamed path passes all new tokens instead.
        """
        return self.tokens[self.tokens.shape[0] - self.idx:] if self.idx else self.tokens


@dataclass(frozen=True)
class DecodeProgress:
    """Where a decode stands after a block of steps (see :func:`decode_steps`)."""

    steps: int  # decoding steps whose flags the stopping rules have seen
    # per sentence: [n_known] int64 new tokens known so far, all final (EOS never included);
    # read-only views into the decode's buffer, valid after the decode ends
    tokens: tuple[torch.Tensor, ...]
    results: tuple[DecodeResult | None, ...]  # per sentence: set once it stopped

    @property
    def done(self) -> bool:
        """Every sentence has stopped: this is the last progress of the decode."""
        return all(r is not None for r in self.results)


class DecodeStopped(Exception):
    """``should_stop()`` ended :func:`generate_batch` before every sentence stopped.

    Not a :class:`~gsv_core.errors.GsvError`: nothing went wrong, the caller asked for it.
    ``progress`` is the last block seen (sentences already stopped have their result).
    """

    def __init__(self, progress: DecodeProgress) -> None:
        super().__init__(f"decode stopped by request after {progress.steps} steps")
        self.progress = progress


@torch.no_grad()
def generate(model: Text2SemanticDecoder, phone_ids: torch.Tensor, bert: torch.Tensor,
             prompt: torch.Tensor | None, options: SamplingOptions,
             generator: torch.Generator | None = None,
             cuda_graph: bool | None = None) -> DecodeResult:
    """Decode one sentence. phone_ids [Tx], bert [1024, Tx], prompt [Tp] semantic ids or None."""
    return generate_batch(model, [phone_ids], [bert], prompt, options, generator,
                          cuda_graph)[0]


def _check_inputs(phone_ids: Sequence[torch.Tensor], bert: Sequence[torch.Tensor],
                  prompt: torch.Tensor | None, eos_id: int) -> None:
    if not phone_ids or len(phone_ids) != len(bert):
        raise ConfigError(f"Need one BERT tensor per sentence: got {len(phone_ids)} phone "
                          f"sequences and {len(bert)} BERT tensors.")
    for i, (ids, feats) in enumerate(zip(phone_ids, bert, strict=True)):
        if ids.dim() != 1 or ids.numel() == 0 or feats.shape[-1] != ids.shape[0]:
            raise ConfigError(f"Sentence {i}: phone ids {tuple(ids.shape)} and BERT "
                              f"{tuple(feats.shape)} do not line up ([T] and [1024, T]).")
    if prompt is not None and (prompt.dim() != 1 or bool((prompt >= eos_id).any())):
        raise ConfigError(f"The reference tokens must be a 1-D tensor of ids below {eos_id}.")


@torch.no_grad()
def generate_batch(model: Text2SemanticDecoder, phone_ids: Sequence[torch.Tensor],
                   bert: Sequence[torch.Tensor], prompt: torch.Tensor | None,
                   options: SamplingOptions,
                   generator: torch.Generator | None = None,
                   cuda_graph: bool | None = None, *,
                   should_stop: Callable[[], bool] | None = None) -> list[DecodeResult]:
    """Decode several sentences that share one reference ``prompt`` (or none).

    Args:
        phone_ids: per sentence [Tx_i] phone ids.
        bert: per sentence [1024, Tx_i] phone-level BERT features.
        prompt: [Tp] semantic ids of the reference audio, or None for prompt-free decoding.
        generator: RNG for sampling; None uses torch's global RNG (as upstream).
        cuda_graph: replay the model step as a CUDA graph (recorded for this call's batch
            size and lengths). None: when the model is on CUDA in eval mode, else the eager
            step (CPU, training mode, or a caller already recording a graph). True where
            that is impossible raises ConfigError; False always runs eager.
        should_stop: asked after every block of steps (:func:`decode_steps`) until every
            sentence has stopped; True ends the decode with :class:`DecodeStopped`, so a
            Stop acts within a long sentence. None decodes to the end.

    Returns:
        One :class:`DecodeResult` per sentence, in order.
    """
    blocks = decode_steps(model, phone_ids, bert, prompt, options, generator, cuda_graph)
    try:
        for progress in blocks:
            if progress.done:
                return [r for r in progress.results if r is not None]
            if should_stop is not None and should_stop():
                raise DecodeStopped(progress)
    finally:
        blocks.close()
    raise AssertionError("the decode ended before every sentence stopped")  # unreachable


def decode_steps(model: Text2SemanticDecoder, phone_ids: Sequence[torch.Tensor],
                 bert: Sequence[torch.Tensor], prompt: torch.Tensor | None,
                 options: SamplingOptions, generator: torch.Generator | None = None,
                 cuda_graph: bool | None = None, *,
                 block_steps: int = 1) -> Generator[DecodeProgress, None, None]:
    """The decode of :func:`generate_batch` as it runs: a :class:`DecodeProgress` after each
    block of steps, the last one with ``done`` set (and every result). Same arguments.

    A block is ``block_steps`` steps on the eager path (step 0 alone when graphs follow), and
    on the graphed path the steps each EOS-flag read-back makes final (``STOP_CHECK_STEPS``;
    ``block_steps`` does not apply there): tokens come out one block behind the GPU. The
    tokens do not depend on the blocks: consumed to the end, this gives ``generate_batch``'s
    results for the same generator state.

    The consumer must not draw from ``generator`` (or, with None, torch's global RNG on the
    model's device) between two blocks: the decode draws one sample a step, and on the
    graphed path steps past the last block have already drawn theirs. Draw from another
    generator (the engine's SoVITS noise has its own).

    Closing the generator early (``close()``, or leaving a ``for`` loop over it) leaves the
    RNG where the eager loop leaves it after the last block handed out: on the graphed path
    the draws of steps queued beyond it are undone, as after a stop. The steps still queued
    on the GPU finish on their own, writing only this decode's buffers.

    Each block runs under ``torch.no_grad``, the decode's attention kernels and the inference
    mode that was on when the first block ran, so the buffers made then stay writable; none
    of these leak into the consumer's code between blocks.

    Raises:
        ConfigError: inputs that do not line up, ``block_steps`` < 1, or ``cuda_graph=True``
            where no graph can run (at the call, not at the first block).
    """
    eos = model.config.eos_id
    _check_inputs(phone_ids, bert, prompt, eos)
    if block_steps < 1:
        raise ConfigError(f"block_steps must be at least 1, got {block_steps}.")
    use_graph = graph_supported(model) if cuda_graph is None else cuda_graph
    if use_graph and not graph_supported(model):
        raise ConfigError("CUDA graph decoding needs the GPT on a CUDA device in eval mode.")
    return _in_decode_modes(_decode_blocks(model, phone_ids, bert, prompt, options, generator,
                                           use_graph, block_steps))


class TokenStream(Iterator[torch.Tensor]):
    """One sentence's new tokens as the GPT makes them: iterating gives 1-D int64 pieces,
    one per block of :func:`decode_steps`, ending at the stop.

    The pieces, concatenated, are ``result.tokens``: every new token, EOS dropped. The last
    piece may be empty (an EOS stop adds no token). This is what
    ``gsv_core.infer.stream.stream_segment_chunks`` consumes; note that upstream's
    :attr:`DecodeResult.semantic_for_sovits` drops the first token after an early stop,
    which a stream cannot (see there). ``result`` is set once the last piece is out;
    ``steps`` counts the decoding steps handed out so far.
    """

    def __init__(self, blocks: Generator[DecodeProgress, None, None]) -> None:
        self._blocks = blocks
        self._known = 0
        self.steps = 0
        self.result: DecodeResult | None = None

    def __next__(self) -> torch.Tensor:
        if self.result is not None:
            raise StopIteration
        progress = next(self._blocks)
        tokens = progress.tokens[0]
        piece = tokens[self._known:]
        self._known = tokens.shape[0]
        self.steps = progress.steps
        if progress.done:
            self.result = progress.results[0]
            self.close()
        return piece

    def close(self) -> None:
        """End the decode now (see :func:`decode_steps` for what that leaves)."""
        self._blocks.close()


def stream_tokens(model: Text2SemanticDecoder, phone_ids: torch.Tensor, bert: torch.Tensor,
                  prompt: torch.Tensor | None, options: SamplingOptions,
                  generator: torch.Generator | None = None, cuda_graph: bool | None = None,
                  *, block_steps: int = 1) -> TokenStream:
    """Decode one sentence (phone_ids [Tx], bert [1024, Tx], prompt [Tp] or None) and hand
    out its new tokens in pieces as they are final (:class:`TokenStream`).

    Same tokens as :func:`generate`; the rules of :func:`decode_steps` apply (no draws from
    ``generator`` between pieces; close it to stop early).
    """
    return TokenStream(decode_steps(model, [phone_ids], [bert], prompt, options, generator,
                                    cuda_graph, block_steps=block_steps))


def _in_decode_modes(blocks: Generator[DecodeProgress, None, None]
                     ) -> Generator[DecodeProgress, None, None]:
    """Run each block of ``blocks`` under no_grad, the decode's attention kernels and the
    first block's inference mode, and only the blocks (a decorator would cover the
    consumer too, or only the generator's creation)."""
    inference: bool | None = None
    try:
        while True:
            if inference is None:
                inference = torch.is_inference_mode_enabled()
            with (torch.inference_mode(inference), torch.no_grad(),
                  sdpa_kernel(DECODE_ATTENTION_BACKENDS)):
                progress = next(blocks, None)
            if progress is None:
                return
            yield progress
    finally:
        blocks.close()


def _decode_blocks(model: Text2SemanticDecoder, phone_ids: Sequence[torch.Tensor],
                   bert: Sequence[torch.Tensor], prompt: torch.Tensor | None,
                   options: SamplingOptions, generator: torch.Generator | None,
                   use_graph: bool, block_steps: int) -> Generator[DecodeProgress, None, None]:
    """Prefill, step 0 and the eager steps (or the graphed ones after step 0)."""
    param = next(model.parameters())
    device, dtype = param.device, param.dtype
    batch = len(phone_ids)
    lens = torch.tensor([t.shape[0] for t in phone_ids], device=device)
    text_len = int(lens.max())

    ids = torch.stack([F.pad(t.to(device), (0, text_len - t.shape[0])) for t in phone_ids])
    feats = torch.stack([F.pad(b.to(device, dtype), (0, text_len - b.shape[-1])) for b in bert])
    text = left_align(model.embed_text(ids, feats), lens)  # [B, Tx, D]
    text_valid = text_key_mask(lens, text_len)  # [B, Tx]
    prompt_len = 0 if prompt is None else prompt.shape[0]
    prefix = text
    prompt_ids = None
    if prompt is not None:
        prompt_ids = prompt.to(device).long().unsqueeze(0).expand(batch, -1)
        prefix = torch.cat([text, model.embed_audio(prompt_ids)], dim=1)  # [B, Tx+Tp, D]
    prefix_len = prefix.shape[1]

    steps_cap = options.max_steps
    if options.early_stop_tokens is not None:
        steps_cap = min(steps_cap, options.early_stop_tokens + 1)
    slots = None
    if use_graph:  # kept buffers, so that their recorded graphs serve this decode too
        slots = acquire_slots(model, batch=batch, cache_len=prefix_len + steps_cap,
                              history_len=prompt_len + steps_cap, steps=steps_cap,
                              dtype=dtype, own_generator=generator is not None)
        caches, history = slots.caches, slots.history.zero_()
        cache_len = slots.key_valid.shape[1]
    else:
        cache_len = prefix_len + steps_cap
        heads = model.config.num_heads
        shape = (batch, heads, cache_len, model.config.hidden_dim // heads)
        caches = [(torch.zeros(shape, device=device, dtype=dtype),
                   torch.zeros(shape, device=device, dtype=dtype)) for _ in model.h.layers]
        # Tokens so far (reference + generated), for the repetition penalty.
        history = torch.zeros(batch, prompt_len + steps_cap, dtype=torch.long, device=device)
    try:
        yield from _decode_from_buffers(model, prefix, text_valid, text_len, prompt_ids,
                                        caches, history, cache_len, steps_cap, options,
                                        generator, slots, block_steps)
    finally:
        if slots is not None:
            release_slots(slots)


def _decode_from_buffers(model: Text2SemanticDecoder, prefix: torch.Tensor,
                         text_valid: torch.Tensor, text_len: int,
                         prompt_ids: torch.Tensor | None,
                         caches: list[tuple[torch.Tensor, torch.Tensor]], history: torch.Tensor,
                         cache_len: int, steps_cap: int, options: SamplingOptions,
                         generator: torch.Generator | None, slots: DecodeSlots | None,
                         block_steps: int) -> Generator[DecodeProgress, None, None]:
    """The decode of ``_decode_blocks`` once its buffers are chosen (``slots``: the kept
    ones of the graphed path, else None and eager)."""
    eos = model.config.eos_id
    batch, prefix_len = prefix.shape[0], prefix.shape[1]
    device = prefix.device
    prompt_len = 0 if prompt_ids is None else prompt_ids.shape[1]
    if prompt_ids is not None:
        history[:, :prompt_len] = prompt_ids
    padded = not bool(text_valid.all())
    key_valid = torch.cat(
        [text_valid, torch.ones(batch, cache_len - text_len, dtype=torch.bool, device=device)],
        dim=1)  # [B, L]
    prefill_mask = joint_attention_mask(text_valid, torch.ones(
        batch, prompt_len, dtype=torch.bool, device=device))
    if prompt_ids is None and not padded:
        prefill_mask = None  # text attends to all text: no mask needed
    use_graph = slots is not None

    results: list[DecodeResult | None] = [None] * batch
    stops = _StopRule(results, history, prompt_len, prompt_ids is not None, options)
    hidden = model.h(prefix, prefill_mask, caches, 0)[:, -1]  # [B, D]
    for idx in range(steps_cap):
        pos = prefix_len + idx - 1  # cache slot this step's input token goes to
        if idx == 0:
            raw_logits = model.ar_predict_layer(hidden)  # [B, V]
        else:
            step_in = model.embed_audio(history[:, prompt_len + idx - 1:prompt_len + idx],
                                        start=prompt_len + idx - 1)  # [B, 1, D]
            mask = key_valid[:, :pos + 1].view(batch, 1, 1, pos + 1) if padded else None
            hidden = model.h(step_in, mask, caches, pos)[:, -1]
            raw_logits = model.ar_predict_layer(hidden)
        logits = raw_logits.float()  # [B, V]
        if idx < options.min_steps_before_eos:
            logits = logits[:, :-1]  # EOS may not be chosen yet
        if idx == 0:
            stops.first_logits = logits.clone()
        token = sample_next(logits, history[:, :prompt_len + idx], options, generator)  # [B, 1]
        history[:, prompt_len + idx] = token[:, 0]
        is_eos = ((token[:, 0] == eos) | (logits.argmax(dim=-1) == eos)).tolist()
        done = stops.record(idx, is_eos)
        if done or use_graph or (idx + 1) % block_steps == 0:
            yield stops.progress(idx + 1)
        if done:
            return
        if slots is not None:  # the steps after the first replay graphs (module doc)
            yield from _graphed_steps(model, slots, key_valid, text_len, prefix_len,
                                      steps_cap, options, generator, stops)
            return


class _StopRule:
    """The stopping rules of the module doc, applied to one step's EOS flags at a time.

    Fills ``results`` (one slot per sentence) as sentences stop; the eager loop calls it every
    step, the graphed loop for the steps of each flag read-back, in step order.
    """

    def __init__(self, results: list[DecodeResult | None], history: torch.Tensor,
                 prompt_len: int, has_prompt: bool, options: SamplingOptions) -> None:
        self.results = results
        self.history = history
        self.prompt_len = prompt_len
        self.has_prompt = has_prompt
        self.options = options
        self.first_logits = torch.empty(0)

    def record(self, idx: int, is_eos: list[bool]) -> bool:
        """Apply step ``idx``'s flags (per sentence); True once every sentence has stopped."""
        new_count = idx + 1
        over = (self.options.early_stop_tokens is not None
                and new_count > self.options.early_stop_tokens)
        last = idx == self.options.max_steps - 1
        for b, result in enumerate(self.results):
            if result is not None or not (is_eos[b] or over or last):
                continue
            kept = new_count - 1 if is_eos[b] else new_count
            tokens = self.history[b, self.prompt_len:self.prompt_len + kept].clone()
            self.results[b] = DecodeResult(
                tokens=tokens, idx=idx if self.has_prompt else 0, eos=bool(is_eos[b]),
                steps=idx + 1, first_logits=self.first_logits[b])
        return all(r is not None for r in self.results)

    def progress(self, steps: int) -> DecodeProgress:
        """The state once steps ``0..steps-1`` are recorded: a running sentence knows
        ``steps`` tokens (none of them EOS, or it would have stopped)."""
        start = self.prompt_len
        # One copy for the running sentences: the history buffer is reused by the next
        # decode (gpt_graph_pool), and these tokens must outlive this one.
        known = self.history[:, start:start + steps].clone()
        tokens = tuple(r.tokens if r is not None else known[b]
                       for b, r in enumerate(self.results))
        return DecodeProgress(steps=steps, tokens=tokens, results=tuple(self.results))


# Steps between two read-backs of the EOS flags. The host reads a block only once the next
# one is queued, so the GPU never waits for the host; after the last sentence stops, at most
# 2 x this many steps ran for nothing (their tokens are never read, their RNG draws undone).
STOP_CHECK_STEPS = 8


def _graphed_steps(model: Text2SemanticDecoder, slots: DecodeSlots, key_valid: torch.Tensor,
                   text_len: int, prefix_len: int, steps_cap: int, options: SamplingOptions,
                   generator: torch.Generator | None, stops: _StopRule
                   ) -> Generator[DecodeProgress, None, None]:
    """Steps 1.. with the model step and the sampling replayed as CUDA graphs.

    No per-step host sync: each step's EOS flags go to a device buffer, copied back every
    ``STOP_CHECK_STEPS`` steps and applied in step order, so the results equal a check every
    step; a progress follows each read-back. Steps queued past the last stop (or, when the
    consumer closes the generator, past the last progress) leave the generator where the
    eager loop would.
    """
    history = slots.history
    device = history.device
    batch = history.shape[0]
    prompt_len = stops.prompt_len
    slots.key_valid.copy_(key_valid)
    if slots.step is None:
        slots.step = GraphedDecodeStep(model, slots.caches, history, slots.key_valid, text_len,
                                       prefix_len)
    else:  # recorded by an earlier decode of this shape: point it at this one
        slots.step.prepare(slots.key_valid, text_len, prefix_len)
    step = slots.step
    slots.seen.copy_(seen_mask(history[:, :prompt_len + 1], model.config.vocab_size))
    slots.stops.zero_()
    slots.prompt_len.fill_(prompt_len)
    buffers = SamplerBuffers(
        raw_logits=step.logits, history=history, seen=slots.seen, stops=slots.stops,
        positions=step.positions, text_len=step.text_len, prompt_len=slots.prompt_len)
    # A kept graph draws from the entry's own generator (module doc of gpt_graph_pool): it
    # takes the caller's state here and hands it back at the end.
    draw_from = generator
    if slots.generator is not None and generator is not None:
        slots.generator.set_state(generator.get_state())
        draw_from = slots.generator
    rng = draw_from if draw_from is not None else torch.cuda.default_generators[
        device.index if device.index is not None else torch.cuda.current_device()]
    offsets: dict[int, int] = {}  # step -> generator offset before its draw
    pending: deque[tuple[int, torch.Tensor, torch.cuda.Event]] = deque()
    launched = applied = 0  # last step queued / whose flags the stopping rules have seen
    unread = 1  # first step whose flags are not queued for read-back yet
    rewound = False

    def rewind() -> None:
        """Undo the draws of the steps queued past ``applied``."""
        nonlocal rewound
        if launched > applied:
            rng.set_offset(offsets[applied + 1])
        rewound = True

    try:
        for idx in range(1, steps_cap):
            eos_allowed = idx >= options.min_steps_before_eos
            sampler = slots.sampler(options, eos_allowed, lambda allowed=eos_allowed: (
                GraphedSampler(buffers, options, allowed, model.config.eos_id, draw_from)))
            offsets[idx] = rng.get_offset()
            step(prefix_len + idx - 1)
            sampler.replay()
            launched = idx
            final = idx == steps_cap - 1
            if idx % STOP_CHECK_STEPS and not final:
                continue
            flags = torch.empty(idx + 1 - unread, batch, dtype=torch.bool, pin_memory=True)
            flags.copy_(buffers.stops[unread:idx + 1], non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            pending.append((unread, flags, event))
            unread = idx + 1
            last, done = _read_back(pending, stops, keep=0 if final else 1)
            if last is None:
                continue  # the first block stays in flight until the next is queued
            applied = last
            if done:
                rewind()  # before the last progress: the generator is final when it is seen
            yield stops.progress(applied + 1)
            if done:
                return
    finally:
        if not rewound:  # closed early (or an error): as if the eager loop stopped here
            rewind()
        if draw_from is not generator:
            generator.set_state(draw_from.get_state())


def _read_back(pending: deque[tuple[int, torch.Tensor, torch.cuda.Event]], stops: _StopRule,
               keep: int) -> tuple[int | None, bool]:
    """Apply queued flag blocks, oldest first, leaving ``keep`` in flight: the last step
    applied (None if none was) and whether every sentence had stopped there."""
    last = None
    while len(pending) > keep:
        first, flags, event = pending.popleft()
        event.synchronize()
        for offset, row in enumerate(flags.tolist()):
            last = first + offset
            if stops.record(last, row):
                return last, True
    return last, False
