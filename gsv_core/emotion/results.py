"""``<list>.emotion.tsv``: one row per clip with its emotion, scores and proofreading state.

The file sits beside the ``.list`` it describes. Columns: ``path``, ``label``, ``score``,
the nine scores in funasr's label order (:data:`LABELS`), ``reviewed`` (0/1) and
``corrected`` (the label a person chose, empty when none). It is written atomically, and
:func:`merge` keeps a person's corrections and review marks when clips are classified again,
so re-running never loses proofreading work.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from gsv_core.atomic_write import write_atomically
from gsv_core.guidelines.emotion_rules import EmotionState, emotion_balance_warning

__all__ = ["COLUMNS", "LABELS", "EmotionBalance", "EmotionRow", "balance", "emotion_state",
           "merge", "read_results", "readable_emotion_state", "results_path", "write_results"]

# emotion2vec_plus's tokens.txt order (funasr returns scores in it); "unknown" is its <unk>.
LABELS = ("angry", "disgusted", "fearful", "happy", "neutral", "other", "sad", "surprised",
          "unknown")
COLUMNS = ("path", "label", "score", *LABELS, "reviewed", "corrected")


@dataclass(frozen=True)
class EmotionRow:
    """One clip's classification; ``final_label`` is the correction when there is one."""

    path: str
    label: str
    score: float
    scores: tuple[float, ...]
    reviewed: bool = False
    corrected: str = ""

    @property
    def final_label(self) -> str:
        return self.corrected or self.label


def results_path(list_path: str | os.PathLike[str]) -> Path:
    """``voice.list`` → ``voice.list.emotion.tsv`` beside it (never the list itself)."""
    path = Path(list_path)
    return path.with_name(path.name + ".emotion.tsv")


def write_results(path: str | os.PathLike[str], rows: Iterable[EmotionRow]) -> None:
    """Write every row (temp file, then rename: a crash leaves the old file whole)."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter="\t", lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.path, row.label, f"{row.score:.6f}",
                         *(f"{s:.6f}" for s in row.scores), int(row.reviewed), row.corrected])
    data = text.getvalue().encode("utf-8")
    write_atomically(path, lambda handle: handle.write(data))


def read_results(path: str | os.PathLike[str]) -> list[EmotionRow]:
    """The rows of a results file ([] when it does not exist yet)."""
    file = Path(path)
    if not file.is_file():
        return []
    with file.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        return [EmotionRow(path=r["path"], label=r["label"], score=float(r["score"]),
                           scores=tuple(float(r[name]) for name in LABELS),
                           reviewed=r["reviewed"] == "1", corrected=r["corrected"] or "")
                for r in reader]


def merge(previous: Iterable[EmotionRow], fresh: Iterable[EmotionRow]) -> list[EmotionRow]:
    """Fresh classifications, each keeping the review mark and correction it had before."""
    kept = {row.path: row for row in previous}
    merged = []
    for row in fresh:
        old = kept.get(row.path)
        merged.append(replace(row, reviewed=old.reviewed, corrected=old.corrected)
                      if old else row)
    return merged


@dataclass(frozen=True)
class EmotionBalance:
    """Share of the minutes per emotion, and the emotions too rare to learn."""

    minutes: dict[str, float]
    shares: dict[str, float]
    rare: tuple[str, ...]


def balance(rows: Iterable[EmotionRow], durations_s: dict[str, float]) -> EmotionBalance:
    """Minutes per final label (clips without a known duration are left out)."""
    minutes = dict.fromkeys(LABELS, 0.0)
    for row in rows:
        if row.path in durations_s:
            minutes[row.final_label] = minutes.get(row.final_label, 0.0) + \
                durations_s[row.path] / 60
    total = sum(minutes.values())
    shares = {label: (value / total if total else 0.0) for label, value in minutes.items()}
    rare = tuple(label for label in LABELS if total and label not in ("other", "unknown")
                 and emotion_balance_warning(shares[label]))
    return EmotionBalance(minutes, shares, rare)


def readable_emotion_state(list_path: str | os.PathLike[str] | None) -> EmotionState | None:
    """:func:`emotion_state`, or None when no list is named or it cannot be read as one:
    the Training tab then gives the E-1 advice alone (the Emotion tab names the problem)."""
    from gsv_core.errors import GsvError

    if not list_path or not str(list_path).strip():
        return None
    try:
        return emotion_state(str(list_path).strip())
    except (GsvError, OSError):
        return None


def emotion_state(list_path: str | os.PathLike[str]) -> EmotionState:
    """How far the list's clips are tagged and proofread (E-1), from the tags beside it."""
    from gsv_core.dataset.annotations import read_list

    clips = {clip.wav for clip in read_list(list_path, check_audio=False).clips}
    rows = [row for row in read_results(results_path(list_path)) if row.path in clips]
    return EmotionState(classified=len(rows), total=len(clips),
                        reviewed=sum(row.reviewed for row in rows))

