"""The typed answers of the guideline engine: reasons, limits, verdicts and notices.

All frozen: the UI and the plan command render them, nothing mutates them.
"""

from __future__ import annotations

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


def int_limit(lo: int, hi: int, default: int, requested: float | None,
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
