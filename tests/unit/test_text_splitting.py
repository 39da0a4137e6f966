"""Inference text cutting (cut0…cut5) and the X-2, X-3, X-4 rules."""

from __future__ import annotations

import pytest

from gsv_core.errors import TextError
from gsv_core.text.splitting import CUT_METHODS, MIN_SEGMENT_CHARS, cut_text

LONG = "第一句话在这里。第二句话在这里！第三句话在这里？第四句话在这里。第五句话在这里。第六句话。"


@pytest.mark.parametrize("method", CUT_METHODS)
def test_x4_punctuation_only_input_gives_no_segments(method: str) -> None:
    for text in ("", "。。。", "...!!", "\n\n", " ， ", "…"):
        assert cut_text(text, method) == []


@pytest.mark.parametrize("method", CUT_METHODS)
def test_x3_decimals_are_never_split(method: str) -> None:
    text = "价格是3.14元，比昨天贵。It costs 2.75 dollars. Then 10.5 more."
    segments = cut_text(text, method)
    joined = "".join(segments)
    for number in ("3.14", "2.75", "10.5"):
        assert number in joined
        assert any(number in s for s in segments)


@pytest.mark.parametrize("method", CUT_METHODS)
def test_x2_repeated_line_breaks_survive(method: str) -> None:
    segments = cut_text("\n\n你好啊朋友们\n\n\n\n今天天气很好。\n\n\n", method)
    assert segments
    assert all(s.strip() for s in segments)
    assert all("\n" not in s for s in segments)


def test_cut0_keeps_text_whole() -> None:
    assert cut_text(LONG, "cut0") == [LONG]


def test_cut1_groups_four_sentences_and_the_remainder_joins_the_last_group() -> None:
    sentences = [f"这是第{i}句话。" for i in range(9)]
    assert cut_text("".join(sentences), "cut1") == ["".join(sentences[:4]), "".join(sentences[4:])]
    # upstream's grouping: up to seven sentences stay one segment
    assert cut_text(LONG, "cut1") == [LONG]


def test_cut2_groups_about_fifty_characters() -> None:
    text = "".join(f"这是第{i}个比较长的句子，用来测试切分。" for i in range(10))
    segments = cut_text(text, "cut2")
    assert "".join(segments) == text
    assert all(len(s) > 50 for s in segments)
    assert len(segments) >= 2


def test_cut3_cuts_at_chinese_full_stops() -> None:
    assert cut_text("今天天气很好。我们去公园吧。好的好的好的", "cut3") == [
        "今天天气很好", "我们去公园吧", "好的好的好的"]


def test_cut4_cuts_at_english_full_stops_not_between_digits() -> None:
    assert cut_text("Pi is 3.14 exactly. It is a number. Yes indeed.", "cut4") == [
        "Pi is 3.14 exactly", " It is a number", " Yes indeed"]


def test_cut5_cuts_at_every_mark_and_merges_short_pieces() -> None:
    segments = cut_text("好，我们走吧。你呢？我也是，马上就来！", "cut5")
    assert "".join(segments) == "好，我们走吧。你呢？我也是，马上就来！"
    assert all(len(s) >= MIN_SEGMENT_CHARS for s in segments)
    assert segments[0] == "好，我们走吧。"


def test_unknown_method_is_an_error() -> None:
    with pytest.raises(TextError, match="cut9"):
        cut_text("你好", "cut9")
