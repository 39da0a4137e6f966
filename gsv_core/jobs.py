"""Background jobs: run a function in a child process, watch its events, stop it, re-attach.

The one mechanism behind formatting, training, the batch probe and any other long task the
UI starts. The UI must survive whatever the job does (a CUDA crash, ``os._exit``, running out
of memory), so the job is a separate process; it must be stoppable with everything it started,
so it gets a session (POSIX) or process group (Windows) of its own; and a UI restarted later
must find it again, so everything about it lives in a folder::

    <workspace>/logs/<experiment>/jobs/<job-id>/    (jobs of no experiment: output/jobs/)
      job.json       target, args, label, start time, the supervisor's pid and create time
      events.jsonl   progress / log / metric / result / failed ... (gsv_core.job_events)
      stdout.log     the child's output
      stderr.log     its logging, tracebacks and native crash messages
      stop.json      present once a stop was asked for
      exit.json      the worker's exit code, written by the supervisor when it ended

A job is ``"package.module:function"`` called as ``function(ctx, **args)`` with a
:class:`JobContext` (see :mod:`gsv_core.job_child` for the two child processes and their
exit codes). Its state, from :meth:`JobHandle.status`:

- ``running``: the supervisor or the worker is alive (checked by pid *and* create time, so a
  reused pid is not mistaken for the job);
- ``succeeded``: a ``result`` event was written **and** the worker exited with code 0;
- ``failed``: with its cause: the exception the job raised (type, message, advice, traceback
  tail), else "exited with code N" / "killed by signal S (NAME)" with the tail of stderr.log,
  else "the process ended without a result" (it vanished without an exit record: killed with
  its supervisor, or the machine went down);
- ``stopped``: the user asked (:meth:`JobHandle.stop`) and the job ended because of it. A job
  that finished its work before it noticed the request still counts as ``succeeded``, and an
  error it raised before the request still counts as ``failed``.

The target and its arguments are checked before anything starts (:mod:`gsv_core.job_target`).
Running one job at a time per GPU is the caller's policy; this module offers the means
(:func:`list_jobs`, :meth:`JobHandle.wait`). In use::

    handle = start_job("gsv_core.prepare:run_job", {"list_path": str(list_path)},
                       folder=jobs_folder(workspace, "my voice"),
                       env={"CUDA_VISIBLE_DEVICES": "0"}, label="Formatting")
    events, offset = handle.events(offset)    # each poll: new events for bars, logs, plots
    handle.status()                           # JobStatus("running" | "succeeded" | ...)
    handle.stop()                             # the Stop button (blocks: run it off the UI thread)
    list_jobs(jobs_folder(workspace, "my voice"))   # after a restart: find them again
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psutil

import gsv_core
from gsv_core.atomic_write import write_atomically
from gsv_core.errors import ConfigError
from gsv_core.job_child import (
    EVENTS_FILE,
    EXIT_FILE,
    JOB_FILE,
    STDERR_FILE,
    STDOUT_FILE,
    STOP_FILE,
    JobContext,
)
from gsv_core.job_events import JobEvent, read_events, to_json_line
from gsv_core.job_target import check_target
from gsv_core.workspace import Workspace

__all__ = [
    "JobContext",
    "JobEvent",
    "JobHandle",
    "JobState",
    "JobStatus",
    "check_target",
    "jobs_folder",
    "list_jobs",
    "start_job",
]

logger = logging.getLogger(__name__)

JobState = Literal["running", "succeeded", "failed", "stopped"]

_JOB_FORMAT = 1
_STDERR_TAIL_LINES = 20
_STDERR_TAIL_BYTES = 8192
_CREATE_TIME_TOLERANCE_S = 0.5  # psutil's create times of one process agree far closer
_POLL_S = 0.05


@dataclass(frozen=True)
class JobStatus:
    """Where a job stands; see the module docstring for how the state is decided.

    ``cause`` is one line for the user (why it failed, or how it stopped); ``advice`` comes
    from a :class:`~gsv_core.errors.GsvError` the job raised; ``details`` is the traceback
    tail or the tail of stderr.log, for the log view. ``exit_code`` is the worker's, as Python
    reports it (negative: minus the signal), when it is known.
    """

    state: JobState
    cause: str = ""
    advice: str = ""
    details: str = ""
    exit_code: int | None = None
    has_result: bool = False
    result: Any = None
    stop_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.state != "running"


@dataclass
class _Outcome:
    """What the events file says so far about how the job ends (scanned incrementally)."""

    offset: int = 0
    worker_pid: int | None = None
    worker_create_time: float | None = None
    has_result: bool = False
    result: Any = None
    failure: JobEvent | None = None
    stop_seen: bool = False


def jobs_folder(workspace: Workspace, experiment: str | None = None) -> Path:
    """Where the jobs of ``experiment`` live (``logs/<exp>/jobs``); ``output/jobs`` for jobs
    that belong to no experiment (slicing, ASR). Not an upstream folder: upstream keeps no
    record of its jobs."""
    if experiment is None:
        return workspace.output_dir / "jobs"
    return workspace.experiment_dir(experiment) / "jobs"


def start_job(target: str, args: Mapping[str, Any] | None = None, *, folder: Path,
              env: Mapping[str, str] | None = None, label: str = "") -> JobHandle:
    """Start ``target`` (``"package.module:function"``) as ``function(ctx, **args)`` in a
    child process, in a new folder under ``folder``; returns at once.

    The target and the argument names are checked first (:func:`check_target`) and the
    arguments must be JSON-serialisable: a mistake is a :class:`ConfigError` here, before any
    process or folder is made. ``env`` adds to or replaces this process's environment for the
    child (``CUDA_VISIBLE_DEVICES`` to pick a card). ``label`` is free text for the UI.
    """
    args = dict(args or {})
    check_target(target, args)
    try:
        args = json.loads(to_json_line({"args": args}))["args"]  # the form the child will see
    except TypeError as exc:
        raise ConfigError(f"The arguments of the job {target} cannot be saved as JSON: {exc}.",
                          "Pass numbers, strings, lists, dicts, paths or dataclasses.") from exc
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    function_name = target.partition(":")[2]
    job_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{function_name[:40]}-" \
             f"{secrets.token_hex(3)}"
    job_dir = folder / job_id
    job_dir.mkdir()
    spec: dict[str, Any] = {"format": _JOB_FORMAT, "id": job_id, "target": target, "args": args,
                            "label": label, "created_at": time.time(), "env": dict(env or {}),
                            "python": sys.executable}
    _write_json(job_dir / JOB_FILE, spec)
    with open(job_dir / STDOUT_FILE, "ab") as out, open(job_dir / STDERR_FILE, "ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "gsv_core.job_child", "supervise", str(job_dir)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=_child_environment(env),
            **_new_process_group())
    spec["pid"] = process.pid
    try:
        spec["create_time"] = psutil.Process(process.pid).create_time()
    except psutil.Error:  # it ended already (not reaped yet, or reaped): nothing to match
        spec["create_time"] = None
    _write_json(job_dir / JOB_FILE, spec)
    # The thread owns the Popen and reaps the supervisor when it ends, so dropping the handle
    # (a browser reload) leaves neither a zombie nor an unreaped-process warning behind.
    reaper = threading.Thread(target=process.wait, name=f"job-reaper-{job_id}", daemon=True)
    reaper.start()
    logger.info("started job %s (%s) in %s, pid %d", job_id, target, job_dir, process.pid)
    return JobHandle(job_dir, spec, process=process, reaper=reaper)


def list_jobs(folder: Path) -> list[JobHandle]:
    """The jobs under ``folder``, oldest first; folders that are not readable jobs are skipped
    with a warning in the log."""
    if not Path(folder).is_dir():
        return []
    handles = []
    for job_dir in sorted(Path(folder).iterdir()):
        if not (job_dir / JOB_FILE).is_file():
            continue
        try:
            handles.append(JobHandle.attach(job_dir))
        except ConfigError as exc:
            logger.warning("skipped %s: %s", job_dir, exc)
    return sorted(handles, key=lambda h: (float(h.spec.get("created_at") or 0.0), h.id))


class JobHandle:
    """A started job, or one found again in its folder (:meth:`attach`). Safe across threads."""

    def __init__(self, job_dir: Path, spec: Mapping[str, Any], *,
                 process: subprocess.Popen[bytes] | None = None,
                 reaper: threading.Thread | None = None) -> None:
        self.job_dir = Path(job_dir)
        self.spec = dict(spec)
        self._process = process
        self._reaper = reaper
        self._outcome = _Outcome()
        self._lock = threading.Lock()

    @classmethod
    def attach(cls, job_dir: Path) -> JobHandle:
        """The job in ``job_dir`` (started by this process or another, running or not)."""
        try:
            spec = json.loads((Path(job_dir) / JOB_FILE).read_text(encoding="utf-8"))
            if not isinstance(spec, dict) or "target" not in spec:
                raise ValueError("no target in job.json")
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{job_dir} is not a readable job folder: {exc}.",
                              "Pick a folder made by GSV Studio's jobs (it holds job.json).",
                              ) from exc
        return cls(Path(job_dir), spec)

    @property
    def id(self) -> str:
        return str(self.spec.get("id") or self.job_dir.name)

    @property
    def target(self) -> str:
        return str(self.spec["target"])

    @property
    def args(self) -> dict[str, Any]:
        return dict(self.spec.get("args") or {})

    @property
    def label(self) -> str:
        return str(self.spec.get("label") or "")

    def __repr__(self) -> str:
        return f"JobHandle({self.job_dir!s}, target={self.target!r})"

    # --- events ----------------------------------------------------------------------------

    def events(self, since: int = 0) -> tuple[list[JobEvent], int]:
        """The complete events after byte offset ``since`` and the offset for the next call."""
        return read_events(self.job_dir / EVENTS_FILE, since)

    def follow(self, since: int = 0, *, poll_s: float = 0.2,
               timeout_s: float | None = None) -> Iterator[JobEvent]:
        """Yield events as they are written, until the job has ended and all are read (or
        ``timeout_s`` passed: then it just returns; ask :meth:`status`)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        offset = since
        while True:
            ended = not self._alive()  # before reading: an ended job has written everything
            events, offset = self.events(offset)
            yield from events
            if ended or (deadline is not None and time.monotonic() >= deadline):
                return
            self._pause(poll_s)

    # --- state -----------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._alive()

    def status(self) -> JobStatus:
        """The job's state now (reads only the events written since the last call)."""
        alive = self._alive()  # before scanning, for the same reason as in follow()
        with self._lock:
            outcome = self._scan()
        stop_at = self._stop_requested_at()
        if alive:
            return JobStatus("running", has_result=outcome.has_result, result=outcome.result,
                             stop_requested=stop_at is not None)
        exit_code, ended_at = self._exit_record()
        if stop_at is not None and ended_at is not None and ended_at < stop_at:
            stop_at = None  # asked after it had ended: the stop changed nothing
        return _ended_status(outcome, exit_code, stop_at, self._stderr_tail())

    def wait(self, timeout_s: float | None = None) -> JobStatus:
        """Block until the job has ended or ``timeout_s`` passed; returns :meth:`status`
        (state ``running`` when it timed out)."""
        self._wait_ended(timeout_s)
        return self.status()

    # --- stopping --------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the job to stop: its ``ctx.should_stop()`` becomes true. Returns at once.

        A job that has already ended is left as it is (a crash must not turn into "stopped").
        """
        path = self.job_dir / STOP_FILE
        if not path.exists() and self._alive():
            _write_json(path, {"requested_at": time.time()})

    def stop(self, grace_s: float = 10.0, term_s: float = 5.0) -> JobStatus:
        """Stop the job and everything it started; blocks until it ended (at most about
        ``grace_s + 2 * term_s``).

        First cooperatively (:meth:`request_stop`, then ``grace_s`` for the job to save and
        return), then SIGTERM to its process group (Windows: terminate its processes) and
        ``term_s`` more, then SIGKILL.
        """
        self.request_stop()
        if self._wait_ended(grace_s):
            return self.status()
        logger.info("job %s did not stop within %.1f s: terminating it", self.id, grace_s)
        self._signal_group(kill=False)
        if not self._wait_ended(term_s):
            logger.warning("job %s ignored the termination: killing it", self.id)
            self._signal_group(kill=True)
            self._wait_ended(term_s)
        self._sweep_group()
        return self.status()

    # --- internals -------------------------------------------------------------------------

    def _scan(self) -> _Outcome:
        outcome = self._outcome
        events, outcome.offset = read_events(self.job_dir / EVENTS_FILE, outcome.offset)
        for event in events:
            if event.kind == "started":
                outcome.worker_pid = int(event.data["pid"])
                outcome.worker_create_time = float(event.data["create_time"])
            elif event.kind == "result":
                outcome.has_result, outcome.result = True, event.data.get("value")
            elif event.kind == "failed" and outcome.failure is None:
                outcome.failure = event
            elif event.kind == "stop_seen":
                outcome.stop_seen = True
        return outcome

    def _alive(self) -> bool:
        if self._process is not None:
            supervisor = self._process.poll() is None
        else:
            supervisor = _process_alive(self.spec.get("pid"), self.spec.get("create_time"))
        if supervisor:
            return True
        with self._lock:
            outcome = self._scan()
        # The worker outlives a supervisor killed on its own: the job still runs.
        return _process_alive(outcome.worker_pid, outcome.worker_create_time)

    def _wait_ended(self, timeout_s: float | None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._alive():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            self._pause(_POLL_S if remaining is None else min(_POLL_S, remaining))
        return True

    def _pause(self, seconds: float) -> None:
        # Joining the reaper wakes up as soon as the supervisor ends; else a plain sleep.
        if self._reaper is not None and self._reaper.is_alive():
            self._reaper.join(seconds)
        else:
            time.sleep(seconds)

    def _stop_requested_at(self) -> float | None:
        path = self.job_dir / STOP_FILE
        try:
            return float(json.loads(path.read_text(encoding="utf-8"))["requested_at"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            logger.warning("%s is unreadable; using its modification time", path)
            return path.stat().st_mtime

    def _exit_record(self) -> tuple[int | None, float | None]:
        """The worker's exit code and end time from exit.json; (None, None) without one."""
        try:
            record = json.loads((self.job_dir / EXIT_FILE).read_text(encoding="utf-8"))
            return int(record["returncode"]), float(record["ended_at"])
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("%s is unreadable (%s): exit code unknown", self.job_dir, exc)
            return None, None

    def _stderr_tail(self) -> str:
        path = self.job_dir / STDERR_FILE
        try:
            with open(path, "rb") as handle:
                handle.seek(max(0, path.stat().st_size - _STDERR_TAIL_BYTES))
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.strip("\n").splitlines()[-_STDERR_TAIL_LINES:])

    def _signal_group(self, *, kill: bool) -> None:
        """SIGTERM/SIGKILL the job's process group (POSIX) or process tree (Windows), only
        while a process of the job is verifiably alive (never a reused pid)."""
        pid, create_time = self.spec.get("pid"), self.spec.get("create_time")
        with self._lock:
            outcome = self._scan()
        supervisor_alive = (self._process.poll() is None if self._process is not None
                            else _process_alive(pid, create_time))
        worker_alive = _process_alive(outcome.worker_pid, outcome.worker_create_time)
        if os.name == "nt":
            _signal_trees_windows(pid if supervisor_alive else None,
                                  outcome.worker_pid if worker_alive else None, kill=kill)
            return
        # start_new_session made the supervisor a group leader: the group id is its pid and
        # stays in use while any of the job's processes lives.
        with contextlib.suppress(ProcessLookupError):  # it ended in the meantime
            in_group = worker_alive and os.getpgid(int(outcome.worker_pid)) == int(pid)
            if supervisor_alive or in_group:
                os.killpg(int(pid), signal.SIGKILL if kill else signal.SIGTERM)


    def _sweep_group(self) -> None:
        """After a forced stop, kill what is left in the job's process group (POSIX): a
        grandchild that ignored SIGTERM would otherwise keep running, and maybe hold the GPU.
        The group id is the supervisor's pid, in use only while a member of the group lives."""
        if os.name == "nt" or self.spec.get("pid") is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(int(self.spec["pid"]), signal.SIGKILL)


