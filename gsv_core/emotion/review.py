"""Proofreading emotion tags: the rows to show, a correction, a review mark (issue 12 item 2).

Everything reads and rewrites ``<list>.emotion.tsv`` (``results``) as a whole, atomically,
so a browser reload or a restart of the app finds every correction and mark, and the next
classification keeps them (``results.merge``). A row is named by its clip path, never by its
position in a filtered table, so an edit cannot land on the wrong clip.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from gsv_core.emotion.results import LABELS, EmotionRow, read_results, results_path, write_results
from gsv_core.errors import ConfigError
from gsv_core.i18n import mark

__all__ = ["ALL_LABELS", "LABEL_TEXT", "ReviewCounts", "correct_tag", "counts", "filtered",
           "mark_reviewed", "next_unreviewed", "table_rows"]

ALL_LABELS = "all"
# The labels as the UI says them (translated through assets/i18n).
LABEL_TEXT = {"angry": mark("angry"), "disgusted": mark("disgusted"),
              "fearful": mark("fearful"), "happy": mark("happy"), "neutral": mark("neutral"),
              "other": mark("other"), "sad": mark("sad"), "surprised": mark("surprised"),
              "unknown": mark("unknown")}


@dataclass(frozen=True)
class ReviewCounts:
    """How far proofreading is: ``reviewed`` of ``total`` tags, ``corrected`` of them changed."""

    reviewed: int
    total: int
    corrected: int

    @property
    def fraction(self) -> float:
        return self.reviewed / self.total if self.total else 0.0


def counts(rows: Sequence[EmotionRow]) -> ReviewCounts:
    return ReviewCounts(sum(r.reviewed for r in rows), len(rows), sum(bool(r.corrected)
                                                                     for r in rows))


def filtered(rows: Sequence[EmotionRow], label: str = ALL_LABELS,
             below: float | None = None, unreviewed_only: bool = False) -> list[EmotionRow]:
    """The rows with that final label (``"all"``: any), a score under ``below`` (None: any),
    and, with ``unreviewed_only``, not reviewed yet; lowest confidence first."""
    if label != ALL_LABELS and label not in LABELS:
        raise ConfigError(f"{label!r} is not an emotion label.", f"Use one of "
                          f"{', '.join(LABELS)}, or {ALL_LABELS}.")
    kept = [r for r in rows if (label == ALL_LABELS or r.final_label == label)
            and (below is None or r.score < below) and not (unreviewed_only and r.reviewed)]
    return sorted(kept, key=lambda r: r.score)


def table_rows(rows: Sequence[EmotionRow]) -> list[list[object]]:
    """The table's cells: clip file, tag (a correction shows as ``sad ← happy``), score,
    reviewed, and the path (the row's name for the edits)."""
    return [[Path(r.path).name, f"{r.corrected} ← {r.label}" if r.corrected else r.label,
             round(r.score, 3), "✓" if r.reviewed else "", r.path] for r in rows]


def _update(list_path: str | os.PathLike[str], clip: str, **changes: object) -> EmotionRow:
    path = results_path(list_path)
    rows = read_results(path)
    for index, row in enumerate(rows):
        if row.path == clip:
            rows[index] = replace(row, **changes)  # type: ignore[arg-type]
            write_results(path, rows)
            return rows[index]
    raise ConfigError(f"{clip!r} has no emotion tag in {path}.",
                      "Classify the list first, or pick a clip from the table.")


def correct_tag(list_path: str | os.PathLike[str], clip: str, label: str) -> EmotionRow:
    """Set the clip's label to ``label`` (the model's own label clears the correction);
    a correction is a review, so the clip is marked reviewed too."""
    if label not in LABELS:
        raise ConfigError(f"{label!r} is not an emotion label.",
                          f"Use one of {', '.join(LABELS)}.")
    row = next((r for r in read_results(results_path(list_path)) if r.path == clip), None)
    corrected = "" if row is not None and label == row.label else label
    return _update(list_path, clip, corrected=corrected, reviewed=True)


def mark_reviewed(list_path: str | os.PathLike[str], clip: str,
                  reviewed: bool = True) -> EmotionRow:
    return _update(list_path, clip, reviewed=reviewed)


def next_unreviewed(rows: Sequence[EmotionRow], after: str | None = None) -> EmotionRow | None:
    """The first unreviewed row after the clip ``after`` (in the given order, wrapping)."""
    start = next((i + 1 for i, r in enumerate(rows) if r.path == after), 0)
    ordered = list(rows[start:]) + list(rows[:start])
    return next((r for r in ordered if not r.reviewed), None)
