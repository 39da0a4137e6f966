"""What inference can pick from in a workspace: weight files by experiment, and dataset clips.

The Inference tab, the A/B section and the CLI show the same lists, so the order lives here:

- user weights grouped by experiment, the experiment with the newest file first (the voice
  just trained is the one a user wants to hear), and within an experiment the epochs by
  number, highest first: ``e10`` after ``e9`` would be the order of the file names, which is
  wrong once an experiment passes nine epochs;
- the official pretrained file last (zero-shot: it works before anything is trained);
- an empty list is a state of its own, so the tab can say where to put files.

Names are upstream's export names (``s2_train.py``/``s1_train.py`` at 48b1a01, and ours,
``gsv_core.models.checkpoint``): ``<experiment>_e<epoch>_s<step>.pth`` for SoVITS and
``<experiment>-e<epoch>.ckpt`` for GPT. A file named otherwise is its own experiment
with no epoch, listed by name, never dropped.

Dataset clips come from the ``.list`` files under ``output/asr_opt`` (upstream's ASR output,
``wav_path|speaker|LANG|text``), so a clip the user already transcribed is one pick away as
the reference, with its text and language filled in.

No torch here: the UI lists models without loading a framework.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gsv_core.models.registry import inference_models
from gsv_core.workspace import Workspace

__all__ = [
    "LIST_LANGUAGE_MODES",
    "DatasetClip",
    "EmotionReference",
    "WeightCatalog",
    "WeightFile",
    "dataset_clips",
    "emotion_references",
    "weight_catalog",
]

log = logging.getLogger(__name__)

_SOVITS_NAME = re.compile(r"^(?P<experiment>.+)_e(?P<epoch>\d+)_s(?P<step>\d+)$")
_GPT_NAME = re.compile(r"^(?P<experiment>.+)-e(?P<epoch>\d+)$")

# .list language codes (upstream's, case-insensitive) → the text front end's single-language
# modes (inference_webui.py's dict_language at 48b1a01).
LIST_LANGUAGE_MODES = {"zh": "all_zh", "en": "en", "ja": "all_ja", "jp": "all_ja",
                       "ko": "all_ko", "yue": "all_yue"}
MAX_DATASET_CLIPS = 2000  # a dropdown of more is unusable; the first ones of each file


@dataclass(frozen=True)
class WeightFile:
    """One GPT or SoVITS weight file as the pickers show it."""

    path: Path
    experiment: str | None  # None for the official pretrained file
    epoch: int | None       # None when the name carries none (or for the official file)
    step: int | None        # SoVITS names carry the step; GPT names do not
    modified_s: float       # modification time (seconds since the epoch), 0 when unknown

    @property
    def official(self) -> bool:
        return self.experiment is None


@dataclass(frozen=True)
class WeightCatalog:
    """The GPT and SoVITS pickers' entries, in display order (see the module docstring)."""

    gpt: tuple[WeightFile, ...]
    sovits: tuple[WeightFile, ...]
    gpt_folder: Path       # where the user's GPT weights go (for the "no models" advice)
    sovits_folder: Path

    @property
    def empty(self) -> bool:
        """No usable pair: synthesis needs one GPT and one SoVITS file."""
        return not self.gpt or not self.sovits

    def sovits_experiments(self) -> list[str]:
        """Experiments with SoVITS epochs to compare (A/B listening), newest first."""
        names = (f.experiment for f in self.sovits if f.experiment and f.epoch is not None)
        return list(dict.fromkeys(names))

    def sovits_epochs(self, experiment: str) -> list[WeightFile]:
        """One experiment's SoVITS epochs, lowest first: the order they are compared in."""
        files = [f for f in self.sovits if f.experiment == experiment and f.epoch is not None]
        return sorted(files, key=lambda f: (f.epoch, f.step or 0))


