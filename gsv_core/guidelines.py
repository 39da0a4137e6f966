"""The training guidelines (shared/guidelines.md) as pure functions.

Every number of the rule book lives here and nowhere else: the UI, the plan
command and the trainers ask these functions and show the reasons they give.
Each function takes plain typed inputs (a GPU, a dataset summary, the current
control values) and returns a frozen result whose reasons carry the rule id and
an i18n key, so the same reason reads "B-4: ..." in a JSON plan and in Chinese
next to a slider.

No I/O, no clock, no globals: the same inputs always give the same limits,
which is what lets the UI re-clamp on every event and lets tests enumerate
cards.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from gsv_core.hardware import GpuInfo, MachineProfile

__all__ = [
    "DEFAULT_DATASET",
    "DatasetSummary",
    "DeviceDecision",
    "DpoAdvice",
    "GpuVerdict",
    "Limit",
    "Notice",
    "Reason",
    "TrainPlan",
    "TrainingLimits",
    "TrainingSchedule",
    "classify_gpu",
    "dataset_length_advice",
    "decide_device",
    "dpo_advice",
    "emotion_advice",
    "gpt_batch_limit",
    "gpt_epochs_limit",
    "heat_notice",
    "lr_weight_limit",
    "memory_budget",
    "recommend",
    "rule_overview",
    "save_every_limit",
    "slice_length_limit",
    "sovits_batch_limit",
    "sovits_epochs_limit",
    "training_limits",
    "training_schedule",
]

Quality = Literal["good", "poor", "unknown"]
Goal = Literal["best", "fast"]
Translate = Callable[[str], str]

# --------------------------------------------------------------------------- the tables (B-1, B-2)

VRAM_ROWS_GB = (6, 8, 12, 16, 22, 24, 32, 40, 80)
SOVITS_MAX_BATCH = (1, 2, 5, 8, 12, 14, 18, 24, 48)                 # B-1
GPT_MAX_BATCH = (1, 2, 4, 7, 10, 11, 16, 21, 44)                    # B-2, DPO off
GPT_MAX_BATCH_DPO = (None, None, 1, 1, 4, 6, 6, 8, 18)              # B-2, DPO on; None = "—"
REFERENCE_SLICE_S = 10.0       # B-1/B-2 tables assume 10-second slices (B-4, Q-4)
MIN_TRAINING_VRAM_GB = 6       # H-1, B-3
MIN_DPO_VRAM_GB = 12           # D-2

GPT_EPOCHS_MAX, GPT_EPOCHS_DEFAULT = 20, 10
SOVITS_EPOCHS_MAX, SOVITS_EPOCHS_DEFAULT = 15, 10                   # R-3 locked range
SOVITS_EPOCHS_UNLOCKED_MAX = 100                                    # R-3 unlocked
SOVITS_UNLOCK_DURATION_S = 3600.0                                   # "over 1 hour"
# R-4; the 0.2 floor and 0.05 step are upstream's slider
LR_WEIGHT_MIN, LR_WEIGHT_DEFAULT, LR_WEIGHT_STEP = 0.2, 0.4, 0.05
SAVE_CHECKPOINTS_TARGET = 4    # save_every default: about four checkpoints to compare by ear
DATASET_GOOD_LENGTH_S = 30 * 60.0
EMOTION_RECOMMEND_S = 3600.0                                        # E-1
SLICE_MIN_S, SLICE_FLAG_S = 3.0, 15.0
SOVITS_DROP_S, GPT_DROP_S = 38.0, 54.0  # upstream silently drops longer clips; we reject
APPLE_CPU_OK_AUDIO_S = 30.0                                         # H-2
# H-2's estimate: how many times slower CPU training is than a 6-12 GB GPU.
# An order of magnitude to set expectations, not a promise; replace with a
# measured figure once bench/ has one for the trainers.
CPU_SLOWDOWN_RANGE = (20, 50)


# --------------------------------------------------------------------------- result types

@dataclass(frozen=True)
class Reason:
    """Why a limit is what it is: a rule id and an i18n template with its values.

    ``key`` is the English text (the i18n key, as in Applio); ``params`` fill
    its ``{placeholders}`` after translation, so numbers survive translation.
    """

    rule: str
    key: str
    params: Mapping[str, object] = field(default_factory=dict)

    def text(self, translate: Translate | None = None) -> str:
        template = translate(self.key) if translate else self.key
        return f"{self.rule}: {template.format(**self.params)}"


@dataclass(frozen=True)
class Limit:
    """A control's allowed range, its default and the clamped current value.

    ``requested`` is what the user (or caller) asked for; ``value`` is what is
    allowed. ``enabled`` is False when the control cannot be used at all (e.g.
    training batch on a card that cannot train).
    """

    min: float
    max: float
    default: float
    value: float
    reasons: tuple[Reason, ...]
    step: float = 1
    requested: float | None = None
    enabled: bool = True

    @property
    def clamped(self) -> bool:
        """True when the requested value had to move to fit."""
        return self.requested is not None and self.requested != self.value

    def reason_texts(self, translate: Translate | None = None) -> list[str]:
        return [reason.text(translate) for reason in self.reasons]


def _int_limit(lo: int, hi: int, default: int, requested: float | None,
               reasons: list[Reason], *, enabled: bool = True) -> Limit:
    """An integer limit: batch sizes and rounds are never fractional (X-6)."""
    hi = max(hi, lo)
    default = min(max(default, lo), hi)
    value = default if requested is None else min(max(round(requested), lo), hi)
    if requested is not None and requested != int(requested):
        reasons.append(Reason("X-6", "Batch sizes and rounds are whole numbers; using {value}.",
                              {"value": value}))
    return Limit(min=lo, max=hi, default=default, value=value, reasons=tuple(reasons),
                 requested=requested, enabled=enabled)


@dataclass(frozen=True)
class DatasetSummary:
    """What the guidelines need to know about a dataset (the dataset tab measures it).

    Unknown fields are None; rules that need them then stay on the safe side.
    """

    total_duration_s: float | None = None
    p95_slice_s: float | None = None
    clip_count: int | None = None
    quality: Quality = "unknown"          # Q-1 verdict of the quality checks
    reviewed_fraction: float = 0.0        # share of labels a person proofread, 0-1

    def __post_init__(self) -> None:
        if not 0.0 <= self.reviewed_fraction <= 1.0:
            raise ValueError(f"reviewed_fraction must be in 0..1, got {self.reviewed_fraction}")
        if self.quality not in ("good", "poor", "unknown"):
            raise ValueError(f"quality must be good, poor or unknown, got {self.quality!r}")

    @property
    def fully_reviewed(self) -> bool:
        return self.reviewed_fraction >= 1.0


DEFAULT_DATASET = DatasetSummary()


@dataclass(frozen=True)
class GpuVerdict:
    """Can this card train (H-1), which table row it uses (B-3), and why."""

    gpu: GpuInfo | None
    usable: bool
    row_gb: int | None
    scale: float  # >1 for cards above the 80 GB row (B-3 linear scaling)
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class DeviceDecision:
    """What the app will train on, and what to tell the user about it (H-1, H-2)."""

    device: str                      # "cuda:N" or "cpu"
    inference_device: str            # "cuda:N", "mps" or "cpu"
    kind: Literal["gpu", "cpu", "apple_cpu", "amd_unsupported"]
    gpu: GpuInfo | None
    reasons: tuple[Reason, ...]
    warnings: tuple[Reason, ...]


@dataclass(frozen=True)
class DpoAdvice:
    """DPO toggle state (D-1, D-2, D-3)."""

    available: bool
    recommended: bool
    needs_confirmation: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class TrainingSchedule:
    """Order and placement of the two trainings (H-3)."""

    order: tuple[str, ...]
    parallel: bool
    sovits_device: str
    gpt_device: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Notice:
    """A message that is not a limit (heat, dataset length, emotion advice)."""

    show: bool
    reasons: tuple[Reason, ...]
    recommended: bool = False


@dataclass(frozen=True)
class MemoryBudget:
    """The memory the batch tables are read with: a GPU's VRAM or, on CPU, half the RAM."""

    gb: int
    row_gb: int | None
    scale: float
    on_gpu: bool
    reasons: tuple[Reason, ...]


