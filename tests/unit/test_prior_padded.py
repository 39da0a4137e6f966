"""prior_graph's premise, on CPU: the SoVITS prior encoder on zero-padded content and phones,
given the true lengths, gives the unpadded encoder's numbers on the valid frames (what lets one
recorded CUDA graph serve a bucket of lengths)."""

from __future__ import annotations

import pytest
import torch

from gsv_core.models.checkpoint import load_sovits
from gsv_core.models.prior_graph import padded_prior
from tests.fixture_paths import tiny_fixture


@pytest.fixture(scope="module")
def sovits():
    return load_sovits(tiny_fixture("sovits_v2.pth"))


@pytest.mark.parametrize("frames,phones", [(50, 11), (127, 40), (64, 32)])
def test_padded_prior_equals_the_unpadded_prior(sovits, frames, phones):
    generator = torch.Generator().manual_seed(frames)
    codes = torch.randint(0, 1024, (1, 1, frames // 2), generator=generator)
    quantized = sovits._dequantize(codes)
    phone_ids = torch.randint(1, sovits.config.n_symbols, (1, phones), generator=generator)
    ge = torch.randn(1, sovits.config.gin_channels, 1, generator=generator)
    with torch.no_grad():
        expected = sovits.enc_p.infer(quantized, phone_ids, ge)
        padded = padded_prior(sovits.enc_p, quantized, phone_ids, ge, 192, 64)
    for got, want in zip(padded, expected, strict=True):
        assert got.shape == want.shape
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_infer_is_forward_with_full_lengths(sovits):
    quantized = torch.randn(1, 768, 40)
    phone_ids = torch.randint(1, sovits.config.n_symbols, (1, 9))
    ge = torch.randn(1, sovits.config.gin_channels, 1)
    lengths = torch.tensor([40]), torch.tensor([9])
    with torch.no_grad():
        for speed in (1.0, 1.3):
            got = sovits.enc_p.infer(quantized, phone_ids, ge, speed)
            want = sovits.enc_p(quantized, lengths[0], phone_ids, lengths[1], ge, speed)
            assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
