"""A real Chromium drives the app: DPO lowers the GPT batch maximum on a 24 GB card.

Uses Debian's Chromium at /usr/bin/chromium through Playwright (never a downloaded
browser); skipped with the reason when either is missing. The GPU is simulated.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


@pytest.fixture
def app_url(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"}
    process = subprocess.Popen([sys.executable, str(REPO / "webui.py"), "--port", str(port),
                                "--no-browser", "--workspace", str(tmp_path)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_dpo_toggle_lowers_gpt_batch_max_in_the_page(app_url: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (run-tests.sh does so "
                    "when run as root on Debian)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.goto(app_url)
            page.get_by_text("Simulated hardware").wait_for()
            page.get_by_role("tab", name="Training").click()
            # The page-load refresh fills the device line; wait for it so that it cannot
            # land after our click and reset the toggle.
            sync_api.expect(page.locator("#train-device")).to_contain_text("H-1", timeout=10_000)
            gpt_max = page.locator("#gpt-batch input[type=range]")
            sync_api.expect(gpt_max).to_have_attribute("max", "11", timeout=10_000)
            page.locator("#gpt-dpo input[type=checkbox]").check()
            sync_api.expect(gpt_max).to_have_attribute("max", "6", timeout=10_000)
            sync_api.expect(page.locator("#gpt-batch input[type=number]")).to_have_value("6")
            sync_api.expect(page.locator("#gpt-why")).to_contain_text("D-2")
            page.screenshot(path=str(tmp_path / "training-dpo-on.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "training-dpo-on.png").stat().st_size > 10_000
