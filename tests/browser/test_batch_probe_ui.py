"""The Training tab's batch probe in Chromium, on a simulated RTX 4090 (``GSV_FAKE_GPU``).

The workspace holds a formatted experiment, the tiny pretrained models under the official
names, and a SoVITS probe saved for that card in the probe's own format: the SoVITS batch
maximum follows it (B-6) and the probe section says it. Measuring again really starts the
probe job, which fails in its child on this machine for want of CUDA: the page must say so,
with no error toast.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import TOAST, open_training_tab, screenshot, start_app, stop_app
from tests.integration.test_probe_launch import EXPERIMENT, save_probe, write_probe_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT_MS = 60_000


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_a_saved_probe_lowers_the_batch_and_measuring_reports_its_failure(page,
                                                                          tmp_path: Path):
    root = tmp_path / "workspace"
    save_probe(write_probe_workspace(root), "sovits", 9, 10)
    process, url = start_app("NVIDIA GeForce RTX 4090:24", root, tmp_path / "server.log")
    try:
        open_training_tab(page, url)
        name = page.locator("#tab-training").get_by_label("Experiment name")
        name.fill(EXPERIMENT)
        name.press("Tab")
        expect()(page.locator("#sovits-batch input[type=range]")).to_have_attribute(
            "max", "9", timeout=TIMEOUT_MS)
        page.get_by_text("Measure the batch sizes on this card").click()
        status = page.locator("#train-probe-status")
        expect()(status).to_contain_text("SoVITS: batch 9 fits, 10 ran out of memory",
                                         timeout=TIMEOUT_MS)
        page.locator("#train-use-measured input[type=checkbox]").check()
        page.locator("#train-probe").click()
        expect()(page.locator("#train-probe-job")).to_contain_text(
            "The batch probe failed", timeout=120_000)
        screenshot(page, tmp_path, "probe.png")
        assert page.locator(TOAST).count() == 0
    finally:
        stop_app(process, root)
