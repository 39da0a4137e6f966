"""How a job's state is decided, and what is refused before a job starts (gsv_core.jobs)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gsv_core.errors import ConfigError
from gsv_core.job_events import JobEvent
from gsv_core.jobs import (
    _describe_exit,
    _ended_status,
    _Outcome,
    check_target,
    jobs_folder,
    start_job,
)
from gsv_core.workspace import Workspace

FAILURE = JobEvent("failed", 3, 100.0, {"error_type": "builtins.RuntimeError",
                                        "message": "CUDA error", "advice": "",
                                        "traceback": "Traceback ... RuntimeError: CUDA error"})


def outcome(*, result: bool = False, failure: JobEvent | None = None,
            stop_seen: bool = False) -> _Outcome:
    return _Outcome(has_result=result, result={"ok": 1} if result else None, failure=failure,
                    stop_seen=stop_seen)


@pytest.mark.parametrize(("case", "exit_code", "stop_at", "state", "cause"), [
    (outcome(result=True), 0, None, "succeeded", ""),
    (outcome(result=True), 1, None, "failed", "exited with code 1 after writing its result"),
    (outcome(result=True), -11, None, "failed",
     "killed by signal 11 (SIGSEGV) after writing its result"),
    (outcome(result=True), None, None, "failed",
     "the process ended before its exit code was recorded"),
    (outcome(), 0, None, "failed", "the process ended without a result (exit code 0)"),
    (outcome(), None, None, "failed", "the process ended without a result"),
    (outcome(failure=FAILURE), 1, None, "failed", "RuntimeError: CUDA error"),
    (outcome(result=True, failure=FAILURE), 1, None, "failed", "RuntimeError: CUDA error"),
    # stopped on request: how it ended is kept in the cause
    (outcome(result=True, stop_seen=True), 0, 50.0, "stopped",
     "stopped on request: exited with code 0"),
    (outcome(), -15, 50.0, "stopped", "stopped on request: killed by signal 15 (SIGTERM)"),
    (outcome(), None, 50.0, "stopped", "stopped on request"),
    (outcome(failure=FAILURE), 1, 50.0, "stopped", "stopped on request: exited with code 1"),
    # finished before it noticed the request / failed before it was made
    (outcome(result=True), 0, 50.0, "succeeded", ""),
    (outcome(failure=FAILURE), 1, 200.0, "failed", "RuntimeError: CUDA error"),
])
def test_the_state_of_an_ended_job(case: _Outcome, exit_code: int | None, stop_at: float | None,
                                   state: str, cause: str) -> None:
    status = _ended_status(case, exit_code, stop_at, "stderr tail")

    assert (status.state, status.cause) == (state, cause)
    assert status.exit_code == exit_code
    assert status.stop_requested == (stop_at is not None)
    assert status.finished


def test_a_failure_shows_its_traceback_and_an_exit_its_stderr() -> None:
    assert _ended_status(outcome(failure=FAILURE), 1, None, "tail").details.endswith(
        "RuntimeError: CUDA error")
    assert _ended_status(outcome(), 3, None, "tail").details == "tail"


def test_exit_descriptions() -> None:
    assert _describe_exit(3) == "exited with code 3"
    assert _describe_exit(-9) == "killed by signal 9 (SIGKILL)"
    assert _describe_exit(0xC0000005) == "exited with code 3221225477 (0xC0000005)"
    assert _describe_exit(None) == ""


@pytest.fixture
def target_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module on sys.path with job functions of several shapes (never imported by the check)."""
    (tmp_path / "gsv_test_job_shapes.py").write_text(
        "raise SystemExit('check_target must not import this module')\n"
        "import json as imported_json\n"
        "from json import dumps\n"
        "def plain(ctx, clips, batch=4, *, epochs, seed=0):\n    pass\n"
        "def flexible(ctx, **options):\n    pass\n"
        "def no_context():\n    pass\n"
        "async def coroutine(ctx):\n    pass\n"
        "if True:\n    def conditional(ctx):\n        pass\n"
        "not_a_function = 3\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return "gsv_test_job_shapes"


def test_a_well_formed_target_passes_without_importing_it(target_module: str) -> None:
    check_target(f"{target_module}:plain", {"clips": [], "epochs": 2})
    check_target(f"{target_module}:plain", {"clips": [], "batch": 8, "epochs": 2, "seed": 1})
    check_target(f"{target_module}:flexible", {"anything": 1})
    check_target(f"{target_module}:conditional")
    check_target(f"{target_module}:dumps")  # imported names count as defined


@pytest.mark.parametrize(("target", "args", "message"), [
    ("no colon here", {}, "is not 'package.module:function'"),
    ("gsv_core.jobs:", {}, "is not 'package.module:function'"),
    ("1bad:run", {}, "is not 'package.module:function'"),
    ("gsv_core.no_such_module:run", {}, "There is no module 'gsv_core.no_such_module'"),
    ("no_such_package_xyz.sub:run", {}, "There is no module 'no_such_package_xyz.sub'"),
    ("{m}:missing", {}, "has no function 'missing'"),
    ("{m}:coroutine", {}, "is an async function"),
    ("{m}:no_context", {}, "takes no positional parameter for the job context"),
    ("{m}:plain", {"clips": [], "epochs": 1, "bacth": 2}, "has no parameter 'bacth'"),
    ("{m}:plain", {"clips": []}, "needs 'epochs'"),
    ("{m}:plain", {"epochs": 1}, "needs 'clips'"),
])
def test_a_bad_target_is_refused_before_starting(target_module: str, tmp_path: Path,
                                                 target: str, args: dict, message: str) -> None:
    folder = tmp_path / "jobs"
    with pytest.raises(ConfigError, match=message):
        start_job(target.format(m=target_module), args, folder=folder)
    assert not folder.exists()  # no job folder, no process


def test_arguments_json_cannot_hold_are_refused_before_starting(target_module: str,
                                                                tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be saved as JSON"):
        start_job(f"{target_module}:flexible", {"model": object()}, folder=tmp_path / "jobs")
    assert not (tmp_path / "jobs").exists()


def test_jobs_live_in_the_experiment_folder_or_in_output(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path)
    assert jobs_folder(workspace, "小明 voice") == tmp_path / "logs" / "小明 voice" / "jobs"
    assert jobs_folder(workspace) == tmp_path / "output" / "jobs"
    with pytest.raises(ConfigError):
        jobs_folder(workspace, "../escape")


def test_the_job_modules_are_light_to_import() -> None:
    """The UI imports jobs at start-up and the supervisor imports job_child for every job:
    neither may load torch (seconds) or gradio (gsv_core never does)."""
    code = ("import sys, gsv_core.jobs, gsv_core.job_child\n"
            "heavy = {'torch', 'gradio', 'numpy'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    # The repository root on the path: the check must also run from an uninstalled checkout.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env)
    assert result.returncode == 0, result.stderr[-2000:]
