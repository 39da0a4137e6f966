"""Training jobs with real child processes: the queue, the GPU lock, failures, kill -9, torchrun.

``stub_trainer`` below stands in for the real trainers (``gsv_core.train.sovits`` /
``gpt``) in these tests: it has their signature, really emits the event vocabulary of
``gsv_core.train.reporting`` (progress, metrics, train_step, exported) and writes an exported
file, so the job layer is tested on its own and fast. The child imports it through the
config's ``extra["trainer"]``. The cards are CUDA indices in the configs only: the stub
never touches a GPU (there is none here), so the lock logic is exercised without one. The
end-to-end runs with the real trainers are in ``test_train_cli.py``.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil
import pytest

from gsv_core.errors import DatasetError, HardwareError
from gsv_core.train.config import TrainConfig
from gsv_core.train.launch import (
    find_training,
    gpu_lock_owner,
    gpu_lock_path,
    running_trainings,
    start_training,
)
from gsv_core.train.reporting import TrainReporter, TrainResult
from gsv_core.workspace import Workspace

HERE = "tests.integration.test_train_job"
LIMIT_S = 180.0  # only ever reached when something is broken
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process groups")


# --- the stand-in trainer (runs in the child) -------------------------------------------------

def stub_trainer(config: TrainConfig, reporter: TrainReporter) -> TrainResult:
    """Stands in for train_sovits / train_gpt: ``extra["behaviour"]`` is "ok", "crash" (a
    RuntimeError at step 2), "wait" (until stopped, or ``extra["release"]`` exists)."""
    import torch.distributed as dist

    behaviour = config.extra.get("behaviour", "ok")
    world = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    rank = dist.get_rank() if world > 1 else 0
    if world > 1:  # prove the ranks really form one group
        import torch

        total = torch.ones(1)
        dist.all_reduce(total)
        reporter.log(f"ranks agree: {int(total.item())}")
    steps, stopped, step = config.max_steps or 3, False, 0
    for step in range(1, steps + 1):
        if behaviour == "wait":
            release = Path(str(config.extra.get("release", "/nonexistent")))
            while not reporter.should_stop() and not release.exists():
                time.sleep(0.05)
        if reporter.should_stop():
            stopped = True
            break
        reporter.progress(step, steps, f"round 1 of 1, step {step} of {steps}")
        reporter.metric(f"{config.kind}/loss", 1.0 / step, step)
        reporter.emit("train_step", model=config.kind, epoch=1, epochs=1, step=step,
                      steps=steps, samples_per_s=10.0, eta_s=0.0, lr=1e-4, gpu_memory_gb=None)
        if behaviour == "crash" and step == 2:
            raise RuntimeError("the spectrogram of clip 7 is empty")
    space = config.space
    folder = space.sovits_weights_dir if config.kind == "sovits" else space.gpt_weights_dir
    exported: tuple[str, ...] = ()
    if rank == 0:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{config.experiment}-{config.kind}-s{step}.weights"
        path.write_text(json.dumps({"world": world, "gpus": list(config.gpus),
                                    "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}))
        reporter.emit("exported", model=config.kind, path=str(path), epoch=1, step=step)
        exported = (str(path),)
    return TrainResult(config.kind, config.experiment, 1, step, stopped, exported)


# --- helpers -----------------------------------------------------------------------------------

def formatted(root: Path, experiment: str = "声音 one") -> Workspace:
    """The files start_training checks for (the stub trainer reads none of them)."""
    folder = root / "logs" / experiment
    for sub in ("3-bert", "4-cnhubert", "5-wav32k"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "2-name2text.txt").write_text("", encoding="utf-8")
    (folder / "6-name2semantic.tsv").write_text("item_name\tsemantic_audio\n", encoding="utf-8")
    return Workspace(root)


def config(space: Workspace, kind: str = "sovits", experiment: str = "声音 one",
           **extra: Any) -> TrainConfig:
    gpus = extra.pop("gpus", (0,))
    device = extra.pop("device", "cuda")
    return TrainConfig(kind=kind, workspace=str(space.root), experiment=experiment, epochs=1,
                       batch_size=1, save_every=1, device=device, gpus=gpus,
                       extra={"trainer": f"{HERE}:stub_trainer", **extra})


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + LIMIT_S
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def kinds_of(handle, kind: str) -> list[dict]:
    return [dict(e.data) for e in handle.events()[0] if e.kind == kind]


# --- tests -------------------------------------------------------------------------------------

def test_queue_trains_sovits_then_gpt_and_keeps_each_config(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    handle = start_training([config(space, "sovits", gpus=(1,)),
                             config(space, "gpt", gpus=(1,))])
    status = handle.wait(LIMIT_S)
    assert status.state == "succeeded", (status.cause, status.details)
    exported = status.result["exported"]
    assert list(exported) == ["sovits", "gpt"]
    runs = status.result["runs"]
    assert [run["kind"] for run in runs] == ["sovits", "gpt"]
    # The job saw only its card, numbered 0 (CUDA_VISIBLE_DEVICES=1).
    weights = json.loads(Path(exported["gpt"][0]).read_text())
    assert weights == {"world": 1, "gpus": [0], "visible": "1"}
    kept = TrainConfig.read(space.experiment_dir("声音 one") / "train-sovits.json")
    assert kept.gpus == (1,) and kept.kind == "sovits"
    assert (space.experiment_dir("声音 one") / "train-gpt.json").is_file()
    # SoVITS's events come before GPT's; the lock was released at the end.
    names = [e["name"] for e in kinds_of(handle, "metric")]
    assert names[0].startswith("sovits/") and names[-1].startswith("gpt/")
    assert not gpu_lock_path(space, 1).exists()
    assert find_training(space, "声音 one").id == handle.id
    assert running_trainings(space) == []


def test_a_crash_fails_the_job_with_its_cause_and_stops_the_queue(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    handle = start_training([config(space, "sovits", behaviour="crash"), config(space, "gpt")])
    status = handle.wait(LIMIT_S)
    assert status.state == "failed"
    assert status.cause == "RuntimeError: the spectrogram of clip 7 is empty"
    assert status.exit_code == 1 and not status.has_result
    logs = [e["message"] for e in kinds_of(handle, "log")]
    assert "SoVITS training failed; GPT not started." in logs
    assert not [e for e in kinds_of(handle, "metric") if e["name"].startswith("gpt/")]


def test_an_unformatted_experiment_is_refused_before_anything_starts(tmp_path: Path) -> None:
    space = Workspace(tmp_path / "ws")
    (space.logs_dir / "empty").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"2-name2text\.txt"):
        start_training([config(space, "gpt", experiment="empty")])
    assert not (space.logs_dir / "empty" / "jobs").exists()


def test_a_live_lock_refuses_the_card_and_names_the_job(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    formatted(tmp_path / "ws", "other voice")
    first = start_training([config(space, "sovits", gpus=(0,), behaviour="wait")])
    try:
        wait_for(lambda: kinds_of(first, "started"), "the first job's worker")
        with pytest.raises(HardwareError) as refused:
            start_training([config(space, "gpt", experiment="other voice", gpus=(0,))])
        assert first.id in refused.value.message and "声音 one" in refused.value.message
        assert gpu_lock_owner(space, 0)["job_id"] == first.id
        # Another card is free: the second experiment trains there meanwhile.
        second = start_training([config(space, "gpt", experiment="other voice", gpus=(1,))])
        assert second.wait(LIMIT_S).state == "succeeded"
    finally:
        status = first.stop(grace_s=60)
    assert status.state == "stopped"
    assert kinds_of(first, "stop_seen")


@posix_only
def test_kill_9_leaves_a_stale_lock_that_a_new_start_takes_over(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    first = start_training([config(space, "sovits", gpus=(0,), behaviour="wait")])
    wait_for(lambda: kinds_of(first, "started"), "the first job's worker")
    worker = psutil.Process(kinds_of(first, "started")[0]["pid"])
    os.killpg(first.spec["pid"], signal.SIGKILL)  # supervisor and worker: no clean-up at all
    worker.wait(LIMIT_S)
    wait_for(lambda: not first.is_running(), "the killed job to be gone")
    assert gpu_lock_path(space, 0).exists()  # left behind ...
    assert gpu_lock_owner(space, 0) is None  # ... and stale
    assert first.status().state == "failed"
    second = start_training([config(space, "sovits", gpus=(0,))])
    status = second.wait(LIMIT_S)
    assert status.state == "succeeded", (status.cause, status.details)


def test_the_same_model_of_one_experiment_cannot_train_twice(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    first = start_training([config(space, "gpt", device="cpu", behaviour="wait")])
    try:
        with pytest.raises(Exception, match="already training"):
            start_training([config(space, "gpt", device="cpu")])
    finally:
        first.stop(grace_s=60)


def test_several_processes_run_through_torchrun_and_their_events_are_relayed(
        tmp_path: Path) -> None:
    """Two gloo ranks on the CPU (extra.processes): the multi-GPU path without GPUs."""
    space = formatted(tmp_path / "ws")
    handle = start_training([replace(config(space, "gpt", device="cpu", processes=2),
                                     max_steps=2)])
    status = handle.wait(LIMIT_S)
    assert status.state == "succeeded", (status.cause, status.details)
    weights = json.loads(Path(status.result["exported"]["gpt"][0]).read_text())
    assert weights["world"] == 2
    assert "ranks agree: 2" in [e["message"] for e in kinds_of(handle, "log")]
    progress = kinds_of(handle, "progress")
    assert [p["done"] for p in progress] == [1.0, 2.0]  # rank 0's only, relayed once
    assert [e["path"] for e in kinds_of(handle, "exported")] == status.result["exported"]["gpt"]


def test_the_real_gpt_trainer_runs_as_a_job_on_the_tiny_fixtures(tmp_path: Path) -> None:
    """start_training → job worker → train_gpt (no stand-in): the Training tab's path."""
    from tests.fixture_paths import tiny_fixture
    from tests.train_fixtures import write_formatted_experiment

    root = tmp_path / "ws"
    write_formatted_experiment(root, "tiny voice")
    run = TrainConfig(kind="gpt", workspace=str(root), experiment="tiny voice", epochs=1,
                      batch_size=1, save_every=1, device="cpu", max_steps=1,
                      pretrained_s1=str(tiny_fixture("gpt_v2.ckpt")), tensorboard=False)
    handle = start_training([run])
    status = handle.wait(LIMIT_S)
    assert status.state == "succeeded", (status.cause, status.details)
    exported = status.result["exported"]["gpt"]
    assert exported == [str(root / "GPT_weights_v2" / "tiny voice-e1.ckpt")]
    assert Path(exported[0]).is_file()
    assert {"progress", "metric", "train_step", "exported"} <= {
        event.kind for event in handle.events()[0]}


