"""Background jobs with real child processes (gsv_core.jobs): events, exit codes, stop, re-attach.

The job functions are defined here; the child imports them as
``tests.integration.test_jobs:<name>``. Nothing waits for a fixed time: tests wait for events
or for the job to end, with generous limits for a loaded CI machine.
"""

from __future__ import annotations

import concurrent.futures
import gc
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from gsv_core.errors import DatasetError
from gsv_core.job_events import JobEvent, collect_metrics
from gsv_core.jobs import JobContext, JobHandle, list_jobs, start_job

HERE = "tests.integration.test_jobs"
LIMIT_S = 120.0  # only ever reached when something is broken
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process groups")


# --- job functions (run in the child) --------------------------------------------------------

def train_a_little(ctx: JobContext, steps: int, name: str) -> dict:
    for step in range(steps):
        ctx.progress(step + 1, steps, f"step {step + 1} of {steps}")
        ctx.metric("loss", 1.0 / (step + 1), step)
    ctx.metric("loss/nan", float("nan"), steps)
    ctx.log("nearly done", level="warning")
    ctx.emit("epoch", epoch=1, samples_per_s=12.5)
    return {"name": name, "env": os.environ.get("GSV_JOB_TEST"),
            "context_type": type(ctx).__module__ + "." + type(ctx).__qualname__}


def raise_value_error(ctx: JobContext) -> None:
    ctx.progress(0, 1, "about to fail")
    raise ValueError("the spectrogram of clip 7 is empty")


def raise_dataset_error(ctx: JobContext) -> None:
    raise DatasetError("Line 3 names a missing clip.", "Fix the .list or restore the file.")


def exit_with(ctx: JobContext, code: int, write_result: bool = False) -> None:
    if write_result:
        ctx.result({"done": True})
    print("native crash handler says goodbye", file=sys.stderr, flush=True)
    os._exit(code)


def loop_until_stopped(ctx: JobContext) -> dict:
    ctx.progress(0, None, "looping")
    turns = 0
    while not ctx.should_stop():
        turns += 1
        time.sleep(0.02)
    return {"stopped_after": turns}


def ignore_stop_with_grandchild(ctx: JobContext, ignore_sigterm: bool = False,
                                stubborn_grandchild: bool = False) -> None:
    if ignore_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import time; print('ready', flush=True); time.sleep(600)"
    if stubborn_grandchild:
        code = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); " + code
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    child.stdout.readline()  # its SIGTERM handler is in place
    ctx.emit("grandchild", pid=child.pid, create_time=psutil.Process(child.pid).create_time())
    while True:  # never asks should_stop()
        time.sleep(0.05)


def _square(number: int) -> int:
    return number * number


def square_in_a_spawned_pool(ctx: JobContext, numbers: list[int]) -> list[int]:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(2, mp_context=context) as pool:
        return list(pool.map(_square, numbers))


def wait_for_go_file(ctx: JobContext) -> str:
    ctx.progress(0, 1, "waiting for go")
    while not (ctx.job_dir / "go").exists():
        time.sleep(0.02)
    return "went"


# --- helpers --------------------------------------------------------------------------------

@pytest.fixture
def jobs_dir(tmp_path: Path) -> Iterator[Path]:
    """The jobs folder; any job still running at the end (a failed test) is killed."""
    folder = tmp_path / "jobs"
    yield folder
    for handle in list_jobs(folder):
        if handle.is_running():
            handle.stop(grace_s=0.0, term_s=5.0)


def wait_for(handle: JobHandle, matches: Callable[[JobEvent], bool]) -> JobEvent:
    """The first event that ``matches``; fails when the job ends first."""
    deadline = time.monotonic() + LIMIT_S
    offset = 0
    while time.monotonic() < deadline:
        running = handle.is_running()
        events, offset = handle.events(offset)
        for event in events:
            if matches(event):
                return event
        if not running:
            pytest.fail(f"the job ended before the event: {handle.status()}")
        time.sleep(0.02)
    pytest.fail("no such event within the limit")


def gone(pid: int, create_time: float) -> bool:
    """Wait (up to the limit) for a process to be gone; True when it is (else it is killed)."""
    deadline = time.monotonic() + LIMIT_S
    while time.monotonic() < deadline:
        try:
            process = psutil.Process(pid)
            if process.status() == psutil.STATUS_ZOMBIE or process.create_time() != create_time:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    psutil.Process(pid).kill()  # the test fails; leave no process behind
    return False


# --- tests -----------------------------------------------------------------------------------

