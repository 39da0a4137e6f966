"""What the Training tab shows of a training job, read from the job's events.

A training job (SoVITS, GPT, or SoVITS then GPT in one queue) writes the events of
:mod:`gsv_core.train.reporting` plus the reserved ones of :mod:`gsv_core.jobs`. A screen
needs them folded into something it can draw at any moment: where the run is ("SoVITS ·
round 3 of 10, step 120 of 400", T-1, T-3), its speed and ETA, the loss curves per model,
the weight files exported so far (with their epoch and the loss there, for the A/B
listening labels, R-5), the lines a user must read, and how the job ended: a failure shows
its cause and advice and never reads as finished; a stop says that starting again resumes
(T-2).

- :class:`TrainingEvents` folds events (no I/O): feed it every batch read from the file.
- :class:`TrainWatcher` reads one job's new events per poll and returns a
  :class:`TrainingSnapshot`; one watcher per job can serve every browser session, since
  the fold is the same for all (the poll is locked).
- the ``*_text`` functions turn a snapshot into the texts; they take the UI's translator
  (``t``), and their keys are marked for the scanner.

Nothing here imports gradio; the loss figure is :mod:`gsv_core.train.loss_plot`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsv_core.errors import ConfigError
from gsv_core.guidelines import RuleEntry, rule_glossary
from gsv_core.hardware import GIB, GpuSample
from gsv_core.i18n import mark
from gsv_core.job_events import JobEvent
from gsv_core.jobs import JobHandle, JobStatus
from gsv_core.train.reporting import METRIC_PREFIX
from gsv_core.workspace import Workspace

__all__ = [
    "KIND_NAMES",
    "ExportedWeight",
    "LogEntry",
    "RunProgress",
    "TrainWatcher",
    "TrainingEvents",
    "TrainingSnapshot",
    "WatcherCache",
    "duration_text",
    "exported_rows",
    "log_text",
    "monitor_text",
    "progress_text",
    "queue_kinds",
    "status_text",
    "training_to_show",
    "watch_rules",
]

Translate = Callable[..., str]   # gsv_core.i18n.Translator, or any t(key, **params)

KIND_NAMES = {"sovits": "SoVITS", "gpt": "GPT"}   # product names: not translated
MAX_LOG_ENTRIES = 300   # the newest lines kept for the log view
DETAIL_LINES = 20       # lines of a failure's details shown under it
# Metrics that are not losses: left out of the loss curves (they are kept in the series).
NOT_LOSSES = ("lr",)
NOT_LOSS_SUFFIXES = ("_acc",)
# The metric that labels an exported file ("loss at that epoch"), first present wins: SoVITS
# its generator's total (sovits.py LOSS_NAMES), else the mel loss that dominates it;
# GPT its training loss (with the DPO term when on).
MAIN_LOSS = {"sovits": ("loss_total", "loss_mel", "loss"), "gpt": ("loss",)}


@dataclass(frozen=True)
class RunProgress:
    """The latest heartbeat (``train_step``) of one model's run; epochs are 1-based as the
    trainers report them, ``step``/``steps`` count optimizer steps of the whole run."""

    kind: str
    epoch: int | None = None
    epochs: int | None = None
    step: int | None = None
    steps: int | None = None
    epoch_step: int | None = None
    epoch_steps: int | None = None
    samples_per_s: float | None = None
    eta_s: float | None = None
    lr: float | None = None
    gpu_memory_gb: float | None = None
    message: str = ""          # the progress event's text, when no heartbeat came yet


@dataclass(frozen=True)
class ExportedWeight:
    """A weight file in upstream's format written by the run (``exported`` event).

    ``loss`` is the mean of the model's main loss (``loss_name``) over the steps of that
    epoch, when the metrics allow it; None when no such metric was reported.
    """

    kind: str
    path: str
    epoch: int | None
    step: int | None
    loss: float | None = None
    loss_name: str | None = None

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class LogEntry:
    """One line of the log view: the trainer's own ``message``, or one this module writes
    (``key`` with ``params``, translated when shown)."""

    time_s: float
    level: str
    message: str | None = None
    key: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, t: Translate) -> str:
        if self.message is not None:
            return self.message
        return t(self.key or "", **self.params)


@dataclass(frozen=True)
class TrainingSnapshot:
    """A training job at one moment, as the tab draws it."""

    job_id: str
    job_dir: Path
    args: Mapping[str, Any]
    status: JobStatus
    kinds: tuple[str, ...]                 # the queue, in order (from the job's arguments)
    current_kind: str | None
    progress: Mapping[str, RunProgress]
    losses: Mapping[str, Mapping[str, tuple[tuple[int, float], ...]]]
    exported: tuple[ExportedWeight, ...]
    logs: tuple[LogEntry, ...]
    resumed_from: Mapping[str, tuple[str, int | None, int | None]]
    last_event_s: float | None             # the child's clock at its newest event
    done: float | None = None              # the last progress event (the trainer's bar)
    total: float | None = None

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def experiment(self) -> str:
        return str(self.args.get("experiment") or _first_config(self.args).get("experiment")
                   or "")

    @property
    def gpus(self) -> tuple[int, ...]:
        """The CUDA cards the job's runs train on (from its configs; none on the CPU)."""
        configs = self.args.get("configs")
        configs = configs if isinstance(configs, list) else [self.args.get("config") or {}]
        found = [_int(gpu) for config in configs if isinstance(config, Mapping)
                 and config.get("device", "cuda") == "cuda" for gpu in config.get("gpus") or []]
        return tuple(dict.fromkeys(gpu for gpu in found if gpu is not None))

    @property
    def fraction(self) -> float | None:
        """How far the whole queue is, 0–1: finished models count whole, the current one by
        its steps; None before the first step."""
        if self.status.state == "succeeded":
            return 1.0
        kind = self.current_kind
        run = self.progress.get(kind) if kind else None
        if run is None or not run.steps or run.step is None:
            if self.done is not None and self.total:
                part = min(max(self.done / self.total, 0.0), 1.0)
            else:
                return None
        else:
            part = min(max(run.step / run.steps, 0.0), 1.0)
        kinds = self.kinds or ((kind,) if kind else ())
        if kind not in kinds or len(kinds) < 2:
            return part
        return (kinds.index(kind) + part) / len(kinds)

    def loss_series(self, kind: str) -> dict[str, tuple[tuple[int, float], ...]]:
        """The loss curves of ``kind`` (``{"loss_mel": ((step, value), ...)}``); the learning
        rate and accuracies are left out."""
        return {name: points for name, points in self.losses.get(kind, {}).items()
                if name not in NOT_LOSSES and not name.endswith(NOT_LOSS_SUFFIXES)}

    def exported_of(self, kind: str) -> tuple[ExportedWeight, ...]:
        return tuple(weight for weight in self.exported if weight.kind == kind)


