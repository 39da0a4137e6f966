"""The Training tab's run section: its handlers (no browser) on real background jobs.

The handlers are those ``tabs.train_run.wire`` connects, called directly as the browser
would (Start, a timer tick, Stop, page load, Listen). The jobs are real child processes of
``gsv_core.jobs``. TEST-ONLY STAND-IN: until ``gsv_core.train.launch`` and the trainers are
on main, ``stand_in_launch`` below plays launch's three functions over ``gsv_core.jobs`` and
``stand_in_trainer`` plays a trainer: it writes the events of gsv_core/train/reporting.py
(as sovits.py writes them) without training anything. The machine is described as having
no GPU (``GSV_FAKE_GPU=cpu``).
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import gradio as gr
import pytest

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.job_child import JobContext
from gsv_core.job_watch import find_job, running_jobs
from gsv_core.jobs import JobHandle, jobs_folder, start_job
from gsv_core.train.config import TrainConfig
from gsv_core.workspace import Workspace
from tabs.common import AUTO_GPU, AppContext
from tests.unit.test_train_run_form import write_experiment

pytestmark = pytest.mark.slow  # each run starts a child process

HERE = "tests.integration.test_ui_train_run"
STAND_IN_TARGET = f"{HERE}:stand_in_trainer"
EXPERIMENT = "小明 voice"
LIMIT_S = 120.0  # only ever reached when something is broken


def stand_in_trainer(ctx: JobContext, configs: list[dict], step_s: float = 0.0,
                     fail_at: int | None = None) -> dict:
    """TEST-ONLY STAND-IN for the trainers: 2 rounds of 3 steps per model, the events of
    reporting.py, an export per round, a graceful stop at the next step."""
    exported = []
    for data in configs:
        config = TrainConfig(**data)
        kind, epochs, per_epoch = config.kind, config.epochs, 3
        total = epochs * per_epoch
        step = 0
        for epoch in range(1, epochs + 1):
            for epoch_step in range(1, per_epoch + 1):
                step += 1
                if fail_at is not None and step == fail_at:
                    raise RuntimeError("stand-in crash")
                ctx.metric(f"{kind}/loss", 10.0 / step, step)
                ctx.progress(step, total, f"round {epoch} of {epochs}, step {step} of {total}")
                ctx.emit("train_step", epoch=epoch, epochs=epochs, step=step, steps=total,
                         epoch_step=epoch_step, epoch_steps=per_epoch, samples_per_s=5.0,
                         eta_s=1.0, lr=1e-4, gpu_memory_gb=None)
                time.sleep(step_s)
                if ctx.should_stop():
                    ctx.emit("checkpoint", path="ckpt", epoch=epoch, step=step)
                    return {"stopped": True}
            folder = Workspace(Path(config.workspace)).sovits_weights_dir
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{config.experiment}_e{epoch}_s{step}.pth"
            path.write_bytes(b"stand-in")
            ctx.emit("exported", model=kind, path=str(path), epoch=epoch, step=step)
            exported.append(str(path))
    return {"exported": exported}


def stand_in_launch(options: dict) -> types.ModuleType:
    """TEST-ONLY STAND-IN for gsv_core.train.launch (its API as the job layer's brief gives
    it), over the real gsv_core.jobs."""
    module = types.ModuleType("gsv_core.train.launch")

    def start_training(configs) -> JobHandle:
        configs = list(configs)
        space = configs[0].space
        running = running_jobs([jobs_folder(space, name) for name in space.experiments()],
                               STAND_IN_TARGET)
        if running:
            from gsv_core.errors import ConfigError
            raise ConfigError(f"The card is busy with {running[0].id}.", "Wait or stop it.")
        return start_job(STAND_IN_TARGET, {"configs": [c.__dict__ | {"gpus": list(c.gpus)}
                                                       for c in configs], **options},
                         folder=jobs_folder(space, configs[0].experiment), label="Training")

    def find_training(workspace: Workspace, experiment: str) -> JobHandle | None:
        return find_job([jobs_folder(workspace, experiment)], STAND_IN_TARGET)

    def running_trainings(workspace: Workspace) -> list[JobHandle]:
        return running_jobs([jobs_folder(workspace, name) for name in workspace.experiments()],
                            STAND_IN_TARGET)

    module.start_training = start_training
    module.find_training = find_training
    module.running_trainings = running_trainings
    return module


@pytest.fixture
def launch_options() -> dict:
    return {}


@pytest.fixture
def run_tab(monkeypatch: pytest.MonkeyPatch, launch_options: dict):
    """tabs.train_run over the stand-in launch (imported fresh, so it binds to it)."""
    monkeypatch.setitem(sys.modules, "gsv_core.train.launch", stand_in_launch(launch_options))
    for name in ("tabs.train_run",):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import tabs.train_run as module

    yield module
    sys.modules.pop("tabs.train_run", None)


def make_ctx(root: Path) -> AppContext:
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine({"GSV_FAKE_GPU": "cpu"}),
                      workspace=Workspace(root), app=app)


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    context = make_ctx(tmp_path / "ws")
    write_experiment(context.workspace.root, EXPERIMENT)
    return context


def limits_of(ctx: AppContext):
    from tabs.train import current_limits

    def limits(*values):
        return current_limits(ctx, *values)
    return limits


# gpu, dpo, dpo_confirm, the 7 governed sliders (None: defaults), the 5 dataset fields;
# SoVITS rounds 2, GPT rounds 2, save every 1, so the stand-in exports each round.
VALUES = (AUTO_GPU, False, False, None, 2, 1, None, None, 2, 1, None, None, None, None, None)


def start(run_tab, ctx, watchers, which="both", safety=True):
    return run_tab.start(ctx, watchers, limits_of(ctx), which, EXPERIMENT, safety, *VALUES)


def follow_to_end(run_tab, ctx, watchers, job_dir):
    deadline = time.monotonic() + LIMIT_S
    drawn, ticks = -1, []
    while time.monotonic() < deadline:
        outputs = run_tab.follow(ctx, watchers, job_dir, drawn)
        ticks.append(outputs)
        drawn = outputs[6]
        if outputs[7].active is False:
            return ticks
        time.sleep(0.2)
    raise AssertionError("the job did not end in time")


def test_h4_first_run_needs_the_safety_notice_read(run_tab, ctx):
    from gsv_core.train.watch_view import WatcherCache

    message, job_dir, *_ = start(run_tab, ctx, WatcherCache(), safety=False)
    assert "H-4" in message and job_dir == gr.update()
    assert run_tab.training_to_show(ctx.workspace, EXPERIMENT) is None   # nothing started


def test_start_both_follow_to_completion_plot_log_and_exports(run_tab, ctx):
    from gsv_core.train.watch_view import WatcherCache

    watchers = WatcherCache()
    message, job_dir, *_ = start(run_tab, ctx, watchers)
    assert message.startswith("▶️") and "SoVITS (2 rounds" in message and "GPT (2 rounds" in message
    ticks = follow_to_end(run_tab, ctx, watchers, job_dir)
    status, bar, _monitor, _plot, log, rows, drawn, _timer = ticks[-1]
    assert status.startswith("✅") and "round 2 of 2" in status and "T-3" in status
    assert 'value="1.0000"' in bar
    assert [row[:3] for row in rows] == [["SoVITS", 1, 3], ["SoVITS", 2, 6],
                                         ["GPT", 1, 3], ["GPT", 2, 6]]
    assert "exported" in log
    figures = [t[3]["value"] for t in ticks if isinstance(t[3], dict) and "value" in t[3]]
    assert figures and figures[-1] is not None
    assert len(figures[-1].axes) == 2   # one axis per model
    # a later tick with nothing new does not redraw the plot
    again = run_tab.follow(ctx, watchers, job_dir, drawn)
    assert again[3] == gr.update()
    # the H-4 notice is not asked again once a training was started
    _plan, safety = run_tab.plan_refresh(ctx, limits_of(ctx), EXPERIMENT, False, *VALUES)
    assert safety["visible"] is False


@pytest.mark.parametrize("launch_options", [{"step_s": 0.5}])
def test_stop_then_page_load_shows_it_stopped_and_resumable(run_tab, ctx, launch_options):
    from gsv_core.train.watch_view import WatcherCache

    watchers = WatcherCache()
    _message, job_dir, *_ = start(run_tab, ctx, watchers, which="sovits")
    deadline = time.monotonic() + LIMIT_S
    while "step" not in run_tab.follow(ctx, watchers, job_dir, -1)[0]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # a reload meanwhile re-attaches to the running job
    attached, *outputs = run_tab.attach(ctx, WatcherCache(), "another name")
    assert attached == job_dir and outputs[7].active is True
    # the card is busy: a second start is refused in the message, naming the job
    busy, busy_dir, *_ = start(run_tab, ctx, watchers, which="gpt")
    assert busy.startswith("❌") and Path(job_dir).name in busy and busy_dir == gr.update()
    assert run_tab.stop(ctx, watchers, job_dir).startswith("⏹")
    status = follow_to_end(run_tab, ctx, watchers, job_dir)[-1][0]
    assert status.startswith("⏹") and "resume" in status and "T-2" in status
    # once stopped, a new start works
    _again, job_again, *_ = start(run_tab, ctx, watchers, which="sovits")
    assert job_again not in (gr.update(), job_dir)
    follow_to_end(run_tab, ctx, watchers, job_again)


@pytest.mark.parametrize("launch_options", [{"fail_at": 2}])
def test_a_failed_job_shows_its_cause_never_finished(run_tab, ctx, launch_options):
    from gsv_core.train.watch_view import WatcherCache

    watchers = WatcherCache()
    _message, job_dir, *_ = start(run_tab, ctx, watchers, which="gpt")
    status = follow_to_end(run_tab, ctx, watchers, job_dir)[-1][0]
    assert status.startswith("❌") and "stand-in crash" in status
    assert "completed" not in status


def test_blockers_are_said_in_the_message_not_raised(run_tab, ctx):
    from gsv_core.train.watch_view import WatcherCache

    message, *_ = run_tab.start(ctx, WatcherCache(), limits_of(ctx), "gpt", "no such voice",
                                True, *VALUES)
    assert message.startswith("⛔") and "no such voice" in message
    message, *_ = run_tab.start(ctx, WatcherCache(), limits_of(ctx), "gpt", "a/b", True,
                                *VALUES)
    assert "X-1" in message


def test_listen_feeds_the_inference_tabs_ab_section(run_tab, tmp_path):
    from gsv_core.train.watch_view import WatcherCache
    from tabs.infer.sections import compare as compare_section

    root = tmp_path / "ws2"
    write_experiment(root, EXPERIMENT)
    with gr.Blocks() as app:
        ctx = AppContext(t=Translator("en_US"), profile=detect_machine({"GSV_FAKE_GPU": "cpu"}),
                         workspace=Workspace(root), app=app)
        compare_section.build(ctx)
    watchers = WatcherCache()
    assert run_tab.listen(ctx, watchers, "", True)[0].startswith("ℹ️")
    _message, job_dir, *_ = start(run_tab, ctx, watchers, which="sovits")
    follow_to_end(run_tab, ctx, watchers, job_dir)
    text, experiment, epochs, box = run_tab.listen(ctx, watchers, job_dir, True)
    assert text.startswith("🎧") and experiment["value"] == EXPERIMENT
    assert [Path(p).name for p in epochs["value"]] == [f"{EXPERIMENT}_e1_s3.pth",
                                                      f"{EXPERIMENT}_e2_s6.pth"]
    assert box["open"] is True
    assert run_tab._find(app, "infer-ab-epochs") is not None
    instead = run_tab.listen(ctx, watchers, job_dir, False)[0]
    assert "Inference tab" in instead and EXPERIMENT in instead
