"""The child side of a background job: the supervisor, the worker, and the worker's JobContext.

A job runs as two processes in a session (process group) of its own, so that Stop reaches
everything the job started (data-loader workers, slicing pools):

- the **supervisor** (``python -m gsv_core.job_child supervise DIR``) starts the worker,
  waits for it and records how it ended in ``exit.json`` (its exit code, or minus the signal
  that killed it). It imports nothing heavy and outlives a crash of the worker (CUDA, a
  segfault, ``os._exit``) and a restart of the UI, so the exit code is known even when no
  one was watching. On SIGTERM it passes the signal on and keeps waiting;
- the **worker** (``python -m gsv_core.job_child run DIR``) imports the target named in
  ``job.json`` (``"module:function"``), calls ``function(ctx, **args)`` with a
  :class:`JobContext`, and writes the outcome to ``events.jsonl``.

Worker exit codes (documented, as every child's are):

- ``0`` (:data:`EXIT_OK`): the function returned; a ``result`` event was written.
- ``1`` (:data:`EXIT_FAILED`): the function raised; a ``failed`` event says what and where.
- ``2`` (:data:`EXIT_CANNOT_START`): the job file or the target could not be loaded; a
  ``failed`` event (``stage: "start"``) says why.

Anything else (a signal, ``os._exit(N)``, the interpreter dying) is reported by the parent
from ``exit.json`` and the tail of ``stderr.log``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import GsvError
from gsv_core.job_events import RESERVED_KINDS, EventWriter, to_json_line

__all__ = [
    "EVENTS_FILE",
    "EXIT_CANNOT_START",
    "EXIT_FAILED",
    "EXIT_FILE",
    "EXIT_OK",
    "JOB_FILE",
    "STDERR_FILE",
    "STDOUT_FILE",
    "STOP_FILE",
    "JobContext",
    "load_target",
    "main",
]

# The files of a job's folder.
JOB_FILE = "job.json"          # what runs: target, args, the supervisor's pid and create time
EVENTS_FILE = "events.jsonl"   # written by the worker, one JSON event per line
STDOUT_FILE = "stdout.log"     # the worker's (and supervisor's) stdout
STDERR_FILE = "stderr.log"     # their stderr: Python logging, tracebacks, native crash output
STOP_FILE = "stop.json"        # written by the parent: the user asked the job to stop
EXIT_FILE = "exit.json"        # written by the supervisor when the worker has ended

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CANNOT_START = 2

_TRACEBACK_TAIL_CHARS = 4000  # enough for the last frames of a deep training stack
_LOG_LEVELS = ("debug", "info", "warning", "error")

logger = logging.getLogger(__name__)


class JobContext:
    """What a job function gets as its first argument: its way to report and to be stopped.

    Every call appends one event line to the job's ``events.jsonl`` at once (see
    :mod:`gsv_core.job_events`); calls are safe from several threads. Values must be
    JSON-serialisable (dataclasses, paths and 0-d numbers are converted).
    """

    def __init__(self, job_dir: Path, writer: EventWriter) -> None:
        self._job_dir = job_dir
        self._writer = writer
        self._stop_path = job_dir / STOP_FILE
        self._stop_seen = False
        self._has_result = False

    @property
    def job_dir(self) -> Path:
        """The job's folder, for files the job wants kept with it (plots, a config copy)."""
        return self._job_dir

    @property
    def has_result(self) -> bool:
        return self._has_result

    def progress(self, done: float, total: float | None = None, message: str = "",
                 model: str | None = None) -> None:
        """``done`` of ``total`` units of work (``total`` None when unknown), for a bar.

        ``model`` names the part of the job the progress is of, when several parts run at
        once (two trainings in parallel relay their progress into one job's events)."""
        fields: dict[str, Any] = {"done": float(done),
                                  "total": None if total is None else float(total),
                                  "message": str(message)}
        if model is not None:
            fields["model"] = str(model)
        self._writer.write("progress", **fields)

    def log(self, message: str, level: str = "info") -> None:
        """A line for the user's log view (developers' logs go to ``logging``)."""
        if level not in _LOG_LEVELS:
            raise ValueError(f"log level {level!r} is not one of {', '.join(_LOG_LEVELS)}")
        self._writer.write("log", message=str(message), level=level)

    def metric(self, name: str, value: float, step: int) -> None:
        """One point of a curve (a loss at an optimizer step), for plots. NaN is kept."""
        if not name:
            raise ValueError("a metric needs a name")
        self._writer.write("metric", name=str(name), value=float(value), step=int(step))

    def emit(self, kind: str, **data: Any) -> None:
        """A job's own event (``step``, ``epoch``, ``checkpoint``...); reserved kinds refused."""
        if kind in RESERVED_KINDS or not kind.isidentifier():
            raise ValueError(f"{kind!r} cannot be a job's own event kind (reserved or not a "
                             "plain name)")
        self._writer.write(kind, **data)

    def result(self, value: Any) -> None:
        """Record the job's result (once). A function's return value is recorded the same way
        when it did not call this; success needs the result *and* exit code 0."""
        if self._has_result:
            raise RuntimeError("the job's result was already recorded")
        to_json_line({"value": value})  # refuse what JSON cannot hold before writing anything
        self._writer.write("result", value=value)
        self._has_result = True

    def should_stop(self) -> bool:
        """True once the user asked the job to stop: finish the step, save, and return.

        A ``stat`` of the stop file, cheap enough to ask every step. A job that never asks is
        terminated after the parent's grace period.
        """
        if self._stop_seen:
            return True
        if not self._stop_path.exists():
            return False
        self._stop_seen = True
        self._writer.write("stop_seen")
        return True


