"""Slice a file or a folder of recordings into 32 kHz mono int16 WAV files, in several processes.

The job behind the Dataset tab's "Slice" button and ``gsv-studio slice``:

- **Inputs**: one file, or a folder searched **recursively** (recordings are often sorted
  into sub-folders) for the suffixes in ``audio_read.AUDIO_SUFFIXES``; hidden files and
  folders (a leading dot) and anything inside the output folder are skipped. Upstream
  reads only the top level of the folder.
- **Names**: upstream's ``<name with its extension>_<start:010d>_<end:010d>.wav``, with the
  offsets in samples at 32 kHz (``tools/slice_audio.py``), all in one flat output folder.
  When two inputs in different sub-folders share a name, the later ones are prefixed with
  their sub-folder path (``sub_dir_name.wav_…``) so that no slice replaces another.
- **Nothing is overwritten**: an output that already exists with the same samples is kept
  and reported ``unchanged`` (a re-run does no harm); one with different contents, e.g. a
  slice the user edited, is left alone and the new slice gets the next free name
  (``…_0000152000-2.wav``), reported ``renamed``.
- **Failures**: a file that cannot be decoded or written, or that holds nothing louder
  than the threshold, is reported in the result and skipped; the others go on (rule X-5).
  ``should_stop`` is asked between files: finished files are kept, files not started are
  listed in ``not_started``.
- **Clean-up first** (optional, off by default; ``CleanupOptions``): vocal separation /
  de-reverb with a local UVR model (``separate.py``) and stationary denoise (``denoise.py``),
  in that order, on each recording before it is cut. The recordings themselves are never
  modified: intermediates live in a hidden work folder inside the output folder, removed
  when the job ends; with ``keep_dir`` the cleaned 32 kHz recording of each input is kept
  there (``<name>_cleaned.wav``). A step that cannot run here at all (library or model
  missing) is skipped for the whole job with a notice in the result saying why and how to
  enable it; a step that fails on one recording fails that recording only (X-5).
- **Processes**: files are spread over ``workers`` processes (spawned, not forked: the
  web UI runs threads, and forking a threaded process can deadlock; a spawned worker
  re-imports the ``__main__`` script, so a job started from ``webui.py`` pays its imports
  once per worker). One worker, or one file, runs in this process.
"""

from __future__ import annotations

import concurrent.futures as futures
import logging
import multiprocessing
import os
import shutil
import tempfile
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import soundfile

from gsv_core.atomic_write import write_atomically
from gsv_core.audio import MAX_WAV_VALUE, SAMPLE_RATE
from gsv_core.dataset.audio_read import AUDIO_SUFFIXES, read_mono
from gsv_core.dataset.denoise import DEFAULT_STRENGTH, DenoiseOptions, denoise, denoise_status
from gsv_core.dataset.quality_measures import (
    clipped_fraction,
    integrated_lufs,
    is_clipped,
    loudness_outliers,
)
from gsv_core.dataset.separate import separate_vocals, separation_status
from gsv_core.dataset.slicer import (
    SlicerOptions,
    find_slices,
    normalize_slice,
)
from gsv_core.errors import ConfigError, DatasetError, GsvError
from gsv_core.workspace import Workspace

__all__ = [
    "CleanupOptions",
    "FileFailure",
    "SliceJobResult",
    "WrittenSlice",
    "collect_inputs",
    "default_cleaned_dir",
    "default_output_dir",
    "slice_audio",
    "slice_name",
]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
SliceStatus = Literal["written", "unchanged", "renamed"]
INT16_FULL_SCALE = MAX_WAV_VALUE - 1  # 32767: +1.0 must not wrap to -32768
MAX_RENAMES = 1000  # "-2" … "-1000": past that, something is wrong with the folder
WORK_PREFIX = ".gsv-cleanup-"  # the hidden work folder inside the output folder
CLEANED_SUFFIX = "_cleaned"    # a kept cleaned recording: <name>_cleaned.wav