def _signal_trees_windows(supervisor_pid: int | None, worker_pid: int | None, *,
                          kill: bool) -> None:
    """Windows has no process group to signal: end the processes below the supervisor (and
    the worker's, should the supervisor be gone). Terminating spares the supervisor, so that
    it records the exit code; killing ends it too."""
    victims: list[psutil.Process] = []
    for pid, is_supervisor in ((supervisor_pid, True), (worker_pid, False)):
        if pid is None:
            continue
        with contextlib.suppress(psutil.Error):  # gone already
            root = psutil.Process(int(pid))
            victims += root.children(recursive=True)
            if kill or not is_supervisor:
                victims.append(root)
    for victim in victims:
        with contextlib.suppress(psutil.Error):  # already gone
            victim.kill() if kill else victim.terminate()


def _ended_status(outcome: _Outcome, exit_code: int | None, stop_at: float | None,
                  stderr_tail: str) -> JobStatus:
    """The state of a job whose processes are gone (the rules of the module docstring)."""
    common: dict[str, Any] = {"exit_code": exit_code, "has_result": outcome.has_result,
                              "result": outcome.result, "stop_requested": stop_at is not None}
    succeeded = outcome.has_result and exit_code == 0 and outcome.failure is None
    failure = outcome.failure
    if stop_at is not None:
        if succeeded and not outcome.stop_seen:
            return JobStatus("succeeded", **common)  # it finished before it noticed
        if failure is None or failure.time_s >= stop_at:
            how = _describe_exit(exit_code)
            return JobStatus("stopped", cause="stopped on request" + (f": {how}" if how else ""),
                             details=str(failure.data.get("traceback", "")) if failure else "",
                             **common)
    if failure is not None:
        error_type = str(failure.data.get("error_type", "Exception")).rsplit(".", 1)[-1]
        return JobStatus("failed", cause=f"{error_type}: {failure.data.get('message', '')}",
                         advice=str(failure.data.get("advice") or ""),
                         details=str(failure.data.get("traceback", "")), **common)
    if succeeded:
        return JobStatus("succeeded", **common)
    if exit_code is not None and exit_code != 0:
        after = " after writing its result" if outcome.has_result else ""
        return JobStatus("failed", cause=f"{_describe_exit(exit_code)}{after}",
                         details=stderr_tail, **common)
    if exit_code == 0:
        cause = "the process ended without a result (exit code 0)"
    elif outcome.has_result:
        cause = "the process ended before its exit code was recorded"
    else:
        cause = "the process ended without a result"
    return JobStatus("failed", cause=cause, details=stderr_tail, **common)


