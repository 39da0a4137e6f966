"""Optional vocal separation / de-reverb / de-echo of a recording before it is sliced.

Runs UVR's MDX-Net, VR, MDX23C and Roformer models through ``audio-separator`` (the
``separation`` extra: ``pip install "gsv-studio[separation]"``), **from local files only**.
Facts about the library (shared/research/wave2-deps.md §5, checked against 0.47.1):

- ``Separator.load_model()`` always reads ``download_checks.json`` (UVR's model list) from
  the model folder, and downloads it when it is missing; it then looks the model's file name
  up in it to learn its architecture. A file name not listed there cannot be loaded.
- MDX-Net (``.onnx``) and VR (``.pth``) models are identified by the MD5 of their file and
  also need ``mdx_model_data.json`` and ``vr_model_data.json``; MDX23C and Roformer
  (``.ckpt``) need the YAML configuration named beside them in the list.
- Every file it would download is skipped when it is already in the folder.

So a folder set up once (the model plus those JSON/YAML files) works offline. This module
checks the folder before anything is imported (``separation_status``) and gives the
separator a download function that refuses instead of fetching, so a run **never touches
the network**: a missing file is a message naming it.

When the library, ffmpeg (which audio-separator insists on at start-up) or the model is
absent, the slicing job goes on without separation and says "vocal separation skipped:
<why>; to enable: <what to do>". A model that loads but fails on one recording fails that
recording only (X-5).

Of the two stems a model writes, the one kept is the voice: ``Vocals``, or for de-reverb,
de-echo and denoise models the ``No Reverb`` / ``No Echo`` / ``No Noise`` stem. One
separator is kept per process and model (loading a model takes seconds, separating on a CPU
is slow: about real time or slower for the large Roformer models).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from gsv_core.errors import DatasetError, ModelMissing

__all__ = [
    "MODEL_LIST_FILE",
    "MODEL_SUFFIXES",
    "SeparationStatus",
    "chosen_stem",
    "missing_files",
    "separate_vocals",
    "separation_status",
]

logger = logging.getLogger(__name__)

MODEL_LIST_FILE = "download_checks.json"  # UVR's list of models; audio-separator needs it
HASH_DATA_FILES = ("mdx_model_data.json", "vr_model_data.json")  # for .onnx / .pth models
MODEL_SUFFIXES = (".onnx", ".pth", ".ckpt")
ENABLE_LIBRARY = ('pip install "gsv-studio[separation]" (or "audio-separator[cpu]>=0.47.1"), '
                  "keeping the installed torch")
ENABLE_FOLDER = ("put the model file in a folder together with download_checks.json, "
                 "mdx_model_data.json and vr_model_data.json (UVR's application data) and, "
                 "for .ckpt models, the model's .yaml configuration; audio-separator fetches "
                 "them all when it first loads a model on a machine that is online")
# The stems that hold the voice, in order of preference (compared case-insensitively):
# vocal models' "Vocals"; de-reverb, de-echo, denoise and crowd models' "No …" stem; the
# "dry" target of MDX23C de-reverb models.
VOICE_STEMS = ("vocals", "no reverb", "no echo", "no noise", "no crowd", "dry")
SEPARATION_RATE = 44100  # Hz: what UVR's models were trained on


@dataclass(frozen=True)
class SeparationStatus:
    """Whether separation can run with a model; ``message`` says why not and how to enable."""

    available: bool
    message: str = ""


def _skipped(why: str, enable: str) -> SeparationStatus:
    return SeparationStatus(False, f"vocal separation skipped: {why}; to enable: {enable}")


def missing_files(model_path: str | os.PathLike[str]) -> list[str]:
    """The files ``model_path``'s folder lacks for an offline load (names, in the folder).

    Checks the model file, the model list, the hash data of ``.onnx``/``.pth`` models and,
    when the list names one, the YAML of a ``.ckpt`` model. Reads no model, imports nothing.
    """
    model = Path(model_path)
    folder = model.parent
    missing = [] if model.is_file() else [model.name]
    listing = folder / MODEL_LIST_FILE
    if not listing.is_file():
        missing.append(MODEL_LIST_FILE)
    if model.suffix.lower() in (".onnx", ".pth"):
        missing.extend(name for name in HASH_DATA_FILES if not (folder / name).is_file())
    elif listing.is_file():
        yaml = _listed_yaml(listing, model.name)
        if yaml and not (folder / yaml).is_file():
            missing.append(yaml)
    return missing


def _listed_yaml(listing: Path, model_name: str) -> str | None:
    """The YAML configuration ``download_checks.json`` pairs with a ``.ckpt`` model."""
    try:
        data = json.loads(listing.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for group in data.values() if isinstance(data, dict) else ():
        for entry in group.values() if isinstance(group, dict) else ():
            if isinstance(entry, dict) and model_name in entry:
                value = entry[model_name]
                return value if isinstance(value, str) and value.endswith(".yaml") else None
    return None


def separation_status(model_path: str | os.PathLike[str] | None) -> SeparationStatus:
    """Whether separation with ``model_path`` can run here, checked without importing it."""
    if model_path is None or not str(model_path).strip():
        return _skipped("no separation model was given",
                        "choose a UVR/MDX/Roformer model file (.onnx, .pth or .ckpt)")
    model = Path(str(model_path).strip())
    if importlib.util.find_spec("audio_separator") is None:
        return _skipped("the audio-separator package is not installed", ENABLE_LIBRARY)
    if shutil.which("ffmpeg") is None:
        return _skipped("audio-separator needs an ffmpeg program on the PATH and none was "
                        "found", "install ffmpeg (Windows: add its bin folder to PATH)")
    if model.is_dir():
        return _skipped(f"{str(model)!r} is a folder, not a model file",
                        "choose the model file inside it (.onnx, .pth or .ckpt)")
    if model.suffix.lower() not in MODEL_SUFFIXES:
        return _skipped(f"{model.name!r} is not a separation model (expected "
                        + ", ".join(MODEL_SUFFIXES) + ")", "choose a UVR/MDX/Roformer model file")
    if not model.is_file():
        return _skipped(f"the model file {str(model)!r} does not exist", ENABLE_FOLDER)
    missing = missing_files(model)
    if missing:
        return _skipped(f"the folder {str(model.parent)!r} lacks " + ", ".join(missing)
                        + " (they would have to be downloaded)", ENABLE_FOLDER)
    return SeparationStatus(True)


def chosen_stem(primary: str, secondary: str) -> str:
    """The stem that holds the voice (``VOICE_STEMS``): ``Vocals``, else the ``No Reverb`` /
    ``No Echo`` / ``No Noise`` stem of a de-reverb, de-echo or denoise model.

    Raises:
        ModelMissing: neither stem is a voice (an instrument or drum model was chosen).
    """
    for wanted in VOICE_STEMS:
        for stem in (primary, secondary):
            if stem.strip().lower() == wanted:
                return stem
    raise ModelMissing(f"The separation model gives the stems {primary!r} and {secondary!r}, "
                       "neither of which is the voice.",
                       "Choose a vocals, de-reverb, de-echo or denoise model.")


class _NoDownload:
    """Stands in for ``Separator.download_file_if_not_exists``: present files pass, a
    missing one is an error naming it, and nothing is ever fetched."""

    def __call__(self, url: str, output_path: str) -> None:
        if not os.path.isfile(output_path):
            name = os.path.basename(output_path)
            raise ModelMissing(f"The separation model needs {name!r} in "
                               f"{os.path.dirname(output_path)!r}, and it is not there.",
                               f"To enable: {ENABLE_FOLDER}.", details=f"would fetch {url}")


_separators: dict[tuple[str, str], object] = {}  # (model, work folder) -> loaded Separator


def _separator(model: Path, work_dir: Path):
    """The loaded separator for ``model`` writing into ``work_dir``: one per process, kept
    for the job's files (a job uses one work folder), replaced when either changes."""
    key = (os.fspath(model.resolve()), os.fspath(work_dir))
    if key in _separators:
        return _separators[key]
    from audio_separator.separator import Separator

    # An AUDIO_SEPARATOR_MODEL_DIR in the environment would replace the folder we checked.
    saved = os.environ.pop("AUDIO_SEPARATOR_MODEL_DIR", None)
    try:
        separator = Separator(log_level=logging.WARNING, model_file_dir=os.fspath(model.parent),
                              output_dir=os.fspath(work_dir), output_format="WAV",
                              use_soundfile=True, sample_rate=SEPARATION_RATE)
    finally:
        if saved is not None:
            os.environ["AUDIO_SEPARATOR_MODEL_DIR"] = saved
    separator.download_file_if_not_exists = _NoDownload()  # this instance never downloads
    try:
        separator.load_model(model.name)
    except ModelMissing:
        raise
    except (ValueError, RuntimeError, OSError, KeyError) as exc:
        raise ModelMissing(f"The separation model {str(model)!r} cannot be loaded: {exc}",
                           "Check that it is a UVR/MDX/Roformer model listed in the folder's "
                           f"{MODEL_LIST_FILE}, and that its files are complete.",
                           details=repr(exc)) from exc
    _separators.clear()  # one model in memory per process
    _separators[key] = separator
    return separator


