"""The training and sampling maths, pinned by hand-computed values on 2-4 element tensors.

Each expected number below is worked out in the comment next to it from the formula as
upstream GPT-SoVITS states it (``module/losses.py``, ``s2_train.py``, ``AR/models/utils.py``
at 48b1a01), not by calling our code, so a change to a weight, a sign or an order fails here.

Mutation probes (each applied alone to a copy of ``gsv_core/models/``; the named test failed,
and all pass on the unmutated code):

- feature-matching weight 2 -> 1: test_feature_matching_is_twice_the_mean_l1
- feature matching without detaching the real maps: ..._treats_real_maps_as_targets
- KL loss without its -0.5: test_kl_loss_hand_value
- KL with exp(-logs_p) instead of exp(-2 logs_p): test_kl_loss_hand_value
- KL divided by the masked elements (frames x channels): test_kl_loss_hand_value
- discriminator LSGAN |x| instead of x^2: test_discriminator_loss_is_least_squares
- generator LSGAN |x| instead of x^2: test_generator_adversarial_loss_is_least_squares
- mel weight 45 -> 1, KL weight 1 -> 0.5: test_generator_total_weights_each_term
- DPO beta 0.2 -> 0.5: test_dpo_loss_uses_beta_0_2
- top-p without keeping the top token: test_top_p_always_keeps_the_most_likely_token
- temperature applied before top-p: test_top_p_sees_the_logits_before_temperature
- top-k applied before top-p: test_top_k_acts_after_top_p
- repetition penalty applied after the filters: test_repetition_penalty_comes_first

Probes that need the tiny model are pinned next to it, each naming its probe:
prior noise without exp(logs_p) or noise_scale -> test_sovits_model.py::
test_prior_noise_is_scaled_by_the_prior_std; posterior noise without exp(logs_q) ->
test_sovits_training.py::test_posterior_sample_is_scaled_by_the_posterior_std; dpo_forward's
beta 0.2 -> 0.5 -> test_gpt_model.py::test_dpo_forward_preference_uses_beta_0_2; EOS allowed
before step 11 -> test_gpt_model.py::test_eos_cannot_end_the_first_eleven_steps.
"""

from __future__ import annotations

import math

import pytest
import torch

from gsv_core.models.gpt_dpo import dpo_loss
from gsv_core.models.gpt_sampling import SamplingOptions, sample_next, token_probs
from gsv_core.models.losses import (
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
    generator_losses,
    kl_loss,
)

# Two "discriminators", each with two feature maps of different shapes.
REAL_MAPS = [[torch.tensor([1.0, 2.0]), torch.tensor([[0.0, 4.0]])],
             [torch.tensor([[[3.0]]])]]
FAKE_MAPS = [[torch.tensor([0.0, 0.0]), torch.tensor([[1.0, 1.0]])],
             [torch.tensor([[[1.0]]])]]
# mean|r-f| per map: (1+2)/2 = 1.5, (1+3)/2 = 2.0, 2.0 -> sum 5.5 -> times 2 = 11.0
FEATURE_MATCHING = 11.0

REAL_SCORES = [torch.tensor([1.0, 0.0]), torch.tensor([[0.5]])]
FAKE_SCORES = [torch.tensor([0.0, 2.0]), torch.tensor([[-1.0]])]
# D: mean((1-r)^2) + mean(f^2): d0 = mean(0, 1) + mean(0, 4) = 2.5; d1 = 0.25 + 1 = 1.25
DISCRIMINATOR = 3.75
# G: mean((1-f)^2): d0 = mean(1, 1) = 1; d1 = (1-(-1))^2 = 4
ADVERSARIAL = 5.0


def _kl_inputs() -> tuple[torch.Tensor, ...]:
    """[B=1, C=2, T=3] inputs; the third frame is padding (mask 0) full of large values.

    Per element, kl = logs_p - logs_q - 1/2 + 1/2 (z_p - m_p)^2 exp(-2 logs_p):
      t0 c0: z_p 3, m_p 1, logs_p ln 2, logs_q 0 -> ln 2 - 0.5 + 0.5*4*(1/4) = ln 2
      t0 c1: all 0                              -> -0.5
      t1 c0: z_p 2, m_p 0, logs_p 0, logs_q 1   -> -1 - 0.5 + 0.5*4 = 0.5
      t1 c1: z_p 1, m_p 0, logs_p 0, logs_q -1  -> 1 - 0.5 + 0.5 = 1.0
    sum over valid elements = ln 2 + 1, divided by the 2 valid frames (not 4 elements).
    """
    ln2 = math.log(2.0)
    z_p = torch.tensor([[[3.0, 2.0, 90.0], [0.0, 1.0, -70.0]]])
    m_p = torch.tensor([[[1.0, 0.0, 5.0], [0.0, 0.0, 5.0]]])
    logs_p = torch.tensor([[[ln2, 0.0, -3.0], [0.0, 0.0, -3.0]]])
    logs_q = torch.tensor([[[0.0, 1.0, 4.0], [0.0, -1.0, 4.0]]])
    z_mask = torch.tensor([[[1.0, 1.0, 0.0]]])
    return z_p, logs_q, m_p, logs_p, z_mask


