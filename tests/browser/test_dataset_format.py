"""A real Chromium drives the Dataset tab's "6. Format for training" section.

One app server for the module (``webui.py`` on the CPU, ``GSV_FAKE_GPU=cpu``: no GPU here);
its workspace's pretrained-models folder links the tiny BERT, HuBERT and SoVITS of
tests/infer_fixtures.py, where the section looks for the real ones. Nothing else is mocked:
each Start runs the real formatting job in a child process. The labels and their WAVs are
generated outside the workspace and the list is typed into the proofreading section's box,
which is the list the section formats. The tests run one after another and each uses its own
experiment, so none depends on another's run; only one formatting runs at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gsv_core.dataset.format_ui import find_format_job
from gsv_core.workspace import Workspace
from tests import infer_fixtures
from tests.browser.conftest import TOAST, screenshot, start_app, stop_app
from tests.integration.test_prepare import LABELS, make_dataset
from tests.integration.test_ui_format import link_models

infer_setup = infer_fixtures.infer_setup

pytestmark = [pytest.mark.browser, pytest.mark.slow]   # each run loads torch in a child
RUN_TIMEOUT_MS = 240_000   # the child imports torch and loads three models on a loaded CPU
UI_TIMEOUT_MS = 30_000
BAD_LABEL = ("d.wav", "ZH", "。。。", 1.1)   # nothing to read: the text step fails this clip
LONG_CLIPS = 40   # enough work that Stop lands before the run ends


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@dataclass(frozen=True)
class Server:
    url: str
    workspace: Workspace


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, infer_setup) -> Iterator[Server]:
    """One app server for every test here (an app start is the suite's biggest cost)."""
    root = tmp_path_factory.mktemp("format-browser")
    workspace = Workspace(root / "workspace")
    link_models(workspace, infer_setup)
    process, url = start_app("cpu", workspace.root, root / "server.log")
    yield Server(url, workspace)
    stop_app(process, workspace.root)


def open_format_section(page, url: str, list_path: Path | None = None) -> None:
    """Open the app, type the list into the proofreading box, open section 6."""
    page.goto(url)
    page.get_by_text("Simulated hardware").wait_for()
    page.get_by_text("6. Format for training").click()   # its controls render once open
    expect()(page.locator("#format-run")).to_be_visible()
    if list_path is not None:
        box = page.locator("#proof-list textarea")
        box.fill(str(list_path))
        box.press("Tab")
        # the experiment name follows the list's name
        expect()(page.locator("#format-experiment textarea, #format-experiment input")
                 .first).to_have_value(list_path.stem, timeout=UI_TIMEOUT_MS)


def long_list(root: Path, name: str) -> Path:
    """``<name>.list`` over LONG_CLIPS English clips."""
    labels = [(f"long_{n:02d}.wav", "EN", f"This is sentence number {n}.", 1.0)
              for n in range(LONG_CLIPS)]
    list_path, _ = make_dataset(root, labels)
    return list_path.rename(root / f"{name}.list")


def progress_bar(page):
    """Gradio's progress bar over the status while a handler follows the job."""
    return page.locator("#format-status .progress-level-inner")


def bar_texts_until(page, status, final: str) -> list[str]:
    """The texts the progress bar showed, in order, until the status contains ``final``."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    seen: list[str] = []
    bar = progress_bar(page)
    for _ in range(RUN_TIMEOUT_MS // 100):
        if final in status.inner_text():
            return seen
        if bar.count():
            try:   # the bar can go between count() and the read, once the job has ended
                text = " ".join(bar.first.inner_text(timeout=500).split())
            except PlaywrightTimeout:
                continue
            if text and (not seen or seen[-1] != text):
                seen.append(text)
        page.wait_for_timeout(100)
    pytest.fail(f"the status never said {final!r}: {status.inner_text()!r}; bar: {seen}")


def test_formatting_shows_progress_the_result_and_the_failed_clip(server, page,
                                                                 tmp_path: Path) -> None:
    list_path, _ = make_dataset(tmp_path / "data", [*LABELS, BAD_LABEL])
    open_format_section(page, server.url, list_path)
    page.locator("#format-run").click()
    status = page.locator("#format-status")
    seen = bar_texts_until(page, status, "1 of 4 clip(s) failed")
    # the bar moved: it said what the job was doing, at a share that grew
    shares = [float(re.search(r"([0-9.]+)%", text).group(1)) for text in seen
              if re.search(r"[0-9.]+%", text)]
    assert len(shares) >= 2 and shares == sorted(shares) and shares[-1] > shares[0], seen
    assert any("labels" in text or "HuBERT" in text for text in seen), seen
    expect()(status).to_contain_text("voice formatted in")
    expect()(status).to_contain_text("labels and BERT: 3 computed, 0 reused")
    expect()(status).to_contain_text("semantic codes: 4 computed, 0 reused")
    expect()(status).to_contain_text("Time per phase (cpu)")
    expect()(status).to_contain_text("check and hash")
    expect()(progress_bar(page)).to_have_count(0)   # the bar is gone once the job ended
    failures = page.locator("#format-failures")
    expect()(failures).to_be_visible()
    expect()(failures).to_contain_text("d.wav")
    expect()(failures).to_contain_text("text")
    expect()(failures).to_contain_text("nothing to read")
    expect()(failures).not_to_contain_text("a.wav")
    screenshot(page, tmp_path, "format-result.png")
    # the failed label has no phones row; its audio does not depend on it, so it is coded
    rows = (server.workspace.logs_dir / "voice" / "2-name2text.txt").read_text(
        encoding="utf-8").splitlines()
    assert sorted(row.split("\t")[0] for row in rows) == ["a.wav", "b.wav", "c.wav"]
    assert page.locator(TOAST).count() == 0


def test_stop_ends_a_longer_run_as_stopped(server, page, tmp_path: Path) -> None:
    list_path = long_list(tmp_path / "data", "long voice")
    open_format_section(page, server.url, list_path)
    page.locator("#format-run").click()
    # the bar says what the job reports once it runs; Stop then finds it
    expect()(progress_bar(page)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    page.locator("#format-stop").click()
    status = page.locator("#format-status")
    expect()(status).to_contain_text("was stopped", timeout=RUN_TIMEOUT_MS)
    expect()(status).to_contain_text("long voice")
    expect()(status).not_to_contain_text("clips formatted")
    expect()(progress_bar(page)).to_have_count(0, timeout=UI_TIMEOUT_MS)
    assert page.locator(TOAST).count() == 0


def test_a_reloaded_page_reattaches_and_shows_the_last_run(server, page,
                                                          tmp_path: Path) -> None:
    list_path = long_list(tmp_path / "data", "reload voice")
    open_format_section(page, server.url, list_path)
    page.locator("#format-run").click()
    expect()(progress_bar(page)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    # reload while it runs (the first report is the labels'; the audio models load next):
    # the page finds the job on its own (no list, no name typed), follows it with the bar,
    # then fills in its experiment and shows the end
    handle = find_format_job(server.workspace, "reload voice")
    assert handle is not None and handle.is_running()
    page.reload()
    page.get_by_text("Simulated hardware").wait_for()
    page.get_by_text("6. Format for training").click()
    expect()(progress_bar(page)).to_be_visible(timeout=UI_TIMEOUT_MS)
    experiment = page.locator("#format-experiment textarea, #format-experiment input").first
    expect()(experiment).to_have_value("reload voice", timeout=UI_TIMEOUT_MS)
    status = page.locator("#format-status")
    expect()(status).to_contain_text(f"reload voice: {LONG_CLIPS} clips formatted",
                                     timeout=RUN_TIMEOUT_MS)
    # and a page opened later shows that last run without anything typed
    page.reload()
    page.get_by_text("Simulated hardware").wait_for()
    page.get_by_text("6. Format for training").click()
    expect()(status).to_contain_text(f"reload voice: {LONG_CLIPS} clips formatted",
                                     timeout=UI_TIMEOUT_MS)
    expect()(experiment).to_have_value("reload voice")
    screenshot(page, tmp_path, "format-reloaded.png")
    assert page.locator(TOAST).count() == 0