def test_progress_metrics_and_result_round_trip(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:train_a_little", {"steps": 3, "name": "小明 voice"},
                       folder=jobs_dir, env={"GSV_JOB_TEST": "from the parent"}, label="tiny")
    status = handle.wait(LIMIT_S)

    assert status.state == "succeeded", status
    assert status.exit_code == 0
    assert status.result == {"name": "小明 voice", "env": "from the parent",
                             "context_type": "gsv_core.job_child.JobContext"}
    events, offset = handle.events()
    kinds = [e.kind for e in events]
    assert kinds == ["started", "progress", "metric", "progress", "metric", "progress", "metric",
                     "metric", "log", "epoch", "result"]
    assert [e.seq for e in events] == list(range(len(events)))
    assert events[5].data == {"done": 3.0, "total": 3.0, "message": "step 3 of 3"}
    assert events[9].data == {"epoch": 1, "samples_per_s": 12.5}
    metrics = collect_metrics(events)
    assert metrics["loss"] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert metrics["loss/nan"][0][1] != metrics["loss/nan"][0][1]  # NaN survives the file
    assert handle.events(offset) == ([], offset)
    assert [e.kind for e in handle.follow()] == kinds  # an ended job: all events, then stop

    spec = json.loads((handle.job_dir / "job.json").read_text(encoding="utf-8"))
    assert spec["target"] == f"{HERE}:train_a_little"
    assert spec["args"] == {"steps": 3, "name": "小明 voice"}
    assert spec["label"] == "tiny" and isinstance(spec["pid"], int)
    assert json.loads((handle.job_dir / "exit.json").read_text())["returncode"] == 0
    assert handle.job_dir.parent == jobs_dir


def test_a_job_that_raises_fails_with_its_message_and_traceback(jobs_dir: Path) -> None:
    status = start_job(f"{HERE}:raise_value_error", folder=jobs_dir).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "ValueError: the spectrogram of clip 7 is empty"
    assert "raise_value_error" in status.details and "Traceback" in status.details
    assert status.exit_code == 1


def test_a_gsv_error_reaches_the_parent_with_its_advice(jobs_dir: Path) -> None:
    status = start_job(f"{HERE}:raise_dataset_error", folder=jobs_dir).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "DatasetError: Line 3 names a missing clip."
    assert status.advice == "Fix the .list or restore the file."


def test_os_exit_is_a_failure_with_its_code_and_the_stderr_tail(jobs_dir: Path) -> None:
    status = start_job(f"{HERE}:exit_with", {"code": 3}, folder=jobs_dir).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "exited with code 3"
    assert status.exit_code == 3
    assert "native crash handler says goodbye" in status.details


def test_a_result_is_not_success_when_the_exit_code_is_not_zero(jobs_dir: Path) -> None:
    status = start_job(f"{HERE}:exit_with", {"code": 5, "write_result": True},
                       folder=jobs_dir).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "exited with code 5 after writing its result"
    assert status.has_result and status.result == {"done": True}


def test_exit_code_zero_without_a_result_is_not_success(jobs_dir: Path) -> None:
    status = start_job(f"{HERE}:exit_with", {"code": 0}, folder=jobs_dir).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "the process ended without a result (exit code 0)"


