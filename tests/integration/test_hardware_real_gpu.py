"""Real-hardware discovery on an NVIDIA machine (skipped elsewhere, with the reason).

Runs on the device machine: NVML's view of each card must agree with CUDA's, the
live sampler must return real readings, and the plan must use the detected card.
"""

from __future__ import annotations

import pytest

from gsv_core.guidelines import classify_gpu, recommend
from gsv_core.hardware import detect_machine, sample_gpus


@pytest.fixture
def nvml_profile():
    profile = detect_machine(use_torch=False)
    if not profile.gpus:
        pytest.skip("no NVIDIA GPU visible through NVML on this machine: " + "; ".join(
            profile.notes))
    return profile


def test_nvml_agrees_with_cuda_on_every_card(nvml_profile) -> None:
    torch = pytest.importorskip("torch")
    assert torch.cuda.device_count() == len(nvml_profile.gpus)
    for gpu in nvml_profile.gpus:
        props = torch.cuda.get_device_properties(gpu.index)
        assert gpu.source == "nvml" and gpu.vendor == "nvidia" and gpu.driver
        assert gpu.name == props.name
        assert gpu.compute_capability == (props.major, props.minor)
        assert abs(gpu.total_memory_bytes - props.total_memory) / props.total_memory < 0.02
        assert 0 < gpu.free_memory_bytes <= gpu.total_memory_bytes


def test_live_samples_are_real_readings(nvml_profile) -> None:
    for sample in sample_gpus(nvml_profile):
        assert sample.utilisation_pct is not None and 0 <= sample.utilisation_pct <= 100
        assert sample.memory_used_bytes is not None
        assert 0 <= sample.memory_used_bytes <= sample.memory_total_bytes
        assert sample.temperature_c is None or 10 <= sample.temperature_c <= 110


def test_the_plan_trains_on_the_detected_card(nvml_profile) -> None:
    plan = recommend(nvml_profile)
    best = max(nvml_profile.gpus, key=lambda g: g.total_memory_bytes)
    assert plan.decision.device == f"cuda:{best.index}"
    verdict = classify_gpu(best)
    assert verdict.usable and plan.limits.sovits_batch.max >= 1
    print(f"{best.name}: {best.vram_gb} GB, row {verdict.row_gb}, "
          f"SoVITS batch max {plan.limits.sovits_batch.max}, "
          f"GPT batch max {plan.limits.gpt_batch.max}")
