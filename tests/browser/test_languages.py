"""A real Chromium sees the UI in Japanese (``--lang ja_JP``) and in Chinese (chosen on the
Settings tab, used at the next start): every tab's name and a label inside it are translated.

The expected texts come from the language files through the app's own Translator, and each
must differ from the English, so the check cannot pass on an untranslated page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gsv_core.i18n import Translator
from tests.browser.conftest import TOAST, screenshot, start_app, stop_app

pytestmark = pytest.mark.browser
TIMEOUT_MS = 20_000
# Each tab's name and a label shown on it once it is open.
TABS = {"Dataset": "3. Proofread the labels", "Emotion": "emotion2vec model folder",
        "Training": "SoVITS batch size", "Inference": "Reference audio (3–10 s)",
        "Settings": "Save settings", "System": "Pre-flight check"}


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def check_every_tab(page, url: str, language: str) -> None:
    t = Translator(language)
    page.goto(url)
    for tab, label in TABS.items():
        assert t(tab) != tab and t(label) != label, f"{language}: {tab!r} is not translated"
        page.get_by_role("tab", name=t(tab), exact=True).click()
        expect()(page.get_by_text(t(label), exact=True).first).to_be_visible(
            timeout=TIMEOUT_MS)
    assert page.locator(TOAST).count() == 0


def test_japanese_from_the_command_line_and_chinese_from_the_settings_tab(page,
                                                                         tmp_path: Path):
    """Two starts: ``--lang ja_JP`` (where zh_CN and dark colours are then saved on the
    Settings tab), then no ``--lang``, which uses the saved language and colours."""
    workspace = tmp_path / "workspace"
    process, url = start_app("cpu", workspace, tmp_path / "ja.log", extra_args=["--lang",
                                                                                "ja_JP"])
    try:
        check_every_tab(page, url, "ja_JP")
        screenshot(page, tmp_path, "ja.png")
        page.get_by_role("tab", name=Translator("ja_JP")("Settings"), exact=True).click()
        page.locator("#settings-lang input").click()
        page.get_by_role("option", name="zh_CN", exact=True).click()
        page.locator("#settings-theme").get_by_label(Translator("ja_JP")("Dark")).check()
        page.locator("#settings-save").click()
        expect()(page.locator("#settings-status")).to_contain_text("settings.json",
                                                                   timeout=TIMEOUT_MS)
    finally:
        stop_app(process, workspace)
    process, url = start_app("cpu", workspace, tmp_path / "zh.log")   # no --lang: saved
    try:
        check_every_tab(page, url, "zh_CN")
        expect()(page.locator("body")).to_have_class(re.compile(r"\bdark\b"))  # saved too
        page.goto(url + "?__theme=light")   # the address still wins over the saved colours
        page.get_by_role("tab", name=Translator("zh_CN")("Settings"), exact=True).click()
        expect()(page.locator("body")).not_to_have_class(re.compile(r"\bdark\b"))
    finally:
        stop_app(process, workspace)
