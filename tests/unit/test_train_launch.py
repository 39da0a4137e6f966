"""The pieces of the training launcher without a job: card locks, the measured dataset, the
reporter of runs that are not jobs, how many processes a run takes, errors relayed from a
torchrun child."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil
import pytest
import soundfile

from gsv_core.errors import DatasetError, HardwareError, ModelMissing
from gsv_core.job_events import read_events
from gsv_core.train.cli import LineReporter
from gsv_core.train.config import TrainConfig
from gsv_core.train.job import _child_error, processes_of, summary, torchrun_command
from gsv_core.train.launch import (
    check_formatted,
    experiment_dataset,
    gpu_lock_owner,
    gpu_lock_path,
    hold_gpu_locks,
)
from gsv_core.train.reporting import TrainResult
from gsv_core.workspace import Workspace


def _config(**changes) -> TrainConfig:
    values = {"kind": "gpt", "workspace": "/ws", "experiment": "e", "epochs": 1,
              "batch_size": 1, "save_every": 1}
    return TrainConfig(**{**values, **changes})


def _lock(space: Workspace, index: int, record: dict) -> None:
    path = gpu_lock_path(space, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")


def test_lock_of_a_live_process_owns_the_card_and_of_a_dead_one_is_stale(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    me = psutil.Process()
    _lock(space, 0, {"job_dir": None, "job_id": "mine", "pid": me.pid,
                     "create_time": me.create_time()})
    assert gpu_lock_owner(space, 0)["job_id"] == "mine"
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    create_time = psutil.Process(ended.pid).create_time()
    ended.wait()
    _lock(space, 1, {"job_dir": None, "job_id": "gone", "pid": ended.pid,
                     "create_time": create_time})
    assert gpu_lock_owner(space, 1) is None
    # A live pid with another create time is a reused pid, not the owner.
    _lock(space, 2, {"job_dir": None, "job_id": "reused", "pid": me.pid,
                     "create_time": me.create_time() - 1000})
    assert gpu_lock_owner(space, 2) is None
    gpu_lock_path(space, 3).write_text("{half a rec", encoding="utf-8")
    assert gpu_lock_owner(space, 3) is None  # damaged: stale
    assert gpu_lock_owner(space, 4) is None  # none


def test_hold_gpu_locks_takes_a_stale_card_refuses_a_live_one_and_releases(
        tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    _lock(space, 0, {"job_dir": None, "job_id": "gone", "pid": 2**22 + 7, "create_time": 1.0})
    with hold_gpu_locks(space, (0,), "voice", ["gpt"]):
        owner = gpu_lock_owner(space, 0)
        assert owner["experiment"] == "voice" and owner["pid"] == psutil.Process().pid
        with pytest.raises(HardwareError, match="GPU 0 is in use") as refused, \
                hold_gpu_locks(space, (1, 0), "other", ["sovits"]):
            pass
        assert "'voice'" in refused.value.message and refused.value.rule == "H-3"
        assert not gpu_lock_path(space, 1).exists()  # nothing taken when one card is busy
    assert not gpu_lock_path(space, 0).exists()


def test_check_formatted_names_the_missing_files(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    folder = space.logs_dir / "voice"
    (folder / "4-cnhubert").mkdir(parents=True)
    (folder / "2-name2text.txt").write_text("", encoding="utf-8")
    with pytest.raises(DatasetError, match="5-wav32k") as missing:
        check_formatted(space, "voice", "sovits")
    assert "4-cnhubert" not in missing.value.message
    with pytest.raises(DatasetError, match=r"6-name2semantic\.tsv"):
        check_formatted(space, "voice", "gpt")


def test_experiment_dataset_measures_the_formatted_clips(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    assert experiment_dataset(space, "nothing").clip_count is None  # defaults
    folder = space.logs_dir / "voice"
    (folder / "5-wav32k").mkdir(parents=True)
    lines = []
    for number, seconds in enumerate([1.0, 2.0, 3.0, 4.0]):
        name = f"c{number}.wav"
        soundfile.write(folder / "5-wav32k" / name, np.zeros(int(seconds * 32000)), 32000,
                        subtype="PCM_16")
        lines.append(f"{name}\tphones\t1 1\ttext")
    lines.append("missing.wav\tp\t1\tt")  # no audio: not counted
    (folder / "2-name2text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary_ = experiment_dataset(space, "voice")
    assert summary_.clip_count == 4
    assert summary_.total_duration_s == pytest.approx(10.0)
    assert summary_.p95_slice_s == pytest.approx(4.0)
    assert summary_.quality == "unknown" and summary_.reviewed_fraction == 0.0


def test_line_reporter_writes_job_events_and_stops_on_its_stop_file(tmp_path: Path,
                                                                   capsys) -> None:
    events, stop = tmp_path / "events.jsonl", tmp_path / "stop"
    reporter = LineReporter(events, stop_file=stop, prefix="gpt: ")
    reporter.progress(1, 4, "round 1 of 1, step 1 of 4")
    reporter.metric("gpt/loss", 2.5, 1)
    reporter.emit("exported", model="gpt", path="/w.ckpt", epoch=1, step=1)
    reporter.log("no discriminator", "warning")
    assert not reporter.should_stop()
    stop.touch()
    assert reporter.should_stop()
    reporter.close()
    found = read_events(events)[0]
    assert [e.kind for e in found] == ["progress", "metric", "exported", "log"]
    assert found[1].data == {"name": "gpt/loss", "value": 2.5, "step": 1}
    assert capsys.readouterr().err.splitlines() == ["gpt: round 1 of 1, step 1 of 4",
                                                    "gpt: warning: no discriminator"]
    quiet = LineReporter(tmp_path / "rank1.jsonl", quiet=True)
    quiet.progress(1, 2, "x")
    quiet.close()
    assert not (tmp_path / "rank1.jsonl").exists() and capsys.readouterr().err == ""


def test_processes_one_per_card_on_cuda_else_one_unless_set() -> None:
    assert processes_of(_config(device="cuda", gpus=(0, 1))) == 2
    assert processes_of(_config(device="cuda", gpus=(3,))) == 1
    assert processes_of(_config(device="cpu", gpus=(0, 1))) == 1
    assert processes_of(_config(device="cpu", extra={"processes": 2})) == 2
    command = torchrun_command(Path("/c.json"), "gpt", 2, Path("/e.jsonl"), Path("/stop"))
    assert command[1:7] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
                            "2", "-m"]
    assert command[7:9] == ["gsv_core.train", "gpt"]


def test_a_child_s_error_keeps_its_class_message_and_advice() -> None:
    error = _child_error({"error_type": "gsv_core.errors.ModelMissing", "message": "no s1",
                          "advice": "put it there", "rule": None})
    assert isinstance(error, ModelMissing) and error.advice == "put it there"
    oom = _child_error({"error_type": "gsv_core.errors.OutOfMemory", "rule": "B-6",
                        "message": "Batch 8 failed on this card", "advice": "Set 4."})
    assert isinstance(oom, HardwareError) and oom.rule == "B-6"
    builtin = _child_error({"error_type": "builtins.ZeroDivisionError", "message": "x"})
    assert type(builtin) is ZeroDivisionError and str(builtin) == "x"
    other = _child_error({"error_type": "torch.OutOfMemoryError", "message": "CUDA oom"})
    assert type(other) is RuntimeError and str(other) == "OutOfMemoryError: CUDA oom"


def test_summary_lists_exported_weights_per_model() -> None:
    runs = [TrainResult("sovits", "e", 2, 10, False, ("a.pth", "b.pth")),
            TrainResult("gpt", "e", 1, 3, True, ("c.ckpt",))]
    result = summary(runs)
    assert result["exported"] == {"sovits": ["a.pth", "b.pth"], "gpt": ["c.ckpt"]}
    assert result["stopped"] is True and [r["kind"] for r in result["runs"]] == ["sovits", "gpt"]
    json.dumps(result)
