"""Checks run before any formatting work: a bad list is refused whole, with every line named.

Upstream's formatting skips what it cannot use with a console line (an unknown language,
1-get-text.py) or silently (training later drops clips over 38 s for SoVITS, 54 s for the
GPT). Here those are errors listing the lines, before anything is computed: the list's own
problems (bad lines, missing audio, unknown languages — Q-5 —, duplicate names) and clips
longer than SoVITS training takes (Q-4), so the user fixes them once and formats once.
"""

from __future__ import annotations

import os
from pathlib import Path

import soundfile

from gsv_core.dataset.annotations import Clip, LabelList, read_list
from gsv_core.errors import DatasetError
from gsv_core.guidelines.tables import SOVITS_DROP_S

__all__ = ["checked_clips", "clip_seconds"]

_MAX_LISTED = 20


def clip_seconds(path: Path) -> float | None:
    """The clip's length from its header, or None when soundfile cannot tell (then the audio
    step reports the clip unreadable)."""
    try:
        info = soundfile.info(os.fspath(path))
    except (soundfile.SoundFileError, OSError, RuntimeError):
        return None
    return info.frames / info.samplerate if info.samplerate else None


def _overlong(clips: tuple[Clip, ...], seconds: dict[str, float | None]) -> list[str]:
    return [f"line {clip.line_number}: {clip.wav} is {seconds[clip.name]:.1f} s long"
            for clip in clips
            if seconds[clip.name] is not None and seconds[clip.name] > SOVITS_DROP_S]


def checked_clips(list_path: str | os.PathLike[str],
                  audio_dir: str | os.PathLike[str] | None = None
                  ) -> tuple[LabelList, dict[str, float | None]]:
    """The parsed list and each clip's length in seconds (by name; None when the header
    cannot be read), or DatasetError naming every line that cannot be formatted."""
    labels = read_list(list_path, audio_dir=audio_dir)
    labels.raise_for_issues()
    if not labels.clips:
        raise DatasetError(f"{os.fspath(list_path)} has no clips.",
                           "Transcribe a folder of clips first (ASR), or pick another list.")
    seconds = {clip.name: clip_seconds(clip.audio_path) for clip in labels.clips}
    overlong = _overlong(labels.clips, seconds)
    if overlong:
        more = (f"\n… and {len(overlong) - _MAX_LISTED} more" if len(overlong) > _MAX_LISTED
                else "")
        raise DatasetError(
            f"{len(overlong)} clip(s) are longer than {SOVITS_DROP_S:g} s, which SoVITS "
            "training cannot use.",
            "Re-slice them with a shorter maximum slice length (Dataset tab, step 1), or "
            "split them in the proofreading table.",
            rule="Q-4", details="\n".join(overlong[:_MAX_LISTED]) + more)
    return labels, seconds
