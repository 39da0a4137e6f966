"""Training as a background job: ``gsv_core.train.job:run_training``, started by
:func:`gsv_core.train.launch.start_training` through :mod:`gsv_core.jobs`.

The job runs its configs in order (SoVITS then GPT, H-3). Each config is first written to
``logs/<exp>/train-<kind>.json``, the run config kept with the experiment (the child of a
multi-GPU run reads that file). Then:

- one process (one GPU, or the CPU): the trainer runs here, in the job's worker, reporting
  straight into the job's :class:`~gsv_core.job_child.JobContext`. The job sees only its own
  cards (``CUDA_VISIBLE_DEVICES``), so the config it hands the trainer numbers them from 0;
- several processes (several GPUs): ``torchrun --standalone --nproc_per_node N -m
  gsv_core.train KIND --config ... --events ... --stop-file ...`` (one process per card, DDP);
  this job copies rank 0's events file into its own events as they come, and the children
  see the job's stop file, so Stop reaches every rank at the same step.

A run that fails stops the queue, and the job fails with that run's cause (the model's name
first); a run the user stopped stops the queue too. The result is a JSON summary:
``{"runs": [TrainResult as a dict, ...], "exported": {"sovits": [paths], "gpt": [paths]},
"stopped": bool}``. The job's card locks are released as it ends.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gsv_core.errors
from gsv_core.errors import ConfigError, GsvError
from gsv_core.job_child import STOP_FILE, JobContext
from gsv_core.job_events import read_events
from gsv_core.train.config import TrainConfig
from gsv_core.train.reporting import TrainReporter, TrainResult

__all__ = ["MODEL_NAMES", "TRAINERS", "load_trainer", "processes_of", "run_config_path",
           "run_training"]

logger = logging.getLogger(__name__)

# The one place that says which function trains which model. ``config.extra["trainer"]``
# ("module:function", same signature) replaces it for one run: tests use it for a stand-in
# trainer, since a monkeypatch cannot reach a child process.
TRAINERS = {"sovits": "gsv_core.train.sovits:train_sovits",
            "gpt": "gsv_core.train.gpt:train_gpt"}
MODEL_NAMES = {"sovits": "SoVITS", "gpt": "GPT"}
_RELAY_POLL_S = 0.2
_FORWARDED = {"progress", "log", "metric"}
_NOT_FORWARDED = {"started", "result", "failed", "stop_seen"}  # the child's own bookkeeping

Trainer = Callable[[TrainConfig, TrainReporter], TrainResult]


def load_trainer(config: TrainConfig) -> Trainer:
    """The trainer function of ``config.kind`` (or of ``config.extra["trainer"]``)."""
    target = str(config.extra.get("trainer") or TRAINERS[config.kind])
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(function):
        raise ConfigError(f"The trainer {target} is not a function.",
                          "Leave extra.trainer out of the config to use the built-in one.")
    return function


def processes_of(config: TrainConfig) -> int:
    """How many training processes the run takes: one per card on CUDA, else one.
    ``extra["processes"]`` sets it (a 2-process gloo run on one GPU or the CPU exercises the
    DDP path where only one card exists)."""
    if "processes" in config.extra:
        return max(1, int(config.extra["processes"]))
    return len(config.gpus) if config.device == "cuda" else 1


def run_config_path(config: TrainConfig) -> Path:
    """``logs/<exp>/train-<kind>.json``: the run config kept with the experiment."""
    return config.experiment_dir / f"train-{config.kind}.json"


def _visible(config: TrainConfig) -> TrainConfig:
    """The config as this job sees its cards: CUDA_VISIBLE_DEVICES (set by the launcher to
    ``config.gpus``) renumbers them 0..N-1."""
    if config.device != "cuda" or not os.environ.get("CUDA_VISIBLE_DEVICES"):
        return config
    return dataclasses.replace(config, gpus=tuple(range(len(config.gpus))))


def run_training(ctx: JobContext, configs: list[dict[str, Any]]) -> dict[str, Any]:
    """Train each of ``configs`` (TrainConfig dicts) in order; see the module docstring."""
    parsed = [TrainConfig.from_json(_json(data), f"run {number + 1}")
              for number, data in enumerate(configs)]
    results: list[TrainResult] = []
    try:
        for number, config in enumerate(parsed):
            config.write(run_config_path(config))
            name = MODEL_NAMES[config.kind]
            try:
                result = _train_one(ctx, config)
            except Exception:
                later = [MODEL_NAMES[c.kind] for c in parsed[number + 1:]]
                ctx.log(f"{name} training failed" + (f"; {', '.join(later)} not started"
                                                      if later else "") + ".", level="error")
                raise
            results.append(result)
            if result.stopped:
                later = [MODEL_NAMES[c.kind] for c in parsed[number + 1:]]
                if later:
                    ctx.log(f"{name} stopped on request; {', '.join(later)} not started.",
                            level="warning")
                break
    finally:
        from gsv_core.train.launch import release_gpu_locks

        if parsed:
            release_gpu_locks(parsed[0].space, ctx.job_dir)
    return summary(results)


def summary(results: Sequence[TrainResult]) -> dict[str, Any]:
    """The job's JSON result (see the module docstring)."""
    exported: dict[str, list[str]] = {}
    for result in results:
        exported.setdefault(result.kind, []).extend(result.exported)
    return {"runs": [dataclasses.asdict(result) for result in results], "exported": exported,
            "stopped": any(result.stopped for result in results)}


