"""A real Chromium drives the Dataset tab: proofread a list, reload, measure its quality.

One app server for the module (an app start is the biggest cost of a browser test). Each
test has its own list and WAVs, generated inside the server's workspace (its own folder under
``output/asr_opt``) before the server starts, so the tab finds them on its own; the summary
fields the tests read belong to each browser session. Each test checks that no Gradio error
toast appeared: errors belong inline, under the section.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile

from gsv_core.dataset.proofread import ProofreadSession
from tests.browser.conftest import TOAST, screenshot, start_app, stop_app
from tests.integration.test_ui_dataset import make_list
from tests.unit.test_quality import RATE, speech_like

pytestmark = pytest.mark.browser
TIMEOUT_MS = 20_000
ONE_CARD = "NVIDIA GeForce RTX 4090:24"
# Each list's folder under output/asr_opt: the first (sorted) fills the box at page load.
EDITED, MEASURED = "edited", "measured"


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def make_workspace_list(workspace: Path, folder: str, clipped: int) -> Path:
    """``output/asr_opt/<folder>/voice.list`` over three 3 s clips; clip ``clipped`` is
    clipped."""
    return make_list(workspace / "output" / "asr_opt" / folder, 3, clipped=clipped)


@dataclass(frozen=True)
class Server:
    url: str
    workspace: Path
    lists: dict[str, Path]   # each test's own list, by folder name


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module; its workspace holds every test's list before it starts
    (the tab lists a workspace's lists when the page is built)."""
    root = tmp_path_factory.mktemp("dataset-tab")
    workspace = root / "workspace"
    lists = {folder: make_workspace_list(workspace, folder, clipped=2)
             for folder in (EDITED, MEASURED)}
    process, url = start_app(ONE_CARD, workspace, root / "server.log")
    yield Server(url, workspace, lists)
    stop_app(process, workspace)


def open_list(page, list_path: Path) -> None:
    expect()(page.locator("#proof-list textarea")).to_have_value(str(list_path),
                                                               timeout=TIMEOUT_MS)
    page.locator("#proof-open").click()
    expect()(page.locator("#proof-progress")).to_contain_text("of 3 reviewed",
                                                             timeout=TIMEOUT_MS)


def test_an_edit_and_a_mark_survive_a_reload(server: Server, page, tmp_path: Path) -> None:
    list_path = server.lists[EDITED]
    page.goto(server.url)
    open_list(page, list_path)   # the workspace's list is offered without typing its path
    text = page.locator("#proof-text-0 textarea")
    expect()(text).to_have_value("Sentence number 0.")
    text.fill("Edited in the browser.")
    text.press("Enter")   # saved at once, no save button
    expect()(page.locator("#proof-message")).to_contain_text("Saved clip 1",
                                                            timeout=TIMEOUT_MS)
    page.locator("#proof-reviewed-1 input[type=checkbox]").check()
    expect()(page.locator("#proof-progress")).to_contain_text("1 of 3 reviewed",
                                                             timeout=TIMEOUT_MS)
    # the share reviewed reaches the dataset summary the other tabs read, marked measured
    expect()(page.locator("#ds-reviewed input[type=number]")).to_have_value("33",
                                                                          timeout=TIMEOUT_MS)
    expect()(page.locator("#ds-provenance")).to_contain_text("Labels proofread (%): measured")

    page.reload()
    open_list(page, list_path)
    expect()(page.locator("#proof-progress")).to_contain_text("1 of 3 reviewed")
    expect()(page.locator("#proof-text-0 textarea")).to_have_value("Edited in the browser.")
    expect()(page.locator("#proof-reviewed-1 input[type=checkbox]")).to_be_checked()
    expect()(page.locator("#proof-reviewed-0 input[type=checkbox]")).not_to_be_checked()
    screenshot(page, tmp_path, "dataset-proofread.png")
    session = ProofreadSession(list_path)   # and it is what the files hold
    assert session.clips[0].text == "Edited in the browser."
    assert session.progress().reviewed == 1
    assert page.locator(TOAST).count() == 0


