"""Upstream's sampling rules, checked on hand-made logits."""

from __future__ import annotations

import pytest
import torch

from gsv_core.errors import ConfigError
from gsv_core.models.gpt_sampling import (
    SamplingOptions,
    apply_repetition_penalty,
    sample_next,
    token_probs,
)


def test_repetition_penalty_once_per_distinct_token_by_sign() -> None:
    logits = torch.tensor([[2.0, -2.0, 1.0, 0.0]])
    apply_repetition_penalty(logits, torch.tensor([[0, 0, 0, 1, 3]]), 2.0)
    # token 0 seen three times: divided once; negative multiplied; 0 is "not below 0".
    assert logits.tolist() == [[1.0, -4.0, 1.0, 0.0]]


def test_repetition_penalty_is_in_place_and_skipped_without_history() -> None:
    logits = torch.tensor([[2.0, 3.0]])
    out = apply_repetition_penalty(logits, torch.zeros(1, 0, dtype=torch.long), 1.35)
    assert out is logits and logits.tolist() == [[2.0, 3.0]]


def test_top_k_one_is_greedy() -> None:
    logits = torch.tensor([[0.1, 2.0, 1.9, -1.0]])
    probs = token_probs(logits, SamplingOptions(top_k=1))
    assert probs.tolist() == [[0.0, 1.0, 0.0, 0.0]]


def test_top_p_keeps_the_smallest_prefix_past_the_threshold() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    probs = token_probs(logits, SamplingOptions(top_k=0, top_p=0.7))
    # cumulative 0.5, 0.8, ...: tokens whose cumulative probability exceeds 0.7 are dropped,
    # except the first one is always kept -> only token 0 survives.
    assert probs[0, 0] == pytest.approx(1.0) and probs[0, 1:].sum() == 0
    probs = token_probs(logits, SamplingOptions(top_k=0, top_p=0.85))
    assert probs[0, 2:].sum() == 0 and probs[0, 0] == pytest.approx(0.5 / 0.8)


def test_temperature_flattens() -> None:
    logits = torch.tensor([[1.0, 0.0]])
    cold = token_probs(logits, SamplingOptions(top_k=0, temperature=0.5))
    hot = token_probs(logits, SamplingOptions(top_k=0, temperature=2.0))
    assert cold[0, 0] > hot[0, 0] > 0.5


def test_sample_next_follows_the_distribution() -> None:
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).repeat(4000, 1)
    options = SamplingOptions(top_k=0, repetition_penalty=1.0)
    draws = sample_next(logits, torch.zeros(4000, 0, dtype=torch.long), options,
                        torch.Generator().manual_seed(0))
    share = torch.bincount(draws[:, 0], minlength=3).float() / 4000
    assert torch.allclose(share, torch.tensor([0.7, 0.2, 0.1]), atol=0.03)


def test_defaults_are_upstream_webui_defaults() -> None:
    # upstream inference_webui: top_k 15, top_p 1, temperature 1, repetition penalty 1.35;
    # t2s infer_panel: early stop at 25 Hz x max_sec 54 = 1350, 1500 steps, no EOS before 11
    assert SamplingOptions() == SamplingOptions(
        top_k=15, top_p=1.0, temperature=1.0, repetition_penalty=1.35, early_stop_tokens=1350,
        max_steps=1500, min_steps_before_eos=11)


@pytest.mark.parametrize("bad", [
    {"top_k": -1}, {"top_p": 0.0}, {"top_p": 1.5}, {"temperature": 0.0},
    {"repetition_penalty": 0.0}, {"early_stop_tokens": -1}, {"max_steps": 0},
])
def test_bad_options_are_refused(bad: dict) -> None:
    with pytest.raises(ConfigError):
        SamplingOptions(**bad)
