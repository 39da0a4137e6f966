"""The Dataset tab's "Format for training" section: its handlers (no browser) on real jobs.

The handlers are the ones ``tabs.dataset.format.wire`` connects; the jobs are real child
processes (gsv_core.jobs) that format with the tiny BERT, HuBERT and SoVITS of
tests/infer_fixtures.py, found where the UI looks for them: the workspace's pretrained
models folder (linked to the session's tiny models). Nothing is mocked; the machine is
described as having no GPU (``GSV_FAKE_GPU=cpu``), so the jobs run on the CPU.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import gradio as gr
import pytest

from gsv_core.dataset.format_ui import FORMAT_TARGET, find_format_job
from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.job_child import JobContext
from gsv_core.jobs import check_target, jobs_folder, list_jobs, start_job
from gsv_core.workspace import Workspace
from tabs.common import AppContext
from tabs.dataset import format as formatting
from tests import infer_fixtures
from tests.integration.test_prepare import make_dataset

infer_setup = infer_fixtures.infer_setup

pytestmark = pytest.mark.slow  # each run starts a child that loads torch and three models

HERE = "tests.integration.test_ui_format"
EXPERIMENT = "my voice"
LIMIT_S = 300.0  # only ever reached when something is broken


def exit_hard(ctx: JobContext, experiment: str, code: int) -> None:
    """A job that dies as a CUDA crash would: no result, no failed event (run in the child)."""
    ctx.progress(1, 2, "about to crash")
    os._exit(code)


def link_models(workspace: Workspace, setup: infer_fixtures.InferSetup) -> None:
    """The tiny models where the UI's formatting looks for the pretrained ones."""
    workspace.pretrained_v2_dir.mkdir(parents=True)
    workspace.bert_dir.symlink_to(setup.bert_dir, target_is_directory=True)
    workspace.hubert_dir.symlink_to(setup.hubert_dir, target_is_directory=True)
    (workspace.pretrained_v2_dir / "s2G2333k.pth").symlink_to(setup.sovits_path)


def make_ctx(root: Path) -> AppContext:
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine({"GSV_FAKE_GPU": "cpu"}),
                      workspace=Workspace(root), app=app)


@pytest.fixture
def ctx(tmp_path: Path, infer_setup) -> AppContext:
    context = make_ctx(tmp_path / "ws")
    link_models(context.workspace, infer_setup)
    return context