@dataclass(frozen=True)
class CleanupOptions:
    """Optional clean-up of each recording before it is cut; everything off by default.

    Validated on construction (a ConfigError naming the field). Whether the steps can run
    here is checked when the job starts (``slice_audio``), not here.
    """

    denoise: bool = False
    denoise_strength: float = DEFAULT_STRENGTH  # share of the noise removed, 0.1-1 (denoise.py)
    separate_model: Path | None = None  # a UVR/MDX/Roformer model file; None: no separation
    keep_dir: Path | None = None        # keep the cleaned recordings here; None: remove them

    def __post_init__(self) -> None:
        DenoiseOptions(self.denoise_strength)  # validates the strength
        for name in ("separate_model", "keep_dir"):
            value = getattr(self, name)
            if value is not None and not str(value).strip():
                value = None
            object.__setattr__(self, name, None if value is None else Path(str(value).strip()))

    @property
    def active(self) -> bool:
        return self.denoise or self.separate_model is not None


@dataclass(frozen=True)
class WrittenSlice:
    """One slice in the output folder; offsets are samples at 32 kHz in the decoded source."""

    path: Path
    source: Path
    start_sample: int
    end_sample: int
    status: SliceStatus  # written now / identical file already there / written under a new name

    @property
    def duration_s(self) -> float:
        return (self.end_sample - self.start_sample) / SAMPLE_RATE


@dataclass(frozen=True)
class FileFailure:
    """An input that was skipped, with what happened and what to do (X-5)."""

    source: Path
    message: str
    advice: str = ""
    details: str = ""


@dataclass(frozen=True)
class SliceJobResult:
    """What a slicing job did; ``ok`` when every input was sliced."""

    output_dir: Path
    slices: tuple[WrittenSlice, ...] = ()
    failures: tuple[FileFailure, ...] = ()
    not_started: tuple[Path, ...] = ()  # left when should_stop() said so
    audio_s: float = 0.0                # seconds of input audio decoded
    stopped: bool = False
    notices: tuple[str, ...] = ()       # clean-up steps skipped for the whole job, and why
    cleaned: tuple[Path, ...] = ()      # cleaned recordings kept (CleanupOptions.keep_dir)
    warnings: tuple[str, ...] = ()      # sliced, but the recording has a problem (clipping,
                                        # loudness far from the other recordings')

    @property
    def ok(self) -> bool:
        return not self.failures and not self.not_started


@dataclass(frozen=True)
class _FileOutcome:
    """What one worker sends back for one input (picklable)."""

    source: Path
    slices: tuple[WrittenSlice, ...] = ()
    audio_s: float = 0.0
    failure: FileFailure | None = None
    cleaned: Path | None = None
    warning: str | None = None
    lufs: float | None = None   # the recording's loudness before its slices are normalised


@dataclass(frozen=True)
class _Task:
    source: Path
    name: str      # the name slices are called after (usually the file name)
    output_dir: Path
    options: SlicerOptions = field(default_factory=SlicerOptions)
    cleanup: CleanupOptions = field(default_factory=CleanupOptions)
    work_dir: Path | None = None   # the job's folder for intermediates (separation)
    work_name: str = ""            # this file's intermediates are named after it there


def default_output_dir(workspace: Workspace, input_path: str | os.PathLike[str]) -> Path:
    """``output/slicer_opt/<input name>/``: the folder's name, or the file's name without
    its extension."""
    path = Path(os.path.abspath(input_path))
    name = path.name if path.is_dir() else path.stem
    if not name:
        raise ConfigError(f"Cannot name an output folder after {str(path)!r}.",
                          "Choose a folder or file inside the drive, not its root.")
    return workspace.slicer_dir / name


def default_cleaned_dir(workspace: Workspace, input_path: str | os.PathLike[str]) -> Path:
    """``output/cleanup_opt/<input name>/``: where cleaned recordings are kept when asked."""
    return workspace.output_dir / "cleanup_opt" / default_output_dir(workspace, input_path).name


