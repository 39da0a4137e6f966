"""Q-3, Q-4 and E-1: advice on dataset length, slice length and emotion classification."""

from __future__ import annotations

import math

from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    Limit,
    Notice,
    Reason,
    binding_first,
)
from gsv_core.guidelines.tables import (
    DATASET_GOOD_LENGTH_S,
    EMOTION_RECOMMEND_S,
    REFERENCE_SLICE_S,
    SLICE_FLAG_S,
    SLICE_MIN_S,
    SLICE_STEP_S,
    SOVITS_UNLOCK_DURATION_S,
)


def dataset_length_advice(dataset: DatasetSummary) -> Notice:
    """Q-3: how the dataset's total length compares with what pays off."""
    duration = dataset.total_duration_s
    if duration is None:
        return Notice(show=False, reasons=(Reason("Q-3", "Dataset length not measured yet.", {}),))
    minutes = duration / 60
    good_minutes = DATASET_GOOD_LENGTH_S / 60
    if duration <= DATASET_GOOD_LENGTH_S:
        return Notice(show=True, reasons=(Reason(
            "Q-3", "{minutes:.0f} min of audio: quality improves markedly up to about "
                   "{good:g} minutes.", {"minutes": minutes, "good": good_minutes}),))
    reasons = [Reason("Q-3", "{minutes:.0f} min of audio: beyond about {good:g} minutes more "
                             "data is not recommended unless you have a lot of GPU.",
                      {"minutes": minutes, "good": good_minutes})]
    if duration > EMOTION_RECOMMEND_S:
        reasons.append(Reason("Q-3", "Over {hours:g} h: classify emotions first (E-1); high "
                                     "SoVITS rounds need a clean, proofread set of over "
                                     "{unlock:g} h (R-3).",
                              {"hours": EMOTION_RECOMMEND_S / 3600,
                               "unlock": SOVITS_UNLOCK_DURATION_S / 3600}))
    return Notice(show=True, reasons=tuple(reasons))


def slice_length_limit(requested: float | None = None,
                       dataset: DatasetSummary = DEFAULT_DATASET) -> Limit:
    """Q-4: the slicer's maximum slice length; about 10 s is the reference, over 15 s is flagged."""
    binding = Reason("Q-4", "About {reference:g} s per slice is the reference; overlong slices "
                            "blow up memory (over {flag:g} s is flagged).",
                     {"reference": REFERENCE_SLICE_S, "flag": SLICE_FLAG_S})
    reasons = [binding]
    p95 = dataset.p95_slice_s
    if p95 is not None and p95 > SLICE_FLAG_S:
        reasons.append(Reason("Q-4", "95% of the current slices are up to {p95:.1f} s: re-slice.",
                              {"p95": p95}))
    if requested is not None and not math.isfinite(requested):
        requested = None
    value = REFERENCE_SLICE_S if requested is None else min(max(requested, SLICE_MIN_S),
                                                             SLICE_FLAG_S)
    return Limit(min=SLICE_MIN_S, max=SLICE_FLAG_S, default=REFERENCE_SLICE_S,
                 value=round(value, 1), reasons=binding_first(binding, reasons),
                 step=SLICE_STEP_S, requested=requested, binding=binding)


def emotion_advice(dataset: DatasetSummary) -> Notice:
    """E-1: emotion classification is offered always and recommended above 1 hour."""
    duration = dataset.total_duration_s
    recommended = duration is not None and duration > EMOTION_RECOMMEND_S
    hours = EMOTION_RECOMMEND_S / 3600
    reason = Reason("E-1", "Over {hours:g} h of audio: classify emotions before training for "
                           "more stable, richer emotion; proofread the tags." if recommended else
                    "Emotion classification is optional below {hours:g} h of audio; it needs "
                    "the tags proofread.", {"hours": hours})
    return Notice(show=True, recommended=recommended, reasons=(reason,))