# --------------------------------------------------------------------------- hardware (H-1, B-3)

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


# --------------------------------------------------------------------------- batch (B-1..B-5, D-2)

def _long_slice_factor(dataset: DatasetSummary) -> tuple[float, Reason | None]:
    """B-4: shrink limits for slices longer than the tables' 10 s; never grow them."""
    p95 = dataset.p95_slice_s
    if p95 is None or p95 <= REFERENCE_SLICE_S:
        return 1.0, None
    factor = REFERENCE_SLICE_S / p95
    return factor, Reason("B-4", "95% of slices are up to {p95:.1f} s, longer than the tables' "
                                 "10 s: the maximum is scaled by 10/{p95:.1f}.", {"p95": p95})


def _table_max(table: tuple[int | None, ...], budget: MemoryBudget) -> int | None:
    if budget.row_gb is None:
        return None
    value = table[VRAM_ROWS_GB.index(budget.row_gb)]
    if value is None:
        return None
    return math.floor(value * budget.scale)


def _half_vram_rule(gb: int) -> int:
    """B-5: 'below half the VRAM in GB' — the largest whole number under gb/2."""
    return max(math.ceil(gb / 2) - 1, 1)


def sovits_batch_limit(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
                       requested: float | None = None) -> Limit:
    """B-1, B-3, B-4, B-5: the SoVITS batch size range for this memory and dataset."""
    reasons = list(budget.reasons)
    table_max = _table_max(SOVITS_MAX_BATCH, budget)
    if table_max is None:  # below 6 GB: cannot train (H-1)
        return _int_limit(1, 1, 1, requested, reasons, enabled=False)
    reasons.insert(0, Reason("B-1", "SoVITS batch at most {max} for {row} GB with 10 s slices.",
                             {"max": SOVITS_MAX_BATCH[VRAM_ROWS_GB.index(budget.row_gb)],
                              "row": budget.row_gb}))
    factor, long_slices = _long_slice_factor(dataset)
    maximum = max(math.floor(table_max * factor), 1)
    if long_slices:
        reasons.append(long_slices)
    default = min(_half_vram_rule(budget.gb), maximum) if budget.gb > MIN_TRAINING_VRAM_GB else 1
    reasons.append(Reason("B-5", "Rule of thumb: keep the SoVITS batch below half the memory in "
                                 "GB (a 6 GB card uses 1); a larger batch is not necessarily "
                                 "faster.", {}))
    return _int_limit(1, maximum, default, requested, reasons)


