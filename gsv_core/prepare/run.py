"""Formatting a labelled dataset for training: ``logs/<experiment>/`` as GPT-SoVITS makes it.

:func:`prepare_dataset` checks the list (``validate``), works out from the manifest which
outputs are missing or stale (``manifest``), cleans the changed labels and computes BERT
features on the first device (``text_step``), then HuBERT, 5-wav32k and semantic codes on
each device (``audio_stage``; several devices: one spawned worker each, clips balanced by
length), and writes ``2-name2text.txt``, ``6-name2semantic.tsv`` and the manifest last.

A clip that fails (unreadable audio, nothing to read in its label…) is left out with its
line named in the result; the others are formatted. A stop keeps everything finished so
far: the next run continues from there. Files of clips no longer in the list, and stale
files of clips that failed, are deleted — only files this tool recorded in the manifest.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gsv_core.dataset.annotations import Clip
from gsv_core.errors import ConfigError
from gsv_core.prepare.audio_stage import AudioOutcome, AudioTask, DeviceModels, run_audio_stage
from gsv_core.prepare.feature_files import save_tensor
from gsv_core.prepare.label_pool import LabelCleaner, LabelTask, PolyphoneSource
from gsv_core.prepare.layout import SEMANTIC_HEADER, ExperimentFiles, hash_cache_file
from gsv_core.prepare.manifest import (
    ClipKeys,
    FileHasher,
    Manifest,
    digest,
    load_hash_cache,
    save_hash_cache,
)
from gsv_core.prepare.outcome import ClipFailure, PrepareResult, timed
from gsv_core.prepare.sharding import run_sharded
from gsv_core.prepare.text_step import ClipText, bert_features
from gsv_core.prepare.validate import checked_clips
from gsv_core.text import DEFAULT_READINGS, check_readings
from gsv_core.workspace import Workspace

__all__ = ["PrepareRequest", "prepare_dataset", "resolve_devices"]

log = logging.getLogger(__name__)

Progress = Callable[[float, float, str], None]   # (done, total, message)

TEXT_KEY_VERSION = 1   # bump when the front end's output for the same label changes


@dataclass(frozen=True)
class PrepareRequest:
    """What to format and how. Model paths default to the workspace's pretrained models."""

    list_path: Path
    experiment: str
    workspace: Workspace
    audio_dir: Path | None = None
    readings: str = DEFAULT_READINGS
    devices: tuple[str, ...] = ()        # () = the first CUDA GPU, else the CPU
    precision: str | None = None         # None: fp16 on a GPU that has it (as upstream)
    bert_dir: Path | None = None
    hubert_dir: Path | None = None
    sovits_path: Path | None = None
    batch_seconds: float = 160.0         # audio per HuBERT forward pass
    bert_batch: int = 16
    label_workers: int | None = None     # processes cleaning labels; None: by list and cores


def resolve_devices(devices: Sequence[str]) -> tuple[str, ...]:
    """``devices`` checked (``cpu``, ``cuda``, ``cuda:N``), or the default one."""
    if not devices:
        return ("cuda:0",) if torch.cuda.is_available() else ("cpu",)
    out = []
    for name in devices:
        try:
            device = torch.device(name.strip())
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(f"devices: {name!r} is not a device.",
                              "Use cpu, cuda or cuda:N (N = a GPU number).") from exc
        if device.type == "cuda":
            count = torch.cuda.device_count()
            index = device.index or 0
            if index >= count:
                raise ConfigError(f"devices: {name!r} does not exist here ({count} CUDA "
                                  "GPU(s) found).", "Pick a GPU that the GPU list shows.")
            device = torch.device("cuda", index)
        elif device.type != "cpu":
            raise ConfigError(f"devices: {name!r} cannot format.", "Use cpu or cuda:N.")
        out.append(str(device))
    return tuple(out)


def _feature_dtype(device: str, precision: str | None) -> torch.dtype:
    from gsv_core.infer.precision import model_dtypes

    return model_dtypes(torch.device(device), precision).features


