"""The text as it will be read (issue 9 item 5): the library function and the tab's view."""

from __future__ import annotations

import pytest

from gsv_core.errors import ConfigError
from gsv_core.i18n import Translator
from gsv_core.infer.preview import reading_preview
from tabs.infer.sections.text import _escaped, read_as

TEXT = "电池5000mAh，支持120W快充。"


class _Ctx:
    t = Translator("en_US")


def test_improved_readings_show_the_words_the_model_will_say() -> None:
    (improved,) = reading_preview(TEXT, "all_zh", "cut1", "improved")
    (upstream,) = reading_preview(TEXT, "all_zh", "cut1", "upstream")
    assert "五千毫安时" in improved.reading and "一百二十瓦" in improved.reading
    assert "毫安" not in upstream.reading  # upstream's cleaner drops the unit letters
    assert upstream.text == TEXT and improved.spoken and upstream.spoken


def test_one_entry_per_segment_and_nothing_for_empty_text() -> None:
    segments = reading_preview("今天天气很好。我们去公园吧！", "all_zh", "cut5", "upstream")
    assert [s.text for s in segments] == ["今天天气很好。", "我们去公园吧！"]
    assert reading_preview("   ", "all_zh", "cut5", "improved") == []


def test_bad_options_are_named() -> None:
    with pytest.raises(ConfigError, match="text_language"):
        reading_preview(TEXT, "klingon", "cut1", "improved")
    with pytest.raises(ConfigError, match="readings"):
        reading_preview(TEXT, "all_zh", "cut1", "sometimes")


def test_the_tab_lists_segments_shows_errors_inline_and_escapes_markup() -> None:
    shown = read_as(_Ctx(), "今天天气很好。我们去公园吧！", "all_zh", "cut5", "improved")
    assert shown.startswith("**Will be read as:**")
    assert "1. 今天天气很好" in shown and "2. 我们去公园吧" in shown
    assert _escaped("a*b_<i>#") == "a\\*b\\_\\<i\\>\\#"  # typed markup stays literal
    assert read_as(_Ctx(), "", "all_zh", "cut5", "improved") == ""
    emoji = read_as(_Ctx(), "😀😀😀", "all_zh", "cut0", "improved")
    assert emoji.endswith("*(nothing here is read aloud: left out)*")
    assert read_as(_Ctx(), TEXT, "klingon", "cut1", "improved").startswith("❌")
