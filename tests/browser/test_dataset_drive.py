"""Issue 10's browser drive, in one session: slice a folder → see its clips → edit and mark
every clip reviewed → the quality report → the Training tab's SoVITS round limit (R-3).

The labels of the slices are written by the test where ASR would write them
(``output/asr_opt``): the tiny random ASR models the tests can build give random text (the
ASR section has its own tests in tests/integration/test_asr_ui.py). R-3 unlocks high rounds
only for a clean, fully proofread dataset of over an hour; the slices are under a minute, so the
limit stays locked with that reason, and typing a duration over the measured one (marked
overridden) is what unlocks it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile

from gsv_core.dataset.proofread import ProofreadSession
from tests.browser.conftest import TOAST, screenshot
from tests.unit.test_quality import RATE, speech_like

pytestmark = pytest.mark.browser
TIMEOUT_MS = 30_000
ONE_CARD = "NVIDIA GeForce RTX 4090:24"
RECORDING_S = 9.0   # two recordings this long give two to three slices (12 s gave five)


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def epochs_max(page) -> object:
    return page.locator("#sovits-epochs input[type=range]")


def test_slice_proofread_measure_and_the_training_limits_follow(app_url, page,
                                                               tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for number in range(2):   # a few slices: each is marked reviewed in the page, one by one
        soundfile.write(recordings / f"talk {number}.wav", speech_like(RECORDING_S, number),
                        RATE)
    workspace = tmp_path / "workspace"
    page.goto(app_url(ONE_CARD))
    # 1. slice the folder
    source = page.locator("#slice-input textarea")
    source.fill(str(recordings))
    source.press("Tab")
    slices_dir = workspace / "output" / "slicer_opt" / "recordings"
    expect()(page.locator("#slice-output textarea")).to_have_value(str(slices_dir),
                                                                 timeout=TIMEOUT_MS)
    page.locator("#slice-run").click()
    expect()(page.locator("#slice-result")).to_contain_text("slices written", timeout=60_000)
    slices = sorted(slices_dir.glob("*.wav"))
    assert 2 <= len(slices) <= 10, slices   # one page of the proofreading table
    # 2. the labels, where ASR writes them; open them in the proofreading table
    list_path = workspace / "output" / "asr_opt" / "recordings.list"
    list_path.parent.mkdir(parents=True, exist_ok=True)
    list_path.write_text("".join(f"{path}|voice|EN|Words of slice {n}.\n"
                                 for n, path in enumerate(slices)), encoding="utf-8")
    box = page.locator("#proof-list textarea")
    box.fill(str(list_path))
    page.locator("#proof-open").click()
    progress = page.locator("#proof-progress")
    expect()(progress).to_contain_text(f"0 of {len(slices)} reviewed", timeout=TIMEOUT_MS)
    expect()(page.locator("#proof-audio-0 audio").first).to_be_attached()   # a player per clip
    # 3. edit one label, mark every clip reviewed
    text = page.locator("#proof-text-0 textarea")
    text.fill("The first slice, proofread.")
    text.press("Enter")
    expect()(page.locator("#proof-message")).to_contain_text("Saved clip 1",
                                                            timeout=TIMEOUT_MS)
    for number in range(len(slices)):
        page.locator(f"#proof-reviewed-{number} input[type=checkbox]").check()
        expect()(progress).to_contain_text(f"{number + 1} of {len(slices)} reviewed",
                                           timeout=TIMEOUT_MS)
    expect()(page.locator("#ds-reviewed input[type=number]")).to_have_value("100",
                                                                          timeout=TIMEOUT_MS)
    # before the report, quality is unknown: R-3 keeps the SoVITS rounds at 15
    page.get_by_role("tab", name="Training").click()
    expect()(epochs_max(page)).to_have_attribute("max", "15", timeout=TIMEOUT_MS)
    # 4. the quality report of the clean slices
    page.get_by_role("tab", name="Dataset").click()
    page.locator("#quality-run").click()
    expect()(page.locator("#quality-verdict")).to_contain_text("Verdict: good",
                                                              timeout=TIMEOUT_MS)
    expect()(page.locator("#ds-clips input")).to_have_value(str(len(slices)))
    expect()(page.locator("#ds-provenance")).to_contain_text("Quality check verdict: measured")
    # clean and proofread, but under an hour: still locked, and the Training tab says why
    page.get_by_role("tab", name="Training").click()
    expect()(epochs_max(page)).to_have_attribute("max", "15", timeout=TIMEOUT_MS)
    expect()(page.locator("#sovits-epochs")).to_contain_text("over 1 h")
    # typing a duration over an hour (overridden, as the provenance says) unlocks R-3
    page.get_by_role("tab", name="Dataset").click()
    minutes = page.locator("#ds-minutes input")
    minutes.fill("75")
    minutes.press("Tab")
    expect()(page.locator("#ds-provenance")).to_contain_text("Total duration (minutes): "
                                                            "overridden", timeout=TIMEOUT_MS)
    page.get_by_role("tab", name="Training").click()
    expect()(epochs_max(page)).to_have_attribute("max", "100", timeout=TIMEOUT_MS)
    expect()(page.locator("#sovits-epochs")).to_contain_text("unlocked")
    screenshot(page, tmp_path, "dataset-drive.png")
    # what the page showed is what the files hold
    session = ProofreadSession(list_path)
    assert session.clips[0].text == "The first slice, proofread."
    assert session.progress().reviewed == len(slices)
    assert page.locator(TOAST).count() == 0
