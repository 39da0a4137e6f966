"""E-1 and the emotion tab's limits: classification batch, balance threshold, tagging state.

The rule book has one emotion rule (E-1: classify above an hour, proofread the tags). The
emotion tab needs two more numbers, kept here so they live once:

- the emotion2vec batch per card: clips of about 10 s (Q-4) through the large model
  (~300 M parameters) need well under 1 GB each in float32 at inference, so the batch grows
  with the card's memory; the CPU classifies a few clips at a time;
- the balance threshold: an emotion with under a few percent of the minutes is too rare for
  the model to learn it; the balance view warns so the user can record more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gsv_core.guidelines.dataset_rules import emotion_advice
from gsv_core.guidelines.results import DatasetSummary, Limit, Notice, Reason, int_limit
from gsv_core.guidelines.tables import EMOTION_RECOMMEND_S, REFERENCE_SLICE_S

__all__ = ["EMOTION_BALANCE_MIN_SHARE", "EmotionState", "emotion_balance_warning",
           "emotion_batch_limit", "emotion_notice", "emotion_state_notice"]

EMOTION_BALANCE_MIN_SHARE = 0.03   # under 3 % of the minutes: too rare to learn (balance view)
EMOTION_GB_PER_CLIP = 0.5          # large model, one REFERENCE_SLICE_S clip, fp32, margin
EMOTION_RESERVED_GB = 3.0          # the model's weights and CUDA's own memory
EMOTION_MAX_BATCH = 64             # beyond this the GPU is saturated; larger only adds latency
EMOTION_CPU_BATCH = 4


def emotion_batch_limit(vram_gb: float | None, requested: float | None = None) -> Limit:
    """E-1: clips classified together. ``vram_gb`` None means the CPU."""
    if vram_gb is None or not math.isfinite(vram_gb) or vram_gb <= 0:
        binding = Reason("E-1", "Emotion classification on the CPU: {max} clips at a time.",
                         {"max": EMOTION_CPU_BATCH})
        return int_limit(1, EMOTION_CPU_BATCH, EMOTION_CPU_BATCH, requested, [binding],
                         binding=binding)
    fits = math.floor((vram_gb - EMOTION_RESERVED_GB) / EMOTION_GB_PER_CLIP)
    maximum = min(max(fits, 1), EMOTION_MAX_BATCH)
    binding = Reason("E-1", "At most {max} clips of about {seconds:g} s are classified "
                            "together on a {gb:g} GB card.",
                     {"max": maximum, "seconds": REFERENCE_SLICE_S, "gb": vram_gb})
    return int_limit(1, maximum, maximum, requested, [binding], binding=binding)


def emotion_balance_warning(share: float) -> bool:
    """True when an emotion's share of the minutes (0-1) is under the balance threshold."""
    return share < EMOTION_BALANCE_MIN_SHARE


@dataclass(frozen=True)
class EmotionState:
    """Whether the dataset's clips were classified, and how many tags a person reviewed."""

    classified: int = 0
    total: int = 0
    reviewed: int = 0

    @property
    def done(self) -> bool:
        return self.total > 0 and self.classified >= self.total

    @property
    def reviewed_fraction(self) -> float:
        return self.reviewed / self.classified if self.classified else 0.0


def emotion_state_notice(dataset: DatasetSummary, state: EmotionState) -> Notice:
    """E-1 for the plan and the Training tab: recommended, done, and how much reviewed."""
    duration = dataset.total_duration_s
    recommended = duration is not None and duration > EMOTION_RECOMMEND_S
    if state.done:
        reason = Reason("E-1", "Emotions classified; {reviewed} of {total} tags reviewed.",
                        {"reviewed": state.reviewed, "total": state.classified})
    elif recommended:
        reason = Reason("E-1", "Over {hours:g} h of audio and emotions not classified yet "
                               "({done} of {total} clips).",
                        {"hours": EMOTION_RECOMMEND_S / 3600, "done": state.classified,
                         "total": state.total})
    else:
        reason = Reason("E-1", "Emotions not classified ({done} of {total} clips); optional "
                               "below {hours:g} h.",
                        {"done": state.classified, "total": state.total,
                         "hours": EMOTION_RECOMMEND_S / 3600})
    show = recommended or state.done
    return Notice(show=show, recommended=recommended and not state.done, reasons=(reason,))


def emotion_notice(dataset: DatasetSummary, state: EmotionState | None) -> Notice:
    """E-1 as the plan and the Training tab state it: with the tags' ``state`` known, what
    was done and how much was reviewed; without (no list named), the advice alone."""
    return emotion_advice(dataset) if state is None else emotion_state_notice(dataset, state)
