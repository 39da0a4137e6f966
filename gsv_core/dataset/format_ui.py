"""What the Dataset tab's "Format for training" section needs from the library: its choices,
the job arguments read from its controls, and which formatting job a page shows.

Formatting runs as a background job (``gsv_core.prepare.job:run_job``, started with
:func:`gsv_core.jobs.start_job` in ``logs/<experiment>/jobs/``), so the UI survives a crash
of the job and a reloaded page finds it again. Bad input is refused here, before a process
starts, with an error that names the control: an empty or unusable experiment name, no
list or a list with bad lines (every line named), a device this machine does not have,
half precision on the CPU. What only the job can find out (a missing model, a clip longer
than SoVITS takes, a clip that cannot be read) comes back through the job.

Nothing here imports torch or gradio (``gsv_core.prepare`` loads torch: the job target is
named, not imported).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gsv_core.dataset.annotations import read_list
from gsv_core.dataset.asr_ui import AUTO, device_choices
from gsv_core.errors import ConfigError, DatasetError
from gsv_core.hardware import MachineProfile
from gsv_core.job_watch import find_job, running_jobs
from gsv_core.jobs import JobHandle, jobs_folder, start_job
from gsv_core.text.readings import DEFAULT_READINGS, READINGS, check_readings
from gsv_core.workspace import Workspace, check_experiment_name

__all__ = ["AUTO", "FORMAT_TARGET", "PRECISION_CHOICES", "READINGS_CHOICES",
           "default_experiment", "device_choices", "failure_rows", "find_format_job",
           "format_args", "format_job_folders", "start_format"]

FORMAT_TARGET = "gsv_core.prepare.job:run_job"
READINGS_CHOICES = READINGS                       # improved (default), upstream
PRECISION_CHOICES = (AUTO, "fp16", "fp32")        # auto: fp16 on a GPU, as upstream
JOB_LABEL = "Formatting"

# What a list's name may not keep in an experiment name (see check_experiment_name).
_UNSAFE = re.compile(r'[/\\:*?"<>|\x00-\x1f]|\.\.')


def default_experiment(list_path: str | None) -> str | None:
    """An experiment name from the list's file name (``…/voice.list`` → ``voice``), with the
    characters a folder name cannot hold replaced by ``_``; None when nothing usable is left."""
    if not list_path or not list_path.strip():
        return None
    name = _UNSAFE.sub("_", Path(list_path.strip()).stem).strip().rstrip(".").strip()
    try:
        return check_experiment_name(name)
    except ConfigError:
        return None


def _devices(chosen: Sequence[str] | str | None, profile: MachineProfile) -> tuple[str, ...]:
    """The job's devices: () for auto (the first CUDA GPU, else the CPU)."""
    values = [chosen] if isinstance(chosen, str) else list(chosen or [])
    values = [value.strip() for value in values if value and value.strip()]
    if not values or values == [AUTO]:
        return ()
    if AUTO in values:
        raise ConfigError("Device: auto cannot be combined with other devices.",
                          "Choose auto alone, or only the devices to use.")
    offered = device_choices(profile)
    unknown = [value for value in values if value not in offered]
    if unknown:
        raise ConfigError(f"Device: {', '.join(unknown)} is not a device of this machine.",
                          f"Choose from: {', '.join(offered)}.")
    return tuple(dict.fromkeys(values))


def _precision(precision: str | None, devices: tuple[str, ...],
               profile: MachineProfile) -> str | None:
    if precision in (None, "", AUTO):
        return None
    if precision not in PRECISION_CHOICES:
        raise ConfigError(f"Precision: unknown value {precision!r}.",
                          f"Choose one of: {', '.join(PRECISION_CHOICES)}.")
    on_cpu = (all(device == "cpu" for device in devices) if devices
              else not any(gpu.vendor == "nvidia" for gpu in profile.gpus))
    if precision == "fp16" and on_cpu:
        raise ConfigError("Precision: fp16 is not used on the CPU (slow and inaccurate there).",
                          "Choose auto or fp32, or a GPU as the device.")
    return precision


