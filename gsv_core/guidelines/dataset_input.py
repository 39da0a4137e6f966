"""The dataset summary from raw form fields: unknown stays unknown, impossible is refused.

The dataset tab (and the plan command) hand over what a person typed or a
measurement produced. An empty field means "not measured" — never 0, which
would read as "an empty dataset" and silently lock or unlock rules. A value
no dataset can have (negative, NaN, infinite, absurdly large, a fractional
clip count, a share outside 0-100 %, an unknown quality verdict) is refused:
the field becomes unknown and ``problems`` says which field, which value and
what to do, so the UI shows a message instead of computing with nonsense.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gsv_core.guidelines.results import DatasetSummary, Reason
from gsv_core.guidelines.tables import DATASET_MAX_CLIPS, DATASET_MAX_MINUTES, SLICE_MAX_P95_S

__all__ = ["DatasetInput", "dataset_from_fields"]

_QUALITIES = ("good", "poor", "unknown")


@dataclass(frozen=True)
class DatasetInput:
    """A valid summary plus the reasons any field was refused (empty when all were fine)."""

    summary: DatasetSummary
    problems: tuple[Reason, ...]


def _as_number(raw: object, *, percent: bool = False) -> float | None:
    """None for an empty field; NaN for text that is not a number (refused by the caller).

    ``percent`` also accepts a trailing '%' ("50%"), for the proofread share.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        return math.nan
    if isinstance(raw, str):
        text = raw.strip()
        raw = text[:-1] if percent and text.endswith("%") else text
    try:
        return float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _positive_up_to(raw: object, maximum: float, refusal: Reason,
                    problems: list[Reason]) -> float | None:
    """A measured quantity: more than 0 and at most ``maximum``; else ``refusal`` is noted."""
    value = _as_number(raw)
    if value is None:
        return None
    if math.isfinite(value) and 0 < value <= maximum:
        return value
    problems.append(refusal)
    return None


def _minutes(raw: object, problems: list[Reason]) -> float | None:
    return _positive_up_to(raw, DATASET_MAX_MINUTES, Reason(
        "Q-3", "Dataset duration '{value}' min is not possible: enter the total minutes of "
               "audio (more than 0, at most {max:g}), or leave it unset while not measured.",
        {"value": raw, "max": DATASET_MAX_MINUTES}), problems)


def _p95(raw: object, problems: list[Reason]) -> float | None:
    return _positive_up_to(raw, SLICE_MAX_P95_S, Reason(
        "Q-4", "Slice length '{value}' s is not possible: enter the 95th-percentile slice "
               "length in seconds (more than 0, at most {max:g}), or leave it unset while not "
               "measured.", {"value": raw, "max": SLICE_MAX_P95_S}), problems)


def _clips(raw: object, problems: list[Reason]) -> int | None:
    value = _as_number(raw)
    if value is None:
        return None
    if math.isfinite(value) and value == int(value) and 1 <= value <= DATASET_MAX_CLIPS:
        return int(value)
    problems.append(Reason(
        "B-8", "Number of clips '{value}' is not possible: enter a whole number of clips (at "
               "least 1, at most {max}), or leave it unset while not counted.",
        {"value": raw, "max": DATASET_MAX_CLIPS}))
    return None


def _quality(raw: object, problems: list[Reason]) -> str:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return "unknown"
    if isinstance(raw, str) and raw.strip().lower() in _QUALITIES:
        return raw.strip().lower()
    problems.append(Reason(
        "Q-1", "Quality verdict '{value}' is not known: use good, poor or unknown; it is treated "
               "as unknown.", {"value": raw}))
    return "unknown"


def _reviewed_fraction(raw: object, problems: list[Reason]) -> float:
    """Not measured = 0 % proofread: D-3 and R-3 need evidence of proofreading, not its absence."""
    value = _as_number(raw, percent=True)
    if value is None:
        return 0.0
    if math.isfinite(value) and 0 <= value <= 100:
        return value / 100
    problems.append(Reason(
        "Q-1", "Proofread share '{value}' % is not possible: enter 0 to 100; it is treated as "
               "0 % (nothing proofread).", {"value": raw}))
    return 0.0


def dataset_from_fields(minutes: float | None, p95_slice_s: float | None,
                        clip_count: float | None, quality: str | None,
                        reviewed_pct: float | None) -> DatasetInput:
    """Turn the dataset form's raw values into a summary, refusing impossible values.

    ``minutes``: total duration; ``p95_slice_s``: 95th-percentile slice length;
    ``clip_count``: number of clips; ``quality``: good / poor / unknown;
    ``reviewed_pct``: share of labels proofread, 0-100. None or an empty
    string means not measured. 0 minutes, 0 s or 0 clips cannot describe a
    dataset that trains, so they are refused too (not read as "unknown"
    silently): the message says to leave the field unset instead.
    """
    problems: list[Reason] = []
    summary = DatasetSummary(
        total_duration_s=None if (m := _minutes(minutes, problems)) is None else m * 60,
        p95_slice_s=_p95(p95_slice_s, problems),
        clip_count=_clips(clip_count, problems),
        quality=_quality(quality, problems),  # type: ignore[arg-type]
        reviewed_fraction=_reviewed_fraction(reviewed_pct, problems))
    return DatasetInput(summary=summary, problems=tuple(problems))
