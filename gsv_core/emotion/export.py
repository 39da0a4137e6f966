"""What the emotion tags become: list variants, per-emotion lists, reference candidates.

Next to ``voice.list`` (which is never touched):

- ``voice.emotion.list``: every tagged clip, its speaker field ``<speaker>-<emotion>``, so the
  emotion travels in the four-field format GPT-SoVITS reads;
- ``voice.<emotion>.list``: the clips of one emotion, lines as in the original;
- ``voice.references.json``: per emotion, the clips that make good reference audio (3 to
  10 s, as a reference must be; the most confident first, reviewed tags before unreviewed
  ones at equal confidence), with their text and language, for the Inference tab's
  "sound happy" choice.

A file that exists with other content is backed up before it is replaced
(``annotations.write_list``). Corrections count: the emotion is always the final label.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import soundfile

from gsv_core.atomic_write import write_atomically
from gsv_core.dataset.annotations import Clip, read_list, write_list
from gsv_core.emotion.results import LABELS, EmotionRow, read_results, results_path
from gsv_core.errors import ConfigError
from gsv_core.infer.options import MAX_REFERENCE_S, MIN_REFERENCE_S

__all__ = ["MAX_REFERENCE_S", "MIN_REFERENCE_S", "ExportResult", "ReferenceCandidate",
           "clip_durations", "export_emotions", "read_references", "references_path"]

CANDIDATES_PER_EMOTION = 5


@dataclass(frozen=True)
class ReferenceCandidate:
    """A clip that can serve as reference audio for its emotion."""

    emotion: str
    path: str
    text: str
    language: str
    duration_s: float
    score: float
    reviewed: bool


@dataclass(frozen=True)
class ExportResult:
    written: tuple[Path, ...]
    candidates: dict[str, tuple[ReferenceCandidate, ...]]


def references_path(list_path: str | os.PathLike[str]) -> Path:
    path = Path(list_path)
    return path.with_name(f"{path.stem}.references.json")


def _variant(list_path: Path, middle: str) -> Path:
    return list_path.with_name(f"{list_path.stem}.{middle}.list")


def _duration(path: Path) -> float | None:
    """The file's length in seconds, None when it cannot be read. The Emotion tab asks for
    every clip on each redraw, so a header is read once per file version (size, time)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _header_seconds(os.fspath(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=1 << 16)
def _header_seconds(path: str, size: int, mtime_ns: int) -> float | None:
    try:
        return float(soundfile.info(path).duration)
    except (OSError, RuntimeError, soundfile.LibsndfileError):
        return None


def clip_durations(rows: Sequence[EmotionRow]) -> dict[str, float]:
    """Each tagged clip's length in seconds, read from its file's header (the emotion
    balance counts minutes, not clips); clips that cannot be read are left out."""
    found = {}
    for row in rows:
        seconds = _duration(Path(row.path))
        if seconds is not None:
            found[row.path] = seconds
    return found


def _candidates(clips: Sequence[Clip], tags: dict[str, EmotionRow],
                ) -> dict[str, tuple[ReferenceCandidate, ...]]:
    found: dict[str, list[ReferenceCandidate]] = {label: [] for label in LABELS}
    for clip in clips:
        row = tags.get(clip.wav)
        if row is None or row.final_label in ("other", "unknown"):
            continue
        seconds = _duration(clip.audio_path)
        if seconds is None or not MIN_REFERENCE_S <= seconds <= MAX_REFERENCE_S:
            continue
        # a person's correction is as sure as it gets; else the model's score for the label
        score = 1.0 if row.corrected else row.score
        found[row.final_label].append(ReferenceCandidate(
            row.final_label, os.fspath(clip.audio_path), clip.text, clip.language,
            round(seconds, 2), round(score, 4), row.reviewed))
    return {label: tuple(sorted(items, key=lambda c: (-c.score, not c.reviewed))[
        :CANDIDATES_PER_EMOTION]) for label, items in found.items() if items}


def export_emotions(list_path: str | os.PathLike[str]) -> ExportResult:
    """Write the files of the module docstring for ``list_path``'s tags.

    Raises:
        ConfigError: the list has no emotion tags yet.
        DatasetError: the list cannot be read.
    """
    source = Path(list_path)
    tags = {row.path: row for row in read_results(results_path(source))}
    if not tags:
        raise ConfigError(f"{source} has no emotion tags yet.", "Classify it first.")
    clips = [clip for clip in read_list(source).clips if clip.wav in tags]
    written = []
    tagged = [dataclasses.replace(clip, speaker=f"{clip.speaker}-{tags[clip.wav].final_label}")
              for clip in clips]
    written.append(write_list(_variant(source, "emotion"), tagged).path)
    for label in LABELS:
        of_label = [clip for clip in clips if tags[clip.wav].final_label == label]
        if of_label:
            written.append(write_list(_variant(source, label), of_label).path)
    candidates = _candidates(clips, tags)
    data = {label: [dataclasses.asdict(c) for c in items] for label, items in candidates.items()}
    text = (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    out = references_path(source)
    write_atomically(out, lambda handle: handle.write(text))
    written.append(out)
    return ExportResult(tuple(written), candidates)


def read_references(list_path: str | os.PathLike[str]) -> dict[str, list[ReferenceCandidate]]:
    """The saved candidates per emotion ({} when none were exported)."""
    path = references_path(list_path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {label: [ReferenceCandidate(**item) for item in items]
                for label, items in data.items()}
    except (OSError, ValueError, TypeError):
        return {}
