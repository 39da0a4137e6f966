"""The generic job poller (gsv_core.job_watch) on job folders written by hand.

A job folder is only files (job.json, events.jsonl, exit.json), so every state a UI must
draw is laid out here without starting a process: an ended job has no live pid, and a
"running" one names this test process as its supervisor (alive, with its real create time).
The real child processes are exercised in tests/integration/test_jobs.py and
tests/integration/test_ui_format.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest

from gsv_core.job_events import EventWriter
from gsv_core.job_watch import JobWatcher, LogLine, find_job, running_jobs
from gsv_core.jobs import JobHandle

TARGET = "some.module:run"


def job_folder(root: Path, name: str, *, created_at: float, running: bool = False,
               target: str = TARGET, exit_code: int | None = 0,
               args: dict | None = None) -> Path:
    """A job folder as gsv_core.jobs leaves it; ``running``: this process is its supervisor."""
    folder = root / name
    folder.mkdir(parents=True)
    me = psutil.Process()
    spec = {"format": 1, "id": name, "target": target, "args": args or {"n": 1},
            "label": "Counting", "created_at": created_at,
            "pid": os.getpid() if running else None,
            "create_time": me.create_time() if running else None}
    (folder / "job.json").write_text(json.dumps(spec), encoding="utf-8")
    (folder / "events.jsonl").touch()
    if not running and exit_code is not None:
        (folder / "exit.json").write_text(json.dumps({"returncode": exit_code, "worker_pid": 1,
                                                      "ended_at": created_at + 5}))
    return folder


def write(folder: Path, *events: tuple[str, dict]) -> None:
    # EventWriter numbers its lines from 0; a second writer would restart seq, which the
    # reader does not care about.
    with EventWriter(folder / "events.jsonl") as writer:
        for kind, data in events:
            writer.write(kind, **data)


def test_a_finished_job_shows_its_last_progress_result_and_logs(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0)
    write(folder, ("progress", {"done": 1.0, "total": 3.0, "message": "first"}),
          ("log", {"message": "clip 2 is odd", "level": "warning"}),
          ("progress", {"done": 3.0, "total": 3.0, "message": "last"}),
          ("result", {"value": {"clips": 3}}))
    snapshot = JobWatcher(JobHandle.attach(folder)).poll()
    assert snapshot.status.state == "succeeded" and snapshot.finished
    assert (snapshot.steps, snapshot.fraction, snapshot.message) == ((3, 3), 1.0, "last")
    assert snapshot.status.result == {"clips": 3} and snapshot.status.has_result
    assert snapshot.logs == (LogLine("warning", "clip 2 is odd"),)
    assert (snapshot.job_id, snapshot.label, snapshot.created_at) == ("job-1", "Counting", 100.0)
    assert snapshot.args == {"n": 1}


def test_each_poll_reads_only_the_new_events(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0, running=True)
    watcher = JobWatcher(JobHandle.attach(folder))
    first = watcher.poll()
    assert first.status.state == "running" and first.steps is None and first.fraction is None
    write(folder, ("progress", {"done": 1.0, "total": 4.0, "message": "one"}),
          ("log", {"message": "a", "level": "info"}))
    second = watcher.poll()
    assert second.steps == (1, 4) and second.fraction == 0.25
    write(folder, ("log", {"message": "b", "level": "error"}))
    third = watcher.poll()
    assert third.steps == (1, 4) and third.message == "one"   # kept from the earlier poll
    assert [line.message for line in third.logs] == ["a", "b"]   # not read twice
    assert third.log_text("error") == "b" and third.log_text() == "a\nb"


def test_a_failure_carries_its_cause_advice_and_logged_details(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0, exit_code=1)
    write(folder, ("log", {"message": "line 2: no audio", "level": "error"}),
          ("failed", {"stage": "run", "error_type": "gsv_core.errors.DatasetError",
                      "message": "The list has 1 problem(s) on line(s) 2.",
                      "advice": "Fix each line.", "traceback": "Traceback ..."}))
    snapshot = JobWatcher(JobHandle.attach(folder)).poll()
    assert snapshot.status.state == "failed"
    assert snapshot.status.cause == "DatasetError: The list has 1 problem(s) on line(s) 2."
    assert snapshot.status.advice == "Fix each line." and snapshot.status.exit_code == 1
    assert snapshot.log_text("error") == "line 2: no audio"


def test_a_crash_without_a_result_is_a_failure_with_its_exit(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0, exit_code=3)
    (folder / "stderr.log").write_text("Fatal Python error: Aborted\n", encoding="utf-8")
    snapshot = JobWatcher(JobHandle.attach(folder)).poll()
    assert (snapshot.status.state, snapshot.status.cause) == ("failed", "exited with code 3")
    assert "Fatal Python error" in snapshot.status.details and snapshot.status.advice == ""


def test_an_unknown_total_has_no_fraction(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0, running=True)
    write(folder, ("progress", {"done": 2.0, "total": None, "message": "scanning"}))
    snapshot = JobWatcher(JobHandle.attach(folder)).poll()
    assert snapshot.steps == (2, None) and snapshot.fraction is None


def test_only_the_newest_log_lines_are_kept(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0)
    write(folder, *(("log", {"message": str(n), "level": "info"}) for n in range(5)),
          ("result", {"value": None}))
    snapshot = JobWatcher(JobHandle.attach(folder), max_log_lines=2).poll()
    assert [line.message for line in snapshot.logs] == ["3", "4"]


def test_follow_returns_at_once_for_an_ended_job(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0)
    write(folder, ("result", {"value": 7}))
    seen = []
    final = JobWatcher(JobHandle.attach(folder)).follow(seen.append)
    assert final.status.result == 7 and [s.status.state for s in seen] == ["succeeded"]


def test_follow_gives_up_after_its_timeout_with_the_running_state(tmp_path: Path) -> None:
    folder = job_folder(tmp_path, "job-1", created_at=100.0, running=True)
    seen = []
    last = JobWatcher(JobHandle.attach(folder)).follow(seen.append, timeout_s=0)
    assert last.status.state == "running" and len(seen) == 1


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "a" / "jobs", tmp_path / "b" / "jobs"


def test_find_job_prefers_the_running_one_then_the_newest(folders) -> None:
    first, second = folders
    assert find_job(folders) is None   # no folder yet: nothing, no error
    job_folder(first, "old", created_at=100.0)
    job_folder(second, "newer", created_at=200.0)
    found = find_job(folders)
    assert found is not None and found.id == "newer"
    job_folder(first, "running", created_at=150.0, running=True)
    job_folder(second, "newest", created_at=300.0)
    found = find_job(folders)
    assert found is not None and found.id == "running"   # the one that can still be stopped
    assert [handle.id for handle in running_jobs(folders)] == ["running"]


def test_find_job_keeps_to_its_target(folders) -> None:
    first, _ = folders
    job_folder(first, "mine", created_at=100.0)
    job_folder(first, "other", created_at=200.0, target="other.module:train")
    found = find_job(folders, TARGET)
    assert found is not None and found.id == "mine"
    assert find_job(folders, "nothing:here") is None
    assert running_jobs(folders, TARGET) == []
