"""The Training tab's run section: its handlers (no browser) on real background jobs.

The handlers are those ``tabs.train_run.wire`` connects, called directly as the browser
would (Start, a timer tick, Stop, page load, Listen). Everything below them is real:
``gsv_core.train.launch`` starts the job (card locks, the queue), ``gsv_core.jobs`` runs it
in a child process, and the real trainers train a tiny formatted experiment
(tests/train_fixtures.py) from the tiny pretrained models placed where the registry looks for
the official ones. One thing is changed to keep a CPU run short: the configs the tab builds
are capped at a few steps (``max_steps``) and SoVITS's four clips are not repeated to 100
(``extra.min_items``), on their way into the real ``start_training``. The machine is
described as having no GPU (``GSV_FAKE_GPU=cpu``).
"""

from __future__ import annotations

import dataclasses
import re
import time
from pathlib import Path

import gradio as gr
import pytest

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.train import launch
from gsv_core.workspace import Workspace
from tabs import train_run as run_tab_module
from tabs.common import AUTO_GPU, AppContext
from tests.fixture_paths import tiny_fixture
from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits

pytestmark = pytest.mark.slow  # each run starts a child that loads torch and trains

EXPERIMENT = "小明 voice"
LIMIT_S = 400.0  # only ever reached when something is broken
GPT_NAME = "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"  # where the registry looks


@pytest.fixture
def max_steps() -> int:
    return 4


@pytest.fixture
def run_tab(monkeypatch: pytest.MonkeyPatch, max_steps: int):
    """tabs.train_run, its runs capped at ``max_steps`` steps on their way to launch."""
    real = launch.start_training

    def short(configs):
        return real([dataclasses.replace(config, max_steps=max_steps, tensorboard=False,
                                         num_workers=0,
                                         extra={**config.extra, "min_items": 1})
                     for config in configs])

    monkeypatch.setattr(launch, "start_training", short)
    return run_tab_module


