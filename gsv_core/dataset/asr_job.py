"""Transcribe a folder of clips into a `.list` (``wav|speaker|LANG|text``), resumably.

The job behind the Dataset tab's "Transcribe" button and ``gsv-studio asr``:

- **Inputs**: the audio files directly in the folder (as upstream's ASR tools read it; the
  slicer writes one flat folder), sorted by name. The speaker field is the folder's name and
  the audio path is absolute, as upstream writes them (``tools/asr/funasr_asr.py``).
- **Output**: ``output/asr_opt/<folder name>.list`` unless another path is given, written
  with ``annotations.write_list`` at the end (atomic; a different existing file is first
  kept as ``.bak``). Language codes are upper-case (ZH, YUE, EN, JA, KO), which every
  upstream reader and ``annotations`` accept; AUTO is never written (Q-5): with ``auto``
  each clip gets the language the model heard.
- **Resume**: each finished clip is appended at once (flushed and synced) to
  ``<list>.partial.jsonl`` beside the output, with the clip's size and modification time
  and the settings that made it. A re-run with the same model and language reuses every
  record whose clip is unchanged and transcribes only the rest, so a stop, a crash or a
  closed browser loses at most the clip in progress. A truncated last line (a crash during
  the write) is ignored. The side file is kept afterwards: re-running a finished job costs
  no model load, and adding clips to the folder transcribes only those.
- **Failures** (X-5): a clip that cannot be decoded, where nothing was recognised, or whose
  language the model could not tell, is reported with what to do, and the others go on.
  Failed clips have no record, so the next run tries them again.
- **Stop**: ``should_stop`` is asked between clips; a stopped job keeps its records but
  writes no `.list` (it would be incomplete): run it again to continue.
- **Long clips** (over ``vad.LONG_CLIP_S``) are cut into speech chunks with silero-vad and
  transcribed chunk by chunk; the clip keeps one line.
"""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gsv_core.dataset.annotations import Clip, WriteResult, write_list
from gsv_core.dataset.asr import (
    ASR_SAMPLE_RATE,
    AsrOptions,
    DeviceChoice,
    Transcriber,
    join_texts,
    load_transcriber,
    resolve_device,
)
from gsv_core.dataset.asr_models import ModelFolder, resolve_model
from gsv_core.dataset.audio_read import AUDIO_SUFFIXES, read_mono
from gsv_core.dataset.vad import LONG_CLIP_S, SpeechDetector
from gsv_core.errors import ConfigError, DatasetError, GsvError
from gsv_core.hardware import MachineProfile, detect_machine
from gsv_core.workspace import Workspace

