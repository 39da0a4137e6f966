"""Request options, precision per device, and the inference batch rule (B-2 / H-2)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gsv_core.errors import ConfigError
from gsv_core.guidelines import inference_batch_limit
from gsv_core.guidelines.hardware_rules import decide_device, gpu_memory_budget, memory_budget
from gsv_core.guidelines.tables import GPT_MAX_BATCH, VRAM_ROWS_GB
from gsv_core.hardware import detect_machine
from gsv_core.infer import InferenceEngine, InferenceOptions, Reference
from gsv_core.infer.precision import choose_dtype, model_dtypes
from gsv_core.workspace import Workspace

DEFAULTS = InferenceOptions()


def test_defaults_are_upstreams() -> None:
    assert (DEFAULTS.top_k, DEFAULTS.top_p, DEFAULTS.temperature) == (15, 1.0, 1.0)
    assert DEFAULTS.repetition_penalty == 1.35 and DEFAULTS.fragment_interval_s == 0.3
    assert (DEFAULTS.overlap_length, DEFAULTS.min_chunk_length) == (2, 16)
    sampling = DEFAULTS.sampling()
    assert sampling.min_steps_before_eos == 11  # EOS barred in steps 0..10, as upstream
    assert sampling.early_stop_tokens == 1350 and sampling.max_steps == 1500
    assert replace(DEFAULTS, max_new_tokens=100).sampling().early_stop_tokens == 99


@pytest.mark.parametrize(("field", "value"), [
    ("top_k", -1), ("top_p", 0.0), ("top_p", 1.5), ("temperature", 0.0), ("speed", 0.0),
    ("speed", float("nan")), ("seed", -2), ("seed", 2**32), ("fragment_interval_s", -0.1),
    ("noise_scale", -1.0), ("batch_size", 0), ("max_new_tokens", 0), ("streaming_mode", 4),
    ("streaming_mode", True), ("overlap_length", -1), ("min_chunk_length", 0),
    ("cut_method", "cut6"), ("text_language", "fr"), ("repetition_penalty", 0.0),
    ("readings", "fancy"), ("readings", "Improved"), ("readings", ""),
])
def test_bad_options_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field) as err:
        replace(DEFAULTS, **{field: value}).validate()
    assert err.value.advice


def test_readings_default_to_improved_and_upstream_is_accepted() -> None:
    assert DEFAULTS.readings == "improved" and DEFAULTS.validate() is DEFAULTS
    upstream = replace(DEFAULTS, readings="upstream")
    assert upstream.validate() is upstream
    with pytest.raises(ConfigError, match="readings") as err:
        replace(DEFAULTS, readings="fancy").validate()
    assert "improved" in err.value.advice and "upstream" in err.value.advice


def test_language_is_case_insensitive() -> None:
    assert replace(DEFAULTS, text_language="ALL_JA").validate().language_mode == "all_ja"


def test_reference_validation() -> None:
    with pytest.raises(ConfigError, match="No reference clip"):
        Reference(None).validate()
    with pytest.raises(ConfigError, match="without its reference clip"):
        Reference(None, text="你好", extra_audio_paths=(Path("x.wav"),)).validate()
    assert not Reference(Path("a.wav"), text="  ").uses_prompt
    assert not Reference(Path("a.wav"), text="你好", prompt_free=True).uses_prompt


def test_half_precision_only_on_capable_cuda() -> None:
    cuda, cpu, mps = torch.device("cuda:0"), torch.device("cpu"), torch.device("mps")
    assert choose_dtype(cpu) == choose_dtype(mps) == torch.float32
    assert choose_dtype(cuda, capability=(9, 0)) == torch.bfloat16
    assert choose_dtype(cuda, capability=(7, 5)) == torch.float16
    assert choose_dtype(cuda, capability=(6, 1)) == torch.float32
    assert choose_dtype(cuda, "fp16", capability=(9, 0)) == torch.float16
    for device in (cpu, mps):
        for name in ("fp16", "bf16"):
            with pytest.raises(ConfigError, match="not used on"):
                choose_dtype(device, name)
    with pytest.raises(ConfigError, match="precision"):
        choose_dtype(cpu, "int8")
    dtypes = model_dtypes(cuda, capability=(9, 0))
    assert (dtypes.gpt, dtypes.sovits, dtypes.features) == (torch.bfloat16, torch.float16,
                                                            torch.float16)
    assert model_dtypes(cpu).sovits == torch.float32


@pytest.mark.parametrize("vram_gb", [6, 8, 12, 20, 24, 80])
def test_gpu_batch_limit_is_the_gpt_table_row(fake_gpu, vram_gb: int) -> None:
    fake_gpu(f"NVIDIA RTX A{vram_gb}:{vram_gb}")
    profile = detect_machine()
    limit = inference_batch_limit(gpu_memory_budget(profile.gpus[0]))
    row = max(r for r in VRAM_ROWS_GB if r <= vram_gb)
    assert limit.max == limit.default == GPT_MAX_BATCH[VRAM_ROWS_GB.index(row)]
    assert limit.binding is not None and limit.binding.rule == "B-2"
    assert inference_batch_limit(gpu_memory_budget(profile.gpus[0]), 1000).value == limit.max
    fractional = inference_batch_limit(gpu_memory_budget(profile.gpus[0]), 2.4)
    assert fractional.value == min(2, limit.max)  # whole segments only
    assert any(reason.rule == "X-6" for reason in fractional.reasons)


def test_cards_above_80_gb_scale(fake_gpu) -> None:
    fake_gpu("NVIDIA H200:141")
    limit = inference_batch_limit(gpu_memory_budget(detect_machine().gpus[0]))
    assert limit.max == int(GPT_MAX_BATCH[-1] * 141 / 80)


def test_cpu_batch_limit_reads_the_table_at_the_ram(fake_gpu) -> None:
    fake_gpu("cpu")
    profile = detect_machine()
    budget = memory_budget(profile, decide_device(profile))
    small = inference_batch_limit(budget, ram_gb=8)
    large = inference_batch_limit(budget, ram_gb=64)
    assert small.max == GPT_MAX_BATCH[VRAM_ROWS_GB.index(8)]
    assert large.max == GPT_MAX_BATCH[VRAM_ROWS_GB.index(40)]
    assert small.binding is not None and small.binding.rule == "H-2"
    assert inference_batch_limit(budget).max == GPT_MAX_BATCH[0]  # RAM unknown: smallest row


def test_engine_limit_follows_its_device(fake_gpu, tmp_path: Path) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    workspace = Workspace(tmp_path)
    on_cpu = InferenceEngine(workspace, device="cpu")
    assert on_cpu.batch_limit().binding.rule == "H-2"
    assert on_cpu.batch_limit().max == GPT_MAX_BATCH[
        VRAM_ROWS_GB.index(max(r for r in VRAM_ROWS_GB if r <= detect_machine().ram_gb))]


def test_with_seed_drawn_draws_only_for_random_seed() -> None:
    from gsv_core.infer.options import MAX_SEED, RANDOM_SEED

    fixed = InferenceOptions(seed=7)
    assert fixed.with_seed_drawn() is fixed
    drawn = InferenceOptions(seed=RANDOM_SEED).with_seed_drawn()
    assert 0 <= drawn.seed <= MAX_SEED
    assert drawn.validate().seed == drawn.seed  # a valid seed to show and reuse
