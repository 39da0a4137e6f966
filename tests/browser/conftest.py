"""A real app server and a real Chromium for the browser tests.

Debian's Chromium at /usr/bin/chromium through Playwright (never a downloaded browser);
tests are skipped with the reason when either is missing. The GPUs are simulated with
GSV_FAKE_GPU (no GPU exists here). A server that never comes up fails the test with the
server's own output, rather than handing the test a dead address.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90  # generous: a loaded 2-core machine imports gradio slowly
TOAST = ".toast-body"  # Gradio's error/warning pop-up
# scripts/screenshots.py sets this to docs/guide/ so the user guide's pictures are the tests'
SCREENSHOT_DIR_ENV = "GSV_SCREENSHOTS"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(gpu_spec: str, workspace: Path, log_path: Path,
              timeout_s: float = START_TIMEOUT_S, extra_args: Sequence[str] = ()
              ) -> tuple[subprocess.Popen, str]:
    """Start ``webui.py`` on a free port with simulated GPUs; return (process, URL).

    ``extra_args`` go to ``webui.py`` after the port, workspace and ``--no-browser``.

    Fails the calling test, with everything the server printed, when the process exits or
    the page does not answer within ``timeout_s``.
    """
    port = _free_port()
    env = {**os.environ, "GSV_FAKE_GPU": gpu_spec}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "webui.py"), "--port", str(port), "--no-browser",
             "--workspace", str(workspace), *extra_args], env=env, stdout=log,
            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout_s
    while process.poll() is None and time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return process, url
        except (OSError, http.client.HTTPException):  # not up yet (a self-connect reads
            # its own request back as a bad status line; see test_webui.wait_for_page)
            time.sleep(0.1)
    state = (f"exited with code {process.returncode}" if process.poll() is not None
             else f"did not answer within {timeout_s:.0f} s")
    stop_app(process)
    pytest.fail(f"the app server {state}; its output:\n"
                f"{log_path.read_text(errors='replace')}", pytrace=False)


def stop_app(process: subprocess.Popen, workspace: Path | None = None) -> None:
    """Stop the server and, given its workspace, every job it started there.

    Jobs outlive the UI by design (a training survives a closed browser), so a test that
    fails half-way would otherwise leave a training child eating the CPU of later tests.
    """
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if workspace is not None:
        stop_jobs(workspace)


def stop_jobs(workspace: Path) -> None:
    from gsv_core.jobs import list_jobs

    for folder in workspace.rglob("jobs"):
        if folder.is_dir():
            for job in list_jobs(folder):
                if job.is_running():
                    job.stop(grace_s=2.0, term_s=2.0)


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """``app_url(gpu_spec)`` starts a server for those simulated GPUs and returns its URL."""
    processes: list[subprocess.Popen] = []

    def serve(gpu_spec: str) -> str:
        process, url = start_app(gpu_spec, tmp_path / "workspace",
                                 tmp_path / f"server-{len(processes)}.log")
        processes.append(process)
        return url

    yield serve
    for process in processes:
        stop_app(process, tmp_path / "workspace")


# The Chromium the browser tests share: Playwright's driver and the browser, once launched.
_CHROMIUM: dict[str, object] = {}


@pytest.fixture
def browser():
    """One Chromium for the browser tests that run one after another (starting one costs
    about 1-2 s on a loaded 2-core machine), launched again if it went away; each test still
    gets its own browser context (``page``). Skipped when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (run-tests.sh does so "
                    "when run as root on Debian)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    launched = _CHROMIUM.get("browser")
    if launched is None or not launched.is_connected():
        close_chromium()
        _CHROMIUM["playwright"] = sync_api.sync_playwright().start()
        _CHROMIUM["browser"] = _CHROMIUM["playwright"].chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    return _CHROMIUM["browser"]


def close_chromium() -> None:
    """Close the shared Chromium and Playwright's driver, if launched."""
    launched, playwright = _CHROMIUM.pop("browser", None), _CHROMIUM.pop("playwright", None)
    if launched is not None and launched.is_connected():
        launched.close()
    if playwright is not None:
        playwright.stop()


def _is_browser_test(item: pytest.Item | None) -> bool:
    return item is not None and Path(item.path).is_relative_to(Path(__file__).parent)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After the last browser test in a row (its ``page`` already closed), the Chromium goes:
    Playwright's sync API keeps an event loop of its own, which the tests that follow, some
    of them asyncio ones, must not find."""
    try:
        return (yield)
    finally:
        if not _is_browser_test(nextitem):
            close_chromium()


@pytest.fixture
def page(browser):
    """A fresh page (1400 × 1600) in its own browser context: no cookies, storage or cache
    shared with another test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """A full-page PNG of what the test sees, in ``tmp_path`` (for a failing test's
    reader) and, when ``$GSV_SCREENSHOTS`` names a folder, there too: that is how the user
    guide's pictures are made (``scripts/screenshots.py``)."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    folder = os.environ.get(SCREENSHOT_DIR_ENV)
    if folder:   # the guide's copy: 256 colours, about half the size, for a UI looks the same
        from PIL import Image

        Path(folder).mkdir(parents=True, exist_ok=True)
        with Image.open(path) as picture:
            picture.convert("RGB").quantize(colors=256).save(Path(folder) / name,
                                                             optimize=True)
    return path


def open_training_tab(page, url: str) -> None:
    """Open the app and its Training tab, once the page-load refresh has filled it in."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_text("Simulated hardware").wait_for()
    page.get_by_role("tab", name="Training").click()
    # Wait for the load refresh, so that it cannot land after the test's first edit.
    expect(page.locator("#train-device")).to_contain_text("H-", timeout=20_000)
