"""One SoVITS training step on the tiny model (CPU): the loss terms are finite, and the
gradients reach what upstream trains and skip what it freezes (``ssl_proj`` and the
quantizer, whose codebook is a buffer)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from gsv_core.audio import HOP_LENGTH
from gsv_core.errors import ConfigError
from gsv_core.models.checkpoint import load_sovits
from gsv_core.models.commons import slice_segments
from gsv_core.models.discriminator import MultiPeriodDiscriminator
from gsv_core.models.losses import discriminator_loss, generator_losses
from gsv_core.models.sovits import SoVITSGenerator
from gsv_core.models.spectrogram import mel_spectrogram, spec_to_mel, spectrogram
from tests.fixture_paths import tiny_fixture
from tests.reference_compare import assert_close_to_reference

FRAMES = 24  # 50 Hz frames in the padded batch
SEGMENT_FRAMES = 8


@pytest.fixture(scope="module")
def step() -> dict:
    torch.manual_seed(0)
    loaded = load_sovits(tiny_fixture("sovits_v2.pth"))
    model = SoVITSGenerator(replace(loaded.config, segment_size=SEGMENT_FRAMES * HOP_LENGTH))
    model.load_state_dict(loaded.state_dict())
    model.train()
    disc = MultiPeriodDiscriminator()

    lengths = torch.tensor([FRAMES, FRAMES - 6])
    wav = torch.randn(2, FRAMES * HOP_LENGTH) * 0.1
    wav[1, lengths[1] * HOP_LENGTH :] = 0
    spec = spectrogram(wav)
    spec[1, :, lengths[1] :] = 0
    ssl = torch.randn(2, 768, FRAMES)
    phones = torch.randint(1, 732, (2, 12))
    phone_lengths = torch.tensor([12, 9])
    phones[1, 9:] = 0

    rng = torch.Generator().manual_seed(1)
    out = model(ssl, spec, lengths, phones, phone_lengths, generator=rng)
    wav_real = slice_segments(wav.unsqueeze(1), out.slice_starts * HOP_LENGTH,
                              SEGMENT_FRAMES * HOP_LENGTH)
    mel_real = slice_segments(spec_to_mel(spec), out.slice_starts, SEGMENT_FRAMES)
    mel_fake = mel_spectrogram(out.wav_slice.squeeze(1))

    d_loss = discriminator_loss(disc(wav_real).scores, disc(out.wav_slice.detach()).scores)
    d_loss.backward()
    d_grads = {n: p.grad for n, p in disc.named_parameters()}
    disc.zero_grad()

    real, fake = disc(wav_real), disc(out.wav_slice)
    losses = generator_losses(
        mel_real, mel_fake, (out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask),
        fake.scores, real.feature_maps, fake.feature_maps,
    )  # fmt: skip
    losses.total.backward()
    return {"model": model, "out": out, "losses": losses, "d_loss": d_loss,
            "d_grads": d_grads, "lengths": lengths}  # fmt: skip


def test_loss_terms_are_finite_and_weighted(step: dict) -> None:
    losses = step["losses"]
    for name in ("total", "mel", "kl", "adversarial", "feature_matching"):
        value = getattr(losses, name)
        assert value.dtype == torch.float32 and value.ndim == 0
        assert torch.isfinite(value), name
    assert torch.isfinite(step["d_loss"]) and step["d_loss"] > 0
    expected = losses.mel + losses.kl + losses.adversarial + losses.feature_matching
    torch.testing.assert_close(losses.total, expected)
    assert losses.mel > 45 * 0.1  # random audio vs an untrained decoder: far from zero


def test_posterior_sample_is_scaled_by_the_posterior_std(step: dict) -> None:
    """``z = (m_q + eps * exp(logs_q)) * mask`` (upstream ``PosteriorEncoder``). Seam: ``eps`` is
    the first draw, ``torch.randn(m_q.shape, generator=...)``, of the generator given to the
    forward (seed 1 in ``step``); the prior encoder draws nothing from it. Mutation probe: the
    sample without ``exp(logs_q)`` fails here."""
    out = step["out"]
    eps = torch.randn(out.m_q.shape, generator=torch.Generator().manual_seed(1))
    expected = (out.m_q + eps * torch.exp(out.logs_q)) * out.y_mask
    assert_close_to_reference(out.z.detach(), expected.detach())


def test_slices_lie_inside_each_item(step: dict) -> None:
    out = step["out"]
    assert out.wav_slice.shape == (2, 1, SEGMENT_FRAMES * HOP_LENGTH)
    assert torch.all(out.slice_starts >= 0)
    assert torch.all(out.slice_starts + SEGMENT_FRAMES <= step["lengths"])
    assert out.y_mask[1, 0, step["lengths"][1]:].sum() == 0


def _grad_norms(model: torch.nn.Module, prefix: str) -> list[float]:
    return [
        (p.grad.norm().item() if p.grad is not None else 0.0)
        for n, p in model.named_parameters()
        if n.startswith(prefix)
    ]


@pytest.mark.parametrize("prefix", ["enc_q.", "flow.", "dec.", "enc_p.", "ref_enc."])
def test_gradients_reach_trained_parts(step: dict, prefix: str) -> None:
    norms = _grad_norms(step["model"], prefix)
    assert norms, prefix
    assert all(n > 0 and torch.isfinite(torch.tensor(n)) for n in norms)


def test_frozen_quantizer_gets_no_gradient(step: dict) -> None:
    model = step["model"]
    assert all(p.grad is None for p in model.ssl_proj.parameters())
    assert list(model.quantizer.parameters()) == []  # the codebook is a buffer
    assert not model.quantizer.vq["layers"][0]._codebook.embed.requires_grad


def test_discriminator_gets_gradients(step: dict) -> None:
    assert all(g is not None and torch.isfinite(g).all() for g in step["d_grads"].values())


def test_unfrozen_quantizer_is_refused() -> None:
    model = load_sovits(tiny_fixture("sovits_v2.pth"))
    unfrozen = SoVITSGenerator(replace(model.config, freeze_quantizer=False))
    spec = torch.rand(1, 1025, 8)
    with pytest.raises(ConfigError):
        unfrozen(torch.randn(1, 768, 8), spec, torch.tensor([8]), torch.ones(1, 3).long(),
                 torch.tensor([3]))  # fmt: skip


def test_mismatched_ssl_and_spectrogram_lengths_are_refused() -> None:
    model = load_sovits(tiny_fixture("sovits_v2.pth"))
    spec = torch.rand(1, 1025, 10)
    with pytest.raises(ConfigError, match="same even length"):
        model(torch.randn(1, 768, 8), spec, torch.tensor([10]), torch.ones(1, 3).long(),
              torch.tensor([3]))  # fmt: skip
