"""The Emotion tab in Chromium (issue 12's must-hold browser test).

The workspace's emotion2vec folder is the tiny random emotion2vec_plus model
(tests/emotion_fixtures.py) and the list three generated clips. The page classifies them
through the real job and funasr, then a tag is corrected and one marked reviewed; the counts
and the figure follow. Labels are random, so the test reads which one the model gave.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import TOAST, screenshot, start_app, stop_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TIMEOUT_MS = 180_000   # the job's child imports funasr (10-16 s) before the first clip


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def test_classify_correct_a_tag_mark_one_reviewed_and_see_the_counts(page, tmp_path: Path):
    from gsv_core.workspace import Workspace
    from tests.emotion_fixtures import build_tiny_emotion2vec, make_list

    root = tmp_path / "workspace"
    build_tiny_emotion2vec(Workspace(root).emotion2vec_dir)
    list_path = make_list(tmp_path / "data", seconds=(1.2, 2.0, 1.5))
    process, url = start_app("cpu", root, tmp_path / "server.log")
    try:
        page.goto(url)
        page.get_by_role("tab", name="Emotion").click()
        box = page.locator("#emotion-list textarea, #emotion-list input").first
        box.fill(str(list_path))
        page.locator("#emotion-embeddings input[type=checkbox]").check()
        page.locator("#emotion-run").click()
        expect()(page.locator("#emotion-status")).to_contain_text("3 clips tagged now",
                                                                   timeout=TIMEOUT_MS)
        counts = page.locator("#emotion-counts")
        expect()(counts).to_contain_text("0 of 3 tags reviewed", timeout=30_000)
        expect()(page.locator("#emotion-plot img, #emotion-plot svg").first).to_be_visible()
        page.locator('#emotion-table [data-testid="cell-0-0"]').click()
        clip = page.locator("#emotion-clip")
        expect()(clip).to_contain_text(".wav", timeout=30_000)
        given = page.locator("#emotion-tag input").input_value()
        new = "angry" if given != "angry" else "sad"
        page.locator("#emotion-tag input").click()
        page.get_by_role("option", name=new, exact=True).click()
        expect()(counts).to_contain_text("1 of 3 tags reviewed (1 corrected)", timeout=30_000)
        expect()(page.locator("#emotion-table")).to_contain_text(f"{new} ←")
        page.locator("#emotion-next").click()
        expect()(clip).to_contain_text("not reviewed yet", timeout=30_000)
        page.locator("#emotion-mark").click()
        expect()(counts).to_contain_text("2 of 3 tags reviewed", timeout=30_000)
        expect()(counts).to_contain_text("Minutes per emotion")
        page.get_by_role("tab", name="Training").click()   # E-1 follows the tags
        expect()(page.locator("#train-emotion")).to_contain_text(
            "Emotions classified; 2 of 3 tags reviewed.", timeout=30_000)
        page.get_by_role("tab", name="Emotion").click()
        page.locator("#emotion-export").click()
        exported = page.locator("#emotion-export-status")
        expect()(exported).to_contain_text("voice.emotion.list", timeout=30_000)
        expect()(exported).to_contain_text("voice.references.json")
        assert (list_path.parent / "voice.emotion.list").is_file()
        assert (list_path.parent / "voice.list.emotion.embeddings.npz").is_file()
        screenshot(page, tmp_path, "emotion.png")
        assert page.locator(TOAST).count() == 0
    finally:
        stop_app(process, root)
