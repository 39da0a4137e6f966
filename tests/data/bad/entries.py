"""The entry points the bad-input corpus goes through, and how each one's answer is read.

Each entry is the function the product itself calls for that input (the slicer job, the
quality measurement, the reference preparation of inference, the label reader the
formatting runs, the training loader, the weight loaders, the engine's text check, the
API's request parser). ``run_case`` builds a case in a fresh folder and classifies every
answer (see ``corpus``). The tiny models come from the shared fixtures (inference) and are
built once per :class:`Context`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from gsv_core.errors import GsvError
from tests.data.bad.corpus import Case, Outcome

Entry = Callable[["Context", Case, Path], tuple[str, str]]


class Context:
    """What several entries share: a folder, and the tiny inference engine on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._engine = None
        self._experiment = None

    @property
    def engine(self):
        if self._engine is None:
            from tests.infer_fixtures import build_infer_setup, make_engine

            self._engine = make_engine(build_infer_setup(self.root / "infer"))
        return self._engine

    def experiment(self):
        """A fresh tiny formatted experiment (two clips) for a feature-file case."""
        from tests.train_fixtures import write_formatted_experiment

        folder = Path(tempfile.mkdtemp(dir=self.root))
        return write_formatted_experiment(folder, "bad features", clips=2)


def _refusal(error: GsvError, case: Case, path: Path) -> tuple[str, str]:
    """``refused`` when the error names what the case says it must and gives advice."""
    text = f"{error.message} {error.advice} {error.details}"
    wanted = case.mention or path.name
    if wanted not in text:
        return "crash", f"the error does not name {wanted!r}: {error.message}"
    if not error.advice:
        return "crash", f"no advice: {error.message}"
    return "refused", error.message


def _guarded(entry: Entry) -> Entry:
    """An entry whose unexpected exceptions are crashes, and GsvErrors refusals."""
    def run(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
        try:
            return entry(ctx, case, path)
        except GsvError as error:
            return _refusal(error, case, path)
        except Exception as exc:
            return "crash", f"{type(exc).__name__}: {exc}"
    return run


# --- audio ---------------------------------------------------------------------------------

@_guarded
def read_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """The decoder the slicer, the ASR and the formatting use."""
    from gsv_core.dataset.audio_read import read_mono

    audio = read_mono(path)
    return "accepted", f"{audio.shape[0]} samples"


@_guarded
def slice_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """The slicer job on one file: a bad file is skipped with a reason (X-5)."""
    from gsv_core.dataset.slice_job import slice_audio

    out = Path(tempfile.mkdtemp(dir=ctx.root))
    result = slice_audio(path, out, workers=1)
    if result.failures:
        failure = result.failures[0]
        text = f"{failure.source} {failure.message} {failure.advice}"
        if path.name not in text or not failure.advice:
            return "crash", f"the skipped file's reason does not say where/what: {text}"
        return "refused", failure.message
    return "accepted", f"{len(result.slices)} slices"


@_guarded
def quality_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """The quality report's measurement of one clip."""
    from gsv_core.dataset.quality import measure_clip

    clip = measure_clip(path)
    if {"unreadable", "missing_audio"} & set(clip.problems):
        return "refused", f"{clip.problems}: {clip.error}"
    return "accepted", f"problems {clip.problems}"


@_guarded
def reference_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """Inference's reference preparation (read, 3-10 s check, prompt codes)."""
    from gsv_core.infer import Reference

    engine = ctx.engine
    engine._reference_features(  # what synthesize calls first (a private method)
        Reference(path, text="你好，今天天气很不错。", language="all_zh"),
        engine.sovits_model, "upstream")
    return "accepted", "reference prepared"


# --- lists, names, features, weights, text, API ----------------------------------------------

@_guarded
def list_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """The label check the formatting runs first (every issue with its line)."""
    from gsv_core.prepare.validate import checked_clips

    labels, _ = checked_clips(path)
    return "accepted", f"{len(labels.clips)} clips"


@_guarded
def name_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    from gsv_core.workspace import Workspace

    Workspace(ctx.root / "names").experiment_dir(path.read_text(encoding="utf-8"))
    return "accepted", "a folder name"


@_guarded
def features_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """SoVITS training's loader, on an experiment whose first clip has this HuBERT file."""
    from gsv_core.train.sovits_data import SovitsDataset, read_clips

    files = ctx.experiment()
    clips, _ = read_clips(files, min_items=1)
    target = files.hubert_file(clips[0].name)
    shutil.copyfile(path, target)
    SovitsDataset(files, clips, list(range(len(clips))))[0]
    _no_code_ran(path)
    return "accepted", "loaded"


def _no_code_ran(path: Path) -> None:
    if Path(f"{path}.RAN").exists() or list(path.parent.glob("*.RAN")):
        raise AssertionError("the pickled code RAN")


def _weights_entry(kind: str) -> Entry:
    @_guarded
    def entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
        from gsv_core.models.checkpoint import load_gpt, load_sovits

        try:
            (load_gpt if kind == "gpt" else load_sovits)(path)
        finally:
            _no_code_ran(path)
        return "accepted", "loaded"
    return entry


@_guarded
def text_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """The engine's check that a text has something to speak (before any model runs)."""
    from gsv_core.infer import InferenceOptions

    segments = ctx.engine._spoken_segments(path.read_text(encoding="utf-8"),
                                           InferenceOptions(text_language="auto"))
    return "accepted", f"{len(segments)} segments"


@_guarded
def api_entry(ctx: Context, case: Case, path: Path) -> tuple[str, str]:
    """The /tts request parser (upstream's check_params order and messages)."""
    import json

    from gsv_core.api.params import parse_tts_request

    request = {"text": "你好。", "text_lang": "zh", "ref_audio_path": "ref.wav",
               "prompt_lang": "zh", **json.loads(path.read_text(encoding="utf-8"))}
    parse_tts_request(request)
    return "accepted", "parsed"


ENTRIES: dict[str, Entry] = {
    "read": read_entry, "slice": slice_entry, "quality": quality_entry,
    "reference": reference_entry, "list": list_entry, "name": name_entry,
    "features": features_entry, "gpt": _weights_entry("gpt"),
    "sovits": _weights_entry("sovits"), "text": text_entry, "api": api_entry,
}


def run_case(ctx: Context, case: Case) -> list[Outcome]:
    """Build ``case`` in a fresh folder and send it through each of its entry points."""
    folder = Path(tempfile.mkdtemp(prefix=f"{case.id}-", dir=ctx.root))
    path = case.build(folder)
    outcomes = []
    for entry, expected in case.expect.items():
        status, detail = ENTRIES[entry](ctx, case, path)
        outcomes.append(Outcome(case.id, entry, status, detail, expected))
    return outcomes