def test_a_job_that_cannot_import_its_dependencies_fails_at_start(
        jobs_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "job_needing_a_missing_package.py").write_text(
        "import gsv_no_such_package_xyz\n\ndef run(ctx):\n    return 1\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))

    status = start_job("job_needing_a_missing_package:run", folder=jobs_dir,
                       env={"PYTHONPATH": str(tmp_path)}).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "ModuleNotFoundError: No module named 'gsv_no_such_package_xyz'"
    assert status.exit_code == 2


def test_a_job_can_run_a_spawned_process_pool(jobs_dir: Path) -> None:
    """The slicer and the formatter spread work over spawned processes: those re-import the
    worker's main module (gsv_core.job_child), which must not start another job."""
    status = start_job(f"{HERE}:square_in_a_spawned_pool", {"numbers": [1, 2, 3]},
                       folder=jobs_dir).wait(LIMIT_S)

    assert status.state == "succeeded", status
    assert status.result == [1, 4, 9]


def test_stopping_a_job_that_already_crashed_keeps_the_crash(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:exit_with", {"code": 3}, folder=jobs_dir)
    handle.wait(LIMIT_S)

    status = handle.stop(grace_s=0.0, term_s=0.0)

    assert status.state == "failed" and status.cause == "exited with code 3"
    assert not status.stop_requested


def test_a_job_that_asks_should_stop_ends_as_stopped_with_its_result(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:loop_until_stopped", folder=jobs_dir)
    wait_for(handle, lambda e: e.kind == "progress")
    assert handle.status().state == "running"

    status = handle.stop(grace_s=LIMIT_S)

    assert status.state == "stopped"
    assert status.stop_requested and status.exit_code == 0
    assert status.has_result and status.result["stopped_after"] >= 0
    assert "stop_seen" in [e.kind for e in handle.events()[0]]


@posix_only
def test_a_job_that_ignores_should_stop_is_terminated_with_its_children(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:ignore_stop_with_grandchild", folder=jobs_dir)
    grandchild = wait_for(handle, lambda e: e.kind == "grandchild").data

    status = handle.stop(grace_s=0.2, term_s=LIMIT_S)

    assert status.state == "stopped"
    assert status.cause == "stopped on request: killed by signal 15 (SIGTERM)"
    assert gone(grandchild["pid"], grandchild["create_time"])


@posix_only
def test_a_grandchild_that_outlives_the_job_is_killed_by_stop(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:ignore_stop_with_grandchild", {"stubborn_grandchild": True},
                       folder=jobs_dir)
    grandchild = wait_for(handle, lambda e: e.kind == "grandchild").data

    status = handle.stop(grace_s=0.2, term_s=LIMIT_S)

    assert status.state == "stopped"
    assert gone(grandchild["pid"], grandchild["create_time"])


@posix_only
def test_a_job_that_ignores_sigterm_is_killed(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:ignore_stop_with_grandchild", {"ignore_sigterm": True},
                       folder=jobs_dir)
    grandchild = wait_for(handle, lambda e: e.kind == "grandchild").data

    status = handle.stop(grace_s=0.2, term_s=1.0)

    assert status.state == "stopped"
    assert not handle.is_running()
    assert gone(grandchild["pid"], grandchild["create_time"])


def test_a_dropped_handle_can_be_found_again_from_the_folder(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:wait_for_go_file", folder=jobs_dir)
    wait_for(handle, lambda e: e.kind == "progress")
    job_dir = handle.job_dir
    del handle
    gc.collect()

    (found,) = list_jobs(jobs_dir)
    assert found.job_dir == job_dir and found.target == f"{HERE}:wait_for_go_file"
    assert found.status().state == "running"
    (job_dir / "go").touch()
    status = found.wait(LIMIT_S)

    assert status.state == "succeeded" and status.result == "went"
    assert JobHandle.attach(job_dir).status() == status  # and again, once it has ended


@posix_only
def test_a_job_killed_with_its_supervisor_failed_without_a_result(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:loop_until_stopped", folder=jobs_dir)
    wait_for(handle, lambda e: e.kind == "progress")

    os.killpg(handle.spec["pid"], signal.SIGKILL)  # not a stop: something else killed it
    status = handle.wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "the process ended without a result"
    assert not status.stop_requested


@posix_only
def test_a_worker_killed_by_a_signal_is_reported_with_the_signal(jobs_dir: Path) -> None:
    handle = start_job(f"{HERE}:loop_until_stopped", folder=jobs_dir)
    started = wait_for(handle, lambda e: e.kind == "started").data

    os.kill(started["pid"], signal.SIGKILL)  # the supervisor survives and records it
    status = handle.wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause == "killed by signal 9 (SIGKILL)"
    assert status.exit_code == -9


def test_a_job_folder_whose_process_is_gone_without_an_end_is_failed(tmp_path: Path) -> None:
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    create_time = psutil.Process(finished.pid).create_time()
    finished.wait()
    job_dir = tmp_path / "jobs" / "20260101-000000-lost-abcdef"
    job_dir.mkdir(parents=True)
    (job_dir / "job.json").write_text(json.dumps(
        {"id": job_dir.name, "target": f"{HERE}:loop_until_stopped", "args": {},
         "pid": finished.pid, "create_time": create_time, "created_at": 0.0}), encoding="utf-8")
    (job_dir / "events.jsonl").write_text(
        '{"kind": "started", "seq": 0, "time": 1.0, "pid": 1, "create_time": 0.0}\n'
        '{"kind": "progress", "seq": 1, "time": 2.0, "done": 1', encoding="utf-8")

    status = JobHandle.attach(job_dir).status()

    assert status.state == "failed"
    assert status.cause == "the process ended without a result"
