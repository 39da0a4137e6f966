"""Decode buffers and their CUDA graphs, kept between decodes so a request does not record.

Recording the step and sampling graphs costs ~20 ms on an H200 — a fifth of a short request
and of the time to the first streamed chunk. A graph is tied to the buffers it was recorded
on, so the buffers are what is kept: the key/value caches, the token history, the key mask,
the ``seen`` mask and the stop flags of one decode shape, with the graphs recorded on them.
The next decode of that shape writes its prefill into the same caches and replays.

What a shape is: the batch size, the cache length and history length rounded up to
:data:`LENGTH_BUCKET` (so phones and reference lengths that differ a little share one entry;
the step attends over the slots written so far, or hides the rest with its bias), the
number of steps, the dtype and autocast dtype, and whether the caller brought a generator.
The sampling graphs are kept per :class:`SamplingOptions` too (their numbers are recorded).

Each model holds its own pool (``model._decode_graph_pool``, so it goes with the model), at
most :data:`MAX_SHAPES` shapes and :data:`MEMORY_SHARE` of the card's memory in kept buffers
(an 8 GB card keeps ~0.6 GB: batch 8 at ~1.5k slots of fp16 caches), least recently used
first out; a shape bigger than that share alone is not kept. The weights' addresses are part
of the key: moving the model (``.to()``) makes new entries instead of replaying graphs that
read the old weights. A shape in use by one decode (a paused stream) is not handed to a
second one; that decode gets fresh buffers, recorded for it alone, as before this pool.

A caller's generator cannot be the one a kept graph draws from (a graph registers one
generator for good), so each entry has its own: its state is set from the caller's before the
graphed steps and copied back after them, so the same seed gives the same tokens either way.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from gsv_core.models.gpt import Text2SemanticDecoder
from gsv_core.models.gpt_cuda_graph import GraphedDecodeStep
from gsv_core.models.gpt_graph_sampling import GraphedSampler
from gsv_core.models.gpt_sampling import SamplingOptions

__all__ = ["LENGTH_BUCKET", "MAX_SHAPES", "DecodeSlots", "acquire_slots", "clear_pool",
           "release_slots"]

LENGTH_BUCKET = 256  # cache slots and history columns are rounded up to a multiple of this
MAX_SHAPES = 3  # kept shapes per model
MEMORY_SHARE = 0.08  # of the card's total memory, at most, in kept buffers per model
MAX_SAMPLERS = 8  # sampling graphs kept per shape (per options and EOS variant)
_POOL_ATTR = "_decode_graph_pool"


def _round_up(n: int) -> int:
    return -(-n // LENGTH_BUCKET) * LENGTH_BUCKET


@dataclass(eq=False)
class DecodeSlots:
    """The buffers of one decode shape and the graphs recorded on them.

    ``caches``: per layer (k, v) [B, H, L, Dh]; ``history`` [B, N] int64; ``key_valid``
    [B, L] bool; ``seen`` [B, V] bool; ``stops`` [S, B] bool; ``generator``: the entry's
    own generator (None when decodes draw from torch's default CUDA generator). ``step`` and
    ``samplers`` are filled by the first decode that records them.
    """

    key: tuple
    caches: list[tuple[torch.Tensor, torch.Tensor]]
    history: torch.Tensor
    key_valid: torch.Tensor
    seen: torch.Tensor
    stops: torch.Tensor
    prompt_len: torch.Tensor  # [1] int64: the sampling graph's step index = column - this
    generator: torch.Generator | None
    pooled: bool = True
    nbytes: int = 0
    step: GraphedDecodeStep | None = None
    samplers: OrderedDict[tuple[SamplingOptions, bool], GraphedSampler] = field(
        default_factory=OrderedDict)
    in_use: bool = False

    def sampler(self, options: SamplingOptions, eos_allowed: bool,
                make: Callable[[], GraphedSampler]) -> GraphedSampler:
        """The kept sampling graph for these options, recorded by ``make()`` when absent."""
        key = (options, eos_allowed)
        found = self.samplers.get(key)
        if found is None:
            found = self.samplers[key] = make()
            while len(self.samplers) > MAX_SAMPLERS:
                self.samplers.popitem(last=False)
        self.samplers.move_to_end(key)
        return found


class _Pool:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.shapes: OrderedDict[tuple, DecodeSlots] = OrderedDict()


def _pool_of(model: Text2SemanticDecoder) -> _Pool:
    pool = model.__dict__.get(_POOL_ATTR)
    if pool is None:
        pool = _Pool()
        object.__setattr__(model, _POOL_ATTR, pool)  # a plain attribute, not a submodule
    return pool


def _weights_key(model: Text2SemanticDecoder) -> tuple:
    params = list(model.parameters())
    return tuple((p.device, p.dtype, p.data_ptr()) for p in (params[0], params[-1]))


def _allocate(model: Text2SemanticDecoder, key: tuple, batch: int, cache_len: int,
              history_len: int, steps: int, dtype: torch.dtype, device: torch.device,
              own_generator: bool, pooled: bool) -> DecodeSlots:
    heads = model.config.num_heads
    shape = (batch, heads, cache_len, model.config.hidden_dim // heads)
    # Plain tensors even inside inference mode: a later decode may run outside it and must
    # still be allowed to write them.
    with torch.inference_mode(False):
        caches = [(torch.zeros(shape, device=device, dtype=dtype),
                   torch.zeros(shape, device=device, dtype=dtype)) for _ in model.h.layers]
        history = torch.zeros(batch, history_len, dtype=torch.long, device=device)
        key_valid = torch.ones(batch, cache_len, dtype=torch.bool, device=device)
        seen = torch.zeros(batch, model.config.vocab_size, dtype=torch.bool, device=device)
        stops = torch.zeros(steps, batch, dtype=torch.bool, device=device)
        prompt_len = torch.zeros(1, dtype=torch.long, device=device)
    generator = torch.Generator(device) if own_generator else None
    nbytes = sum(t.nbytes for pair in caches for t in pair) + history.nbytes + seen.nbytes
    return DecodeSlots(key, caches, history, key_valid, seen, stops, prompt_len, generator,
                       pooled, nbytes)


def _budget_bytes(device: torch.device) -> float:
    if device.type != "cuda":
        return float("inf")  # CPU decodes never record graphs; kept only in tests
    return MEMORY_SHARE * torch.cuda.get_device_properties(device).total_memory


def _cache_bytes(model: Text2SemanticDecoder, batch: int, cache_len: int,
                 dtype: torch.dtype) -> int:
    per_layer = 2 * batch * cache_len * model.config.hidden_dim * dtype.itemsize
    return per_layer * len(model.h.layers)


def acquire_slots(model: Text2SemanticDecoder, *, batch: int, cache_len: int,
                  history_len: int, steps: int, dtype: torch.dtype, own_generator: bool,
                  keep: bool = True) -> DecodeSlots:
    """Buffers for a decode needing ``cache_len`` slots and ``history_len`` columns.

    A kept entry when one of this shape is free (its graphs recorded already), else a new
    one, kept for later when ``keep``; a shape busy with another decode gives unkept
    buffers. The caller fills every buffer it reads (old contents are arbitrary) and
    must :func:`release_slots` when the decode ends.
    """
    device = next(model.parameters()).device
    autocast = (torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda")
                else None)
    cache_len, history_len = _round_up(cache_len), _round_up(history_len)
    key = (batch, cache_len, history_len, steps, dtype, autocast, own_generator,
           _weights_key(model))
    pool = _pool_of(model)
    with pool.lock:
        slots = pool.shapes.get(key)
        if slots is not None and not slots.in_use:
            pool.shapes.move_to_end(key)
            slots.in_use = True
            return slots
        budget = _budget_bytes(device)
        needed = _cache_bytes(model, batch, cache_len, dtype)
        make_kept = keep and slots is None and needed <= budget
        while make_kept and (len(pool.shapes) >= MAX_SHAPES or needed + sum(
                s.nbytes for s in pool.shapes.values()) > budget):
            oldest = next((k for k, s in pool.shapes.items() if not s.in_use), None)
            if oldest is None:
                make_kept = False
            else:
                del pool.shapes[oldest]
    slots = _allocate(model, key, batch, cache_len, history_len, steps, dtype, device,
                      own_generator, pooled=make_kept)
    slots.in_use = True
    if make_kept:
        with pool.lock:
            pool.shapes.setdefault(key, slots)
    return slots


def release_slots(slots: DecodeSlots) -> None:
    """The decode using ``slots`` has ended: a kept entry may serve the next one."""
    slots.in_use = False


def clear_pool(model: Text2SemanticDecoder) -> None:
    """Drop every kept entry of ``model`` (frees their GPU memory once no decode uses it)."""
    pool = model.__dict__.get(_POOL_ATTR)
    if pool is not None:
        with pool.lock:
            pool.shapes.clear()
