"""Training as a background job: ``gsv_core.train.job:run_training``, started by
:func:`gsv_core.train.launch.start_training` through :mod:`gsv_core.jobs`.

Each config is first written to ``logs/<exp>/train-<kind>.json``, the run config kept with
the experiment. Then the runs go one after the other (SoVITS then GPT, H-3), or at the same
time when they train on different CUDA cards (H-3's two-GPU case, :func:`in_parallel`):

- a run of one process in the queue (one GPU, or the CPU) trains here, in the job's worker,
  reporting straight into the job's :class:`~gsv_core.job_child.JobContext`. The job sees only
  its own cards (``CUDA_VISIBLE_DEVICES``), so the config it hands the trainer numbers them
  from 0;
- a run of several processes (several GPUs: ``torchrun --standalone --nproc_per_node N -m
  gsv_core.train KIND --config ... --events ... --stop-file ...``, one process per card, DDP),
  and each of two runs in parallel (``python -m gsv_core.train``, on its own card), runs in
  child processes; this job copies rank 0's events file into its own events as they come
  and touches the child's stop file when the user stops the job, so every rank stops at the
  same step.

A run that fails ends the job with that run's cause (the model named in the log): in the
queue the later runs do not start, in parallel the other run is stopped (it saves a
checkpoint). A run the user stopped ends the queue too. The result is a JSON summary:
``{"runs": [TrainResult as a dict, ...], "exported": {"sovits": [paths], "gpt": [paths]},
"stopped": bool}``. The job's card locks are released as it ends.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import importlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gsv_core.errors
from gsv_core.errors import ConfigError, GsvError
from gsv_core.job_child import JobContext
from gsv_core.job_events import read_events
from gsv_core.train.config import TrainConfig
from gsv_core.train.reporting import TrainReporter, TrainResult

__all__ = ["MODEL_NAMES", "TRAINERS", "in_parallel", "load_trainer", "processes_of",
           "run_config_path", "run_training", "summary", "torchrun_command"]

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
    the cards of all its runs) renumbers them from 0, in that list's order."""
    visible = [part.strip() for part in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")
               if part.strip()]
    if config.device != "cuda" or not visible:
        return config
    if not all(str(gpu) in visible for gpu in config.gpus):
        raise ConfigError(f"The run asks for GPU {', '.join(map(str, config.gpus))} but the "
                          f"job sees only {', '.join(visible)}.",
                          "Start it through gsv_core.train.launch.start_training.")
    return dataclasses.replace(config, gpus=tuple(visible.index(str(g)) for g in config.gpus))


def in_parallel(configs: Sequence[TrainConfig]) -> bool:
    """SoVITS and GPT at once, each on its own cards (H-3): CUDA runs on disjoint cards."""
    if len(configs) < 2 or any(config.device != "cuda" for config in configs):
        return False
    cards = [gpu for config in configs for gpu in config.gpus]
    return len(cards) == len(set(cards))


def run_training(ctx: JobContext, configs: list[dict[str, Any]]) -> dict[str, Any]:
    """Train ``configs`` (TrainConfig dicts); see the module docstring."""
    parsed = [TrainConfig.from_json(_json(data), f"run {number + 1}")
              for number, data in enumerate(configs)]
    try:
        for config in parsed:
            config.write(run_config_path(config))
        if in_parallel(parsed):
            ctx.log(" and ".join(MODEL_NAMES[c.kind] for c in parsed)
                    + " at the same time, each on its own card (H-3).")
            return summary(_run_children(ctx, [_start_child(ctx, c) for c in parsed]))
        return summary(_queue(ctx, parsed))
    finally:
        from gsv_core.train.launch import release_gpu_locks

        if parsed:
            release_gpu_locks(parsed[0].space, ctx.job_dir)


def _queue(ctx: JobContext, configs: Sequence[TrainConfig]) -> list[TrainResult]:
    """One after the other; a failure or a stop ends the queue."""
    results: list[TrainResult] = []
    for number, config in enumerate(configs):
        name, later = MODEL_NAMES[config.kind], [MODEL_NAMES[c.kind]
                                                  for c in configs[number + 1:]]
        try:
            if processes_of(config) <= 1:
                result = load_trainer(config)(_visible(config), ctx)
            else:
                result = _run_children(ctx, [_start_child(ctx, config)])[0]
        except Exception:
            ctx.log(f"{name} training failed" + (f"; {', '.join(later)} not started"
                                                  if later else "") + ".", level="error")
            raise
        results.append(result)
        if result.stopped:
            if later:
                ctx.log(f"{name} stopped on request; {', '.join(later)} not started.",
                        level="warning")
            break
    return results


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


