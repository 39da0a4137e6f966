"""Read the summary of a saved quality report as the guideline engine's dataset fields.

``gsv-studio quality --json > report.json`` writes the report; ``gsv-studio plan
--dataset-report report.json`` reads it here. Only json is imported: the planner must not
load the audio libraries to read four numbers.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from gsv_core.errors import ConfigError

__all__ = ["dataset_fields_from_report", "read_dataset_report"]

_VERDICTS = ("good", "poor")


def dataset_fields_from_report(data: object, source: str = "the report") -> dict[str, object]:
    """``summary`` → ``{minutes, p95_slice_s, clip_count, quality}`` for ``plan_from_fields``.

    A report with no measured clip gives None (not measured) for the numbers, never 0,
    which the engine would refuse; its verdict ("poor") still counts.

    Raises:
        ConfigError: the object is not a quality report; the message names the field.
    """
    summary = data.get("summary") if isinstance(data, dict) else None
    if not isinstance(summary, dict):
        raise ConfigError(f"{source} has no 'summary' object: it is not a quality report.",
                          "Write one with: gsv-studio quality LIST --json > report.json")

    def number(key: str) -> float:
        value = summary.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value) or value < 0:
            raise ConfigError(f"{source}: summary.{key} is {value!r}, not a number >= 0.",
                              "Write the report again with gsv-studio quality --json.")
        return float(value)

    clips, minutes, p95 = number("clips"), number("minutes"), number("p95_slice_s")
    verdict = summary.get("verdict")
    if verdict not in _VERDICTS:
        raise ConfigError(f"{source}: summary.verdict is {verdict!r}, not 'good' or 'poor'.",
                          "Write the report again with gsv-studio quality --json.")
    measured = clips > 0
    return {"minutes": minutes if measured and minutes > 0 else None,
            "p95_slice_s": p95 if measured and p95 > 0 else None,
            "clip_count": int(clips) if measured and clips == int(clips) else None,
            "quality": verdict}


def read_dataset_report(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a report file; see ``dataset_fields_from_report``.

    Raises:
        ConfigError: the file cannot be read, is not JSON, or is not a quality report.
    """
    name = os.fspath(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the dataset report {name!r}.",
                          "Check the path.", details=str(exc)) from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"The dataset report {name!r} is not JSON.",
                          "Write it with: gsv-studio quality LIST --json > report.json",
                          details=str(exc)) from exc
    return dataset_fields_from_report(data, name)