@dataclass
class _Models:
    bert: Path | None
    hubert: Path
    sovits: Path
    ids: dict[str, str] = field(default_factory=dict)


def _model_paths(request: PrepareRequest, clips: Sequence[Clip], hasher: FileHasher
                 ) -> _Models:
    from gsv_core.models.registry import require_pretrained

    ws = request.workspace
    need_bert = any(c.language == "zh" for c in clips)
    bert = (request.bert_dir or require_pretrained(ws, "bert")) if need_bert else None
    hubert = request.hubert_dir or require_pretrained(ws, "hubert")
    sovits = request.sovits_path or require_pretrained(ws, "sovits_generator")
    models = _Models(Path(bert) if bert else None, Path(hubert), Path(sovits))
    if models.bert is not None:
        models.ids["bert"] = hasher.model(models.bert)
    models.ids["hubert"] = hasher.model(models.hubert)
    models.ids["sovits"] = hasher.model(models.sovits)
    return models


def _clip_keys(clip: Clip, readings: str, polyphones: str, models: _Models,
               hasher: FileHasher) -> ClipKeys:
    bert = models.ids.get("bert") if clip.language == "zh" else None
    text = digest("text", TEXT_KEY_VERSION, clip.text, clip.language, readings,
                  polyphones if clip.language == "zh" else None, bert)
    audio = digest("audio", hasher.file(clip.audio_path), models.ids["hubert"])
    semantic = digest("semantic", audio, models.ids["sovits"])
    return ClipKeys(text, audio, semantic, has_bert=clip.language == "zh")


def _read_rows(path: Path, skip_header: str | None = None) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return {}
    rows = {}
    for line in lines:
        if not line or line == skip_header:
            continue
        rows[line.split("\t", 1)[0]] = line
    return rows