class Bar:
    """Stands in for gr.Progress: records what the bar was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, str | None]] = []

    def __call__(self, progress: object, desc: str | None = None) -> None:
        self.calls.append((progress, desc))


def start(ctx: AppContext, list_path: Path | str, experiment: str = EXPERIMENT,
          bar: Bar | None = None, **changes: object) -> tuple[str, dict]:
    values = {"readings": "improved", "devices": ["cpu"], "precision": "auto", **changes}
    return formatting.start_formatting(ctx, str(list_path), experiment, values["readings"],
                                       values["devices"], values["precision"],
                                       progress=bar or Bar())


def test_formatting_shows_the_counts_and_a_reload_finds_the_finished_run(ctx, tmp_path) -> None:
    list_path, _ = make_dataset(tmp_path / "data")
    bar = Bar()
    status, table = start(ctx, list_path, bar=bar)
    assert status.startswith("✅"), status
    assert "3 clips formatted" in status and "`my voice`" in status
    assert "labels and BERT: 3 computed, 0 reused" in status
    assert "semantic codes: 3 computed, 0 reused" in status
    assert "Time per phase (cpu)" in status and "check and hash" in status
    assert table == gr.update(value=[], visible=False)
    assert bar.calls and bar.calls[-1][0] == (6, 6)   # 3 labels + 3 clips' audio
    assert (ctx.workspace.logs_dir / EXPERIMENT / "6-name2semantic.tsv").is_file()

    # A reloaded page (empty experiment box) finds the run and fills in its experiment.
    again, again_table, name = formatting.show_last_run(ctx, "", progress=Bar())
    assert again == status and again_table == table
    assert name == gr.update(value=EXPERIMENT)
    typed, _, unchanged = formatting.show_last_run(ctx, EXPERIMENT, progress=Bar())
    assert typed == status and unchanged == gr.update()

    # Formatting again reuses everything.
    second, _ = start(ctx, list_path)
    assert "labels and BERT: 0 computed, 3 reused" in second
    assert len(list_jobs(jobs_folder(ctx.workspace, EXPERIMENT))) == 2


def test_a_clip_that_fails_is_listed_and_the_others_are_formatted(ctx, tmp_path) -> None:
    list_path, audio_dir = make_dataset(tmp_path / "data")
    (audio_dir / "b.wav").write_bytes(b"RIFF not really a wav file")
    status, table = start(ctx, list_path)
    assert status.startswith("⚠️") and "1 of 3 clip(s) failed" in status, status
    assert table["visible"] is True
    [row] = table["value"]
    assert row[:3] == [2, "b.wav", "audio"]


def test_bad_input_is_named_in_the_status_and_starts_nothing(ctx, tmp_path) -> None:
    list_path, _ = make_dataset(tmp_path / "data")
    lines = list_path.read_text(encoding="utf-8").splitlines()
    list_path.write_text("\n".join([lines[0], "no fields here", *lines[1:]]) + "\n",
                         encoding="utf-8")
    status, table = start(ctx, list_path)   # no exception: nothing for a toast to show
    assert status.startswith("❌") and "line 2" in status, status
    assert "Line 2: expected 'audio|speaker|language|text'" in status   # the details
    assert table == gr.update(value=[], visible=False)
    for experiment, said in [("", "Experiment name"), ("a/b", "'/'"),
                             ("..", "contains '..'")]:
        message, _ = start(ctx, list_path, experiment)
        assert message.startswith("❌") and said in message, message
    missing, _ = start(ctx, tmp_path / "nope.list")
    assert missing.startswith("❌") and "nope.list does not exist" in missing
    empty, _ = start(ctx, "")
    assert empty.startswith("❌") and "No label file" in empty
    half, _ = start(ctx, list_path, precision="fp16")
    assert half.startswith("❌") and "fp16" in half
    gpu, _ = start(ctx, list_path, devices=["cuda:0"])
    assert gpu.startswith("❌") and "cuda:0 is not a device of this machine" in gpu
    assert not ctx.workspace.logs_dir.exists()   # no job folder was made


def test_stop_ends_the_run_as_stopped_not_finished(ctx, tmp_path) -> None:
    list_path, _ = make_dataset(tmp_path / "data")
    following: dict[str, tuple] = {}
    runner = threading.Thread(target=lambda: following.update(run=start(ctx, list_path)))
    runner.start()
    while find_format_job(ctx.workspace, EXPERIMENT) is None:   # Start made it: press Stop
        assert runner.is_alive(), following
        time.sleep(0.05)
    status, _ = formatting.stop_formatting(ctx, EXPERIMENT)
    runner.join(LIMIT_S)
    assert status.startswith("⏹"), status
    assert following["run"][0].startswith("⏹"), following["run"][0]   # the Start handler too
    later, _ = formatting.stop_formatting(ctx, EXPERIMENT)
    assert later.startswith("ℹ️") and "Nothing is being formatted" in later
    shown, _, _ = formatting.show_last_run(ctx, EXPERIMENT, progress=Bar())
    assert shown.startswith("⏹")


def test_a_missing_model_fails_the_job_with_its_message_and_advice(tmp_path) -> None:
    bare = make_ctx(tmp_path / "bare")   # no pretrained models in this workspace
    list_path, _ = make_dataset(tmp_path / "data")
    status, _ = start(bare, list_path)
    assert status.startswith("❌ The formatting of `my voice` failed: ModelMissing:"), status
    assert "is missing" in status and "➡️ Download it" in status


def test_a_crashed_job_is_shown_as_failed_with_its_exit_and_log(ctx) -> None:
    handle = start_job(f"{HERE}:exit_hard", {"experiment": EXPERIMENT, "code": 3},
                       folder=jobs_folder(ctx.workspace, EXPERIMENT))
    bar = Bar()
    status, table = formatting.follow(ctx, handle, bar)
    assert status.startswith("❌ The formatting of `my voice` failed: exited with code 3")
    assert "This is unexpected" in status and "stderr.log" in status
    assert table == gr.update(value=[], visible=False)


def test_the_job_target_is_a_startable_function() -> None:
    check_target(FORMAT_TARGET, {"list_path": "a.list", "experiment": "e", "workspace": ".",
                                 "readings": "improved", "devices": [], "precision": None})


def test_the_experiment_follows_the_list_until_the_user_types_one() -> None:
    update, auto = formatting.experiment_from_list("/data/output/asr_opt/voice.list", "", "")
    assert update == gr.update(value="voice") and auto == "voice"
    update, auto = formatting.experiment_from_list("/data/other: take 2.list", "voice", "voice")
    assert update == gr.update(value="other_ take 2") and auto == "other_ take 2"
    update, auto = formatting.experiment_from_list("/data/third.list", "mine", "other_ take 2")
    assert update == gr.update() and auto == "other_ take 2"   # typed by the user: kept


def test_the_section_builds_and_explains_every_control(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path / "ws")
    with gr.Blocks() as app:
        ctx.app = app
        list_box = gr.Textbox(label="list", info="the proofreading list")
        area = formatting.section(ctx)
        formatting.wire(area, ctx, list_box)
    kinds = (gr.Textbox, gr.Dropdown, gr.Checkbox, gr.Number, gr.Slider)
    controls = [b for b in app.blocks.values() if isinstance(b, kinds)]
    assert len(controls) == 5   # the section's 4, and the list box
    assert [b.label for b in controls if not b.info] == []
    assert [value for _, value in area.devices.choices] == ["auto", "cpu"]
