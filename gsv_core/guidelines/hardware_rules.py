"""H-1 to H-4 and B-3: which cards can train, which table row they use, where training runs."""

from __future__ import annotations

import re

from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    DeviceDecision,
    GpuVerdict,
    MemoryBudget,
    Notice,
    Reason,
    TrainingSchedule,
)
from gsv_core.guidelines.tables import (
    APPLE_CPU_OK_AUDIO_S,
    CPU_SLOWDOWN_RANGE,
    MIN_TRAINING_VRAM_GB,
    VRAM_ROWS_GB,
)
from gsv_core.hardware import GpuInfo, MachineProfile

_GEFORCE_MODEL = re.compile(r"\b(?:GTX|RTX|GT)\s*(\d{3,4})\b")


def _nvidia_model_number(name: str) -> int | None:
    """3050 from 'NVIDIA GeForce RTX 3050 Laptop GPU'; None for names without a GeForce model."""
    match = _GEFORCE_MODEL.search(name.upper())
    return int(match.group(1)) if match else None


def _h1_model_problem(gpu: GpuInfo) -> Reason | None:
    """H-1's list of commonly unusable GeForce models, by model number."""
    number = _nvidia_model_number(gpu.name)
    if number is None:
        return None
    if number < 1000:
        return Reason("H-1", "{name}: cards before the GeForce 10 series cannot train.",
                      {"name": gpu.name})
    series = number // 100
    floors = {10: 1060, 16: 1660, 20: 2060}
    if series in floors and number < floors[series]:
        return Reason("H-1", "{name}: cards below the {floor} cannot train.",
                      {"name": gpu.name, "floor": floors[series]})
    if number == 3050 and gpu.vram_gb <= 4:
        return Reason("H-1", "{name}: the 4 GB RTX 3050 cannot train.", {"name": gpu.name})
    return None


def _table_row(memory_gb: int) -> int | None:
    """B-3: the row at or below the memory; None below the smallest row."""
    rows = [row for row in VRAM_ROWS_GB if row <= memory_gb]
    return rows[-1] if rows else None


def classify_gpu(gpu: GpuInfo) -> GpuVerdict:
    """H-1 and B-3: whether ``gpu`` can train and which table row applies."""
    reasons: list[Reason] = []
    if gpu.vendor == "amd":
        reasons.append(Reason("H-2", "{name}: AMD cards are not supported for training.",
                              {"name": gpu.name}))
    elif gpu.vendor != "nvidia":
        reasons.append(Reason("H-1", "{name}: training needs an NVIDIA CUDA GPU.",
                              {"name": gpu.name}))
    problem = _h1_model_problem(gpu) if gpu.vendor == "nvidia" else None
    if problem is not None:
        reasons.append(problem)
    if gpu.vram_gb < MIN_TRAINING_VRAM_GB:
        reasons.append(Reason("H-1", "{name} has {vram} GB; training needs at least {min} GB.",
                              {"name": gpu.name, "vram": gpu.vram_gb, "min": MIN_TRAINING_VRAM_GB}))
    if reasons:
        return GpuVerdict(gpu=gpu, usable=False, row_gb=None, scale=1.0, reasons=tuple(reasons))
    row = _table_row(gpu.vram_gb)
    scale = gpu.vram_gb / VRAM_ROWS_GB[-1] if gpu.vram_gb > VRAM_ROWS_GB[-1] else 1.0
    if scale > 1.0:
        reasons.append(Reason("B-3", "{vram} GB is above the 80 GB row: limits scale linearly "
                                     "from it (x{scale:.2f}).",
                              {"vram": gpu.vram_gb, "scale": scale}))
    else:
        reasons.append(Reason("B-3", "{vram} GB uses the {row} GB row of the tables.",
                              {"vram": gpu.vram_gb, "row": row}))
    return GpuVerdict(gpu=gpu, usable=True, row_gb=row, scale=scale, reasons=tuple(reasons))


def _usable_gpus(profile: MachineProfile) -> list[GpuInfo]:
    return [gpu for gpu in profile.gpus if classify_gpu(gpu).usable]