def collect_inputs(input_path: str | os.PathLike[str]) -> list[Path]:
    """The recordings to slice: the file itself, or the audio files under the folder
    (recursive, sorted, hidden entries skipped).

    Raises:
        ConfigError: the path does not exist, or the folder holds no audio file.
    """
    path = Path(input_path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigError(f"The input {str(path)!r} does not exist.",
                          "Give an audio file or a folder of recordings.")
    found = []
    for folder, subfolders, files in os.walk(path):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        found.extend(Path(folder) / name for name in sorted(files)
                      if not name.startswith(".") and Path(name).suffix.lower() in AUDIO_SUFFIXES)
    if not found:
        raise ConfigError(f"The folder {str(path)!r} holds no audio file.",
                          "Audio files end in " + ", ".join(AUDIO_SUFFIXES) + ".")
    return found


def slice_name(name: str, start_sample: int, end_sample: int, copy: int = 1) -> str:
    """Upstream's slice file name; ``copy`` > 1 gives the free name used when an older,
    different file holds the plain one."""
    suffix = "" if copy == 1 else f"-{copy}"
    return f"{name}_{start_sample:010d}_{end_sample:010d}{suffix}.wav"


def _names(sources: Sequence[Path], root: Path | None) -> list[str]:
    """Name each input after its file name; a name already taken by an earlier input (the
    same file name in another sub-folder) is prefixed with its sub-folder path."""
    names, taken = [], set()
    for source in sources:
        name = source.name
        if name in taken and root is not None:
            name = "_".join(source.relative_to(root).parts)
        while name in taken:  # still taken: a real file had that prefixed name
            name = "_" + name
        taken.add(name)
        names.append(name)
    return names


def _to_int16(chunk: np.ndarray) -> np.ndarray:
    return np.round(np.clip(chunk, -1.0, 1.0) * INT16_FULL_SCALE).astype(np.int16)


def _same_audio(path: Path, samples: np.ndarray) -> bool:
    """Whether ``path`` already holds exactly these int16 samples at 32 kHz mono."""
    try:
        info = soundfile.info(os.fspath(path))
        if (info.samplerate, info.channels, info.frames) != (SAMPLE_RATE, 1, samples.shape[0]):
            return False
        existing, _ = soundfile.read(os.fspath(path), dtype="int16")
    except (soundfile.SoundFileError, RuntimeError, OSError):
        return False  # unreadable: certainly not ours, and not to be touched
    return bool(np.array_equal(existing, samples))


def _write_slice(folder: Path, name: str, start: int, end: int,
                 samples: np.ndarray) -> tuple[Path, SliceStatus]:
    """Write ``samples`` under the first free name, or find them already there."""

    def write(handle: BinaryIO) -> None:
        soundfile.write(handle, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")

    for copy in range(1, MAX_RENAMES + 1):
        path = folder / slice_name(name, start, end, copy)
        if path.exists():
            if _same_audio(path, samples):
                return path, "unchanged"
            continue
        try:
            write_atomically(path, write, replace_existing=False)
        except FileExistsError:  # made meanwhile by someone else: look at it again
            if _same_audio(path, samples):
                return path, "unchanged"
            continue
        return path, "written" if copy == 1 else "renamed"
    raise DatasetError(f"{MAX_RENAMES} different files already use the name "
                       f"{slice_name(name, start, end)!r} in {str(folder)!r}.",
                       "Slice into an empty folder.")


def _free_path(folder: Path, stem: str) -> Path:
    """``folder/stem.wav``, or ``stem-2.wav`` … when a file already has the name."""
    for copy in range(1, MAX_RENAMES + 1):
        path = folder / (f"{stem}.wav" if copy == 1 else f"{stem}-{copy}.wav")
        if not path.exists():
            return path
    raise DatasetError(f"{MAX_RENAMES} files already use the name {stem + '.wav'!r} in "
                       f"{str(folder)!r}.", "Keep the cleaned recordings in an empty folder.")


def _keep_cleaned(task: _Task, audio: np.ndarray) -> Path:
    """Write the cleaned recording into ``keep_dir`` under a free name (nothing replaced)."""
    samples = _to_int16(audio)

    def write(handle: BinaryIO) -> None:
        soundfile.write(handle, samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")

    folder = task.cleanup.keep_dir
    assert folder is not None
    for _ in range(3):  # another job may take the free name between the look and the write
        path = _free_path(folder, task.name + CLEANED_SUFFIX)
        try:
            write_atomically(path, write, replace_existing=False)
            return path
        except FileExistsError:
            continue
    raise DatasetError(f"Cannot find a free name for {task.name + CLEANED_SUFFIX!r} in "
                       f"{str(folder)!r}.", "Keep the cleaned recordings in an empty folder.")


def _read_cleaned(task: _Task) -> tuple[np.ndarray, Path | None]:
    """The recording as the slicer cuts it: decoded to 32 kHz mono, then (when asked) its
    voice separated and its noise reduced. Returns the audio and the kept cleaned file."""
    cleanup = task.cleanup
    if cleanup.separate_model is None:
        audio = read_mono(task.source, SAMPLE_RATE)
    else:
        assert task.work_dir is not None
        try:
            voice = separate_vocals(task.source, cleanup.separate_model, task.work_dir,
                                    task.work_name)
            audio = read_mono(voice, SAMPLE_RATE)
        finally:  # the stems of an hour of audio are gigabytes: gone before the next file
            for stem in task.work_dir.glob(f"{task.work_name}.*"):
                stem.unlink(missing_ok=True)
    if cleanup.denoise and audio.shape[0]:
        audio = denoise(audio, SAMPLE_RATE, DenoiseOptions(cleanup.denoise_strength))
    kept = (_keep_cleaned(task, audio)
            if cleanup.keep_dir is not None and cleanup.active and audio.shape[0] else None)
    return audio, kept


def _clipping_warning(source: Path, audio: np.ndarray) -> str | None:
    """Why a clipped recording deserves a look, or None (Q-1's clipping check).

    Slicing peak-normalises every slice (as upstream), which brings clipped tops below full
    scale: the quality report of the slices cannot see the clipping any more, so it is
    reported here, on the recording itself, before its slices are normalised.
    """
    fraction = clipped_fraction(audio)
    if not is_clipped(fraction):
        return None
    return (f"{source.name}: {100 * fraction:.2f} % of its samples are clipped (at full "
            "scale). Its slices are normalised, so the quality report cannot show it; record "
            "it again at a lower level if you can, or leave its slices out.")


def _loudness_warnings(outcomes: Sequence[_FileOutcome]) -> list[str]:
    """A warning for each recording whose loudness is far from the others' (Q-1's uniform
    loudness, the quality report's ``loudness_outlier`` comparison).

    Peak normalisation brings each slice near the same peak, so a recording much quieter
    (or louder) than the rest loses most of that difference in its slices: the report of
    the slices no longer sees it, and it is told here, from the recordings before slicing.
    """
    sliced = [outcome for outcome in outcomes if outcome.failure is None]
    median, outliers = loudness_outliers([outcome.lufs for outcome in sliced])
    warnings = []
    for outcome, outlier in zip(sliced, outliers, strict=True):
        if not outlier or outcome.lufs is None or median is None:
            continue
        gap = outcome.lufs - median
        how, why = (("quieter", "a much quieter recording is often distant or noisy: ")
                    if gap < 0 else ("louder", ""))
        warnings.append(
            f"{outcome.source.name}: {abs(gap):.1f} dB {how} than the median recording "
            f"({outcome.lufs:.1f} vs {median:.1f} LUFS). Its slices are normalised, so the "
            f"quality report cannot show it; {why}listen to its slices, record it again if "
            "you can, or leave them out.")
    return warnings


def _slice_one(task: _Task) -> _FileOutcome:
    """Decode, cut, normalise and write one input. Never raises: a failure is reported, so
    that one bad file cannot stop the batch (X-5)."""
    try:
        audio, kept = _read_cleaned(task)
        if audio.shape[0] == 0:
            raise DatasetError(f"{str(task.source)!r} holds no audio samples.",
                               "Check the recording; it is empty.")
        cuts = find_slices(audio, SAMPLE_RATE, task.options)
        if not cuts:
            raise DatasetError(
                f"{str(task.source)!r} has no sound louder than the silence threshold "
                f"({task.options.threshold_db:g} dB).",
                "Check the recording; if it is just quiet, lower threshold_db (e.g. -45).")
        warning = _clipping_warning(task.source, audio)
        written = []
        for start, end in cuts:
            samples = _to_int16(normalize_slice(audio[start:end], task.options))
            path, status = _write_slice(task.output_dir, task.name, start, end, samples)
            written.append(WrittenSlice(path, task.source, start, end, status))
        return _FileOutcome(task.source, tuple(written), audio.shape[0] / SAMPLE_RATE,
                            cleaned=kept, warning=warning,
                            lufs=integrated_lufs(audio, SAMPLE_RATE))
    except GsvError as exc:
        failure = FileFailure(task.source, exc.message, exc.advice, exc.details)
    except OSError as exc:  # disk full, permissions: this file is lost, the others may not be
        failure = FileFailure(task.source, f"Cannot write the slices of {str(task.source)!r}: "
                              f"{exc.strerror or exc}.", "Check free disk space and that the "
                              "output folder is writable.", details=repr(exc))
    except Exception as exc:  # a bug must not cost the other files; it is logged
        failure = FileFailure(task.source, f"Unexpected error while slicing "
                              f"{str(task.source)!r}: {exc!r}.", "This is a bug; please report "
                              "it with the log.", details=traceback.format_exc())
        logger.error("slicing %s failed unexpectedly:\n%s", task.source, failure.details)
    return _FileOutcome(task.source, failure=failure)


def slice_audio(input_path: str | os.PathLike[str], output_dir: str | os.PathLike[str],
                options: SlicerOptions | None = None, *, workers: int | None = None,
                progress: Progress | None = None,
                should_stop: Callable[[], bool] | None = None,
                cleanup: CleanupOptions | None = None) -> SliceJobResult:
    """Slice a recording or a folder of recordings into ``output_dir``.

    Args:
        input_path: an audio file, or a folder searched recursively.
        output_dir: where the slices go (created); ``default_output_dir`` gives the usual.
        options: the slicer settings; upstream's web UI defaults when None.
        workers: processes; None means one per CPU core, at most one per file (one in all
            with vocal separation: the model runs its own threads, and each process would
            load its own copy). Each holds one decoded file (about 0.46 GB per hour).
        progress: ``progress(done, total, message)`` after each file (and once at 0).
        should_stop: asked between files; True leaves the rest in ``not_started``.
        cleanup: separation / denoise before cutting; off when None. A step that cannot
            run here is left out, with a notice in the result (``notices``).

    Raises:
        ConfigError: bad arguments (no input, workers < 1);
            raised before any file is touched. Per-file problems are in the result instead.
    """
    options = options or SlicerOptions()
    cleanup, notices = _runnable_cleanup(cleanup or CleanupOptions())
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ConfigError(f"Slicer setting workers: {workers!r} is not a whole number >= 1.",
                          "Use 1 per CPU core, or leave it empty.")
    out = Path(os.path.abspath(output_dir))
    # An output folder inside the input folder must not feed earlier slices back in (nor
    # cleaned recordings kept inside it).
    skipped = [out] + ([Path(os.path.abspath(cleanup.keep_dir))] if cleanup.keep_dir else [])
    sources = [source for source in collect_inputs(input_path)
               if not any(Path(os.path.abspath(source)).is_relative_to(f) for f in skipped)]
    if not sources:
        raise ConfigError(f"The only audio under {str(input_path)!r} is in the output folder "
                          f"{str(out)!r}.", "Choose another input or output folder.")
    out.mkdir(parents=True, exist_ok=True)
    if cleanup.keep_dir is not None and cleanup.active:
        cleanup.keep_dir.mkdir(parents=True, exist_ok=True)
    work = (Path(tempfile.mkdtemp(prefix=WORK_PREFIX, dir=out))
            if cleanup.separate_model is not None else None)
    root = Path(input_path) if Path(input_path).is_dir() else None
    tasks = [_Task(source, name, out, options, cleanup, work, f"{number:06d}")
             for number, (source, name) in enumerate(zip(sources, _names(sources, root),
                                                          strict=True))]
    default_count = 1 if cleanup.separate_model is not None else os.cpu_count() or 1
    count = min(workers or default_count, len(tasks))
    report = progress or (lambda done, total, message: None)
    stop = should_stop or (lambda: False)
    for notice in notices:
        report(0, len(tasks), notice)
    report(0, len(tasks), f"Slicing {len(tasks)} file(s) with {count} process(es)"
           + _cleanup_words(cleanup))
    try:
        if count == 1:
            outcomes, not_started = _run_here(tasks, report, stop)
        else:
            outcomes, not_started = _run_pool(tasks, count, report, stop)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    order = {task.source: number for number, task in enumerate(tasks)}
    outcomes.sort(key=lambda outcome: order[outcome.source])
    return SliceJobResult(
        output_dir=out,
        slices=tuple(s for outcome in outcomes for s in outcome.slices),
        failures=tuple(o.failure for o in outcomes if o.failure is not None),
        not_started=tuple(not_started),
        audio_s=sum(o.audio_s for o in outcomes),
        stopped=bool(not_started),
        notices=notices,
        cleaned=tuple(o.cleaned for o in outcomes if o.cleaned is not None),
        warnings=(*(o.warning for o in outcomes if o.warning is not None),
                  *_loudness_warnings(outcomes)),
    )


def _runnable_cleanup(cleanup: CleanupOptions) -> tuple[CleanupOptions, tuple[str, ...]]:
    """``cleanup`` without the steps that cannot run here, and a notice for each of them
    ("… skipped: <why>; to enable: <what to do>"). Checks files and packages only: no model
    is loaded and nothing is downloaded."""
    notices = []
    if cleanup.separate_model is not None:
        status = separation_status(cleanup.separate_model)
        if not status.available:
            notices.append(status.message)
            cleanup = replace(cleanup, separate_model=None)
    if cleanup.denoise:
        available, why = denoise_status()
        if not available:
            notices.append(why)
            cleanup = replace(cleanup, denoise=False)
    return cleanup, tuple(notices)


def _cleanup_words(cleanup: CleanupOptions) -> str:
    steps = ((["vocal separation"] if cleanup.separate_model is not None else [])
             + ([f"denoise {cleanup.denoise_strength:g}"] if cleanup.denoise else []))
    return f", after {' and '.join(steps)}" if steps else ""


def _describe(outcome: _FileOutcome) -> str:
    if outcome.failure is not None:
        return f"{outcome.source.name}: FAILED: {outcome.failure.message}"
    return f"{outcome.source.name}: {len(outcome.slices)} slice(s)"


def _run_here(tasks: list[_Task], report: Progress,
              stop: Callable[[], bool]) -> tuple[list[_FileOutcome], list[Path]]:
    outcomes: list[_FileOutcome] = []
    for number, task in enumerate(tasks):
        if stop():
            return outcomes, [t.source for t in tasks[number:]]
        outcomes.append(_slice_one(task))
        report(len(outcomes), len(tasks), _describe(outcomes[-1]))
    return outcomes, []


def _run_pool(tasks: list[_Task], count: int, report: Progress,
              stop: Callable[[], bool]) -> tuple[list[_FileOutcome], list[Path]]:
    outcomes: list[_FileOutcome] = []
    not_started: list[Path] = []
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        pending = {pool.submit(_slice_one, task): task for task in tasks}
        while pending:
            if stop():  # before each wait, so a stop asked at once cancels all it can
                for future, task in list(pending.items()):
                    if future.cancel():
                        not_started.append(task.source)
                        del pending[future]
                if not pending:
                    break
            finished, _ = futures.wait(pending, timeout=0.5,
                                       return_when=futures.FIRST_COMPLETED)
            for future in finished:
                task = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool as exc:  # the worker died (killed, out of memory)
                    outcome = _FileOutcome(task.source, failure=FileFailure(
                        task.source, f"The process slicing {str(task.source)!r} died.",
                        "It may have run out of memory: slice with fewer workers, or split "
                        "the recording.", details=repr(exc)))
                outcomes.append(outcome)
                report(len(outcomes), len(tasks), _describe(outcome))
    order = {task.source: number for number, task in enumerate(tasks)}
    return outcomes, sorted(not_started, key=order.__getitem__)