def _first_config(args: Mapping[str, Any]) -> Mapping[str, Any]:
    configs = args.get("configs")
    if isinstance(configs, list) and configs and isinstance(configs[0], Mapping):
        return configs[0]
    return {}


def queue_kinds(args: Mapping[str, Any]) -> tuple[str, ...]:
    """The models the job trains, in order, from its arguments: ``configs`` (a list of
    TrainConfig dicts, the queue) or one config's ``kind``."""
    configs = args.get("configs")
    if isinstance(configs, list):
        kinds = [str(c.get("kind")) for c in configs if isinstance(c, Mapping)]
        return tuple(kind for kind in kinds if kind in KIND_NAMES)
    config = args.get("config")
    kind = config.get("kind") if isinstance(config, Mapping) else args.get("kind")
    return (str(kind),) if kind in KIND_NAMES else ()


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class TrainingEvents:
    """The fold of a training job's events (no I/O): progress per model, loss series,
    exported files, log lines. Feed it each batch of events in file order."""

    def __init__(self, kinds: Iterable[str] = (), *,
                 max_log_entries: int = MAX_LOG_ENTRIES) -> None:
        self.kinds = tuple(kinds)
        self.current_kind: str | None = self.kinds[0] if self.kinds else None
        self.progress: dict[str, RunProgress] = {}
        self.losses: dict[str, dict[str, list[tuple[int, float]]]] = {}
        self.exported: list[ExportedWeight] = []
        self.logs: list[LogEntry] = []
        self.resumed_from: dict[str, tuple[str, int | None, int | None]] = {}
        self.last_event_s: float | None = None
        self.done: float | None = None
        self.total: float | None = None
        self._max_log_entries = max_log_entries

    # --- folding -----------------------------------------------------------------------------

    def add(self, events: Iterable[JobEvent]) -> None:
        for event in events:
            self.last_event_s = event.time_s
            handler = getattr(self, f"_on_{event.kind}", None)
            if handler is not None:
                handler(event)

    def _kind_of(self, data: Mapping[str, Any]) -> str | None:
        # The model is named "model" in a job's events file: there "kind" is the event's own
        # kind (gsv_core.job_events), so a trainer's emit(..., kind=...) cannot reach it as
        # data; a reporter that is not a job (the CLI's) may still pass "kind".
        kind = data.get("model", data.get("kind"))
        if kind in KIND_NAMES:
            self.current_kind = str(kind)
        return self.current_kind

    def _log(self, event: JobEvent, level: str, key: str, **params: Any) -> None:
        self.logs.append(LogEntry(event.time_s, level, key=key, params=params))
        del self.logs[:-self._max_log_entries]

    def _on_log(self, event: JobEvent) -> None:
        self.logs.append(LogEntry(event.time_s, str(event.data.get("level", "info")),
                                  message=str(event.data.get("message", ""))))
        del self.logs[:-self._max_log_entries]

    def _on_progress(self, event: JobEvent) -> None:
        kind = self._kind_of(event.data)
        self.done = _float(event.data.get("done"))
        self.total = _float(event.data.get("total"))
        message = str(event.data.get("message") or "")
        if kind is not None:
            run = self.progress.get(kind, RunProgress(kind))
            self.progress[kind] = RunProgress(**{**run.__dict__, "message": message})

    def _on_train_step(self, event: JobEvent) -> None:
        data = event.data
        kind = self._kind_of(data) or "sovits"
        self.current_kind = kind
        previous = self.progress.get(kind, RunProgress(kind))
        self.progress[kind] = RunProgress(
            kind=kind, epoch=_int(data.get("epoch")), epochs=_int(data.get("epochs")),
            step=_int(data.get("step")), steps=_int(data.get("steps")),
            epoch_step=_int(data.get("epoch_step")), epoch_steps=_int(data.get("epoch_steps")),
            samples_per_s=_float(data.get("samples_per_s")), eta_s=_float(data.get("eta_s")),
            lr=_float(data.get("lr")), gpu_memory_gb=_float(data.get("gpu_memory_gb")),
            message=previous.message)

    def _on_metric(self, event: JobEvent) -> None:
        name = str(event.data.get("name") or "")
        kind, _, loss = name.partition("/")
        if kind not in METRIC_PREFIX or not loss:
            kind, loss = self.current_kind or "sovits", name
        else:
            self.current_kind = kind
        step, value = _int(event.data.get("step")), _float(event.data.get("value"))
        if step is None or value is None:
            return
        self.losses.setdefault(kind, {}).setdefault(loss, []).append((step, value))

    def _main_loss(self, kind: str) -> str | None:
        series = self.losses.get(kind, {})
        for name in MAIN_LOSS.get(kind, ()):
            if name in series:
                return name
        return None

    def _epoch_mean(self, kind: str, name: str, epoch: int) -> float | None:
        """The mean of ``name`` over the steps of ``epoch`` (steps per epoch from the latest
        heartbeat: every epoch of a run has the same count); None when not known."""
        run = self.progress.get(kind)
        if run is None or not run.epoch_steps:
            return None
        first, last = (epoch - 1) * run.epoch_steps + 1, epoch * run.epoch_steps
        values = [v for s, v in self.losses[kind][name] if first <= s <= last and math.isfinite(v)]
        return sum(values) / len(values) if values else None

    def _on_exported(self, event: JobEvent) -> None:
        data = event.data
        kind = self._kind_of(data) or "sovits"
        epoch, step = _int(data.get("epoch")), _int(data.get("step"))
        loss_name = self._main_loss(kind)
        loss = None
        if loss_name is not None:
            if epoch is not None:
                loss = self._epoch_mean(kind, loss_name, epoch)
            if loss is None:   # no epoch to group by: the last value before the file
                points = [v for s, v in self.losses[kind][loss_name]
                          if step is None or s <= step]
                loss = points[-1] if points else None
        weight = ExportedWeight(kind, str(data.get("path") or ""), epoch, step, loss, loss_name)
        self.exported.append(weight)
        self._log(event, "info", mark("{model}: exported {file} (round {epoch})"),
                  model=KIND_NAMES.get(kind, kind), file=weight.name,
                  epoch="?" if epoch is None else epoch)

    def _on_checkpoint(self, event: JobEvent) -> None:
        kind = self._kind_of(event.data)
        self._log(event, "info", mark("{model}: save point written (round {epoch}, step {step})"),
                  model=KIND_NAMES.get(kind or "", kind or "?"),
                  epoch=event.data.get("epoch", "?"), step=event.data.get("step", "?"))

    def _on_resumed(self, event: JobEvent) -> None:
        kind = self._kind_of(event.data) or "sovits"
        epoch, step = _int(event.data.get("epoch")), _int(event.data.get("step"))
        self.resumed_from[kind] = (str(event.data.get("path") or ""), epoch, step)
        self._log(event, "info", mark("{model}: resumed from the save point of round {epoch}, "
                                      "step {step} (T-2)"),
                  model=KIND_NAMES.get(kind, kind), epoch="?" if epoch is None else epoch,
                  step="?" if step is None else step)

    def _on_stop_seen(self, event: JobEvent) -> None:
        self._log(event, "info", mark("Stop asked: the run ends after this step and writes "
                                      "a save point."))

    def _on_failed(self, event: JobEvent) -> None:
        self._log(event, "error", mark("Failed: {message}"),
                  message=str(event.data.get("message") or event.data.get("error_type") or ""))

    # --- the view ------------------------------------------------------------------------

    def snapshot(self, handle_id: str, job_dir: Path, args: Mapping[str, Any],
                 status: JobStatus) -> TrainingSnapshot:
        return TrainingSnapshot(
            job_id=handle_id, job_dir=job_dir, args=args, status=status, kinds=self.kinds,
            current_kind=self.current_kind, progress=dict(self.progress),
            losses={kind: {name: tuple(points) for name, points in series.items()}
                    for kind, series in self.losses.items()},
            exported=tuple(self.exported), logs=tuple(self.logs),
            resumed_from=dict(self.resumed_from), last_event_s=self.last_event_s,
            done=self.done, total=self.total)


