"""Starting training jobs, finding them again, and one GPU job per card (issue 11 item 4).

:func:`start_training` is what the Training tab (and anything else that trains in the
background) calls: it checks that the experiment is formatted for each model, takes the
cards' locks, and starts ``gsv_core.train.job:run_training`` through :mod:`gsv_core.jobs`
with ``CUDA_VISIBLE_DEVICES`` limited to the cards of the run. :func:`find_training` and
:func:`running_trainings` find the jobs again after a reload or a restart of the app.

The lock: one file per card, ``<workspace>/output/locks/gpu-<index>.lock``, holding the
owner job's folder, its supervisor's pid and that process's create time. A card is busy
while that process (or the job's worker) verifiably lives: the check is
:meth:`gsv_core.jobs.JobHandle.is_running`, the same pid-and-create-time test the job
machinery uses, so a reused pid never keeps a card locked. A lock whose owner is gone (the
job ended, was killed with ``kill -9``, the machine restarted) is stale and simply taken
over. The check-and-take runs under a short file lock (``locks/.guard``, through the
``filelock`` package torch already depends on), so two browser sessions or two processes
pressing Start at once cannot both take a card. CPU runs take no card lock; two runs of the
same model of one experiment are refused whatever the device (they would write the same
files).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import filelock

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import ConfigError, DatasetError, HardwareError
from gsv_core.guidelines import DatasetSummary
from gsv_core.job_watch import find_job, running_jobs
from gsv_core.jobs import JobHandle, jobs_folder, start_job
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.workspace import Workspace

__all__ = [
    "JOB_LABEL",
    "LOCK_FOLDER",
    "TRAIN_TARGET",
    "check_formatted",
    "experiment_dataset",
    "find_training",
    "gpu_lock_owner",
    "gpu_lock_path",
    "hold_gpu_locks",
    "release_gpu_locks",
    "running_trainings",
    "start_gpu_job",
    "start_training",
]

logger = logging.getLogger(__name__)

TRAIN_TARGET = "gsv_core.train.job:run_training"
JOB_LABEL = "Training"
LOCK_FOLDER = "locks"
_GUARD_TIMEOUT_S = 30.0  # the guard is held for milliseconds; this only ends a deadlock
_P95 = 0.95


# --- the experiment ---------------------------------------------------------------------------

def check_formatted(workspace: Workspace, experiment: str, kind: str) -> ExperimentFiles:
    """The experiment's files, checked for what ``kind`` trains on (``3-bert/`` is optional:
    only Mandarin clips have BERT features, as upstream).

    Raises:
        ConfigError: the name cannot be a folder (X-1).
        DatasetError: the experiment is not formatted (the missing files named).
    """
    files = ExperimentFiles.of(workspace, experiment)
    needed = ([files.name2text, files.hubert_dir, files.wav32k_dir] if kind == "sovits"
              else [files.name2text, files.name2semantic])
    missing = [path.name for path in needed if not path.exists()]
    if missing:
        raise DatasetError(f"The experiment {experiment!r} is not formatted for "
                           f"{'SoVITS' if kind == 'sovits' else 'GPT'} training: "
                           f"{', '.join(missing)} missing in {files.folder}.",
                           "Format it first (Dataset tab, 6. Format for training, or "
                           "gsv-studio prepare --list LIST --exp NAME).")
    return files


def experiment_dataset(workspace: Workspace, experiment: str) -> DatasetSummary:
    """The dataset facts the guidelines need, measured on the formatted experiment: the clips
    of ``2-name2text.txt`` that have their ``5-wav32k/`` audio, their total length and 95th
    percentile (read from the WAV headers, no decoding). Quality and proofreading are not
    known from these files: "unknown" and 0 (the rules stay on the safe side; a quality
    report can say more, see ``gsv-studio train --dataset-report``). An experiment without
    those files gives the defaults (nothing measured)."""
    import soundfile

    files = ExperimentFiles.of(workspace, experiment)
    try:
        lines = files.name2text.read_text(encoding="utf-8").splitlines()
    except OSError:
        return DatasetSummary()
    names = {line.split("\t", 1)[0] for line in lines if line.strip()}
    durations = []
    for name in sorted(names):
        try:
            info = soundfile.info(str(files.wav32k_file(name)))
        except (OSError, RuntimeError):  # soundfile raises LibsndfileError (a RuntimeError)
            continue
        if info.samplerate > 0:
            durations.append(info.frames / info.samplerate)
    if not durations:
        return DatasetSummary()
    durations.sort()
    p95 = durations[min(len(durations) - 1, math.ceil(_P95 * len(durations)) - 1)]
    return DatasetSummary(total_duration_s=sum(durations), p95_slice_s=p95,
                          clip_count=len(durations))


# --- the card locks ---------------------------------------------------------------------------

def gpu_lock_path(workspace: Workspace, index: int) -> Path:
    """``<workspace>/output/locks/gpu-<index>.lock``."""
    return workspace.output_dir / LOCK_FOLDER / f"gpu-{int(index)}.lock"


def _read_lock(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # damaged: nobody can own it
        logger.warning("%s is unreadable (%s): treated as stale", path, exc)
        return None
    return data if isinstance(data, dict) else None


def _owner_alive(record: dict[str, Any], lock: Path) -> bool:
    """The lock's owner still runs: the job's supervisor or worker (a command-line run has
    no job folder: its own process), by pid and create time."""
    spec = {"target": TRAIN_TARGET, "pid": record.get("pid"),
            "create_time": record.get("create_time")}
    # Without a job folder: a path that never exists, so there is no worker to look for.
    job_dir = record.get("job_dir") or lock.with_name(lock.name + ".no-job")
    return JobHandle(Path(str(job_dir)), spec).is_running()


def gpu_lock_owner(workspace: Workspace, index: int) -> dict[str, Any] | None:
    """The live owner of card ``index`` (``job_dir``, ``job_id``, ``experiment``, ``kinds``,
    ``pid``, ``create_time``), or None when the card is free (no lock, or a stale one)."""
    path = gpu_lock_path(workspace, index)
    record = _read_lock(path)
    return record if record is not None and _owner_alive(record, path) else None


def _busy_error(index: int, record: dict[str, Any]) -> HardwareError:
    kinds = " then ".join(str(k) for k in record.get("kinds") or ()) or "training"
    return HardwareError(f"GPU {index} is in use by the job {record.get('job_id')!r} "
                         f"({kinds} of the experiment {record.get('experiment')!r}).",
                         "One training job per card: wait for it to end, stop it, or choose "
                         "another GPU.", rule="H-3")


def _guard(workspace: Workspace) -> filelock.FileLock:
    folder = workspace.output_dir / LOCK_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(folder / ".guard"), timeout=_GUARD_TIMEOUT_S)


def _take(workspace: Workspace, cards: Sequence[int], record: dict[str, Any]) -> None:
    """Write ``record`` as the lock of each card (under the guard, after the check)."""
    payload = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    for index in cards:
        write_atomically(gpu_lock_path(workspace, index),
                         lambda out, data=payload: out.write(data))


def _check_free(workspace: Workspace, cards: Sequence[int]) -> None:
    for index in cards:
        record = gpu_lock_owner(workspace, index)
        if record is not None:
            raise _busy_error(index, record)


@contextlib.contextmanager
def hold_gpu_locks(workspace: Workspace, cards: Sequence[int], experiment: str,
                   kinds: Sequence[str]) -> Iterator[None]:
    """Hold ``cards`` for this process (``gsv-studio train`` in the foreground), released on
    exit; raises the HardwareError of :func:`start_training` when one is busy."""
    if not cards:
        yield
        return
    import psutil

    me = psutil.Process()
    record = {"job_dir": None, "job_id": f"gsv-studio train (pid {me.pid})",
              "experiment": experiment, "kinds": list(kinds), "pid": me.pid,
              "create_time": me.create_time()}
    with _guard(workspace):
        _check_free(workspace, cards)
        _take(workspace, cards, record)
    try:
        yield
    finally:
        with _guard(workspace):
            for index in cards:
                path = gpu_lock_path(workspace, index)
                held = _read_lock(path)
                if held is not None and held.get("pid") == me.pid and not held.get("job_dir"):
                    path.unlink(missing_ok=True)


def release_gpu_locks(workspace: Workspace, job_dir: Path) -> None:
    """Remove the card locks ``job_dir``'s job holds (the job calls this as it ends; a lock
    left behind by a killed job is stale and taken over anyway)."""
    folder = workspace.output_dir / LOCK_FOLDER
    if not folder.is_dir():
        return
    with _guard(workspace):
        for path in folder.glob("gpu-*.lock"):
            record = _read_lock(path)
            if record is not None and Path(str(record.get("job_dir"))) == Path(job_dir):
                path.unlink(missing_ok=True)


# --- starting and finding ---------------------------------------------------------------------

def _same_run(configs: Sequence[TrainConfig]) -> tuple[Workspace, str]:
    if not configs:
        raise ConfigError("Nothing to train: no run was given.",
                          "Choose SoVITS, GPT or both.")
    first = configs[0]
    for config in configs[1:]:
        if (config.workspace, config.experiment) != (first.workspace, first.experiment):
            raise ConfigError("The runs of one training job must train one experiment of one "
                              "workspace.", "Start a job per experiment.")
    kinds = [config.kind for config in configs]
    if len(set(kinds)) != len(kinds):
        raise ConfigError(f"The queue trains a model twice ({', '.join(kinds)}).",
                          "Queue SoVITS then GPT, each once.")
    return first.space, first.experiment


def _cards(configs: Iterable[TrainConfig]) -> tuple[int, ...]:
    cards: list[int] = []
    for config in configs:
        if config.device == "cuda":
            cards += [gpu for gpu in config.gpus if gpu not in cards]
    return tuple(cards)


def running_trainings(workspace: Workspace, experiment: str | None = None) -> list[JobHandle]:
    """The training jobs still running (of ``experiment``, or of every experiment), oldest
    first."""
    return running_jobs(_folders(workspace, experiment), TRAIN_TARGET)


def find_training(workspace: Workspace, experiment: str) -> JobHandle | None:
    """The training job a page shows for ``experiment``: the running one, else the newest;
    None when it never trained here."""
    return find_job(_folders(workspace, experiment), TRAIN_TARGET)


def _folders(workspace: Workspace, experiment: str | None) -> list[Path]:
    names = [experiment] if experiment else workspace.experiments()
    folders = []
    for name in names:
        try:
            folders.append(jobs_folder(workspace, name))
        except ConfigError:  # a stray folder under logs/ that cannot be an experiment
            continue
    return folders


def _kinds_running(workspace: Workspace, experiment: str) -> set[str]:
    kinds: set[str] = set()
    for handle in running_trainings(workspace, experiment):
        kinds.update(str(c.get("kind")) for c in handle.args.get("configs") or ()
                     if isinstance(c, dict))
    return kinds


def start_training(configs: Sequence[TrainConfig]) -> JobHandle:
    """Start the runs ``configs`` (SoVITS then GPT, H-3: one job runs them in this order) as
    one background job; returns at once.

    Two models in parallel on two cards are two calls, one config each, on different GPUs.
    The job sees only its cards (``CUDA_VISIBLE_DEVICES``); the configs keep the machine's
    card numbers.

    Raises:
        ConfigError: configs of different experiments, a model twice, or a model of this
            experiment already training.
        DatasetError: the experiment is not formatted for one of the models.
        HardwareError: a card is in use by another live job (named, with its experiment).
    """
    workspace, experiment = _same_run(configs)
    for config in configs:
        check_formatted(workspace, experiment, config.kind)
    cards = _cards(configs)
    env = {"CUDA_VISIBLE_DEVICES": ",".join(map(str, cards))} if cards else {}
    args = {"configs": [json.loads(config.to_json()) for config in configs]}
    kinds = [config.kind for config in configs]
    with _guard(workspace):
        busy = sorted(_kinds_running(workspace, experiment) & set(kinds))
        if busy:
            raise ConfigError(f"{' and '.join(busy)} of the experiment {experiment!r} is "
                              "already training.",
                              "Wait for it to end or stop it; starting again then resumes.")
        handle = _start_holding(workspace, experiment, cards, TRAIN_TARGET, args, env,
                                kinds, JOB_LABEL)
    logger.info("training job %s on %s (pid %s)", handle.id,
                ", ".join(f"GPU {i}" for i in cards) or "the CPU", os.getpid())
    return handle


def start_gpu_job(workspace: Workspace, experiment: str, cards: Sequence[int], target: str,
                  args: dict[str, Any], *, kinds: Sequence[str], label: str) -> JobHandle:
    """Start ``target`` as a job of ``experiment`` that holds ``cards`` like a training does
    (the batch probe); it sees only those cards, and must call :func:`release_gpu_locks` as
    it ends. Raises the HardwareError of :func:`start_training` when a card is busy."""
    env = {"CUDA_VISIBLE_DEVICES": ",".join(map(str, cards))} if cards else {}
    with _guard(workspace):
        return _start_holding(workspace, experiment, cards, target, args, env, list(kinds),
                              label)


def _start_holding(workspace: Workspace, experiment: str, cards: Sequence[int], target: str,
                   args: dict[str, Any], env: dict[str, str], kinds: list[str],
                   label: str) -> JobHandle:
    """Under the guard: check the cards are free, start the job, write it into their locks."""
    _check_free(workspace, cards)
    handle = start_job(target, args, folder=jobs_folder(workspace, experiment), env=env,
                       label=label)
    record = {"job_dir": str(handle.job_dir), "job_id": handle.id, "experiment": experiment,
              "kinds": kinds, "pid": handle.spec.get("pid"),
              "create_time": handle.spec.get("create_time")}
    _take(workspace, cards, record)
    return handle
