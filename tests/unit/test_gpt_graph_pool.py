"""gpt_graph_pool's bookkeeping (runs on CPU: it only allocates; the graphs need CUDA)."""

from __future__ import annotations

import torch

from gsv_core.models import gpt_graph_pool
from gsv_core.models.checkpoint import load_gpt
from gsv_core.models.gpt_graph_pool import LENGTH_BUCKET, acquire_slots, release_slots
from tests.fixture_paths import tiny_fixture


def _acquire(model, batch=1, cache_len=300, history_len=100, generator=False):
    return acquire_slots(model, batch=batch, cache_len=cache_len, history_len=history_len,
                         steps=60, dtype=torch.float32, own_generator=generator)


def test_a_released_shape_is_handed_out_again_and_lengths_are_bucketed():
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    first = _acquire(model)
    assert first.key_valid.shape[1] == 2 * LENGTH_BUCKET and first.history.shape[1] == 256
    release_slots(first)
    again = _acquire(model, cache_len=290, history_len=130)  # same buckets
    assert again is first and again.in_use
    busy = _acquire(model, cache_len=290)  # in use: fresh, not kept
    assert busy is not first and not busy.pooled
    release_slots(again)
    release_slots(busy)
    assert _acquire(model) is first


def test_the_pool_keeps_a_few_shapes_and_drops_the_least_recently_used(monkeypatch):
    monkeypatch.setattr(gpt_graph_pool, "MAX_SHAPES", 2)
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    shapes = []
    for batch in (1, 2, 3):
        slots = _acquire(model, batch=batch)
        shapes.append(slots)
        release_slots(slots)
    assert _acquire(model, batch=1) is not shapes[0]  # evicted when batch 3 came
    assert _acquire(model, batch=3) is shapes[2]


def test_callers_with_and_without_a_generator_do_not_share_an_entry():
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    plain = _acquire(model)
    release_slots(plain)
    seeded = _acquire(model, generator=True)
    assert seeded is not plain and seeded.generator is not None and plain.generator is None


def test_buffers_made_in_inference_mode_stay_writable_outside_it():
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    with torch.inference_mode():
        slots = _acquire(model)
    slots.history.zero_()  # would raise for an inference tensor
    slots.caches[0][0].fill_(1.0)


def test_shapes_beyond_the_memory_share_are_not_kept(monkeypatch):
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    small = _acquire(model, batch=1)
    release_slots(small)
    monkeypatch.setattr(gpt_graph_pool, "_budget_bytes", lambda device: small.nbytes * 3.5)
    two = _acquire(model, batch=2)  # fits beside the first
    release_slots(two)
    assert two.pooled and _acquire(model, batch=1) is small
    release_slots(small)
    big = _acquire(model, batch=4)  # more than the whole share: used once, not kept
    assert not big.pooled