def _modified_s(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # a dangling link: still listed, so the load error names it
        return 0.0


def _user_file(path: Path, pattern: re.Pattern[str]) -> WeightFile:
    match = pattern.match(path.stem)
    if match is None:
        return WeightFile(path, path.stem, None, None, _modified_s(path))
    step = match.groupdict().get("step")
    return WeightFile(path, match["experiment"], int(match["epoch"]),
                      int(step) if step is not None else None, _modified_s(path))


def _grouped(files: Iterable[WeightFile]) -> list[WeightFile]:
    """Experiments newest first; epochs within one by number, highest first."""
    groups: dict[str, list[WeightFile]] = {}
    for entry in files:
        groups.setdefault(entry.experiment or "", []).append(entry)
    ordered_groups = sorted(groups.items(),
                            key=lambda item: (-max(f.modified_s for f in item[1]), item[0]))
    result: list[WeightFile] = []
    for _, group in ordered_groups:
        result += sorted(group, key=lambda f: (f.epoch is None, -(f.epoch or 0),
                                               -(f.step or 0), f.path.name))
    return result


def weight_catalog(workspace: Workspace) -> WeightCatalog:
    """Every weight file inference can offer, ordered for the pickers."""
    models = inference_models(workspace)

    def entries(paths: tuple[Path, ...], official: Path | None,
                pattern: re.Pattern[str]) -> tuple[WeightFile, ...]:
        user = _grouped(_user_file(p, pattern) for p in paths if p != official)
        tail = [WeightFile(official, None, None, None, _modified_s(official))] if official else []
        return (*user, *tail)

    return WeightCatalog(gpt=entries(models.gpt, models.official_gpt, _GPT_NAME),
                         sovits=entries(models.sovits, models.official_sovits, _SOVITS_NAME),
                         gpt_folder=workspace.gpt_weights_dir,
                         sovits_folder=workspace.sovits_weights_dir)


@dataclass(frozen=True)
class DatasetClip:
    """One labelled clip of a ``.list`` file, usable as the reference."""

    audio_path: Path
    text: str
    language: str      # the text front end's mode (all_zh, en, …)
    list_file: Path


def _clip(line: str, list_file: Path, root: Path) -> DatasetClip | None:
    fields = line.rstrip("\r\n").split("|")
    if len(fields) < 4:
        return None
    wav, _speaker, language, text = fields[0], fields[1], fields[2], "|".join(fields[3:])
    mode = LIST_LANGUAGE_MODES.get(language.strip().lower())
    if not wav.strip() or mode is None or not text.strip():
        return None
    audio = Path(wav.strip())
    # Upstream resolves relative .list paths against its root; ours is the workspace.
    return DatasetClip(audio if audio.is_absolute() else root / audio, text.strip(), mode,
                       list_file)


def _lists(workspace: Workspace) -> list[Path]:
    """The ``output/asr_opt/*.list`` files by name, without the Emotion tab's exports
    (``voice.emotion.list``, ``voice.happy.list``…): their clips are those of ``voice.list``."""
    from gsv_core.emotion.results import LABELS

    files = sorted(workspace.asr_dir.glob("*.list"))
    names = {f.name for f in files}
    return [f for f in files
            if not (f.stem.rsplit(".", 1)[-1] in {"emotion", *LABELS} and "." in f.stem
                    and f"{f.stem.rsplit('.', 1)[0]}.list" in names)]


def dataset_clips(workspace: Workspace, limit: int = MAX_DATASET_CLIPS) -> list[DatasetClip]:
    """Clips of every ``output/asr_opt/*.list`` (files by name, lines in order).

    Lines that are not ``wav|speaker|LANG|text`` with a known language are skipped (and
    counted in the log); clips whose audio is gone are skipped too, since picking one
    could only fail.
    """
    clips: list[DatasetClip] = []
    if not workspace.asr_dir.is_dir():
        return clips
    for list_file in _lists(workspace):
        skipped = 0
        try:
            lines = list_file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            log.warning("cannot read %s: %s", list_file, exc)
            continue
        for line in lines:
            if not line.strip():
                continue
            clip = _clip(line, list_file, workspace.root)
            if clip is None or not clip.audio_path.is_file():
                skipped += 1
                continue
            clips.append(clip)
            if len(clips) >= limit:
                return clips
        if skipped:
            log.info("%s: %d lines skipped (malformed, unknown language or missing audio)",
                     list_file, skipped)
    return clips


@dataclass(frozen=True)
class EmotionReference:
    """A reference candidate of one emotion (the Emotion tab's export), as a dataset clip."""

    emotion: str
    clip: DatasetClip
    score: float


def emotion_references(workspace: Workspace) -> list[EmotionReference]:
    """The candidates of every ``output/asr_opt/<list>.references.json``, per list in the
    order they were ranked (3-10 s, most confident first); gone clips are left out."""
    from gsv_core.emotion.export import read_references

    found: list[EmotionReference] = []
    if not workspace.asr_dir.is_dir():
        return found
    for list_file in _lists(workspace):
        for emotion, candidates in read_references(list_file).items():
            for candidate in candidates:
                mode = LIST_LANGUAGE_MODES.get(candidate.language.lower())
                path = Path(candidate.path)
                if mode is None or not path.is_file():
                    continue
                found.append(EmotionReference(emotion, DatasetClip(
                    path, candidate.text, mode, list_file), candidate.score))
    return found

