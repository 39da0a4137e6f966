"""R-1 to R-5: rounds (epochs), the text learning-rate weight and the save interval."""

from __future__ import annotations

import math

from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    Limit,
    Reason,
    binding_first,
    int_limit,
)
from gsv_core.guidelines.tables import (
    GPT_EPOCHS_DEFAULT,
    GPT_EPOCHS_MAX,
    LR_WEIGHT_DEFAULT,
    LR_WEIGHT_MIN,
    LR_WEIGHT_STEP,
    SAVE_CHECKPOINTS_TARGET,
    SOVITS_EPOCHS_DEFAULT,
    SOVITS_EPOCHS_MAX,
    SOVITS_EPOCHS_UNLOCKED_MAX,
    SOVITS_UNLOCK_DURATION_S,
)


def gpt_epochs_limit(requested: float | None = None) -> Limit:
    """R-1: GPT rounds 1-20, default 10."""
    reason = Reason("R-1", "GPT: {default} rounds are recommended; generally not above {max}.",
                    {"default": GPT_EPOCHS_DEFAULT, "max": GPT_EPOCHS_MAX})
    return int_limit(1, GPT_EPOCHS_MAX, GPT_EPOCHS_DEFAULT, requested, [reason], binding=reason)


def _unlock_hours() -> float:
    return SOVITS_UNLOCK_DURATION_S / 3600


def sovits_epochs_limit(dataset: DatasetSummary = DEFAULT_DATASET,
                        requested: float | None = None) -> Limit:
    """R-2, R-3: SoVITS rounds, capped at 15 unless the dataset earns the unlock."""
    hours = _unlock_hours()
    missing = []
    if dataset.quality != "good":
        missing.append(Reason("R-3", "Locked: the quality checks have not passed ({quality}).",
                              {"quality": dataset.quality}))
    if not dataset.fully_reviewed:
        missing.append(Reason("R-3", "Locked: not every label is proofread ({pct:.0f}%).",
                              {"pct": 100 * dataset.reviewed_fraction}))
    duration = dataset.total_duration_s
    if duration is None or duration <= SOVITS_UNLOCK_DURATION_S:
        missing.append(Reason("R-3", "Locked: the dataset is not over {hours:g} h ({minutes} min).",
                              {"hours": hours,
                               "minutes": "?" if duration is None else round(duration / 60)}))
    reasons = [Reason("R-2", "About {default} SoVITS rounds is already very good; more rounds on "
                             "noisy or unclear material learn the flaws too.",
                      {"default": SOVITS_EPOCHS_DEFAULT})]
    if missing:
        binding = Reason("R-3", "High rounds need a clean, fully proofread dataset of over "
                                "{hours:g} h; until then the maximum is {max}.",
                         {"hours": hours, "max": SOVITS_EPOCHS_MAX})
        reasons.extend(missing)
        maximum = SOVITS_EPOCHS_MAX
    else:
        binding = Reason("R-3", "High rounds unlocked (up to {max}): clean, fully proofread, "
                                "over {hours:g} h.",
                         {"max": SOVITS_EPOCHS_UNLOCKED_MAX, "hours": hours})
        maximum = SOVITS_EPOCHS_UNLOCKED_MAX
    return int_limit(1, maximum, SOVITS_EPOCHS_DEFAULT, requested, reasons, binding=binding)


def lr_weight_limit(requested: float | None = None) -> Limit:
    """R-4: the text-module learning-rate weight may be lowered, never raised."""
    reason = Reason("R-4", "The text learning-rate weight may be lowered, not raised above "
                           "{default}.", {"default": LR_WEIGHT_DEFAULT})
    if requested is not None and not math.isfinite(requested):
        requested = None
    value = LR_WEIGHT_DEFAULT if requested is None else min(max(requested, LR_WEIGHT_MIN),
                                                             LR_WEIGHT_DEFAULT)
    # Snap to the slider's step so the UI and the trainer agree on the number.
    value = round(round(value / LR_WEIGHT_STEP) * LR_WEIGHT_STEP, 4)
    return Limit(min=LR_WEIGHT_MIN, max=LR_WEIGHT_DEFAULT, default=LR_WEIGHT_DEFAULT, value=value,
                 reasons=binding_first(reason, []), step=LR_WEIGHT_STEP, requested=requested,
                 binding=reason)


def save_every_limit(epochs: int, requested: float | None = None) -> Limit:
    """Save interval in rounds: 1..epochs; the final round is always saved as well (R-5, T-3)."""
    epochs = max(int(epochs), 1)
    default = max(math.ceil(epochs / SAVE_CHECKPOINTS_TARGET), 1)
    reason = Reason("R-5", "Save every N rounds (at most the {epochs} rounds planned); the final "
                           "round is always saved, so every saved model can be compared by "
                           "listening.", {"epochs": epochs})
    return int_limit(1, epochs, default, requested, [reason], binding=reason)