def gpt_batch_limit(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
                    dpo: bool = False, requested: float | None = None) -> Limit:
    """B-2, B-3, B-4, D-2: the GPT batch size range, from the DPO row when DPO is on."""
    reasons = list(budget.reasons)
    table = GPT_MAX_BATCH_DPO if dpo else GPT_MAX_BATCH
    table_max = _table_max(table, budget)
    if table_max is None:
        if dpo and budget.row_gb is not None:
            reasons.insert(0, Reason("D-2", "DPO needs at least {min} GB of VRAM.",
                                     {"min": MIN_DPO_VRAM_GB}))
        return _int_limit(1, 1, 1, requested, reasons, enabled=False)
    row_value = table[VRAM_ROWS_GB.index(budget.row_gb)]
    if dpo:
        reasons.insert(0, Reason("D-2", "DPO on: GPT batch at most {max} for {row} GB "
                                        "(DPO row of B-2).",
                                 {"max": row_value, "row": budget.row_gb}))
    else:
        reasons.insert(0, Reason("B-2", "GPT batch at most {max} for {row} GB with 10 s slices.",
                                 {"max": row_value, "row": budget.row_gb}))
    factor, long_slices = _long_slice_factor(dataset)
    maximum = max(math.floor(table_max * factor), 1)
    if long_slices:
        reasons.append(long_slices)
    # No rule gives a GPT default; the B-5 half-memory rule keeps it off the edge.
    default = min(_half_vram_rule(budget.gb), maximum)
    return _int_limit(1, maximum, default, requested, reasons)


# --------------------------------------------------------------------------- DPO (D-1..D-3)