def test_sovits_and_gpt_on_two_cards_train_at_once_each_seeing_its_own_card(
        tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    release = tmp_path / "release"
    # SoVITS waits until GPT has exported: only possible when both run at the same time.
    handle = start_training([config(space, "sovits", gpus=(0,), behaviour="wait",
                                    release=str(release)),
                             config(space, "gpt", gpus=(1,))])
    wait_for(lambda: kinds_of(handle, "exported") or not handle.is_running(), "GPT's export")
    release.touch()
    status = handle.wait(LIMIT_S)
    assert status.state == "succeeded", (status.cause, status.details)
    exported = status.result["exported"]
    assert json.loads(Path(exported["sovits"][0]).read_text())["visible"] == "0"
    assert json.loads(Path(exported["gpt"][0]).read_text()) == {"world": 1, "gpus": [0],
                                                                 "visible": "1"}
    assert [e["model"] for e in kinds_of(handle, "exported")] == ["gpt", "sovits"]
    assert not gpu_lock_path(space, 0).exists() and not gpu_lock_path(space, 1).exists()
    # each relayed progress event names its run (they interleave in one job's events)
    progress = kinds_of(handle, "progress")
    assert {e.get("model") for e in progress} == {"sovits", "gpt"}
    assert all(e["total"] == 3 for e in progress)


def test_in_parallel_a_failure_stops_the_other_run_and_fails_the_job(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    handle = start_training([config(space, "sovits", gpus=(0,), behaviour="wait"),
                             config(space, "gpt", gpus=(1,), behaviour="crash")])
    status = handle.wait(LIMIT_S)
    assert status.state == "failed"
    assert status.cause == "RuntimeError: the spectrogram of clip 7 is empty"
    logs = [e["message"] for e in kinds_of(handle, "log")]
    assert "GPT failed: stopping SoVITS." in logs


def test_a_torchrun_rank_s_crash_is_the_job_s_failure_with_its_cause(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    handle = start_training([config(space, "gpt", device="cpu", processes=2,
                                    behaviour="crash")])
    status = handle.wait(LIMIT_S)
    assert status.state == "failed"
    assert status.cause == "RuntimeError: the spectrogram of clip 7 is empty"
    assert not status.has_result


def test_stop_reaches_every_torchrun_rank_and_the_job_reads_stopped(tmp_path: Path) -> None:
    space = formatted(tmp_path / "ws")
    handle = start_training([config(space, "gpt", device="cpu", processes=2,
                                    behaviour="wait")])
    wait_for(lambda: "ranks agree: 2" in [e["message"] for e in kinds_of(handle, "log")]
             or not handle.is_running(), "both ranks")
    status = handle.stop(grace_s=120)
    assert status.state == "stopped", (status.cause, status.details)
    assert status.has_result and status.result["stopped"] is True
    assert (handle.job_dir / "train-gpt.stop").exists()  # what the ranks saw
