"""Cantonese readings (``gsv_core.text.readings.yue``): each rule with examples written by hand."""

from __future__ import annotations

import pytest

from gsv_core.text import clean_text
from gsv_core.text.readings.yue import read, rules_matched


@pytest.mark.parametrize(("text", "reading"), [
    # the examples: no Mandarin 幺 in a phone number; a thousands separator
    ("我電話係9123 4567。", "我電話係九一二三，四五六七。"),
    ("呢部手機要1,000蚊。", "呢部手機要一千蚊。"),
    ("有超過10,000人參加。", "有超過一万人參加。"),
    # dollars are 蚊 in speech; a written US$ is 美金
    ("一杯咖啡要$38。", "一杯咖啡要三十八蚊。"),
    ("張飛要HK$450。", "張飛要四百五十蚊。"),
    ("淨係US$20。", "淨係二十美金。"),
    # Hong Kong says 公里 and 公斤
    ("我跑咗10km。", "我跑咗十公里。"),
    ("重5kg", "重五公斤"),
])
def test_cantonese_rules(text: str, reading: str) -> None:
    assert read(text) == reading


@pytest.mark.parametrize(("text", "reading"), [
    ("升咗50%。", "升咗百分之五十。"),
    ("溫度會喺20-25度之間。", "溫度會喺二十到二十五度之間。"),
])
def test_other_spans_read_as_mandarin_writes_them(text: str, reading: str) -> None:
    assert read(text) == reading


@pytest.mark.parametrize("text", ["", "我哋去飲茶。", "今日最高氣溫28度。"])
def test_text_without_a_rule_is_unchanged(text: str) -> None:
    assert read(text) == text


def test_rules_matched_names_the_grouped_number_rule() -> None:
    assert "yue_grouped_number" in rules_matched("1,000蚊")
    assert rules_matched("我哋去飲茶。") == ()


def test_phone_number_has_no_mandarin_yao() -> None:
    upstream = clean_text("9123 4567", "yue", readings="upstream").phones
    improved = clean_text("9123 4567", "yue", readings="improved").phones
    assert "Yiu1" in upstream  # 幺
    assert "Yiu1" not in improved and "Yat1" in improved  # 一
