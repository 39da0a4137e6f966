"""The inference engine on a CUDA GPU, tiny fixture models (skipped without CUDA).

The CPU tests (``test_infer_engine.py``) pin behaviour; these check what only a GPU run
shows: the engine picks half precision on a capable card and its renders are sound, the
CUDA-graph decode with sampling on the GPU is deterministic for a seed, greedy fp32 decoding
on the GPU gives the CPU's tokens and audio, and streaming works with the graphed decoder.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from gsv_core.audio import SAMPLE_RATE
from gsv_core.infer import InferenceEngine, InferenceOptions
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

infer_setup = infer_fixtures.infer_setup

TEXT = "今天天气很不错。我们一起去公园吧！这是测试。"
FAST = InferenceOptions(cut_method="cut5", max_new_tokens=40, seed=11)
GREEDY = replace(FAST, top_k=1, noise_scale=0.0)


def _cuda_engine(setup: InferSetup, precision: str | None = None) -> InferenceEngine:
    engine = InferenceEngine(setup.workspace, device="cuda", precision=precision)
    engine.load_gpt(setup.gpt_path)
    engine.load_sovits(setup.sovits_path)
    return engine


@pytest.fixture(scope="module")
def cuda_engine(infer_setup: InferSetup) -> InferenceEngine:
    return _cuda_engine(infer_setup)


def test_default_precision_is_half_on_a_capable_card(cuda_engine: InferenceEngine) -> None:
    major, _ = torch.cuda.get_device_capability()
    expected = torch.bfloat16 if major >= 8 else torch.float16 if major >= 7 else torch.float32
    assert cuda_engine.dtypes.gpt == expected
    assert next(cuda_engine.gpt_model.parameters()).device.type == "cuda"


def test_cuda_render_is_sound_and_the_same_for_a_seed(cuda_engine: InferenceEngine,
                                                      infer_setup: InferSetup) -> None:
    first = cuda_engine.synthesize(infer_setup.reference(), TEXT, FAST)
    again = cuda_engine.synthesize(infer_setup.reference(), TEXT, FAST)
    other = cuda_engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, seed=12))
    assert first.sample_rate == SAMPLE_RATE and len(first.segments) == 3
    assert np.isfinite(first.audio).all() and np.abs(first.audio).max() <= 1.0
    assert first.duration_s > 3 * FAST.fragment_interval_s
    assert np.array_equal(first.audio, again.audio)
    assert first.audio.shape != other.audio.shape or not np.array_equal(first.audio,
                                                                       other.audio)


def test_greedy_fp32_on_the_gpu_matches_the_cpu(infer_setup: InferSetup) -> None:
    """Same weights, greedy sampling, no prior noise: only rounding differs between devices."""
    gpu = _cuda_engine(infer_setup, precision="fp32")
    cpu = make_engine(infer_setup)
    on_gpu = gpu.synthesize(infer_setup.reference(), TEXT, GREEDY)
    on_cpu = cpu.synthesize(infer_setup.reference(), TEXT, GREEDY)
    assert on_gpu.audio.shape == on_cpu.audio.shape  # same tokens: same lengths
    scale = max(float(np.abs(on_cpu.audio).max()), 1e-3)
    assert float(np.abs(on_gpu.audio - on_cpu.audio).max()) < 0.05 * scale


@pytest.mark.parametrize("mode", [1, 3])
def test_streaming_on_the_gpu(cuda_engine: InferenceEngine, infer_setup: InferSetup,
                              mode: int) -> None:
    options = replace(FAST, streaming_mode=mode, min_chunk_length=8)
    chunks = list(cuda_engine.stream(infer_setup.reference(), TEXT, options))
    assert chunks and chunks[-1].final and not any(c.final for c in chunks[:-1])
    audio = np.concatenate([c.audio for c in chunks])
    assert np.isfinite(audio).all() and audio.shape[0] > 0
    if mode == 3:
        assert len(chunks) > 3  # chunks within segments, not one per segment
