"""The discriminator's ``channel_divisor``: upstream's size by default, narrower on request,
and read back from a state dict so a file always loads at its own width."""

from __future__ import annotations

import pytest
import torch

from gsv_core.models.discriminator import MultiPeriodDiscriminator, channel_divisor_of


def test_the_default_is_upstreams_size_and_reads_back_as_one():
    state = MultiPeriodDiscriminator().state_dict()
    assert state["discriminators.0.conv_post.weight_v"].shape == (1, 1024, 3)
    assert state["discriminators.1.conv_post.weight_v"].shape == (1, 1024, 3, 1)
    assert channel_divisor_of(state) == 1


@pytest.mark.parametrize("divisor", [2, 16, 32])
def test_a_narrow_one_keeps_keys_and_output_lengths_and_reads_back(divisor):
    full = MultiPeriodDiscriminator()
    narrow = MultiPeriodDiscriminator(channel_divisor=divisor)
    assert list(narrow.state_dict()) == list(full.state_dict())
    assert channel_divisor_of(narrow.state_dict()) == divisor
    wav = torch.randn(1, 1, 2048)
    with torch.no_grad():
        wide_out, narrow_out = full(wav), narrow(wav)
    assert [s.shape for s in narrow_out.scores] == [s.shape for s in wide_out.scores]
    assert sum(p.numel() for p in narrow.parameters()) < sum(
        p.numel() for p in full.parameters()) / divisor


def test_a_divisor_that_does_not_divide_the_width_is_refused():
    with pytest.raises(ValueError, match="divide 1024"):
        MultiPeriodDiscriminator(channel_divisor=3)