def dpo_advice(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
               goal: Goal = "best") -> DpoAdvice:
    """D-1..D-3: whether the DPO toggle is available, advisable, or needs a confirmation."""
    cost = Reason("D-1", "DPO greatly improves the GPT model but uses more than twice the VRAM "
                         "and trains about 4 times slower.", {})
    if not budget.on_gpu or budget.row_gb is None or budget.gb < MIN_DPO_VRAM_GB:
        why = Reason("D-2", "DPO needs a GPU with at least {min} GB; this one has {gb} GB."
                     if budget.on_gpu else "DPO needs a GPU with at least {min} GB.",
                     {"min": MIN_DPO_VRAM_GB, "gb": budget.gb})
        return DpoAdvice(available=False, recommended=False, needs_confirmation=False,
                         reasons=(why, cost))
    problems = []
    if dataset.quality != "good":
        problems.append(Reason("D-3", "The dataset quality checks have not passed ({quality}): "
                                      "noise, reverb or poor audio hurt DPO training.",
                               {"quality": dataset.quality}))
    if not dataset.fully_reviewed:
        problems.append(Reason("D-3", "Only {pct:.0f}% of the labels are proofread: unproofread "
                                      "labels hurt DPO training.",
                               {"pct": 100 * dataset.reviewed_fraction}))
    recommended = not problems and goal == "best"
    return DpoAdvice(available=True, recommended=recommended, needs_confirmation=bool(problems),
                     reasons=(cost, *problems))


# --------------------------------------------------------------------------- rounds (R-1..R-4)

def gpt_epochs_limit(requested: float | None = None) -> Limit:
    """R-1: GPT rounds 1-20, default 10."""
    return _int_limit(1, GPT_EPOCHS_MAX, GPT_EPOCHS_DEFAULT, requested, [
        Reason("R-1", "GPT: 10 rounds are recommended; generally not above 20.", {})])


def sovits_epochs_limit(dataset: DatasetSummary = DEFAULT_DATASET,
                        requested: float | None = None) -> Limit:
    """R-2, R-3: SoVITS rounds, capped at 15 unless the dataset earns the unlock."""
    missing = []
    if dataset.quality != "good":
        missing.append(Reason("R-3", "Locked: the quality checks have not passed ({quality}).",
                              {"quality": dataset.quality}))
    if not dataset.fully_reviewed:
        missing.append(Reason("R-3", "Locked: not every label is proofread ({pct:.0f}%).",
                              {"pct": 100 * dataset.reviewed_fraction}))
    duration = dataset.total_duration_s
    if duration is None or duration <= SOVITS_UNLOCK_DURATION_S:
        missing.append(Reason("R-3", "Locked: the dataset is not over 1 hour ({minutes} min).",
                              {"minutes": "?" if duration is None else round(duration / 60)}))
    reasons = [Reason("R-2", "About 10 SoVITS rounds is already very good; more rounds on "
                             "noisy or unclear material learn the flaws too.", {})]
    if missing:
        reasons.append(Reason("R-3", "High rounds need a clean, fully proofread dataset of over "
                                     "1 hour; until then the maximum is {max}.",
                              {"max": SOVITS_EPOCHS_MAX}))
        reasons.extend(missing)
        maximum = SOVITS_EPOCHS_MAX
    else:
        reasons.append(Reason("R-3", "High rounds unlocked (up to {max}): clean, fully "
                                     "proofread, over 1 hour.",
                              {"max": SOVITS_EPOCHS_UNLOCKED_MAX}))
        maximum = SOVITS_EPOCHS_UNLOCKED_MAX
    return _int_limit(1, maximum, SOVITS_EPOCHS_DEFAULT, requested, reasons)


def lr_weight_limit(requested: float | None = None) -> Limit:
    """R-4: the text-module learning-rate weight may be lowered, never raised."""
    reason = Reason("R-4", "The text learning-rate weight may be lowered, not raised above "
                           "{default}.", {"default": LR_WEIGHT_DEFAULT})
    value = LR_WEIGHT_DEFAULT if requested is None else min(max(requested, LR_WEIGHT_MIN),
                                                             LR_WEIGHT_DEFAULT)
    # Snap to the slider's step so the UI and the trainer agree on the number.
    value = round(round(value / LR_WEIGHT_STEP) * LR_WEIGHT_STEP, 4)
    return Limit(min=LR_WEIGHT_MIN, max=LR_WEIGHT_DEFAULT, default=LR_WEIGHT_DEFAULT, value=value,
                 reasons=(reason,), step=LR_WEIGHT_STEP, requested=requested)


def save_every_limit(epochs: int, requested: float | None = None) -> Limit:
    """Save interval in rounds: 1..epochs; the final round is always saved as well (R-5, T-3)."""
    epochs = max(int(epochs), 1)
    default = max(math.ceil(epochs / SAVE_CHECKPOINTS_TARGET), 1)
    return _int_limit(1, epochs, default, requested, [
        Reason("R-5", "Save every N rounds (at most the {epochs} rounds planned); the final "
                      "round is always saved, so every saved model can be compared by "
                      "listening.", {"epochs": epochs})])