def test_the_quality_report_shows_the_planted_problem_and_moves_the_limits(
        server: Server, page, tmp_path: Path) -> None:
    list_path = server.lists[MEASURED]
    page.goto(server.url)
    # the workspace's lists are offered; picking one fills in the box the report measures
    page.locator("#proof-found input").click()
    page.get_by_role("option", name=str(list_path)).click()
    expect()(page.locator("#proof-list textarea")).to_have_value(str(list_path),
                                                               timeout=TIMEOUT_MS)
    page.locator("#quality-run").click()
    expect()(page.locator("#quality-verdict")).to_contain_text("Verdict: poor",
                                                              timeout=TIMEOUT_MS)
    problems = page.locator("#quality-problems")
    expect()(problems).to_contain_text("clipping")
    expect()(problems).to_contain_text("clip_02.wav")
    expect()(problems).not_to_contain_text("clip_00.wav")
    expect()(page.locator("#quality-lengths")).to_be_visible()
    expect()(page.locator("#ds-clips input")).to_have_value("3")
    expect()(page.locator("#ds-provenance")).to_contain_text("Number of clips: measured")
    screenshot(page, tmp_path, "dataset-quality.png")
    # B-8: three clips cap the SoVITS batch at 3 on the Training tab
    page.get_by_role("tab", name="Training").click()
    expect()(page.locator("#sovits-batch input[type=range]")).to_have_attribute(
        "max", "3", timeout=TIMEOUT_MS)
    # a typed value is the user's: marked overridden, and the limits follow it
    page.get_by_role("tab", name="Dataset").click()
    clips = page.locator("#ds-clips input")
    clips.fill("5")
    clips.press("Tab")
    expect()(page.locator("#ds-provenance")).to_contain_text("overridden (measured: 3)",
                                                            timeout=TIMEOUT_MS)
    page.get_by_role("tab", name="Training").click()
    expect()(page.locator("#sovits-batch input[type=range]")).to_have_attribute(
        "max", "5", timeout=TIMEOUT_MS)
    assert page.locator(TOAST).count() == 0


def test_slicing_a_folder_reports_the_slices_and_the_bad_file(server: Server, page,
                                                              tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for number in range(2):   # two files: the job spreads them over worker processes
        soundfile.write(recordings / f"talk {number}.wav", speech_like(12.0, number), RATE)
    (recordings / "broken.wav").write_bytes(b"RIFF not really a wav")
    page.goto(server.url)
    # the page-load refresh keeps the Q-4 reference (it once showed the slider's maximum)
    expect()(page.locator("#slice-length input[type=number]")).to_have_value(
        "10", timeout=TIMEOUT_MS)
    source = page.locator("#slice-input textarea")
    source.fill(str(recordings))
    source.press("Tab")
    output = server.workspace / "output" / "slicer_opt" / "recordings"
    expect()(page.locator("#slice-output textarea")).to_have_value(str(output),
                                                                 timeout=TIMEOUT_MS)
    # inconsistent settings are refused under the controls, naming the field
    interval = page.locator("#slice-min-interval input[type=number]")
    interval.fill("5000")
    interval.press("Tab")
    page.locator("#slice-run").click()
    result = page.locator("#slice-result")
    expect()(result).to_contain_text("min_length_ms", timeout=TIMEOUT_MS)
    assert not output.exists()
    interval.fill("300")
    interval.press("Tab")
    page.locator("#slice-run").click()
    expect()(result).to_contain_text("slices written", timeout=60_000)
    written = sorted(output.glob("talk *.wav_*.wav"))
    assert len(written) >= 2
    expect()(result).to_contain_text(f"{len(written)} slices written")
    expect()(result).to_contain_text("1 file(s) failed")
    expect()(result).to_contain_text("broken.wav")
    assert page.locator(TOAST).count() == 0