class _Reporter:
    """One progress count for both stages (they may run at once, on two threads)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self._progress, self.total, self.done = progress, total, 0
        self._lock = threading.Lock()

    def __call__(self, finished: int, message: str) -> None:
        with self._lock:
            self.done += finished
            if self._progress is not None:
                self._progress(self.done, self.total, message)


def prepare_dataset(request: PrepareRequest, *, progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> PrepareResult:
    """Format ``request.list_path`` into ``logs/<experiment>/`` (see the module docstring).

    Raises:
        DatasetError: the list cannot be formatted (every bad line named; Q-4, Q-5).
        ModelMissing: a pretrained model folder or file is missing.
        ConfigError: a bad device, precision or readings mode.
    """
    readings = check_readings(request.readings)
    devices = resolve_devices(request.devices)
    dtype = _feature_dtype(devices[0], request.precision)
    if request.batch_seconds <= 0:
        raise ConfigError("batch_seconds must be positive.", "Use e.g. 160 (seconds).")
    phases: dict[str, float] = {}
    with timed(phases, "check and hash"):
        labels, seconds = checked_clips(request.list_path, request.audio_dir)
        clips = labels.clips
        files = ExperimentFiles.of(request.workspace, request.experiment)
        files.folder.mkdir(parents=True, exist_ok=True)
        manifest = Manifest.load(files.manifest)
        cache_file = hash_cache_file(request.workspace)
        hasher = FileHasher({**load_hash_cache(cache_file), **manifest.file_hashes})
        models = _model_paths(request, clips, hasher)
        hasher.prefetch([c.audio_path for c in clips])
        polyphones = _polyphones(request, clips)
        keys = {c.name: _clip_keys(c, readings, polyphones.name if polyphones else "",
                                   models, hasher) for c in clips}
    had_manifest = files.manifest.is_file()
    old_rows = _read_rows(files.name2text) if had_manifest else {}
    old_codes = _read_rows(files.name2semantic, SEMANTIC_HEADER) if had_manifest else {}
    result = PrepareResult(files.folder, len(clips), devices=devices, seconds=phases)

    text_todo = [c for c in clips if _stale_text(c, keys, manifest, old_rows, files)]
    audio_todo = [c for c in clips if _stale_audio(c, keys, manifest, files)]
    fresh_audio = {c.name for c in audio_todo}
    semantic_todo = [c for c in clips if c.name in fresh_audio or manifest.clips.get(
        c.name, ClipKeys()).semantic != keys[c.name].semantic or c.name not in old_codes]
    reporter = _Reporter(progress, len(text_todo) + len(semantic_todo))

    rows = {name: row for name, row in old_rows.items() if name in keys}
    source = PolyphoneSource(polyphones is not None, request.workspace, request.bert_dir)
    text_stage = _TextStage(text_todo, readings, polyphones, source, request.label_workers,
                            models.bert, devices[0], dtype, request.bert_batch, files, result,
                            reporter, should_stop)
    tasks = [AudioTask(c.name, os.fspath(c.audio_path), c.line_number,
                       hubert=c.name in fresh_audio, seconds=seconds[c.name] or 0.0)
             for c in semantic_todo]
    specs = [DeviceModels(os.fspath(models.hubert), os.fspath(models.sovits), device,
                          str(dtype).removeprefix("torch."), request.batch_seconds)
             for device in devices]
    if stages_overlap(devices[0]):
        texts, outcome = _both_stages(text_stage, tasks, files, specs, reporter, should_stop)
    else:
        texts = text_stage.run()
        outcome = (AudioOutcome(stopped=True) if text_stage.stopped
                   else _audio_stage(tasks, files, specs, reporter, should_stop))
    rows.update({t.name: t.row() for t in texts})
    result.computed["text"] = len(texts)
    result.reused["text"] = len(clips) - len(text_todo)
    outcome.stopped = outcome.stopped or text_stage.stopped
    result.failures.extend(outcome.failures)
    result.failures.sort(key=lambda failure: failure.line_number)
    result.stopped = outcome.stopped
    phases.update(outcome.seconds)
    result.computed["audio"] = len(outcome.hubert_done)
    result.computed["semantic"] = len(outcome.codes)
    result.reused["audio"] = len(clips) - len(fresh_audio)
    result.reused["semantic"] = len(clips) - len(semantic_todo)
    _record(clips, keys, manifest, texts, text_todo, outcome, fresh_audio, result, files)
    codes = {name: row for name, row in old_codes.items() if name in keys}
    codes.update({name: f"{name}\t{c}" for name, c in outcome.codes.items()})
    with timed(phases, "lists and manifest"):
        _drop_failed(result.failures, rows, codes, manifest, files)
        result.removed = _remove_gone(keys, manifest, files)
        _write_outputs(clips, rows, codes, manifest, hasher, files)
        save_hash_cache(cache_file, hasher.known)
    return result


def stages_overlap(device: str) -> bool:
    """Whether the text stage runs beside the audio stage: on a GPU, where the audio stage
    mostly waits; on the CPU the two would only share its cores, so one after the other."""
    return device.startswith("cuda")


def _audio_stage(tasks: Sequence[AudioTask], files: ExperimentFiles,
                 specs: Sequence[DeviceModels], reporter: _Reporter,
                 should_stop: Callable[[], bool] | None) -> AudioOutcome:
    if len(specs) == 1:
        return run_audio_stage(tasks, files, specs[0], progress=reporter,
                               should_stop=should_stop)
    return run_sharded(tasks, files, specs, progress=reporter, should_stop=should_stop)


def _both_stages(text_stage: _TextStage, tasks: Sequence[AudioTask], files: ExperimentFiles,
                 specs: Sequence[DeviceModels], reporter: _Reporter,
                 should_stop: Callable[[], bool] | None
                 ) -> tuple[list[ClipText], AudioOutcome]:
    """The text stage on a thread while the audio stage runs, so the GPU work of one and the
    CPU work of the other overlap (both are Python-heavy where they start, so on one
    interpreter lock the gain is smaller than that: docs/benchmarks.md). An error in either
    stops the other, then is raised."""
    with ThreadPoolExecutor(1, thread_name_prefix="prepare-text") as pool:
        texts_future = pool.submit(text_stage.run)

        def stop_audio() -> bool:   # the text stage failed, or the user asked
            return ((texts_future.done() and texts_future.exception() is not None)
                    or (should_stop is not None and should_stop()))

        try:
            outcome = _audio_stage(tasks, files, specs, reporter, stop_audio)
        except BaseException:
            text_stage.abort.set()
            raise
        texts = texts_future.result()   # re-raises the text stage's error
    return texts, outcome


def _polyphones(request: PrepareRequest, clips: Sequence[Clip]) -> object | None:
    if not any(c.language == "zh" for c in clips):
        return None
    from gsv_core.text import load_polyphone_backend

    return load_polyphone_backend(request.workspace, bert_dir=request.bert_dir)


def _stale_text(clip: Clip, keys: dict[str, ClipKeys], manifest: Manifest,
                old_rows: dict[str, str], files: ExperimentFiles) -> bool:
    recorded = manifest.clips.get(clip.name)
    if recorded is None or recorded.text != keys[clip.name].text or clip.name not in old_rows:
        return True
    return keys[clip.name].has_bert and not files.bert_file(clip.name).is_file()


def _stale_audio(clip: Clip, keys: dict[str, ClipKeys], manifest: Manifest,
                 files: ExperimentFiles) -> bool:
    recorded = manifest.clips.get(clip.name)
    return (recorded is None or recorded.audio != keys[clip.name].audio
            or not files.hubert_file(clip.name).is_file()
            or not files.wav32k_file(clip.name).is_file())


class _TextStage:
    """Clean the labels to do, then compute and write the BERT features of the Mandarin ones.

    ``run`` returns the cleaned labels whose outputs are complete; a stop (the user's, or
    ``abort`` when the audio stage failed) ends it between labels or BERT batches.
    """

    def __init__(self, todo: Sequence[Clip], readings: str, polyphones: object | None,
                 source: PolyphoneSource, label_workers: int | None,
                 bert_dir: Path | None, device: str, dtype: torch.dtype, bert_batch: int,
                 files: ExperimentFiles, result: PrepareResult, reporter: _Reporter,
                 should_stop: Callable[[], bool] | None) -> None:
        self.todo, self.readings, self.polyphones = todo, readings, polyphones
        self.source, self.label_workers = source, label_workers
        self.bert_dir, self.device, self.dtype, self.bert_batch = bert_dir, device, dtype, \
            bert_batch
        self.files, self.result, self.reporter = files, result, reporter
        self._should_stop = should_stop
        self.abort = threading.Event()
        self.stopped = False

    def _stop_now(self) -> bool:
        if self.abort.is_set() or (self._should_stop is not None and self._should_stop()):
            self.stopped = True
        return self.stopped

    def run(self) -> list[ClipText]:
        tasks = [LabelTask(c.name, c.text, c.language, c.line_number) for c in self.todo]
        with LabelCleaner(tasks, self.readings, self.polyphones, self.source,
                          workers=self.label_workers) as cleaner:
            cleaner.start()
            # While worker processes clean, this thread loads BERT (it would wait otherwise).
            early_bert = (self._load_bert() if cleaner.in_workers and self._may_need_bert()
                          else None)
            with timed(self.result.seconds, "labels cleaned"):
                texts, failures, self.stopped = cleaner.collect(self._stop_now)
        self.result.failures.extend(failures)
        mandarin = [t for t in texts if t.needs_bert]
        written = (self._bert(mandarin, early_bert) if mandarin and not self.stopped
                   else set())
        if not self.stopped:
            self.reporter(len(self.todo) - len(mandarin), "labels cleaned")
        return [t for t in texts if not t.needs_bert or t.name in written]

    def _may_need_bert(self) -> bool:
        return self.bert_dir is not None and any(c.language == "zh" for c in self.todo)

    def _load_bert(self) -> object:
        from gsv_core.features import BertFeatures

        assert self.bert_dir is not None
        with timed(self.result.seconds, "BERT load"):
            return BertFeatures.load(self.bert_dir, self.device, self.dtype)

    def _bert(self, mandarin: Sequence[ClipText], bert: object | None) -> set[str]:
        seconds, files = self.result.seconds, self.files
        if bert is None:
            bert = self._load_bert()
        files.bert_dir.mkdir(parents=True, exist_ok=True)
        written: set[str] = set()
        for first in range(0, len(mandarin), self.bert_batch):
            if first and self._stop_now():   # the labels were just checked
                break
            chunk = mandarin[first:first + self.bert_batch]
            with timed(seconds, "BERT"):
                features = bert_features(bert, chunk, max_batch=self.bert_batch,
                                         dtype=self.dtype)
            with timed(seconds, "BERT write"):
                for text, feature in zip(chunk, features, strict=True):
                    save_tensor(feature, files.bert_file(text.name))
                    written.add(text.name)
            self.reporter(len(chunk), f"BERT: {chunk[-1].name}")
        return written


def _record(clips: Sequence[Clip], keys: dict[str, ClipKeys], manifest: Manifest,
            texts: Sequence[ClipText], text_todo: Sequence[Clip], outcome: AudioOutcome,
            fresh_audio: set[str], result: PrepareResult, files: ExperimentFiles) -> None:
    """Update the manifest with what this run finished (a stopped run keeps its part)."""
    cleaned = {t.name: t for t in texts}
    redo_text = {c.name for c in text_todo}
    hubert_done = set(outcome.hubert_done)
    for clip in clips:
        entry = manifest.clips.setdefault(clip.name, ClipKeys())
        new = keys[clip.name]
        if clip.name in cleaned:
            entry.text, entry.has_bert = new.text, cleaned[clip.name].needs_bert
            if not entry.has_bert:
                files.bert_file(clip.name).unlink(missing_ok=True)  # GPT training reads it
        elif clip.name in redo_text:
            entry.text = None
        if clip.name in hubert_done:
            entry.audio = new.audio
        elif clip.name in fresh_audio:
            entry.audio = None
        if clip.name in outcome.codes:
            entry.semantic = new.semantic
        elif entry.semantic != new.semantic:
            entry.semantic = None


def _drop_failed(failures: Sequence[ClipFailure], rows: dict[str, str],
                 codes: dict[str, str], manifest: Manifest, files: ExperimentFiles) -> None:
    """A failed clip keeps no stale output of the failed step (training would use it)."""
    for failure in failures:
        entry = manifest.clips.get(failure.name)
        if failure.stage == "text":
            rows.pop(failure.name, None)
            files.bert_file(failure.name).unlink(missing_ok=True)
            if entry is not None:
                entry.text = None
        else:
            codes.pop(failure.name, None)
            if failure.stage == "audio":
                files.hubert_file(failure.name).unlink(missing_ok=True)
                files.wav32k_file(failure.name).unlink(missing_ok=True)
            if entry is not None:
                entry.semantic = None
                if failure.stage == "audio":
                    entry.audio = None


def _remove_gone(keys: dict[str, ClipKeys], manifest: Manifest, files: ExperimentFiles) -> int:
    gone = [name for name in manifest.clips if name not in keys]
    for name in gone:
        for path in (files.bert_file(name), files.hubert_file(name), files.wav32k_file(name)):
            path.unlink(missing_ok=True)
        del manifest.clips[name]
    return len(gone)


def _write_outputs(clips: Sequence[Clip], rows: dict[str, str], codes: dict[str, str],
                   manifest: Manifest, hasher: FileHasher, files: ExperimentFiles) -> None:
    from gsv_core.atomic_write import write_atomically

    order = [c.name for c in clips]
    text = "\n".join(rows[n] for n in order if n in rows) + "\n"
    semantic = "\n".join([SEMANTIC_HEADER, *(codes[n] for n in order if n in codes)]) + "\n"
    for path, content in ((files.name2text, text), (files.name2semantic, semantic)):
        data = content.encode("utf-8")
        if not path.is_file() or path.read_bytes() != data:  # unchanged files keep their time
            write_atomically(path, lambda h, data=data: h.write(data))
    manifest.file_hashes = hasher.used
    manifest.save(files.manifest)