def separate_vocals(source: str | os.PathLike[str], model_path: str | os.PathLike[str],
                    work_dir: str | os.PathLike[str], name: str) -> Path:
    """Separate the voice of ``source`` with the model; return the WAV of the voice stem.

    The stems are written into ``work_dir`` as ``<name>.voice.wav`` and
    ``<name>.rest.wav`` (the caller removes them); the source is never modified.

    Raises:
        ModelMissing: the library, a model file or a companion file is missing, or the
            model is no voice model.
        DatasetError: the model failed on this recording.
    """
    status = separation_status(model_path)
    if not status.available:
        raise ModelMissing(status.message.replace("vocal separation skipped: ", "Vocal "
                                                  "separation cannot run: ", 1))
    model, work = Path(str(model_path).strip()), Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    separator = _separator(model, work)
    instance = separator.model_instance
    keep = chosen_stem(instance.primary_stem_name, instance.secondary_stem_name)
    other = (instance.secondary_stem_name if keep == instance.primary_stem_name
             else instance.primary_stem_name)
    names = {keep: f"{name}.voice", other: f"{name}.rest"}
    try:
        outputs = separator.separate(os.fspath(source), custom_output_names=names)
    except Exception as exc:  # the library's own error types vary by architecture and version
        raise DatasetError(f"Vocal separation failed on {str(source)!r}: {exc}",
                           "Slice this recording without separation, or convert it to WAV "
                           "and try again.", details=repr(exc)) from exc
    voice = work / f"{name}.voice.wav"
    if not voice.is_file():
        raise DatasetError(f"Vocal separation of {str(source)!r} wrote no {keep!r} stem.",
                           "Slice this recording without separation.",
                           details=f"outputs: {outputs!r}")
    return voice