# ------------------------------------------------------------------------ dataset (Q-3, Q-4, E-1)

def dataset_length_advice(dataset: DatasetSummary) -> Notice:
    """Q-3: how the dataset's total length compares with what pays off."""
    duration = dataset.total_duration_s
    if duration is None:
        return Notice(show=False, reasons=(Reason("Q-3", "Dataset length not measured yet.", {}),))
    minutes = duration / 60
    if duration <= DATASET_GOOD_LENGTH_S:
        return Notice(show=True, reasons=(Reason(
            "Q-3", "{minutes:.0f} min of audio: quality improves markedly up to about 30 minutes.",
            {"minutes": minutes}),))
    reasons = [Reason("Q-3", "{minutes:.0f} min of audio: beyond about 30 minutes more data is "
                             "not recommended unless you have a lot of GPU.", {"minutes": minutes})]
    if duration > EMOTION_RECOMMEND_S:
        reasons.append(Reason("Q-3", "Over 1 hour: classify emotions first (E-1); high SoVITS "
                                     "rounds need a clean, proofread set (R-3).", {}))
    return Notice(show=True, reasons=tuple(reasons))


def slice_length_limit(requested: float | None = None,
                       dataset: DatasetSummary = DEFAULT_DATASET) -> Limit:
    """Q-4: the slicer's maximum slice length; about 10 s is the reference, over 15 s is flagged."""
    reasons = [Reason("Q-4", "About 10 s per slice is the reference; overlong slices blow up "
                             "memory (over {flag:.0f} s is flagged).", {"flag": SLICE_FLAG_S})]
    p95 = dataset.p95_slice_s
    if p95 is not None and p95 > SLICE_FLAG_S:
        reasons.append(Reason("Q-4", "95% of the current slices are up to {p95:.1f} s: re-slice.",
                              {"p95": p95}))
    value = REFERENCE_SLICE_S if requested is None else min(max(requested, SLICE_MIN_S),
                                                             SLICE_FLAG_S)
    return Limit(min=SLICE_MIN_S, max=SLICE_FLAG_S, default=REFERENCE_SLICE_S,
                 value=round(value, 1), reasons=tuple(reasons), step=0.5, requested=requested)


def emotion_advice(dataset: DatasetSummary) -> Notice:
    """E-1: emotion classification is offered always and recommended above 1 hour."""
    duration = dataset.total_duration_s
    recommended = duration is not None and duration > EMOTION_RECOMMEND_S
    reason = Reason("E-1", "Over 1 hour of audio: classify emotions before training for more "
                           "stable, richer emotion; proofread the tags." if recommended else
                    "Emotion classification is optional below 1 hour of audio; it needs the "
                    "tags proofread.", {})
    return Notice(show=True, recommended=recommended, reasons=(reason,))


# --------------------------------------------------------------------------- order, heat (H-3, H-4)

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


# --------------------------------------------------------------------------- the full plan

@dataclass(frozen=True)
class TrainingLimits:
    """Every training control's limit for one machine, card, dataset and set of values.

    The training tab re-reads this on every change (card, DPO, dataset, a
    slider) and applies it to its controls; ``recommend`` builds on it.
    """

    decision: DeviceDecision
    budget: MemoryBudget
    sovits_batch: Limit
    gpt_batch: Limit
    sovits_epochs: Limit
    gpt_epochs: Limit
    lr_weight: Limit
    sovits_save_every: Limit
    gpt_save_every: Limit
    dpo: DpoAdvice
    dpo_on: bool
    schedule: TrainingSchedule
    heat: Notice
    warnings: tuple[Reason, ...]