def _describe_exit(exit_code: int | None) -> str:
    """``exited with code 3`` or ``killed by signal 9 (SIGKILL)``; "" when unknown."""
    if exit_code is None:
        return ""
    if exit_code < 0:
        number = -exit_code
        try:
            return f"killed by signal {number} ({signal.Signals(number).name})"
        except ValueError:
            return f"killed by signal {number}"
    if exit_code > 0xFFFF:  # a Windows NTSTATUS such as 0xC0000005 (access violation)
        return f"exited with code {exit_code} (0x{exit_code:08X})"
    return f"exited with code {exit_code}"


def _process_alive(pid: Any, create_time: Any) -> bool:
    """True when ``pid`` runs and is the process that started at ``create_time``."""
    if pid is None:
        return False
    try:
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if create_time is None:  # unverifiable (it ended before its start was recorded)
            return False
        return abs(process.create_time() - float(create_time)) <= _CREATE_TIME_TOLERANCE_S
    except psutil.Error:  # gone, or someone else's (access denied): not our job
        return False


def _child_environment(overrides: Mapping[str, str] | None) -> dict[str, str]:
    """This environment plus ``overrides``, unbuffered UTF-8 output, and the folder that
    holds this ``gsv_core`` on the child's path when it is a source checkout (an installed
    package is found anyway; putting site-packages first would shadow the standard library)."""
    env = {**os.environ, **dict(overrides or {})}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    root = Path(gsv_core.__file__).resolve().parent.parent
    if not {"site-packages", "dist-packages"} & set(root.parts):
        env["PYTHONPATH"] = os.pathsep.join(
            [str(root), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _new_process_group() -> dict[str, Any]:
    """Popen options that put the child in its own group, so Stop reaches its children and
    the UI's Ctrl+C does not reach the job."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def _write_json(path: Path, obj: Mapping[str, Any]) -> None:
    write_atomically(path, lambda handle: handle.write(to_json_line(obj)))
