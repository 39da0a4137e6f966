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
    CPU_SLOWDOWN_GPU_GB,
    CPU_SLOWDOWN_RANGE,
    H1_FIRST_USABLE_SERIES_MODEL,
    H1_SERIES_FLOOR_MODEL,
    H1_UNUSABLE_MODEL_MAX_GB,
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
    if number < H1_FIRST_USABLE_SERIES_MODEL:
        return Reason("H-1", "{name}: cards before the GeForce {series} series cannot train.",
                      {"name": gpu.name, "series": H1_FIRST_USABLE_SERIES_MODEL // 100})
    floor = H1_SERIES_FLOOR_MODEL.get(number // 100)
    if floor is not None and number < floor:
        return Reason("H-1", "{name}: cards below the {floor} cannot train.",
                      {"name": gpu.name, "floor": floor})
    max_gb = H1_UNUSABLE_MODEL_MAX_GB.get(number)
    if max_gb is not None and gpu.vram_gb <= max_gb:
        return Reason("H-1", "{name}: the {gb} GB RTX {model} cannot train.",
                      {"name": gpu.name, "gb": max_gb, "model": number})
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
    top = VRAM_ROWS_GB[-1]
    scale = gpu.vram_gb / top if gpu.vram_gb > top else 1.0
    if scale > 1.0:
        reasons.append(Reason("B-3", "{vram} GB is above the largest ({top} GB) column of the "
                                     "batch-size tables: limits scale linearly (x{scale:.2f}).",
                              {"vram": gpu.vram_gb, "top": top, "scale": scale}))
    else:
        reasons.append(Reason("B-3", "{vram} GB: the batch-size tables (SoVITS B-1, GPT B-2) are "
                                     "read at their {row} GB column, the nearest at or below.",
                              {"vram": gpu.vram_gb, "row": row}))
    return GpuVerdict(gpu=gpu, usable=True, row_gb=row, scale=scale, reasons=tuple(reasons))


def _usable_gpus(profile: MachineProfile) -> list[GpuInfo]:
    return [gpu for gpu in profile.gpus if classify_gpu(gpu).usable]


def _best(gpus: list[GpuInfo]) -> GpuInfo:
    """The card with the most memory; the lower index on a tie."""
    return max(gpus, key=lambda g: (g.total_memory_bytes, -g.index))


def _on_gpu(gpu: GpuInfo, notes: tuple[Reason, ...] = ()) -> DeviceDecision:
    training = Reason("H-1", "Training on GPU {index}: {name} ({vram} GB).",
                      {"index": gpu.index, "name": gpu.name, "vram": gpu.vram_gb})
    return DeviceDecision(device=gpu.torch_device, inference_device=gpu.torch_device, kind="gpu",
                          gpu=gpu, reasons=(*notes, training), warnings=notes)


def decide_device(profile: MachineProfile, gpu_index: int | None = None,
                  dataset: DatasetSummary = DEFAULT_DATASET) -> DeviceDecision:
    """H-1/H-2: what training will run on, given the machine and the chosen card.

    ``gpu_index`` None picks the usable card with the most memory. A chosen
    card that cannot train while another card can falls back to the best
    usable card and says so (H-1: why the chosen one cannot, and which to
    choose): the user asked for GPU training, and the CPU would be 20-50x
    slower than the card next to it. Only a machine with no usable card at all
    trains on the CPU (H-2).
    """
    usable = _usable_gpus(profile)
    if gpu_index is not None:
        verdict = classify_gpu(profile.gpu(gpu_index))
        if verdict.usable:
            return _on_gpu(verdict.gpu)
        rejected = verdict.reasons
        if usable:
            best = _best(usable)
            return _on_gpu(best, (*rejected, Reason(
                "H-1", "GPU {chosen} cannot train, so training uses GPU {index} ({name}) "
                       "instead; choose GPU {index} to make this explicit.",
                {"chosen": gpu_index, "index": best.index, "name": best.name}),))
    else:
        if usable:
            return _on_gpu(_best(usable))
        rejected = tuple(r for gpu in profile.gpus for r in classify_gpu(gpu).reasons)
    inference = "mps" if profile.mps_available else "cpu"
    if profile.apple_silicon:
        audio_s = dataset.total_duration_s
        warn = audio_s is None or audio_s > APPLE_CPU_OK_AUDIO_S
        note = Reason("H-2", "Apple computer: training runs on the CPU. About {ok:g} seconds of "
                             "audio trains reasonably fast; more takes much longer.",
                      {"ok": APPLE_CPU_OK_AUDIO_S})
        return DeviceDecision(device="cpu", inference_device=inference, kind="apple_cpu",
                              gpu=None, reasons=(*rejected, note),
                              warnings=(note,) if warn else ())
    amd = any(gpu.vendor == "amd" for gpu in profile.gpus)
    low, high = CPU_SLOWDOWN_RANGE
    small_gb, large_gb = CPU_SLOWDOWN_GPU_GB
    slow = Reason("H-2", "No GPU here can train: training runs on the CPU, which is extremely "
                         "slow (roughly {low}-{high} times slower than a {small}-{large} GB "
                         "NVIDIA GPU).",
                  {"low": low, "high": high, "small": small_gb, "large": large_gb})
    return DeviceDecision(device="cpu", inference_device=inference,
                          kind="amd_unsupported" if amd else "cpu", gpu=None,
                          reasons=(*rejected, slow), warnings=(slow,))


def gpu_memory_budget(gpu: GpuInfo) -> MemoryBudget:
    """B-3: the memory a usable card's batch limits are read with (its VRAM and table row)."""
    verdict = classify_gpu(gpu)
    return MemoryBudget(gb=gpu.vram_gb, row_gb=verdict.row_gb, scale=verdict.scale,
                        on_gpu=True, reasons=verdict.reasons)


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
        return gpu_memory_budget(decision.gpu)
    row = VRAM_ROWS_GB[0]
    return MemoryBudget(gb=row, row_gb=row, scale=1.0, on_gpu=False, reasons=(
        Reason("H-2", "Training on the CPU: batch sizes stay at the smallest values of the "
                      "batch-size tables (those of a {row} GB card); a larger batch would not "
                      "make the CPU faster.", {"row": row}),))


def training_schedule(profile: MachineProfile, decision: DeviceDecision) -> TrainingSchedule:
    """H-3: SoVITS first, then GPT; in parallel only with two usable GPUs.

    In parallel, GPT trains on the largest other usable card, so its batch
    limits and DPO availability are that card's (``gpt_gpu``).
    """
    usable = _usable_gpus(profile)
    if decision.gpu is not None and len(usable) >= 2:
        other = _best([g for g in usable if g.index != decision.gpu.index])
        return TrainingSchedule(
            order=("sovits", "gpt"), parallel=True, sovits_device=decision.device,
            gpt_device=other.torch_device, gpt_gpu=other, reasons=(Reason(
                "H-3", "Two usable GPUs: SoVITS trains on GPU {a} while GPT trains on GPU {b} "
                       "at the same time; GPT's limits are those of GPU {b}.",
                {"a": decision.gpu.index, "b": other.index}),))
    return TrainingSchedule(
        order=("sovits", "gpt"), parallel=False, sovits_device=decision.device,
        gpt_device=decision.device, gpt_gpu=decision.gpu, reasons=(Reason(
            "H-3", "SoVITS first, then GPT: they cannot train at the same time on one device.",
            {}),))


def heat_notice(decision: DeviceDecision) -> Notice:
    """H-4: the safety notice shown before the first training run.

    On the CPU fallback it speaks of the computer and its CPU: there is no GPU
    temperature to watch, and saying so would suggest training used one.
    """
    if decision.on_gpu:
        reasons = [Reason("H-4", "Training loads the CPU and GPU fully, harder than gaming: "
                                 "ensure cooling, do not train unattended, and watch the GPU "
                                 "temperature.", {})]
        if decision.gpu is not None and decision.gpu.is_laptop:
            reasons.append(Reason("H-4", "Laptop: raise it so the vents underneath can breathe.",
                                  {}))
    else:
        reasons = [Reason("H-4", "Training loads the CPU fully for a long time: keep the "
                                 "computer well ventilated (raise a laptop so the vents "
                                 "underneath can breathe) and do not train unattended.", {})]
    return Notice(show=True, reasons=tuple(reasons))
