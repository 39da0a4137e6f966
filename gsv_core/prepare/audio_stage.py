"""The device half of formatting: ``4-cnhubert``, ``5-wav32k`` and the semantic codes.

One call handles the clips given to one device; :mod:`gsv_core.prepare.run` calls it in
process for one device and in one spawned worker per device for several. Clips are read
and normalised on CPU threads one batch ahead of the GPU (soundfile and soxr release the
GIL), batched by length (``hubert_batch.length_batches``), and each batch goes through
HuBERT then straight on to the SoVITS quantiser, so features are never all held in memory.
The feature files and 5-wav32k clips are written on writer threads while the GPU goes on
with the next batch (at most two batches of writes in flight); a clip counts as done once
its files are on disk.

Half-precision HuBERT output with NaNs is computed again in fp32 (upstream retries those at
the end); NaN is never written. Outputs are written through ``feature_files``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import torch

from gsv_core.audio import HUBERT_HOP_LENGTH, HUBERT_SAMPLE_RATE
from gsv_core.errors import GsvError
from gsv_core.prepare.audio_step import PreparedAudio, prepare_audio
from gsv_core.prepare.feature_files import save_tensor, save_wav
from gsv_core.prepare.hubert_batch import (
    hubert_hidden_batch,
    length_batches,
    semantic_codes_batch,
)
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.prepare.outcome import ClipFailure, timed

__all__ = ["AudioOutcome", "AudioTask", "DeviceModels", "run_audio_stage"]

Progress = Callable[[int, str], None]   # (clips finished since the last call, message)

_READ_THREADS = 4
_WRITE_THREADS = 2
_WRITES_IN_FLIGHT = 2   # batches whose files may still be being written


@dataclass(frozen=True)
class AudioTask:
    """One clip for the device: recompute HuBERT and 5-wav32k (``hubert``) or only its codes."""

    name: str
    audio_path: str
    line_number: int
    hubert: bool
    seconds: float = 0.0   # from the header, for batching; 0 when unknown


@dataclass(frozen=True)
class DeviceModels:
    """Where the models are and how to run them (picklable: sent to worker processes)."""

    hubert_dir: str
    sovits_path: str
    device: str
    dtype: str          # "float16" or "float32"
    batch_seconds: float


@dataclass
class AudioOutcome:
    codes: dict[str, str] = field(default_factory=dict)   # name -> "12 7 1001 …"
    hubert_done: list[str] = field(default_factory=list)
    failures: list[ClipFailure] = field(default_factory=list)
    stopped: bool = False
    seconds: dict[str, float] = field(default_factory=dict)   # per phase (outcome.timed)


class _Models:
    def __init__(self, spec: DeviceModels) -> None:
        from gsv_core.features import HubertFeatures
        from gsv_core.models.checkpoint import load_sovits

        self.device = torch.device(spec.device)
        self.dtype = getattr(torch, spec.dtype)
        self.hubert = HubertFeatures.load(spec.hubert_dir, self.device, self.dtype).model
        self.sovits = load_sovits(spec.sovits_path, self.device, self.dtype)
        self._hubert_fp32: torch.nn.Module | None = None

    def hubert_fp32(self) -> torch.nn.Module:
        if self._hubert_fp32 is None:
            self._hubert_fp32 = (self.hubert if self.dtype == torch.float32
                                 else copy.deepcopy(self.hubert).float())
        return self._hubert_fp32


def _read(task: AudioTask) -> PreparedAudio:
    return prepare_audio(task.audio_path)


def run_audio_stage(tasks: Sequence[AudioTask], files: ExperimentFiles, spec: DeviceModels,
                    *, progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> AudioOutcome:
    """HuBERT, 5-wav32k and semantic codes of ``tasks`` on ``spec.device``."""
    outcome = AudioOutcome()
    if not tasks:
        return outcome
    files.hubert_dir.mkdir(parents=True, exist_ok=True)
    files.wav32k_dir.mkdir(parents=True, exist_ok=True)
    from gsv_core.features import MODEL_LOAD_LOCK

    with timed(outcome.seconds, "audio models load"), MODEL_LOAD_LOCK:  # BERT may be loading
        models = _Models(spec)
    max_padded = max(1, int(spec.batch_seconds * HUBERT_SAMPLE_RATE))
    fresh = [t for t in tasks if t.hubert]
    batches = [[fresh[i] for i in b] for b in length_batches(
        [int(t.seconds * HUBERT_SAMPLE_RATE) or max_padded for t in fresh], max_padded)]
    writes = _Writes(files, outcome)
    with ThreadPoolExecutor(_READ_THREADS) as pool, writes:
        pending: list[list[Future[PreparedAudio]]] = []
        for index, batch in enumerate(batches):
            while len(pending) <= index + 1 and len(pending) < len(batches):
                pending.append([pool.submit(_read, t) for t in batches[len(pending)]])
            if should_stop is not None and should_stop():
                for futures in pending[index:]:
                    for future in futures:
                        future.cancel()
                outcome.stopped = True
                break
            _hubert_batch(models, batch, pending[index], writes, outcome)
            if progress is not None:
                progress(len(batch), f"HuBERT and semantic codes: {batch[-1].name}")
    if outcome.stopped:
        return outcome
    _semantic_only(models, [t for t in tasks if not t.hubert], files, outcome, progress,
                   should_stop, max_padded)
    return outcome


class _Writes:
    """The 4-cnhubert and 5-wav32k files of each batch, written on threads.

    Leaving the ``with`` block waits for every write; a clip is added to
    ``outcome.hubert_done`` only when both its files were written, and a write that failed
    (a full disk) is that clip's failure, its code dropped with it.
    """

    def __init__(self, files: ExperimentFiles, outcome: AudioOutcome) -> None:
        self._files, self._outcome = files, outcome
        self._pool = ThreadPoolExecutor(_WRITE_THREADS, thread_name_prefix="prepare-write")
        self._batches: list[list[tuple[AudioTask, Future[None]]]] = []

    def __enter__(self) -> _Writes:
        return self

    def __exit__(self, *exc_info: object) -> None:
        while self._batches:
            self._finish(self._batches.pop(0))
        self._pool.shutdown()

    def submit(self, kept: Sequence[tuple[AudioTask, PreparedAudio, torch.Tensor]]) -> None:
        while len(self._batches) >= _WRITES_IN_FLIGHT:
            self._finish(self._batches.pop(0))
        files = self._files
        self._batches.append([(task, self._pool.submit(_write_clip, files, task, audio,
                                                       feature))
                              for task, audio, feature in kept])

    def _finish(self, batch: list[tuple[AudioTask, Future[None]]]) -> None:
        outcome = self._outcome
        with timed(outcome.seconds, "audio write (waited)"):
            for task, future in batch:
                try:
                    future.result()
                except OSError as exc:
                    outcome.failures.append(ClipFailure(task.line_number, task.name, "audio",
                                                        f"cannot write its features: {exc}"))
                    outcome.codes.pop(task.name, None)
                    continue
                outcome.hubert_done.append(task.name)


def _write_clip(files: ExperimentFiles, task: AudioTask, audio: PreparedAudio,
                feature: torch.Tensor) -> None:
    save_wav(audio.wav32k, files.wav32k_file(task.name))
    save_tensor(feature, files.hubert_file(task.name))


def _hubert_batch(models: _Models, batch: Sequence[AudioTask],
                  futures: Sequence[Future[PreparedAudio]], writes: _Writes,
                  outcome: AudioOutcome) -> None:
    ready: list[tuple[AudioTask, PreparedAudio]] = []
    for task, future in zip(batch, futures, strict=True):
        try:
            with timed(outcome.seconds, "audio read (waited)"):
                audio = future.result()
            ready.append((task, audio))
        except GsvError as exc:
            outcome.failures.append(ClipFailure(task.line_number, task.name, "audio",
                                                f"{exc.message} {exc.advice}".strip()))
        except (OSError, ValueError, RuntimeError) as exc:
            outcome.failures.append(ClipFailure(task.line_number, task.name, "audio",
                                                f"cannot read the audio: {exc}"))
    if not ready:
        return
    waves = [torch.from_numpy(audio.hubert_16k) for _, audio in ready]
    with timed(outcome.seconds, "HuBERT"):
        features = hubert_hidden_batch(models.hubert, waves)
        nan = [bool(torch.isnan(feature).any()) for feature in features]
    for i, feature in enumerate(features):
        if nan[i]:  # fp16 overflow: recompute alone in fp32, as upstream
            feature = hubert_hidden_batch(models.hubert_fp32(), [waves[i]])[0]
            if torch.isnan(feature).any():
                task = ready[i][0]
                outcome.failures.append(ClipFailure(
                    task.line_number, task.name, "audio",
                    "HuBERT features came out NaN even in fp32."))
                features[i] = None  # type: ignore[call-overload]
                continue
            features[i] = feature.to(models.dtype)
    kept = [(task, audio, feature) for (task, audio), feature in zip(ready, features,
                                                                     strict=True)
            if feature is not None]
    writes.submit(kept)
    with timed(outcome.seconds, "semantic codes"):
        codes = semantic_codes_batch(models.sovits, [f for _, _, f in kept])
        for (task, _, _), code in zip(kept, codes, strict=True):
            outcome.codes[task.name] = " ".join(str(c) for c in code.tolist())


def _semantic_only(models: _Models, tasks: Sequence[AudioTask], files: ExperimentFiles,
                   outcome: AudioOutcome, progress: Progress | None,
                   should_stop: Callable[[], bool] | None, max_padded: int) -> None:
    """Codes from HuBERT files already on disk (only the SoVITS model changed)."""
    loaded: list[tuple[AudioTask, torch.Tensor]] = []
    for task in tasks:
        try:
            feature = torch.load(files.hubert_file(task.name), map_location="cpu",
                                 weights_only=True)
        except (OSError, RuntimeError, ValueError) as exc:
            outcome.failures.append(ClipFailure(task.line_number, task.name, "semantic",
                                                f"cannot read its HuBERT file: {exc}"))
            continue
        loaded.append((task, feature))
    for batch in length_batches([f.shape[-1] for _, f in loaded],
                                max_padded // HUBERT_HOP_LENGTH or 1):
        if should_stop is not None and should_stop():
            outcome.stopped = True
            return
        chosen = [loaded[i] for i in batch]
        with timed(outcome.seconds, "semantic codes"):
            codes = semantic_codes_batch(models.sovits,
                                         [f.to(models.dtype) for _, f in chosen])
            for (task, _), code in zip(chosen, codes, strict=True):
                outcome.codes[task.name] = " ".join(str(c) for c in code.tolist())
        if progress is not None:
            progress(len(chosen), f"semantic codes: {chosen[-1][0].name}")
