"""SoVITS training losses (upstream ``GPT_SoVITS/module/losses.py`` and ``s2_train.py``).

Generator: ``45 · L1(mel) + 1 · KL + LSGAN + 2 · feature matching``; discriminator: LSGAN.
All are computed in float32 with autocast off, whatever precision the networks ran in: the
squared and exponentiated terms overflow or lose too much in fp16.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "C_KL",
    "C_MEL",
    "FEATURE_MATCHING_WEIGHT",
    "GeneratorLosses",
    "discriminator_loss",
    "feature_matching_loss",
    "generator_adversarial_loss",
    "generator_losses",
    "kl_loss",
]

C_MEL = 45.0  # s2.json train.c_mel
C_KL = 1.0  # s2.json train.c_kl
FEATURE_MATCHING_WEIGHT = 2.0  # fixed in upstream's feature_loss


def _fp32(device: torch.device) -> torch.autocast:
    return torch.autocast(device.type, enabled=False)


def discriminator_loss(
    real_scores: Sequence[torch.Tensor], fake_scores: Sequence[torch.Tensor]
) -> torch.Tensor:
    """LSGAN: ``Σ_d mean((1 - D(real))²) + mean(D(fake)²)``."""
    with _fp32(real_scores[0].device):
        return sum(
            torch.mean((1 - real.float()) ** 2) + torch.mean(fake.float() ** 2)
            for real, fake in zip(real_scores, fake_scores, strict=True)
        )


def generator_adversarial_loss(fake_scores: Sequence[torch.Tensor]) -> torch.Tensor:
    """LSGAN for the generator: ``Σ_d mean((1 - D(fake))²)``."""
    with _fp32(fake_scores[0].device):
        return sum(torch.mean((1 - fake.float()) ** 2) for fake in fake_scores)


def feature_matching_loss(
    real_maps: Sequence[Sequence[torch.Tensor]], fake_maps: Sequence[Sequence[torch.Tensor]]
) -> torch.Tensor:
    """``2 · Σ_layers mean|real - fake|``; the real maps are targets (detached)."""
    with _fp32(real_maps[0][0].device):
        total = sum(
            torch.mean(torch.abs(real.detach().float() - fake.float()))
            for reals, fakes in zip(real_maps, fake_maps, strict=True)
            for real, fake in zip(reals, fakes, strict=True)
        )
        return total * FEATURE_MATCHING_WEIGHT


def kl_loss(
    z_p: torch.Tensor,
    logs_q: torch.Tensor,
    m_p: torch.Tensor,
    logs_p: torch.Tensor,
    z_mask: torch.Tensor,
) -> torch.Tensor:
    """KL between the flowed posterior sample and the prior, per valid frame and channel
    summed, then divided by the number of valid frames (``[B, C, T]`` inputs)."""
    with _fp32(z_p.device):
        z_p, logs_q, m_p, logs_p, z_mask = (t.float() for t in (z_p, logs_q, m_p, logs_p, z_mask))
        kl = logs_p - logs_q - 0.5 + 0.5 * (z_p - m_p) ** 2 * torch.exp(-2.0 * logs_p)
        return torch.sum(kl * z_mask) / torch.sum(z_mask)


@dataclass(frozen=True)
class GeneratorLosses:
    """The generator's loss terms, already weighted; ``total`` is what to backpropagate."""

    total: torch.Tensor
    mel: torch.Tensor  # C_MEL · L1 of log-mels
    kl: torch.Tensor  # C_KL · KL
    adversarial: torch.Tensor
    feature_matching: torch.Tensor


def generator_losses(
    mel: torch.Tensor,
    mel_hat: torch.Tensor,
    kl_inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    fake_scores: Sequence[torch.Tensor],
    real_maps: Sequence[Sequence[torch.Tensor]],
    fake_maps: Sequence[Sequence[torch.Tensor]],
    c_mel: float = C_MEL,
    c_kl: float = C_KL,
) -> GeneratorLosses:
    """All generator terms of one step.

    Args:
        mel, mel_hat: log-mels ``[B, 128, frames]`` of the target slice and of the output.
        kl_inputs: ``(z_p, logs_q, m_p, logs_p, z_mask)`` from the training forward.
        fake_scores, real_maps, fake_maps: discriminator outputs on generated/real audio.
    """
    with _fp32(mel.device):
        mel_term = F.l1_loss(mel.float(), mel_hat.float()) * c_mel
    kl_term = kl_loss(*kl_inputs) * c_kl
    adversarial = generator_adversarial_loss(fake_scores)
    fm = feature_matching_loss(real_maps, fake_maps)
    return GeneratorLosses(
        total=adversarial + fm + mel_term + kl_term,
        mel=mel_term,
        kl=kl_term,
        adversarial=adversarial,
        feature_matching=fm,
    )
