"""The SoVITS prior encoder's CUDA graphs (gsv_core/models/prior_graph.py) against the eager
encoder: same numbers up to rounding, identical on every call, one recording per bucket, new
weights recorded anew, the eager encoder where graphs must not run. Needs CUDA."""

from __future__ import annotations

import pytest
import torch

from gsv_core.models import prior_graph
from gsv_core.models.checkpoint import load_sovits
from tests.fixture_paths import tiny_fixture

pytestmark = [pytest.mark.usefixtures("no_tf32"),
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _sovits(dtype: torch.dtype = torch.float32):
    return load_sovits(tiny_fixture("sovits_v2.pth"), "cuda", dtype)


def _inputs(sovits, frames: int, phones: int, seed: int = 0):
    generator = torch.Generator("cuda").manual_seed(seed)
    dtype = sovits.ssl_proj.weight.dtype
    codes = torch.randint(0, 1024, (1, 1, frames // 2), device="cuda", generator=generator)
    quantized = sovits._dequantize(codes).to(dtype)
    phone_ids = torch.randint(1, sovits.config.n_symbols, (1, phones), device="cuda",
                              generator=generator)
    ge = torch.randn(1, sovits.config.gin_channels, 1, device="cuda", generator=generator)
    return quantized, phone_ids, ge.to(dtype)


def _eager(enc, *inputs):
    enc.cuda_graphs = False
    try:
        with torch.no_grad():
            return enc.infer(*inputs)
    finally:
        enc.cuda_graphs = True


@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-4), (torch.bfloat16, 5e-2)])
def test_graphed_prior_equals_the_eager_prior_and_repeats_exactly(dtype, tolerance) -> None:
    sovits = _sovits(dtype)
    enc = sovits.enc_p
    for frames, phones in ((100, 20), (120, 31), (100, 20)):  # one bucket (128, 32)
        inputs = _inputs(sovits, frames, phones, seed=frames)
        with torch.no_grad():
            first, again = enc.infer(*inputs), enc.infer(*inputs)
        for a, b, want in zip(first, again, _eager(enc, *inputs), strict=True):
            assert a.shape == want.shape and torch.equal(a, b)
            assert (a.float() - want.float()).abs().max() <= tolerance
    assert len(enc._prior_graphs.kept) == 1


def test_a_bucket_records_once_and_new_weights_record_anew() -> None:
    sovits = _sovits()
    enc = sovits.enc_p
    recorded = []
    original = prior_graph._record

    def counting(module, buffers):
        recorded.append((buffers[0].shape[2], buffers[1].shape[1]))
        return original(module, buffers)

    prior_graph._record = counting
    try:
        with torch.no_grad():
            for frames, phones in ((60, 10), (64, 30), (300, 10), (60, 10)):
                enc.infer(*_inputs(sovits, frames, phones))
            state = {k: v * 0.9 if v.is_floating_point() else v
                     for k, v in enc.state_dict().items()}
            enc.load_state_dict(state)
            inputs = _inputs(sovits, 60, 10)
            got = enc.infer(*inputs)
    finally:
        prior_graph._record = original
    assert recorded == [(64, 32), (384, 32), (64, 32)]
    for a, want in zip(got, _eager(enc, *inputs), strict=True):
        assert (a - want).abs().max() <= 1e-4


def test_decode_with_and_without_graphs_agrees_and_training_stays_eager() -> None:
    sovits = _sovits()
    codes = torch.randint(0, 1024, (1, 1, 70), device="cuda")
    phone_ids = torch.randint(1, sovits.config.n_symbols, (1, 25), device="cuda")
    ge = torch.randn(1, sovits.config.gin_channels, 1, device="cuda")
    graphed = sovits.decode(codes, phone_ids, ge=ge, noise_scale=0.0).wav
    sovits.enc_p.cuda_graphs = False
    eager = sovits.decode(codes, phone_ids, ge=ge, noise_scale=0.0).wav
    assert (graphed - eager).abs().max() <= 1e-3
    sovits.enc_p.cuda_graphs = True
    quantized, ids, style = _inputs(sovits, 50, 12)
    m, _, _ = sovits.enc_p.infer(quantized, ids, style)  # gradients on: eager
    assert m.requires_grad