# --- several processes: torchrun, and its events relayed -------------------------------------

def torchrun_command(config_path: Path, kind: str, processes: int, events: Path,
                     stop_file: Path) -> list[str]:
    """The torchrun command line of one multi-process run on this machine."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node", str(processes), "-m", "gsv_core.train", kind,
            "--config", str(config_path), "--events", str(events),
            "--stop-file", str(stop_file)]


@dataclass
class _Child:
    """One run in processes of its own (torchrun's ranks, or one process beside another run)."""

    config: TrainConfig
    process: subprocess.Popen[bytes]
    relay: _Relay
    stop_file: Path


def _start_child(ctx: JobContext, config: TrainConfig) -> _Child:
    processes = processes_of(config)
    child_config = ctx.job_dir / f"train-{config.kind}.json"
    # The child sees exactly this run's cards (its CUDA_VISIBLE_DEVICES below): from 0.
    seen = (dataclasses.replace(config, gpus=tuple(range(len(config.gpus))))
            if config.device == "cuda" else config)
    seen.write(child_config)
    events = ctx.job_dir / f"train-{config.kind}.events.jsonl"
    stop_file = ctx.job_dir / f"train-{config.kind}.stop"
    if processes > 1:
        command = torchrun_command(child_config, config.kind, processes, events, stop_file)
        ctx.log(f"{MODEL_NAMES[config.kind]}: {processes} training processes (torchrun, DDP).")
    else:
        command = [sys.executable, "-m", "gsv_core.train", config.kind, "--config",
                   str(child_config), "--events", str(events), "--stop-file", str(stop_file)]
    env = dict(os.environ)
    if config.device == "cuda":  # this run's own cards only (physical numbers)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, config.gpus))
    # stdin closed; the output goes to the job's stdout.log / stderr.log
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=env)
    return _Child(config, process, _Relay(ctx, events, config.kind), stop_file)


def _run_children(ctx: JobContext, children: Sequence[_Child]) -> list[TrainResult]:
    """Relay the children's events until all have ended. Stop reaches every child; a child
    that fails stops the others, and its error is raised (the model named in the log)."""
    failed: _Child | None = None
    while True:
        running = [child for child in children if child.process.poll() is None]
        for child in children:
            child.relay.pass_on()
            if failed is None and child.process.poll() is not None and (
                    child.relay.failure is not None or child.process.returncode != 0):
                failed = child
                for other in running:
                    ctx.log(f"{MODEL_NAMES[child.config.kind]} failed: stopping "
                            f"{MODEL_NAMES[other.config.kind]}.", level="error")
        if ctx.should_stop() or failed is not None:
            for child in running:
                child.stop_file.touch()
        if not running:
            break
        time.sleep(_RELAY_POLL_S)
    for child in children:
        child.relay.pass_on()
    if failed is not None:
        if len(children) > 1:
            ctx.log(f"{MODEL_NAMES[failed.config.kind]} training failed.", level="error")
        if failed.relay.failure is not None:
            raise _child_error(failed.relay.failure)
        raise RuntimeError(f"{MODEL_NAMES[failed.config.kind]} training ended with exit code "
                           f"{failed.process.returncode} (see the job's stderr.log)")
    results = []
    for child in children:
        if child.relay.result is None:
            raise RuntimeError(f"{MODEL_NAMES[child.config.kind]} training ended without a "
                               "result (see the job's stderr.log)")
        value = child.relay.result
        results.append(TrainResult(**{**value, "exported": tuple(value.get("exported", ())),
                                      "final_losses": dict(value.get("final_losses") or {})}))
    return results


class _Relay:
    """Copies the events a child wrote since the last call into the job's events, its
    progress named with the child's model."""

    def __init__(self, ctx: JobContext, path: Path, model: str) -> None:
        self.ctx, self.path, self.offset, self.model = ctx, path, 0, model
        self.result: dict[str, Any] | None = None
        self.failure: Mapping[str, Any] | None = None

    def pass_on(self) -> None:
        events, self.offset = read_events(self.path, self.offset)
        for event in events:
            data = dict(event.data)
            if event.kind == "progress":
                # named: two runs in parallel relay into one job's progress
                self.ctx.progress(data.get("done", 0), data.get("total"),
                                  str(data.get("message", "")), model=self.model)
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
    module = str(failure.get("error_type", "")).rpartition(".")[0]
    builtin = getattr(builtins, type_name, None) if module == "builtins" else None
    if isinstance(builtin, type) and issubclass(builtin, Exception):
        with contextlib.suppress(TypeError):  # one that takes no plain message
            return builtin(message)
    return RuntimeError(f"{type_name or 'Error'}: {message}")
