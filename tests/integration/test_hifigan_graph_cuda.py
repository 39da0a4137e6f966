"""The SoVITS decoder's CUDA graphs (gsv_core/models/hifigan_graph.py) against the eager
decoder: same waveform up to rounding, one recording per bucket, new weights re-recorded,
and the eager path wherever a graph must not run. Needs CUDA (skipped elsewhere)."""

from __future__ import annotations

import pytest
import torch

from gsv_core.models import hifigan_graph
from gsv_core.models.checkpoint import load_sovits
from tests.fixture_paths import tiny_fixture

pytestmark = [pytest.mark.usefixtures("no_tf32"),
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def _decoder(dtype: torch.dtype = torch.float32):
    return load_sovits(tiny_fixture("sovits_v2.pth"), "cuda", dtype).dec


def _inputs(dec, frames: int, seed: int = 0, dtype: torch.dtype = torch.float32):
    generator = torch.Generator("cuda").manual_seed(seed)
    latent = torch.randn(1, dec.conv_pre.in_channels, frames, device="cuda",
                         generator=generator).to(dtype)
    style = torch.randn(1, dec.cond.in_channels, 1, device="cuda", generator=generator)
    return latent, style.to(dtype)


def _eager(dec, latent, style):
    with torch.no_grad():
        return dec.padded(latent, style)


@pytest.mark.parametrize("dtype,tolerance", [(torch.float32, 1e-4), (torch.bfloat16, 3e-2)])
def test_graph_decode_equals_the_eager_decode(dtype: torch.dtype, tolerance: float) -> None:
    dec = _decoder(dtype)
    for frames in (100, 117, 100):  # one bucket: eager once, then recorded, then replayed
        latent, style = _inputs(dec, frames, seed=frames, dtype=dtype)
        with torch.no_grad():
            graphed = dec(latent, style)
        expected = _eager(dec, latent, style)
        assert graphed.shape == expected.shape
        assert (graphed.float() - expected.float()).abs().max() <= tolerance
    assert len(dec._hifigan_graphs.kept) == 1


def test_each_bucket_records_once_and_the_output_is_a_copy() -> None:
    dec = _decoder()
    recorded = []
    original = hifigan_graph._record

    def counting(*args):
        recorded.append(args[1].shape[2])
        return original(*args)

    hifigan_graph._record = counting
    try:
        outputs = []
        for frames in (50, 60, 50, 300, 300, 61):
            latent, style = _inputs(dec, frames, seed=frames)
            with torch.no_grad():
                outputs.append((frames, dec(latent, style), _eager(dec, latent, style)))
    finally:
        hifigan_graph._record = original
    assert recorded == [64, 384]  # second sighting of each bucket
    for _, graphed, expected in outputs:  # earlier results not overwritten by later replays
        assert (graphed - expected).abs().max() <= 1e-4


def test_new_weights_are_recorded_anew() -> None:
    dec = _decoder()
    latent, style = _inputs(dec, 80)
    with torch.no_grad():
        dec(latent, style)
        dec(latent, style)  # recorded
        other = load_sovits(tiny_fixture("sovits_v2.pth"), "cuda").dec.state_dict()
        other = {k: v * 0.9 if v.is_floating_point() else v for k, v in other.items()}
        dec.load_state_dict(other)
        dec(latent, style)  # first sighting under the new weights: eager
        graphed = dec(latent, style)
    assert (graphed - _eager(dec, latent, style)).abs().max() <= 1e-4


def test_training_gradients_and_the_switch_keep_the_eager_decoder() -> None:
    dec = _decoder()
    latent, style = _inputs(dec, 70)
    dec(latent, style).sum().backward()  # gradients recorded: eager, and they flow
    assert dec.conv_pre.weight.grad is not None
    dec.cuda_graphs = False
    with torch.no_grad():
        dec(latent, style)
        dec(latent, style)
    assert not getattr(dec, "_hifigan_graphs", None) or not dec._hifigan_graphs.kept