def load_target(target: str) -> Callable[..., Any]:
    """Import ``"package.module:function"`` and return the function (in the worker)."""
    module_name, _, function_name = target.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    if not callable(function):
        raise TypeError(f"{target} is not a function")
    return function


def _write_failure(writer: EventWriter, exc: BaseException, stage: str) -> None:
    """A ``failed`` event with the error's type, message (and advice, for a GsvError) and the
    tail of its traceback: what the UI shows instead of "check the console"."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    is_gsv = isinstance(exc, GsvError)
    writer.write("failed", stage=stage,
                 error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                 message=exc.message if is_gsv else str(exc),
                 advice=exc.advice if is_gsv else "",
                 rule=exc.rule if is_gsv else None,
                 traceback=text[-_TRACEBACK_TAIL_CHARS:])


def run_worker(job_dir: Path) -> int:
    """Run the job described by ``job_dir/job.json``; returns the worker's exit code."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with EventWriter(job_dir / EVENTS_FILE) as writer:
        me = psutil.Process()
        writer.write("started", pid=me.pid, create_time=me.create_time())
        try:
            spec = json.loads((job_dir / JOB_FILE).read_text(encoding="utf-8"))
            function = load_target(spec["target"])
            args = dict(spec["args"])
        except Exception as exc:  # any failure to start is reported, not just printed
            _write_failure(writer, exc, stage="start")
            return EXIT_CANNOT_START
        context = JobContext(job_dir, writer)
        try:
            value = function(context, **args)
            if not context.has_result:
                context.result(value)
        except Exception as exc:  # the job's own error: its cause goes to the UI
            _write_failure(writer, exc, stage="run")
            return EXIT_FAILED
    return EXIT_OK


def run_supervisor(job_dir: Path) -> int:
    """Start the worker, wait for it, write ``exit.json``; returns 0 once that is recorded."""
    worker: subprocess.Popen[bytes] | None = None

    def pass_on(signum: int, _frame: object) -> None:
        # Stop terminates the whole group, this process included: stay to record the exit.
        if worker is not None and worker.poll() is None:
            worker.send_signal(signum)

    signal.signal(signal.SIGTERM, pass_on)
    if hasattr(signal, "SIGBREAK"):  # Windows: CTRL_BREAK_EVENT reaches the whole group
        signal.signal(signal.SIGBREAK, lambda _s, _f: None)
    worker = subprocess.Popen([sys.executable, "-m", "gsv_core.job_child", "run", str(job_dir)],
                              stdin=subprocess.DEVNULL)
    returncode = worker.wait()
    record = {"returncode": returncode, "worker_pid": worker.pid, "ended_at": time.time()}
    write_atomically(job_dir / EXIT_FILE, lambda handle: handle.write(to_json_line(record)))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gsv_core.job_child",
                                     description="Run one background job (started by "
                                                 "gsv_core.jobs; not meant to be run by hand).")
    parser.add_argument("role", choices=["supervise", "run"])
    parser.add_argument("job_dir", type=Path)
    options = parser.parse_args(argv)
    job_dir = options.job_dir.resolve()
    return run_supervisor(job_dir) if options.role == "supervise" else run_worker(job_dir)


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy's, so that the JobContext a job
    # function receives is gsv_core.job_child.JobContext (the class it may import and check).
    from gsv_core.job_child import main as _main

    sys.exit(_main())