class TrainWatcher:
    """Follows one training job: each :meth:`poll` reads only the events written since the
    last one. Safe to share between sessions (one lock around the read and the fold)."""

    def __init__(self, handle: JobHandle) -> None:
        self.handle = handle
        self._events = TrainingEvents(queue_kinds(handle.args))
        self._offset = 0
        self._lock = threading.Lock()

    def poll(self) -> TrainingSnapshot:
        """The job now. The status is read before the events, so once it says the job ended
        the snapshot holds every event."""
        with self._lock:
            status = self.handle.status()
            events, self._offset = self.handle.events(self._offset)
            self._events.add(events)
            return self._events.snapshot(self.handle.id, self.handle.job_dir,
                                         self.handle.args, status)


# --- texts ------------------------------------------------------------------------------------

def duration_text(seconds: float | None, t: Translate) -> str:
    """"1 h 05 min", "4 min 10 s", "12 s"; "unknown" for None or a non-finite value."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return t(mark("unknown"))
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return t(mark("{hours} h {minutes:02d} min"), hours=hours, minutes=minutes)
    if minutes:
        return t(mark("{minutes} min {seconds:02d} s"), minutes=minutes, seconds=secs)
    return t(mark("{seconds} s"), seconds=secs)


def run_text(run: RunProgress, t: Translate) -> str:
    """"SoVITS · round 3 of 10, step 120 of 400" (T-1: rounds and steps both named)."""
    model = KIND_NAMES.get(run.kind, run.kind)
    if run.epoch is None:
        return f"{model} · {run.message or t(mark('starting'))}"
    where = t(mark("round {epoch} of {epochs}"), epoch=run.epoch,
              epochs="?" if run.epochs is None else run.epochs)
    if run.step is not None:
        where += ", " + t(mark("step {step} of {steps}"), step=run.step,
                          steps="?" if run.steps is None else run.steps)
    return f"{model} · {where}"


def progress_text(snapshot: TrainingSnapshot, t: Translate) -> str:
    """The line beside the bar: where the current model is, its speed and ETA, and what
    comes next in the queue."""
    kind = snapshot.current_kind
    run = snapshot.progress.get(kind) if kind else None
    if run is None:
        return t(mark("Starting (loading the models and the data)…"))
    parts = [run_text(run, t)]
    if run.samples_per_s is not None:
        parts.append(t(mark("{rate} samples/s"), rate=f"{run.samples_per_s:.1f}"))
    if run.eta_s is not None and not snapshot.finished:
        parts.append(t(mark("ETA {eta}"), eta=duration_text(run.eta_s, t)))
    if run.gpu_memory_gb is not None:
        parts.append(t(mark("GPU memory {gb} GB"), gb=f"{run.gpu_memory_gb:.1f}"))
    kinds = snapshot.kinds
    if kind in kinds and kinds.index(kind) + 1 < len(kinds) and not snapshot.finished:
        parts.append(t(mark("then {model}"), model=KIND_NAMES.get(kinds[kinds.index(kind) + 1],
                                                                  "?")))
    return " · ".join(parts)


def _details(text: str, limit: int = DETAIL_LINES) -> str:
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    if not lines:
        return ""
    return "```\n" + "\n".join(lines[-limit:]) + "\n```"


def _exported_summary(snapshot: TrainingSnapshot, t: Translate) -> str:
    if not snapshot.exported:
        return t(mark("No weights were exported."))
    names = ", ".join(f"`{weight.name}`" for weight in snapshot.exported)
    return t(mark("Exported: {files}"), files=names)


def status_text(snapshot: TrainingSnapshot, t: Translate) -> str:
    """How the job stands, as Markdown: running (with the stop asked), finished (T-3: the
    last round shown as "round N of N"), stopped (it resumes, T-2), or failed with its
    cause, advice and details — a failed job never reads as finished."""
    experiment = f"`{snapshot.experiment or '?'}`"
    status = snapshot.status
    if status.state == "running":
        if status.stop_requested:
            return "⏳ " + t(mark("Stopping the training of {experiment}: it ends after this "
                                  "step and writes a save point… ({where})"),
                             experiment=experiment, where=progress_text(snapshot, t))
        return "⏳ " + t(mark("Training {experiment}: {where}"), experiment=experiment,
                         where=progress_text(snapshot, t))
    ended = [run_text(snapshot.progress[kind], t) for kind in (snapshot.kinds or
                                                               tuple(snapshot.progress))
             if kind in snapshot.progress]
    where = "; ".join(ended) or t(mark("before the first step"))
    if status.state == "succeeded":
        return "\n\n".join([
            "✅ " + t(mark("Training of {experiment} completed: {where} (T-3)."),
                     experiment=experiment, where=where),
            _exported_summary(snapshot, t)])
    if status.state == "stopped":
        return "\n\n".join([
            "⏹ " + t(mark("The training of {experiment} was stopped at {where}. Start it again "
                          "with the same experiment name to resume from the last save point "
                          "(T-2)."), experiment=experiment, where=where),
            _exported_summary(snapshot, t)])
    parts = ["❌ " + t(mark("The training of {experiment} failed at {where}: {cause}"),
                      experiment=experiment, where=where, cause=status.cause or "?")]
    if status.advice:
        parts.append("➡️ " + status.advice)
    else:   # not an error raised on purpose: say where its log is
        parts.append(t(mark("This is unexpected. The job's log is {log}."),
                       log=f"`{snapshot.job_dir / 'stderr.log'}`"))
    parts.append(_details(status.details))
    if snapshot.exported:
        parts.append(_exported_summary(snapshot, t))
    return "\n\n".join(part for part in parts if part)


def log_text(snapshot: TrainingSnapshot, t: Translate, *, lines: int = MAX_LOG_ENTRIES) -> str:
    """The log view: the newest ``lines`` entries, warnings and errors marked."""
    marks = {"warning": "⚠️ ", "error": "❌ "}
    return "\n".join(marks.get(entry.level, "") + entry.text(t)
                     for entry in snapshot.logs[-lines:])


def exported_rows(snapshot: TrainingSnapshot) -> list[list[Any]]:
    """(model, round, step, loss, file) per exported file, newest last."""
    return [[KIND_NAMES.get(w.kind, w.kind), w.epoch, w.step,
             None if w.loss is None else round(w.loss, 4), w.path] for w in snapshot.exported]


# --- which job, and the live monitor ------------------------------------------------------

class WatcherCache:
    """One :class:`TrainWatcher` per job folder, shared by every session that shows the job
    (each would otherwise re-read the whole events file); the oldest are dropped past
    ``size``, so an app that runs for weeks does not keep every job's curves."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._watchers: dict[str, TrainWatcher] = {}
        self._lock = threading.Lock()

    def get(self, handle: JobHandle) -> TrainWatcher:
        key = str(handle.job_dir)
        with self._lock:
            watcher = self._watchers.pop(key, None) or TrainWatcher(handle)
            self._watchers[key] = watcher   # newest last
            while len(self._watchers) > self._size:
                del self._watchers[next(iter(self._watchers))]
            return watcher

    def attach(self, job_dir: str | Path) -> TrainWatcher:
        """The watcher of the job in ``job_dir`` (after a reload, from the page's state)."""
        key = str(job_dir)
        with self._lock:
            watcher = self._watchers.get(key)
        return watcher if watcher is not None else self.get(JobHandle.attach(Path(job_dir)))


