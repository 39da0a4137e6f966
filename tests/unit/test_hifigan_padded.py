"""HiFiGANGenerator.padded: a zero-padded latent with its valid frames decodes those frames
as the unpadded latent does (what one CUDA graph per length bucket rests on), on CPU."""

from __future__ import annotations

import pytest
import torch

from gsv_core.models.checkpoint import load_sovits
from tests.fixture_paths import tiny_fixture


@pytest.fixture(scope="module")
def dec():
    return load_sovits(tiny_fixture("sovits_v2.pth")).dec


@pytest.mark.parametrize("lengths", [(37,), (64, 9)])
def test_padded_decode_equals_the_unpadded_decode_on_the_valid_frames(dec, lengths):
    torch.manual_seed(0)
    channels = dec.conv_pre.in_channels
    bucket = 80
    hop = 640
    style = torch.randn(len(lengths), dec.cond.in_channels, 1)
    latents = [torch.randn(1, channels, n) for n in lengths]
    padded = torch.zeros(len(lengths), channels, bucket)
    for row, latent in enumerate(latents):
        padded[row, :, :latent.shape[2]] = latent[0]
    with torch.no_grad():
        together = dec.padded(padded, style, torch.tensor(lengths))
        for row, latent in enumerate(latents):
            alone = dec.padded(latent, style[row:row + 1])  # upstream's path
            n = latent.shape[2] * hop
            assert together.shape[2] == bucket * hop
            torch.testing.assert_close(together[row, :, :n], alone[0], atol=2e-6, rtol=0)


def test_without_the_mask_padding_changes_the_last_frames(dec):
    """The masks are what makes it exact: zero padding alone leaks into the last frames."""
    torch.manual_seed(1)
    latent = torch.randn(1, dec.conv_pre.in_channels, 30)
    style = torch.randn(1, dec.cond.in_channels, 1)
    padded = torch.nn.functional.pad(latent, (0, 34))
    with torch.no_grad():
        alone = dec.padded(latent, style)
        unmasked = dec.padded(padded, style)[:, :, :alone.shape[2]]
    assert (unmasked - alone).abs().max() > 1e-3


def test_forward_stays_eager_on_cpu_and_equals_padded(dec):
    latent = torch.randn(1, dec.conv_pre.in_channels, 12)
    style = torch.randn(1, dec.cond.in_channels, 1)
    with torch.no_grad():
        assert torch.equal(dec(latent, style), dec.padded(latent, style))