@pytest.fixture(scope="module")
def tiny_sovits(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The tiny pretrained SoVITS pair (a CPU step in well under a second)."""
    return write_tiny_pretrained_sovits(tmp_path_factory.mktemp("tiny-sovits"))


def make_ctx(root: Path, tiny_sovits: tuple[Path, Path], *, gpt: bool = True) -> AppContext:
    """A workspace with the tiny experiment and pretrained models, and an app holding the
    Inference tab's A/B section (what Listen fills)."""
    from tabs.infer.sections import compare as compare_section

    space = Workspace(root)
    write_formatted_experiment(root, EXPERIMENT, clips=4)
    space.pretrained_v2_dir.mkdir(parents=True, exist_ok=True)
    for pretrained in tiny_sovits:
        (space.pretrained_v2_dir / pretrained.name).symlink_to(pretrained)
    if gpt:
        (space.pretrained_v2_dir / GPT_NAME).symlink_to(tiny_fixture("gpt_v2.ckpt"))
    with gr.Blocks() as app:
        ctx = AppContext(t=Translator("en_US"), profile=detect_machine({"GSV_FAKE_GPU": "cpu"}),
                         workspace=space, app=app)
        compare_section.build(ctx)
    return ctx


@pytest.fixture
def ctx(tmp_path: Path, tiny_sovits: tuple[Path, Path]) -> AppContext:
    return make_ctx(tmp_path / "ws", tiny_sovits)


def limits_of(ctx: AppContext):
    from tabs.train import current_limits

    def limits(*values):
        return current_limits(ctx, *values)
    return limits


# gpu, dpo, dpo_confirm, the 7 governed sliders (None: defaults), the 5 dataset fields;
# SoVITS rounds 2, GPT rounds 2, save every round. On the CPU the batch is 1.
VALUES = (AUTO_GPU, False, False, None, 2, 1, None, None, 2, 1, EXPERIMENT, False, None, None,
          None, None, None)   # card, DPO, 7 controls, experiment, use measured, dataset


def start(run_tab, ctx, watchers, which="both", safety=True, **options):
    return run_tab.start(ctx, watchers, limits_of(ctx), which, EXPERIMENT, safety, *VALUES,
                         **options)


def follow_to_end(run_tab, ctx, watchers, job_dir):
    deadline = time.monotonic() + LIMIT_S
    drawn, ticks = -1, []
    while time.monotonic() < deadline:
        outputs = run_tab.follow(ctx, watchers, job_dir, drawn)
        ticks.append(outputs)
        drawn = outputs[6]
        if outputs[7].active is False:
            return ticks
        time.sleep(0.5)
    raise AssertionError("the job did not end in time")


def test_h4_first_run_needs_the_safety_notice_read(run_tab, ctx):
    from gsv_core.train.watch_view import WatcherCache

    message, job_dir, *_ = start(run_tab, ctx, WatcherCache(), safety=False)
    assert "H-4" in message and job_dir == gr.update()
    assert run_tab.training_to_show(ctx.workspace, EXPERIMENT) is None   # nothing started


def test_blockers_are_said_in_the_message_not_raised(run_tab, ctx):
    from gsv_core.train.watch_view import WatcherCache

    message, *_ = run_tab.start(ctx, WatcherCache(), limits_of(ctx), "gpt", "no such voice",
                                True, *VALUES)
    assert message.startswith("⛔") and "no such voice" in message
    message, *_ = run_tab.start(ctx, WatcherCache(), limits_of(ctx), "gpt", "a/b", True,
                                *VALUES)
    assert "X-1" in message


def test_both_train_to_the_end_with_plot_log_exports_and_listen(run_tab, ctx):
    from gsv_core.train.watch_view import WatcherCache

    watchers = WatcherCache()
    plan, _safety = run_tab.plan_refresh(ctx, limits_of(ctx), EXPERIMENT, True, *VALUES,
                                         compile_sovits=True)
    assert "Not compiled: compiling needs an NVIDIA GPU (CUDA)" in plan
    # "Compile" ticked on the CPU: the plan said why not, and the run says so in its log
    message, job_dir, *_ = start(run_tab, ctx, watchers, compile_sovits=True)
    assert message.startswith("▶️") and "SoVITS (2 rounds" in message and "GPT (2 rounds" in message
    ticks = follow_to_end(run_tab, ctx, watchers, job_dir)
    status, bar, _monitor, _plot, log, rows, drawn, _timer = ticks[-1]
    assert "Not compiled: compiling needs an NVIDIA GPU (CUDA)" in log
    assert status.startswith("✅") and "SoVITS · round 1 of 2, step 4 of 4" in status
    assert "GPT · round" in status and "T-3" in status
    assert 'value="1.0000"' in bar
    models = [row[0] for row in rows]
    assert "SoVITS" in models and "GPT" in models and models.index("SoVITS") < models.index("GPT")
    sovits_rows = [row for row in rows if row[0] == "SoVITS"]
    assert sovits_rows[-1][1] == 1 and sovits_rows[-1][3] is not None   # round 1, its loss
    assert all(Path(row[4]).is_file() for row in rows)
    assert "Exported" in log or "exported" in log
    figures = [t[3]["value"] for t in ticks if isinstance(t[3], dict) and "value" in t[3]]
    assert figures and figures[-1] is not None and len(figures[-1].axes) == 2
    assert run_tab.follow(ctx, watchers, job_dir, drawn)[3] == gr.update()   # nothing new
    # H-4 is not asked again once a training was started
    _plan, safety = run_tab.plan_refresh(ctx, limits_of(ctx), EXPERIMENT, False, *VALUES)
    assert safety["visible"] is False
    # Listen ticks this run's SoVITS files in the Inference tab's A/B section
    text, experiment, epochs, box = run_tab.listen(ctx, watchers, job_dir, True)
    assert text.startswith("🎧") and experiment["value"] == EXPERIMENT
    assert [Path(p).name for p in epochs["value"]] == [Path(r[4]).name for r in sovits_rows]
    assert box["open"] is True and run_tab._find(ctx.app, "infer-ab-epochs") is not None
    instead = run_tab.listen(ctx, watchers, job_dir, False)[0]
    assert "Inference tab" in instead and EXPERIMENT in instead


@pytest.mark.parametrize("max_steps", [8])
def test_stop_then_start_again_resumes(run_tab, ctx, max_steps):
    from gsv_core.train.watch_view import WatcherCache

    watchers = WatcherCache()
    _message, job_dir, *_ = start(run_tab, ctx, watchers, which="sovits")
    deadline = time.monotonic() + LIMIT_S
    # any step (a loaded machine may poll first after step 1 is already past)
    while not re.search(r"step \d+ of", run_tab.follow(ctx, watchers, job_dir, -1)[0]):
        assert time.monotonic() < deadline, "no step was reported"
        time.sleep(0.3)
    # a reload meanwhile re-attaches to the running job
    attached, *outputs = run_tab.attach(ctx, WatcherCache(), "another name")
    assert attached == job_dir and outputs[7].active is True
    # the same model of the experiment is training: a second start is refused in the message
    busy, busy_dir, *_ = start(run_tab, ctx, watchers, which="sovits")
    assert busy.startswith("❌") and "already training" in busy and busy_dir == gr.update()
    assert "Press Stop again" in run_tab.stop(ctx, watchers, job_dir)   # graceful first
    assert "Stopping" in run_tab.follow(ctx, watchers, job_dir, -1)[0]
    status = follow_to_end(run_tab, ctx, watchers, job_dir)[-1][0]
    assert status.startswith("⏹") and "resume" in status and "T-2" in status
    _again, job_again, *_ = start(run_tab, ctx, watchers, which="sovits")
    assert job_again not in (gr.update(), job_dir)
    status, _bar, _monitor, _plot, log, *_ = follow_to_end(run_tab, ctx, watchers, job_again)[-1]
    assert "resumed from the save point" in log, log
    assert status.startswith("✅") and "step 8 of 8" in status


def test_a_failed_job_shows_its_cause_and_advice_never_finished(run_tab, tmp_path, tiny_sovits):
    from gsv_core.train.watch_view import WatcherCache

    ctx = make_ctx(tmp_path / "no-gpt", tiny_sovits, gpt=False)   # the GPT file is missing
    watchers = WatcherCache()
    _message, job_dir, *_ = start(run_tab, ctx, watchers, which="gpt")
    status = follow_to_end(run_tab, ctx, watchers, job_dir)[-1][0]
    assert status.startswith("❌") and "missing" in status and "➡️" in status
    assert "completed" not in status
