"""The typed answers of the guideline engine: reasons, limits, verdicts and notices.

All frozen: the UI and the plan command render them, nothing mutates them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from gsv_core.hardware import GpuInfo

Quality = Literal["good", "poor", "unknown"]
Goal = Literal["best", "fast"]
Translate = Callable[[str], str]


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

    ``binding`` is the ONE reason that sets the current maximum (or the fixed
    value) — the rule that binds now, e.g. B-4 when long slices lowered the
    B-1 table value. The UI shows it under the control; ``reasons`` is the full
    list, binding reason first. Every limit the engine returns has it set.
    """

    min: float
    max: float
    default: float
    value: float
    reasons: tuple[Reason, ...]
    step: float = 1
    requested: float | None = None
    enabled: bool = True
    binding: Reason | None = None

    @property
    def fixed(self) -> bool:
        """True when there is nothing to choose (min == max): show a read-only number."""
        return self.min == self.max

    @property
    def clamped(self) -> bool:
        """True when the requested value had to move to fit."""
        return self.requested is not None and self.requested != self.value

    def reason_texts(self, translate: Translate | None = None) -> list[str]:
        return [reason.text(translate) for reason in self.reasons]


def binding_first(binding: Reason, reasons: list[Reason]) -> tuple[Reason, ...]:
    """The full reason list with the binding reason leading (and not repeated)."""
    return (binding, *(reason for reason in reasons if reason != binding))


def int_limit(lo: int, hi: int, default: int, requested: float | None,
              reasons: list[Reason], *, binding: Reason, enabled: bool = True) -> Limit:
    """An integer limit: batch sizes and rounds are never fractional (X-6).

    A request that is not a finite number (NaN, infinity) counts as no request:
    the control shows its default rather than crashing on ``round(nan)``.
    """
    if requested is not None and not math.isfinite(requested):
        requested = None
    hi = max(hi, lo)
    default = min(max(default, lo), hi)
    value = default if requested is None else min(max(round(requested), lo), hi)
    if requested is not None and requested != int(requested):
        reasons.append(Reason("X-6", "Batch sizes and rounds are whole numbers; using {value}.",
                              {"value": value}))
    return Limit(min=lo, max=hi, default=default, value=value,
                 reasons=binding_first(binding, reasons), requested=requested, enabled=enabled,
                 binding=binding)


@dataclass(frozen=True)
class DatasetSummary:
    """What the guidelines need to know about a dataset (the dataset tab measures it).

    Unknown fields are None; rules that need them then stay on the safe side.
    Impossible values (negative, NaN or infinite numbers, a fractional clip
    count) are refused here, so no rule ever computes with them; the dataset
    tab turns its raw fields into a summary through ``dataset_from_fields``,
    which reports such values instead of raising.
    """

    total_duration_s: float | None = None
    p95_slice_s: float | None = None
    clip_count: int | None = None
    quality: Quality = "unknown"          # Q-1 verdict of the quality checks
    reviewed_fraction: float = 0.0        # share of labels a person proofread, 0-1

    def __post_init__(self) -> None:
        for name in ("total_duration_s", "p95_slice_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0 or None, got {value!r}")
        clips = self.clip_count
        if clips is not None and (isinstance(clips, bool) or not isinstance(clips, int)
                                  or clips < 0):
            raise ValueError(f"clip_count must be a whole number >= 0 or None, got {clips!r}")
        if not 0.0 <= self.reviewed_fraction <= 1.0:
            raise ValueError(f"reviewed_fraction must be in 0..1, got {self.reviewed_fraction}")
        if self.quality not in ("good", "poor", "unknown"):
            raise ValueError(f"quality must be good, poor or unknown, got {self.quality!r}")

    @property
    def fully_reviewed(self) -> bool:
        return self.reviewed_fraction >= 1.0


DEFAULT_DATASET = DatasetSummary()  # nothing measured yet: every rule stays on the safe side


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

    @property
    def on_gpu(self) -> bool:
        """True when training runs on a GPU; the UI then says "GPU", otherwise "CPU" (H-2)."""
        return self.gpu is not None


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
    gpt_gpu: GpuInfo | None = None   # the card GPT trains on (another card when parallel)


@dataclass(frozen=True)
class Notice:
    """A message that is not a limit (heat, dataset length, emotion advice)."""

    show: bool
    reasons: tuple[Reason, ...]
    recommended: bool = False


@dataclass(frozen=True)
class MemoryBudget:
    """The memory the batch tables are read with: a GPU's VRAM or, on CPU, the smallest row."""

    gb: int
    row_gb: int | None
    scale: float
    on_gpu: bool
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class MeasuredBatch:
    """A batch probe's answer for this card and dataset (``gsv_core.train.batch_probe``).

    largest_fit: the largest batch whose real steps fit; None when even batch 1 ran out.
    first_failure: the smallest batch that ran out of memory; None when none did (the search
        then stopped at its ceiling, the data's item count or its time limit).
    use: the user chose the measured value over the table's (else the smaller one is used).
    """

    largest_fit: int | None
    first_failure: int | None = None
    use: bool = False