def _json(data: Mapping[str, Any]) -> str:
    import json

    return json.dumps(dict(data), ensure_ascii=False)


def _train_one(ctx: JobContext, config: TrainConfig) -> TrainResult:
    processes = processes_of(config)
    if processes <= 1:
        return load_trainer(config)(_visible(config), ctx)
    return _train_distributed(ctx, config, processes)


# --- several processes: torchrun, and its events relayed -------------------------------------

def torchrun_command(config_path: Path, kind: str, processes: int, events: Path,
                     stop_file: Path) -> list[str]:
    """The torchrun command line of one multi-process run on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(processes), "-m", "gsv_core.train", kind,
            "--config", str(config_path), "--events", str(events),
            "--stop-file", str(stop_file)]


def _train_distributed(ctx: JobContext, config: TrainConfig, processes: int) -> TrainResult:
    events = ctx.job_dir / f"train-{config.kind}.events.jsonl"
    child_config = ctx.job_dir / f"train-{config.kind}.json"
    _visible(config).write(child_config)
    command = torchrun_command(child_config, config.kind, processes, events,
                               ctx.job_dir / STOP_FILE)
    ctx.log(f"{MODEL_NAMES[config.kind]}: {processes} training processes (torchrun, DDP).")
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # output: the job's logs
    relay = _Relay(ctx, events)
    while process.poll() is None:
        relay.pass_on()
        ctx.should_stop()  # records the stop in the job's events; the ranks read the file
        time.sleep(_RELAY_POLL_S)
    relay.pass_on()
    if relay.failure is not None:
        raise _child_error(relay.failure)
    if process.returncode != 0 or relay.result is None:
        raise RuntimeError(f"torchrun ended with exit code {process.returncode} "
                           + ("without a result" if relay.result is None else "")
                           + " (see the job's stderr.log)")
    return TrainResult(**{**relay.result, "exported": tuple(relay.result.get("exported", ())),
                          "final_losses": dict(relay.result.get("final_losses") or {})})


class _Relay:
    """Copies the events a child wrote since the last call into the job's events."""

    def __init__(self, ctx: JobContext, path: Path) -> None:
        self.ctx, self.path, self.offset = ctx, path, 0
        self.result: dict[str, Any] | None = None
        self.failure: Mapping[str, Any] | None = None

    def pass_on(self) -> None:
        events, self.offset = read_events(self.path, self.offset)
        for event in events:
            data = dict(event.data)
            if event.kind == "progress":
                self.ctx.progress(data.get("done", 0), data.get("total"),
                                  str(data.get("message", "")))
            elif event.kind == "log":
                self.ctx.log(str(data.get("message", "")), str(data.get("level", "info")))
            elif event.kind == "metric":
                self.ctx.metric(str(data["name"]), float(data["value"]), int(data["step"]))
            elif event.kind == "result":
                self.result = dict(data.get("value") or {})
            elif event.kind == "failed":
                self.failure = data
            elif event.kind not in _NOT_FORWARDED:
                self.ctx.emit(event.kind, **data)


def _child_error(failure: Mapping[str, Any]) -> Exception:
    """The child's error again, as its own GsvError class where it was one (so the job's
    cause and advice read as if the trainer had run here)."""
    type_name = str(failure.get("error_type", "")).rsplit(".", 1)[-1]
    message, advice = str(failure.get("message", "")), str(failure.get("advice") or "")
    details = str(failure.get("traceback", ""))
    cls = getattr(gsv_core.errors, type_name, None)
    if cls is gsv_core.errors.OutOfMemory:  # its batch to try is in the message already
        return gsv_core.errors.HardwareError(message, advice, rule=failure.get("rule") or "B-6",
                                             details=details)
    if isinstance(cls, type) and issubclass(cls, GsvError):
        return cls(message, advice, rule=failure.get("rule"), details=details)
    return RuntimeError(f"{type_name or 'Error'}: {message}")