def decide_device(profile: MachineProfile, gpu_index: int | None = None,
                  dataset: DatasetSummary = DEFAULT_DATASET) -> DeviceDecision:
    """H-1/H-2: what training will run on, given the machine and the chosen card.

    ``gpu_index`` None picks the usable card with the most memory.
    """
    if gpu_index is not None:
        verdict = classify_gpu(profile.gpu(gpu_index))
        chosen = verdict.gpu if verdict.usable else None
        rejected = () if verdict.usable else verdict.reasons
    else:
        usable = _usable_gpus(profile)
        chosen = max(usable, key=lambda g: (g.total_memory_bytes, -g.index)) if usable else None
        verdicts = [classify_gpu(gpu) for gpu in profile.gpus]
        rejected = tuple(r for v in verdicts if not v.usable for r in v.reasons)
    if chosen is not None:
        return DeviceDecision(
            device=chosen.torch_device, inference_device=chosen.torch_device, kind="gpu",
            gpu=chosen, warnings=(),
            reasons=(Reason("H-1", "Training on GPU {index}: {name} ({vram} GB).",
                            {"index": chosen.index, "name": chosen.name, "vram": chosen.vram_gb}),))
    inference = "mps" if profile.mps_available else "cpu"
    low, high = CPU_SLOWDOWN_RANGE
    if profile.apple_silicon:
        audio_s = dataset.total_duration_s
        warn = audio_s is None or audio_s > APPLE_CPU_OK_AUDIO_S
        note = Reason("H-2", "Apple computer: training runs on the CPU. About {ok} seconds of "
                             "audio trains reasonably fast; more takes much longer.",
                      {"ok": int(APPLE_CPU_OK_AUDIO_S)})
        return DeviceDecision(device="cpu", inference_device=inference, kind="apple_cpu",
                              gpu=None, reasons=(*rejected, note),
                              warnings=(note,) if warn else ())
    amd = any(gpu.vendor == "amd" for gpu in profile.gpus)
    slow = Reason("H-2", "No usable GPU: training falls back to the CPU, which is extremely "
                         "slow (roughly {low}-{high} times slower than a 6-12 GB NVIDIA GPU).",
                  {"low": low, "high": high})
    return DeviceDecision(device="cpu", inference_device=inference,
                          kind="amd_unsupported" if amd else "cpu", gpu=None,
                          reasons=(*rejected, slow), warnings=(slow,))


def memory_budget(profile: MachineProfile, decision: DeviceDecision) -> MemoryBudget:
    """The memory the batch tables are read with.

    On a GPU: its VRAM (B-3). On the CPU fallback the tables do not apply; we
    use their smallest row: CPU training is slow whatever the batch (B-5: a
    larger batch is not necessarily faster), batches stay whole numbers (X-6)
    instead of upstream's fractional CPU batch, and no card that falls back to
    the CPU ever gets a larger limit than a 6 GB card (more VRAM never lowers
    a maximum).
    """
    if decision.gpu is not None:
        verdict = classify_gpu(decision.gpu)
        return MemoryBudget(gb=decision.gpu.vram_gb, row_gb=verdict.row_gb, scale=verdict.scale,
                            on_gpu=True, reasons=verdict.reasons)
    row = VRAM_ROWS_GB[0]
    return MemoryBudget(gb=row, row_gb=row, scale=1.0, on_gpu=False, reasons=(
        Reason("H-2", "CPU training uses the smallest ({row} GB) row of the batch tables: a "
                      "larger batch does not make it faster.", {"row": row}),))


def training_schedule(profile: MachineProfile, decision: DeviceDecision) -> TrainingSchedule:
    """H-3: SoVITS first, then GPT; in parallel only with two usable GPUs."""
    usable = _usable_gpus(profile)
    if decision.gpu is not None and len(usable) >= 2:
        other = next(g for g in sorted(usable, key=lambda g: -g.total_memory_bytes)
                     if g.index != decision.gpu.index)
        return TrainingSchedule(
            order=("sovits", "gpt"), parallel=True, sovits_device=decision.device,
            gpt_device=other.torch_device, reasons=(Reason(
                "H-3", "Two usable GPUs: SoVITS trains on GPU {a} while GPT trains on GPU {b}.",
                {"a": decision.gpu.index, "b": other.index}),))
    return TrainingSchedule(
        order=("sovits", "gpt"), parallel=False, sovits_device=decision.device,
        gpt_device=decision.device, reasons=(Reason(
            "H-3", "SoVITS first, then GPT: they cannot train at the same time on one device.",
            {}),))


def heat_notice(decision: DeviceDecision) -> Notice:
    """H-4: the safety notice shown before the first training run."""
    reasons = [Reason("H-4", "Training loads the CPU and GPU fully, harder than gaming: ensure "
                             "cooling, do not train unattended, and watch the GPU temperature.",
                      {})]
    if decision.gpu is not None and decision.gpu.is_laptop:
        reasons.append(Reason("H-4", "Laptop: raise it so the vents underneath can breathe.", {}))
    return Notice(show=True, reasons=tuple(reasons))
