"""A real Chromium starts a tiny SoVITS training from the Training tab, watches it, stops it,
starts it again and sees it resume (issue 11's must-hold browser test).

The server is ``webui.py`` on the CPU (``GSV_FAKE_GPU=cpu``); the workspace holds a tiny
formatted experiment in upstream's layout (tests/train_fixtures.py) and, as its pretrained
SoVITS pair, the tiny generator with its training segment cut to 8 frames and a narrow
discriminator (tests/train_fixtures.py, so a CPU step takes well under a second). Nothing is
mocked: the tab starts the real job through gsv_core.train.launch and the real trainer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.conftest import TOAST, open_training_tab, screenshot, start_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
EXPERIMENT = "tiny voice"
STEP_TIMEOUT_MS = 240_000   # the child imports torch and computes spectrograms first


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def make_workspace(root: Path) -> Path:
    from gsv_core.workspace import Workspace
    from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits

    write_formatted_experiment(root, EXPERIMENT, clips=4)
    write_tiny_pretrained_sovits(Workspace(root).pretrained_v2_dir)
    return root


def start_sovits(page) -> None:
    page.locator("#train-start-sovits").click()
    expect()(page.locator("#train-run-message")).to_contain_text("Started", timeout=30_000)


def test_start_follow_stop_and_resume_a_tiny_training(page, tmp_path: Path) -> None:
    workspace = make_workspace(tmp_path / "workspace")
    process, url = start_app("cpu", workspace, tmp_path / "server.log")
    try:
        open_training_tab(page, url)
        plan = page.locator("#train-run-plan")
        # The page-load plan (default name) first, so that the test's edit is the last word.
        expect()(plan).to_contain_text("my_voice", timeout=30_000)
        name = page.locator("#tab-training").get_by_label("Experiment name")
        name.fill(EXPERIMENT)
        name.press("Tab")
        expect()(plan).to_contain_text("4 clips", timeout=30_000)
        page.locator("#train-safety input[type=checkbox]").check()
        start_sovits(page)
        status = page.locator("#train-run-status")
        expect()(status).to_contain_text("SoVITS · round 1 of", timeout=STEP_TIMEOUT_MS)
        # Any step after the first (a poll can come after step 2 is long past).
        expect()(status).to_contain_text(re.compile(r"step ([2-9]|\d{2,}) of"),
                                         timeout=STEP_TIMEOUT_MS)
        plot = page.locator("#train-loss-plot img, #train-loss-plot svg")
        expect()(plot.first).to_be_visible(timeout=STEP_TIMEOUT_MS)
        screenshot(page, tmp_path, "training-running.png")
        page.locator("#train-stop").click()
        expect()(status).to_contain_text("was stopped", timeout=STEP_TIMEOUT_MS)
        expect()(status).to_contain_text("T-2")
        start_sovits(page)
        log = page.locator("#train-log textarea")
        expect()(log).to_have_value(re.compile("resumed from the save point"),
                                    timeout=STEP_TIMEOUT_MS)
        expect()(status).to_contain_text("SoVITS · round", timeout=STEP_TIMEOUT_MS)
        screenshot(page, tmp_path, "training-resumed.png")
        page.locator("#train-stop").click()
        expect()(status).to_contain_text("was stopped", timeout=STEP_TIMEOUT_MS)
        assert page.locator(TOAST).count() == 0
    finally:
        stop_app(process, workspace)