def training_limits(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET, *,
                    gpu_index: int | None = None, dpo: bool = False, goal: Goal = "best",
                    sovits_batch: float | None = None, gpt_batch: float | None = None,
                    sovits_epochs: float | None = None, gpt_epochs: float | None = None,
                    lr_weight: float | None = None, sovits_save_every: float | None = None,
                    gpt_save_every: float | None = None) -> TrainingLimits:
    """Clamp the given control values (None = default) to the guidelines.

    DPO asked for on a card that cannot do it is turned off, with the D-2
    reason in ``warnings``; on an unproofread or unchecked dataset it stays on
    with the D-3 warning (the UI asks for a confirmation).
    """
    decision = decide_device(profile, gpu_index, dataset)
    budget = memory_budget(profile, decision)
    advice = dpo_advice(budget, dataset, goal)
    dpo_on = dpo and advice.available
    warnings = list(decision.warnings)
    if dpo and not advice.available:
        warnings.extend(r for r in advice.reasons if r.rule == "D-2")
    if dpo_on and advice.needs_confirmation:
        warnings.extend(r for r in advice.reasons if r.rule == "D-3")
    if dataset.p95_slice_s is not None and dataset.p95_slice_s > SLICE_FLAG_S:
        warnings.append(Reason("Q-4", "95% of slices are up to {p95:.1f} s: re-slice overlong "
                                      "audio (over 15 s) before training.",
                               {"p95": dataset.p95_slice_s}))
    sovits_rounds = sovits_epochs_limit(dataset, sovits_epochs)
    gpt_rounds = gpt_epochs_limit(gpt_epochs)
    return TrainingLimits(
        decision=decision, budget=budget,
        sovits_batch=sovits_batch_limit(budget, dataset, sovits_batch),
        gpt_batch=gpt_batch_limit(budget, dataset, dpo_on, gpt_batch),
        sovits_epochs=sovits_rounds, gpt_epochs=gpt_rounds, lr_weight=lr_weight_limit(lr_weight),
        sovits_save_every=save_every_limit(int(sovits_rounds.value), sovits_save_every),
        gpt_save_every=save_every_limit(int(gpt_rounds.value), gpt_save_every),
        dpo=advice, dpo_on=dpo_on, schedule=training_schedule(profile, decision),
        heat=heat_notice(decision), warnings=tuple(warnings))


@dataclass(frozen=True)
class TrainPlan:
    """A complete recommended training setup: the limits at their defaults, plus advice."""

    limits: TrainingLimits
    emotion: Notice
    dataset_length: Notice

    # The plan's numbers are the limits' values; these read like the plan itself.
    @property
    def decision(self) -> DeviceDecision:
        return self.limits.decision

    @property
    def dpo(self) -> DpoAdvice:
        return self.limits.dpo

    @property
    def dpo_on(self) -> bool:
        return self.limits.dpo_on

    @property
    def schedule(self) -> TrainingSchedule:
        return self.limits.schedule

    @property
    def warnings(self) -> tuple[Reason, ...]:
        return self.limits.warnings


def recommend(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET,
              goal: Goal = "best", *, gpu_index: int | None = None,
              dpo: bool | None = None) -> TrainPlan:
    """A full recommended training plan for this machine and dataset.

    ``dpo`` None lets the plan decide: on when available and advisable for
    ``goal="best"`` (D-1..D-3), off for ``goal="fast"`` (DPO trains about 4x
    slower). True/False forces the toggle, and the GPT batch follows it (D-2).
    """
    if goal not in ("best", "fast"):
        raise ValueError(f"goal must be 'best' or 'fast', got {goal!r}")
    if dpo is None:
        decision = decide_device(profile, gpu_index, dataset)
        dpo = dpo_advice(memory_budget(profile, decision), dataset, goal).recommended
    limits = training_limits(profile, dataset, gpu_index=gpu_index, dpo=dpo, goal=goal)
    return TrainPlan(limits=limits, emotion=emotion_advice(dataset),
                     dataset_length=dataset_length_advice(dataset))


def rule_overview(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET, *,
                  gpu_index: int | None = None, dpo: bool = False) -> list[Reason]:
    """What every rule says right now, one entry per distinct statement, sorted by rule id.

    The System tab shows this so a user (or a support question) sees the
    whole rule book applied to this machine and dataset at once.
    """
    limits = training_limits(profile, dataset, gpu_index=gpu_index, dpo=dpo)
    groups = [limits.decision.reasons, limits.sovits_batch.reasons, limits.gpt_batch.reasons,
              limits.dpo.reasons, limits.sovits_epochs.reasons, limits.gpt_epochs.reasons,
              limits.lr_weight.reasons, limits.sovits_save_every.reasons,
              limits.schedule.reasons, limits.heat.reasons, limits.warnings,
              dataset_length_advice(dataset).reasons, emotion_advice(dataset).reasons,
              slice_length_limit(None, dataset).reasons]
    unique = {reason.text(): reason for group in groups for reason in group}
    return sorted(unique.values(), key=lambda r: (r.rule[0], int(r.rule.split("-")[1])))