KL = (math.log(2.0) + 1.0) / 2


# -- SoVITS losses ------------------------------------------------------------------------


def test_feature_matching_is_twice_the_mean_l1() -> None:
    assert feature_matching_loss(REAL_MAPS, FAKE_MAPS).item() == pytest.approx(FEATURE_MATCHING)


def test_feature_matching_treats_real_maps_as_targets() -> None:
    real = torch.tensor([1.0, 2.0], requires_grad=True)
    fake = torch.tensor([0.0, 0.0], requires_grad=True)
    feature_matching_loss([[real]], [[fake]]).backward()
    assert real.grad is None  # upstream detaches the real maps
    # d/df of 2 * mean|r - f| = -2 * sign(r - f) / n = -1 per element
    assert fake.grad.tolist() == [-1.0, -1.0]


def test_kl_loss_hand_value() -> None:
    assert kl_loss(*_kl_inputs()).item() == pytest.approx(KL, rel=1e-6)


def test_discriminator_loss_is_least_squares() -> None:
    assert discriminator_loss(REAL_SCORES, FAKE_SCORES).item() == pytest.approx(DISCRIMINATOR)


def test_generator_adversarial_loss_is_least_squares() -> None:
    assert generator_adversarial_loss(FAKE_SCORES).item() == pytest.approx(ADVERSARIAL)


def test_generator_total_weights_each_term() -> None:
    mel = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    mel_hat = torch.tensor([[[1.0, 1.0], [2.0, 1.0]]])  # |diff| 1, 0, 0, 2 -> L1 mean 0.75
    losses = generator_losses(mel, mel_hat, _kl_inputs(), FAKE_SCORES, REAL_MAPS, FAKE_MAPS)
    assert losses.mel.item() == pytest.approx(45 * 0.75)  # s2.json c_mel 45
    assert losses.kl.item() == pytest.approx(1 * KL, rel=1e-6)  # s2.json c_kl 1
    assert losses.adversarial.item() == pytest.approx(ADVERSARIAL)
    assert losses.feature_matching.item() == pytest.approx(FEATURE_MATCHING)
    expected_total = 45 * 0.75 + KL + ADVERSARIAL + FEATURE_MATCHING
    assert losses.total.item() == pytest.approx(expected_total, rel=1e-6)


# -- GPT DPO --------------------------------------------------------------------------------


def test_dpo_loss_uses_beta_0_2() -> None:
    # mean over the batch of -log sigmoid(0.2 * (chosen - rejected)) = log(1 + exp(-0.2 d))
    chosen, rejected = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 3.0])  # d = 1, -5
    expected = (math.log1p(math.exp(-0.2)) + math.log1p(math.exp(1.0))) / 2
    assert dpo_loss(chosen, rejected).item() == pytest.approx(expected, rel=1e-6)


# -- GPT sampling -------------------------------------------------------------------------


def _logits(*probs: float) -> torch.Tensor:
    return torch.log(torch.tensor([probs]))


def test_top_p_always_keeps_the_most_likely_token() -> None:
    # 0.8 alone exceeds top_p 0.5, so "cumulative > top_p" would drop every token
    probs = token_probs(_logits(0.8, 0.15, 0.05), SamplingOptions(top_k=0, top_p=0.5))
    assert probs.tolist() == [[1.0, 0.0, 0.0]]


def test_top_p_sees_the_logits_before_temperature() -> None:
    # untempered cumulative 0.5, 0.8 > 0.7 -> only token 0 survives. Tempered first (T=2,
    # p ~ sqrt p) the cumulative would be 0.38, 0.67, 0.88 and tokens 0 and 1 would survive.
    options = SamplingOptions(top_k=0, top_p=0.7, temperature=2.0)
    probs = token_probs(_logits(0.5, 0.3, 0.15, 0.05), options)
    assert probs.tolist() == [[1.0, 0.0, 0.0, 0.0]]


def test_top_k_acts_after_top_p() -> None:
    # top-p 0.75 on the full distribution keeps 0.4, 0.3 (cumulative 0.4, 0.7; 0.9 > 0.75),
    # then top-k 2 keeps both: 4/7, 3/7. Top-k first would renormalise to 4/7, 3/7, whose
    # cumulative 1.0 > 0.75 drops token 1.
    options = SamplingOptions(top_k=2, top_p=0.75)
    probs = token_probs(_logits(0.4, 0.3, 0.2, 0.1), options)
    torch.testing.assert_close(probs, torch.tensor([[4 / 7, 3 / 7, 0.0, 0.0]]))


def test_repetition_penalty_comes_first() -> None:
    # Token 0 (logit 2) was said before: 2 / 1.35 = 1.48 < 1.8, so greedy picks token 1.
    logits = torch.tensor([[2.0, 1.8, -5.0]])
    picked = sample_next(logits, torch.tensor([[0]]), SamplingOptions(top_k=1))
    assert picked.tolist() == [[1]]
    assert logits[0, 0].item() == pytest.approx(2.0 / 1.35)  # penalised in place