__all__ = ["AsrFailure", "AsrResult", "collect_clips", "default_list_path", "partial_path",
           "transcribe_folder"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
RECORD_VERSION = 1


@dataclass(frozen=True)
class AsrFailure:
    """A clip that got no transcript, with what happened and what to do (X-5)."""

    path: Path
    message: str
    advice: str = ""
    details: str = ""


@dataclass(frozen=True)
class AsrResult:
    """What a transcription job did; ``ok`` when every clip has a line in the list."""

    list_path: Path
    partial_path: Path
    clips: tuple[Clip, ...] = ()
    failures: tuple[AsrFailure, ...] = ()
    not_started: tuple[Path, ...] = ()       # left when should_stop() said so
    reused: int = 0                          # clips taken from the side file
    transcribed: int = 0                     # clips transcribed by this run
    warnings: tuple[str, ...] = ()           # e.g. Whisper heard another language first
    written: WriteResult | None = None       # None: no list written (stopped, nothing done)
    device: str = ""                         # where the model ran ("" when none was loaded)
    precision: str = ""
    device_note: str = ""                    # why the CPU was used, when it was
    stopped: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures and not self.not_started


@dataclass
class _Job:
    """State of one run: the model (loaded on first need), the records, the counters."""

    options: AsrOptions
    folder: ModelFolder
    profile: MachineProfile
    settings: dict
    partial: Path
    transcriber: Transcriber | None = None
    device: DeviceChoice | None = None
    detector: SpeechDetector = field(default_factory=SpeechDetector)

    def model(self) -> Transcriber:
        if self.transcriber is None:
            self.device = resolve_device(self.options.device, self.profile, self.folder.engine)
            self.transcriber = load_transcriber(self.options, self.folder.path,
                                                self.folder.engine, self.folder.kind,
                                                self.device)
            self.transcriber.check_language(self.options.language)
        return self.transcriber


def collect_clips(input_dir: str | os.PathLike[str]) -> list[Path]:
    """The audio files directly in ``input_dir`` (hidden ones skipped), sorted by name.

    Raises:
        ConfigError: not a folder, or no audio file in it.
    """
    folder = Path(input_dir)
    if not folder.is_dir():
        raise ConfigError(f"The clips folder {os.fspath(folder)!r} does not exist.",
                          "Give the folder of sliced clips (e.g. output/slicer_opt/<name>).")
    clips = sorted((path for path in folder.iterdir()
                    if path.is_file() and not path.name.startswith(".")
                    and path.suffix.lower() in AUDIO_SUFFIXES), key=lambda p: p.name)
    if not clips:
        raise ConfigError(f"The folder {os.fspath(folder)!r} holds no audio file.",
                          "Audio files end in " + ", ".join(AUDIO_SUFFIXES) + "; slice your "
                          "recordings first.")
    return clips


def default_list_path(workspace: Workspace, input_dir: str | os.PathLike[str]) -> Path:
    """``output/asr_opt/<folder name>.list``, as upstream names it."""
    name = Path(os.path.abspath(input_dir)).name
    if not name:
        raise ConfigError(f"Cannot name a list after {os.fspath(input_dir)!r}.",
                          "Choose a folder inside the drive, not its root.")
    return workspace.asr_dir / f"{name}.list"


def partial_path(list_path: str | os.PathLike[str]) -> Path:
    """The side file of finished clips beside ``list_path``."""
    path = Path(list_path)
    return path.with_name(path.name + ".partial.jsonl")


def _identity(path: Path) -> dict:
    stat = path.stat()
    return {"wav": os.fspath(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _settings(options: AsrOptions, folder: ModelFolder) -> dict:
    """What decides a transcript (the device and precision do not, beyond rounding)."""
    settings = {"engine": folder.engine, "model": os.fspath(folder.path),
                "language": options.language}
    if folder.engine == "whisper":
        settings["beam_size"] = options.beam_size
        settings["temperature_fallback"] = options.temperature_fallback
    for name in ("vad_model", "punc_model"):
        value = getattr(options, name)
        if value:
            settings[name] = os.path.abspath(value)
    return settings


def _load_records(partial: Path, settings: dict) -> dict[str, dict]:
    """Records of finished clips made with ``settings``, by audio path (the last one wins)."""
    records: dict[str, dict] = {}
    if not partial.is_file():
        return records
    with partial.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                logger.warning("%s line %d is not a record (cut by a crash?); ignored",
                               partial, number)
                continue
            if (isinstance(record, dict) and record.get("settings") == settings
                    and record.get("v") == RECORD_VERSION):
                records[str(record.get("wav"))] = record
    return records


def _append_record(partial: Path, record: dict) -> None:
    """One line per finished clip, on disk before the next clip starts."""
    with partial.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _clean(text: str) -> str:
    """One line of text: no line breaks, and no '|' (upstream splits lines on every '|')."""
    return " ".join(text.replace("|", " ").split())


def _transcribe_clip(job: _Job, path: Path) -> dict:
    """The record of one clip. Raises GsvError for a clip that gets no transcript."""
    audio = read_mono(path, ASR_SAMPLE_RATE)
    if audio.shape[0] == 0:
        raise DatasetError(f"{os.fspath(path)!r} holds no audio samples.",
                           "Delete it, or slice the recording again.")
    spans = [(0, audio.shape[0])]
    if audio.shape[0] > LONG_CLIP_S * ASR_SAMPLE_RATE:
        spans = job.detector.chunks(audio, ASR_SAMPLE_RATE)
        if not spans:
            raise DatasetError(f"No speech was found in {os.fspath(path)!r} "
                               f"({audio.shape[0] / ASR_SAMPLE_RATE:.0f} s).",
                               "Check the recording; slice it, and remove clips without "
                               "speech.")
    model = job.model()
    language, detected, texts = job.options.language, None, []
    for start, end in spans:
        heard = model.transcribe(audio[start:end], language)
        if language == "auto":  # the first chunk decides the clip's language
            detected = heard.detected
            if heard.language is None:
                raise DatasetError(
                    f"The model could not tell the language of {os.fspath(path)!r}"
                    + (f" (it heard {heard.detected!r})." if heard.detected else "."),
                    "Transcribe with the clip's language chosen (zh, yue, en, ja or ko); "
                    "GPT-SoVITS v2 trains only those (Q-5).")
            language = heard.language
        texts.append(heard.text)
    text = _clean(join_texts(texts, language))
    if not text:
        raise DatasetError(f"Nothing was recognised in {os.fspath(path)!r}.",
                           "Listen to the clip: if it has no speech, delete it; otherwise "
                           "try another model or language.")
    return {"v": RECORD_VERSION, **_identity(path), "settings": job.settings,
            "language": language, "text": text, "detected": detected,
            "duration_s": round(audio.shape[0] / ASR_SAMPLE_RATE, 3)}


def _failure(path: Path, exc: BaseException) -> AsrFailure:
    if isinstance(exc, GsvError):
        return AsrFailure(path, exc.message, exc.advice, exc.details)
    details = traceback.format_exc()
    logger.error("transcribing %s failed unexpectedly:\n%s", path, details)
    return AsrFailure(path, f"Unexpected error while transcribing {os.fspath(path)!r}: "
                      f"{exc!r}.", "If it says out of memory, use the CPU or a smaller "
                      "model; otherwise this is a bug: please report it with the log.",
                      details)


def _warning(record: dict) -> str | None:
    detected = record.get("detected")
    if detected and detected != record["language"]:
        return (f"{Path(record['wav']).name}: the model's first guess was {detected!r}; "
                f"labelled {record['language'].upper()}, the likeliest of the languages "
                "GPT-SoVITS trains. Check it while proofreading.")
    return None


def _reusable(records: dict[str, dict], sources: list[Path]) -> dict[Path, dict]:
    """The records whose clip is still the same file (same size and modification time)."""
    finished = {}
    for source in sources:
        record = records.get(os.fspath(source))
        if record is None:
            continue
        now = _identity(source)
        if (record.get("size"), record.get("mtime_ns")) == (now["size"], now["mtime_ns"]):
            finished[source] = record
    return finished


def _run(job: _Job, sources: list[Path], finished: dict[Path, dict], report: Progress,
         stop: Callable[[], bool]) -> tuple[list[AsrFailure], list[Path]]:
    """Transcribe the clips not in ``finished`` (adding them, each recorded at once);
    returns the failures and the clips a stop left."""
    failures: list[AsrFailure] = []
    done = len(finished)
    for number, source in enumerate(sources):
        if source in finished:
            continue
        if stop():
            return failures, [s for s in sources[number:] if s not in finished]
        job.model()  # loaded before the first clip that needs it; its errors end the job
        try:
            record = _transcribe_clip(job, source)
        except GsvError as exc:
            failures.append(_failure(source, exc))
            message = f"{source.name}: FAILED: {exc.message}"
        except Exception as exc:  # a bug or a runtime error must not cost the others
            failures.append(_failure(source, exc))
            message = f"{source.name}: FAILED: {exc!r}"
        else:
            _append_record(job.partial, record)
            finished[source] = record
            message = f"{source.name}: {record['text'][:60]}"
        done += 1
        report(done, len(sources), message)
    return failures, []


def transcribe_folder(input_dir: str | os.PathLike[str], options: AsrOptions, *,
                      workspace: Workspace, output: str | os.PathLike[str] | None = None,
                      progress: Progress | None = None,
                      should_stop: Callable[[], bool] | None = None,
                      profile: MachineProfile | None = None) -> AsrResult:
    """Transcribe the clips in ``input_dir`` into a `.list` (see the module docstring).

    Args:
        input_dir: the folder of clips (not searched below its top level).
        options: model, language, engine, precision, device…
        workspace: gives the default output and the download folder for hub ids.
        output: the `.list` to write; None: ``default_list_path``.
        progress: ``progress(done, total, message)`` once at 0, then after each clip.
        should_stop: asked between clips; True stops, keeping what is finished.
        profile: the machine (None: detected); decides the device with ``options.device``.

    Raises:
        ConfigError, ModelMissing, HardwareError: bad settings, an unusable model folder or
            device; raised before any clip is transcribed. Per-clip problems are in the
            result instead.
    """
    clips = collect_clips(input_dir)
    list_path = Path(os.path.abspath(output)) if output else default_list_path(workspace,
                                                                               input_dir)
    if list_path.suffix.lower() != ".list" or list_path.is_dir():
        raise ConfigError(f"The output {os.fspath(list_path)!r} is not a .list file name.",
                          "Give a file name ending in .list.")
    folder = resolve_model(options.model, workspace, engine=options.engine,
                           download=options.download)
    if folder.kind == "paraformer" and options.language != "zh":
        raise ConfigError(f"Paraformer-zh transcribes Mandarin (zh), not {options.language}.",
                          "Choose language zh, or SenseVoiceSmall or Whisper for other "
                          "languages.")
    list_path.parent.mkdir(parents=True, exist_ok=True)
    partial = partial_path(list_path)
    settings = _settings(options, folder)
    job = _Job(options, folder, profile if profile is not None else detect_machine(),
               settings, partial)
    speaker = Path(os.path.abspath(input_dir)).name
    sources = [Path(os.path.abspath(path)) for path in clips]
    finished = _reusable(_load_records(partial, settings), sources)
    reused = len(finished)
    report = progress or (lambda done, total, message: None)
    report(0, len(sources), f"Transcribing {len(sources) - reused} clip(s) with "
                            f"{folder.model_class or folder.engine} ({reused} done before)")
    failures, not_started = _run(job, sources, finished, report,
                                 should_stop or (lambda: False))
    ordered = [finished[source] for source in sources if source in finished]
    result_clips = tuple(Clip(wav=record["wav"], speaker=speaker,
                              language=record["language"], text=record["text"],
                              audio_path=Path(record["wav"])) for record in ordered)
    written = None
    if result_clips and not not_started:
        written = write_list(list_path, result_clips)
    device = job.device or DeviceChoice("")
    transcriber, job.transcriber = job.transcriber, None
    precision = transcriber.precision if transcriber else ""
    del transcriber  # the model's memory goes back now, not when the UI next collects
    if device.device.startswith("cuda") and folder.engine == "funasr":
        import torch

        torch.cuda.empty_cache()  # torch keeps freed blocks cached for this process
    return AsrResult(
        list_path=list_path, partial_path=partial, clips=result_clips,
        failures=tuple(failures), not_started=tuple(not_started), reused=reused,
        transcribed=len(finished) - reused,
        warnings=tuple(w for w in map(_warning, ordered) if w),
        written=written, device=device.device,
        precision=precision, device_note=device.note,
        stopped=bool(not_started))