def monitor_text(samples: Iterable[GpuSample], indices: Iterable[int], t: Translate, *,
                 last_event_s: float | None, now_s: float, running: bool) -> str:
    """The GPU monitor line of the cards a job trains on (T-5: utilisation and dedicated
    memory; H-4: temperature; what a source cannot read says "unknown") and, while the job
    runs, how long ago it last wrote an event (T-4: a silent start is visible)."""
    wanted = set(indices)
    parts = []
    for sample in samples:
        if wanted and sample.index not in wanted:
            continue
        util = (t(mark("unknown")) if sample.utilisation_pct is None
                else f"{sample.utilisation_pct:.0f} %")
        used = (t(mark("unknown")) if sample.memory_used_bytes is None
                else f"{sample.memory_used_bytes / GIB:.1f}")
        heat = (t(mark("unknown")) if sample.temperature_c is None
                else f"{sample.temperature_c:.0f} °C")
        parts.append(t(mark("GPU {index}: utilisation {util} · memory {used} / {total} GB · "
                            "{heat}"), index=sample.index, util=util, used=used,
                       total=f"{sample.memory_total_bytes / GIB:.0f}", heat=heat))
    if running and last_event_s is not None:
        parts.append(t(mark("last sign of life {ago} ago (T-4)"),
                       ago=duration_text(max(now_s - last_event_s, 0.0), t)))
    return " · ".join(parts)