def _checked_list(list_path: str | None) -> Path:
    """The list, read and checked line by line (the job checks it again, and the clips'
    lengths); a DatasetError names every bad line."""
    if not list_path or not list_path.strip():
        raise DatasetError("No label file is chosen.",
                           "Choose the .list file in the proofreading section (3) above, "
                           "or type its path there.")
    path = Path(list_path.strip()).expanduser()
    if not path.is_file():
        raise DatasetError(f"The label file {os.fspath(path)} does not exist.",
                           "Check the path in the proofreading section (3) above.")
    labels = read_list(path)
    labels.raise_for_issues()
    if not labels.clips:
        raise DatasetError(f"{os.fspath(path)} has no clips.",
                           "Transcribe a folder of clips first (ASR), or pick another list.")
    return path


def format_args(workspace: Workspace, profile: MachineProfile, list_path: str | None,
                experiment: str | None, readings: str | None,
                devices: Sequence[str] | str | None, precision: str | None) -> dict[str, Any]:
    """The job arguments (``run_job``'s, JSON) for the values of the section's controls.

    Raises:
        ConfigError: a bad experiment name (X-1), readings, device or precision.
        DatasetError: no list, a missing file, or lines that cannot be read (each named).
    """
    name = experiment or ""
    try:
        check_experiment_name(name)
    except ConfigError as error:
        raise ConfigError("Experiment name: " + error.message, error.advice,
                          rule=error.rule) from error
    readings = check_readings(readings or DEFAULT_READINGS)
    chosen = _devices(devices, profile)
    half_or_full = _precision(precision, chosen, profile)
    path = _checked_list(list_path)   # last: the controls' own mistakes are named first
    return {"list_path": os.fspath(path), "experiment": name,
            "workspace": os.fspath(workspace.root), "readings": readings,
            "devices": list(chosen), "precision": half_or_full}


def format_job_folders(workspace: Workspace, experiment: str | None = None) -> list[Path]:
    """The jobs folders to look in: the experiment's, or every experiment's (names that
    cannot be experiments, such as a stray folder under logs/, are left out)."""
    names = [experiment] if experiment else workspace.experiments()
    folders = []
    for name in names:
        try:
            folders.append(jobs_folder(workspace, name))
        except ConfigError:
            continue
    return folders


def find_format_job(workspace: Workspace, experiment: str | None = None) -> JobHandle | None:
    """The formatting job to show: the experiment's (any experiment's when None) running
    one, else its last one; None when it was never formatted here."""
    return find_job(format_job_folders(workspace, experiment), FORMAT_TARGET)


def start_format(workspace: Workspace, args: Mapping[str, Any]) -> tuple[JobHandle, bool]:
    """Start formatting with ``args`` (from :func:`format_args`); returns the job and False,
    or the job already formatting this experiment and True (one run per experiment: two
    would write the same files).

    Raises:
        ConfigError: another experiment is being formatted (one formatting at a time: each
            loads BERT, HuBERT and SoVITS and would compete for the same GPU or CPU).
    """
    experiment = str(args["experiment"])
    running = running_jobs(format_job_folders(workspace), FORMAT_TARGET)
    for handle in running:
        if handle.args.get("experiment") == experiment:
            return handle, True
    if running:
        other = running[-1].args.get("experiment", "?")
        raise ConfigError(f"The experiment {other!r} is being formatted.",
                          "Wait for it to end, or stop it (type its name as the experiment "
                          "and press Stop), then start again.")
    handle = start_job(FORMAT_TARGET, dict(args), folder=jobs_folder(workspace, experiment),
                       label=JOB_LABEL)
    return handle, False


def failure_rows(result: Mapping[str, Any] | None) -> list[list[Any]]:
    """(line, clip, step, message) for each clip that failed, in list order."""
    failures = (result or {}).get("failures") or []
    rows = [[int(f.get("line_number", 0)), str(f.get("name", "")), str(f.get("stage", "")),
             str(f.get("message", ""))] for f in failures]
    return sorted(rows, key=lambda row: row[0])
