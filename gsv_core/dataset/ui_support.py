"""The few facts the Dataset tab needs that no job module gives: lists to offer, clip audio
to play, and the measured dataset fields with where each shown value came from.

The tab only formats; finding files, reading audio and comparing what was measured with
what the user typed happen here, so they are tested without a browser and the tab stays
free of logic (style.md, "Tab modules").
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import soundfile

from gsv_core.dataset.proofread import ReviewProgress
from gsv_core.dataset.quality import QualityReport, report_to_dict
from gsv_core.dataset.quality_summary import dataset_fields_from_report
from gsv_core.workspace import Workspace

__all__ = ["FIELDS", "clip_audio", "field_sources", "list_files", "measured_fields",
           "reviewed_percent"]

# The dataset summary fields, in the order of ``dataset_from_fields`` and the tab's boxes.
FIELDS = ("minutes", "p95_slice_s", "clip_count", "quality", "reviewed_pct")
_TOLERANCE = 1e-6   # a number box gives back a float: 12 and 12.0 are the same measure


def list_files(workspace: Workspace) -> list[Path]:
    """The `.list` files under ``output/asr_opt`` and ``output/slicer_opt`` (sorted, recursive),
    which is where ASR (ours or upstream's) writes them; folders that do not exist are skipped."""
    found: list[Path] = []
    for folder in (workspace.asr_dir, workspace.slicer_dir):
        if folder.is_dir():
            found.extend(sorted(path for path in folder.rglob("*.list") if path.is_file()))
    return found


def clip_audio(path: str | os.PathLike[str]) -> tuple[int, np.ndarray] | None:
    """A clip as ``(sample_rate, samples)`` for an audio player, None when it cannot be read.

    Samples rather than a path: Gradio serves a returned path only from its allowed folders
    (the working directory, the temp folder), and a workspace may lie anywhere. A missing or
    corrupt clip gives None: its row says so (``PageItem.audio_exists``, the quality report),
    the page still shows.
    """
    try:
        samples, rate = soundfile.read(os.fspath(path), dtype="int16")
    except (soundfile.LibsndfileError, OSError, RuntimeError, ValueError):
        return None
    return int(rate), samples


def measured_fields(report: QualityReport, reviewed_pct: float | None) -> dict[str, object]:
    """The summary fields a quality report and the review marks measure (``FIELDS`` keys).

    The same reading as ``gsv-studio plan --dataset-report`` (``dataset_fields_from_report``),
    so the tab and the command line feed the guideline engine the same numbers.
    """
    fields = dataset_fields_from_report(report_to_dict(report))
    return {**fields, "reviewed_pct": reviewed_pct}


def reviewed_percent(progress: ReviewProgress) -> float:
    """The share reviewed as the summary's whole-number percent box shows it, rounded *down*:
    199 of 200 is 99 %, never the 100 % that rules R-3 and D-3 read as "all reviewed"."""
    return float(math.floor(progress.percent + _TOLERANCE))


def _same(measured: object, shown: object) -> bool:
    if isinstance(measured, int | float) and isinstance(shown, int | float) \
            and not isinstance(measured, bool) and not isinstance(shown, bool):
        return math.isclose(float(measured), float(shown), rel_tol=_TOLERANCE,
                            abs_tol=_TOLERANCE)
    return measured == shown


def field_sources(measured: Mapping[str, object], shown: Mapping[str, object]) -> dict[str, str]:
    """For each of ``FIELDS``: "measured" (the box holds what was measured), "overridden" (a
    value was measured, the box holds another: the user's), or "manual" (nothing measured).

    ``measured`` holds only the fields measured so far (a review mark measures only
    ``reviewed_pct``); a measured None ("not measured": no clip could be read) counts as
    measured when the box is empty too.
    """
    sources = {}
    for name in FIELDS:
        if name not in measured:
            sources[name] = "manual"
        elif _same(measured[name], shown.get(name)):
            sources[name] = "measured"
        else:
            sources[name] = "overridden"
    return sources