def watch_rules() -> tuple[RuleEntry, ...]:
    """The rules to keep in mind while a run goes (B-7, T-4, T-5, H-4), from the glossary.

    The guidelines give no numbers to warn on live (what counts as "pegged" memory, how long
    a silence is too long), so the monitor shows the readings and these rules beside them
    rather than alarms with invented thresholds.
    """
    wanted = ("B-7", "T-4", "T-5", "H-4")
    entries = {entry.rule: entry for entry in rule_glossary()}
    return tuple(entries[rule] for rule in wanted if rule in entries)


def training_to_show(workspace: Workspace, experiment: str | None) -> JobHandle | None:
    """The training a page shows when opened: one still running anywhere in the workspace
    (the card is busy with it, and it is the one the user can stop), else the experiment's
    last one; None when there is none."""
    from gsv_core.train.launch import find_training, running_trainings

    running = running_trainings(workspace)
    if experiment:
        mine = [handle for handle in running if _experiment_of(handle) == experiment]
        if mine:
            return mine[-1]
    if running:
        return running[-1]
    if not experiment:
        return None
    try:
        return find_training(workspace, experiment)
    except ConfigError:   # a name that cannot be a folder has no training
        return None


def _experiment_of(handle: JobHandle) -> str:
    args = handle.args
    return str(args.get("experiment") or _first_config(args).get("experiment") or "")
