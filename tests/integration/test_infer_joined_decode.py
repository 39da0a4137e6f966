"""SoVITS decodes a GPT batch's segments in one joined call at speed 1 (upstream's
parallel-inference path), and falls back to one segment at a time where it must."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from gsv_core.audio import SAMPLE_RATE, SAMPLES_PER_TOKEN
from gsv_core.infer import InferenceEngine, InferenceOptions
from gsv_core.infer import engine as engine_module
from gsv_core.infer.engine import JOINED_DECODE_MAX_TOKENS, _joined_groups
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine

infer_setup = infer_fixtures.infer_setup

TEXT = "今天天气很不错。我们一起去公园吧！这是测试。"
FAST = InferenceOptions(cut_method="cut5", max_new_tokens=24, seed=7)


@pytest.fixture(scope="module")
def engine(infer_setup: InferSetup) -> InferenceEngine:
    return make_engine(infer_setup)


@pytest.fixture
def decoded_tokens(engine: InferenceEngine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The token count of every SoVITS decode call."""
    sovits = engine.sovits_model
    assert sovits is not None
    real = sovits.decode
    counts: list[int] = []

    def spy(codes: torch.Tensor, *args: object, **kwargs: object):
        counts.append(int(codes.shape[-1]))
        return real(codes, *args, **kwargs)

    monkeypatch.setattr(sovits, "decode", spy)
    return counts


def test_a_batch_is_one_joined_decode_cut_at_token_borders(
        engine: InferenceEngine, infer_setup: InferSetup, decoded_tokens: list[int]) -> None:
    result = engine.synthesize(infer_setup.reference(), TEXT, FAST)
    assert len(result.segments) == 3 and len(decoded_tokens) == 1
    pauses = 3 * int(FAST.fragment_interval_s * SAMPLE_RATE)
    assert result.audio.shape[0] == decoded_tokens[0] * SAMPLES_PER_TOKEN + pauses


def test_batch_size_one_and_other_speeds_decode_each_segment(
        engine: InferenceEngine, infer_setup: InferSetup, decoded_tokens: list[int]) -> None:
    engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, batch_size=1))
    assert len(decoded_tokens) == 3
    decoded_tokens.clear()
    engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, speed=1.25))
    assert len(decoded_tokens) == 3


def test_joined_and_single_decodes_place_each_segment_alike(
        engine: InferenceEngine, infer_setup: InferSetup) -> None:
    """Greedy tokens, no noise: the joined render's segments have the lengths and the pauses
    of the per-segment render, and the audio differs only as the wider context makes it."""
    greedy = replace(FAST, top_k=1, noise_scale=0.0)
    joined = engine.synthesize(infer_setup.reference(), TEXT, greedy)
    single = engine.synthesize(infer_setup.reference(), TEXT, replace(greedy, batch_size=1))
    assert joined.audio.shape == single.audio.shape
    pause = int(FAST.fragment_interval_s * SAMPLE_RATE)
    assert not joined.audio[-pause:].any() and not single.audio[-pause:].any()
    correlation = np.corrcoef(joined.audio, single.audio)[0, 1]
    assert correlation > 0.5


def test_out_of_memory_in_a_joined_decode_falls_back_to_single_segments(
        engine: InferenceEngine, infer_setup: InferSetup, decoded_tokens: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No GPU here to exhaust: the joined call fails as CUDA would, single decodes run.
    sovits = engine.sovits_model
    spy = sovits.decode

    def joined_fails(codes: torch.Tensor, *args: object, **kwargs: object):
        if codes.shape[-1] > FAST.max_new_tokens:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")
        return spy(codes, *args, **kwargs)

    monkeypatch.setattr(sovits, "decode", joined_fails)
    greedy = replace(FAST, top_k=1, noise_scale=0.0)  # the same tokens at any batch size
    fallback = engine.synthesize(infer_setup.reference(), TEXT, greedy)
    single = engine.synthesize(infer_setup.reference(), TEXT, replace(greedy, batch_size=1))
    assert len(decoded_tokens) == 6  # 3 single decodes each time
    assert np.array_equal(fallback.audio, single.audio)


def test_joined_groups_hold_at_most_the_cap() -> None:
    cap = JOINED_DECODE_MAX_TOKENS
    assert _joined_groups([]) == []
    assert _joined_groups([10, 20, 30]) == [(0, 3)]
    assert _joined_groups([cap, 1, cap - 1, 2]) == [(0, 1), (1, 3), (3, 4)]
    assert _joined_groups([cap + 5, 3]) == [(0, 1), (1, 2)]  # a long one stands alone
    assert cap == engine_module.JOINED_DECODE_MAX_TOKENS
