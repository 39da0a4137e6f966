"""Improved readings of mixed-language text in the auto modes: each stretch in its own language.

Issue 9's auto-mode bug: the whole text was read with the rules of its dominant language,
so "Meet me at 下午3:30 on 2023年7月4日." or "会議は3:30 p.m.からです。" had a time or a date
read with another language's rules, and the split then gave the digits of "on 2023年" to the
English cleaner. The expected readings below are written by hand, in plain words, as a
bilingual speaker reads each sentence; a row matches when its phones equal those of the
expected words read with upstream's rules (as ``bench/report_readings.py`` compares; marks
and pauses left out).
"""

from __future__ import annotations

import pytest

from gsv_core.text.bert_align import clean_runs, phones_and_features
from gsv_core.text.readings.mixed import ReadingRun, reading_runs, split_read_text
from gsv_core.text.symbols import PUNCTUATION

_IGNORED = frozenset(PUNCTUATION) | {"空", "SP", "SP2", "SP3"}

# (text, expected reading written by hand). zh+en and ja+en sentences of chat, travel and
# shopping talk, each with a span (time, date, price, unit, phone…) on both sides or on the
# side that is not the dominant language.
MIXED_ROWS: tuple[tuple[str, str], ...] = (
    ("Meet me at 下午3:30 on 2023年7月4日.", "Meet me at 下午三点半 on 二零二三年七月四日."),
    ("我们下午3:30见面。The meeting starts at 3:30 p.m.",
     "我们下午三点半见面。The meeting starts at three thirty P M."),
    ("明天下午3:30开会, see you at 3:30 p.m.", "明天下午三点半开会, see you at three thirty P M."),
    ("The price is $4.2B, 比去年高50-80%。",
     "The price is four point two billion dollars, 比去年高百分之五十到百分之八十。"),
    ("这款手机5000mAh, the battery lasts 2 days.",
     "这款手机五千毫安时, the battery lasts two days."),
    ("I paid ¥199 for it, 在淘宝买的。",
     "I paid one hundred ninety-nine yuan for it, 在淘宝买的。"),
    ("The final score was 21:19, 主队赢了。",
     "The final score was twenty-one to nineteen, 主队赢了。"),
    ("我的iPhone15很好用，but the iPhone 15 Pro is better.",
     "我的iPhone十五很好用，but the iPhone fifteen Pro is better."),
    ("Call me at 555-123-4567, 或者打010-62345678。",
     "Call me at five five five, one two three, four five six seven, "
     "或者打零幺零，六二三四五六七八。"),
    ("The flight leaves at 7:05 p.m., 到达时间是22:30。",
     "The flight leaves at seven oh five P M, 到达时间是二十二点半。"),
    ("会議は3:30 p.m.からです。", "会議は午後三時三十分からです。"),
    ("The meeting is at 10:30 a.m., 東京駅で会いましょう。",
     "The meeting is at ten thirty A M, 東京駅で会いましょう。"),
    ("今日は2024/03/15です, see you on 03/20/2024.",
     "今日は二千二十四年三月十五日です, see you on March twentieth, twenty twenty-four."),
    ("朝7:00に起きた, then I left at 8:15 a.m.",
     "朝七時に起きた, then I left at eight fifteen A M."),
    # a name or model number set apart by spaces in Chinese text is no English speech
    ("我买了 iPhone 15 Pro，很好用。", "我买了 iPhone 十五 Pro，很好用。"),
    ("我的电脑是 MacBook Pro 2023 款。", "我的电脑是 MacBook Pro 二零二三款。"),
)


def _spoken(text: str, readings: str) -> str:
    phones = phones_and_features(text, "auto", readings=readings).phones
    return " ".join(p for p in phones if p not in _IGNORED)


@pytest.mark.parametrize(("text", "expected"), MIXED_ROWS)
def test_mixed_sentence_reads_each_stretch_in_its_language(text: str, expected: str) -> None:
    assert _spoken(text, "improved") == _spoken(expected, "upstream")


def test_the_rows_are_misread_with_upstream_rules() -> None:
    # The table tests something: upstream's cleaner reads almost none of these right.
    right = [text for text, expected in MIXED_ROWS
             if _spoken(text, "upstream") == _spoken(expected, "upstream")]
    assert len(right) <= 1, right


def _runs(text: str, dominant: str) -> list[tuple[str, str]]:
    return [(run.text, run.language) for run in reading_runs(text, "auto", dominant)]


def test_a_span_goes_with_the_cjk_word_glued_to_it() -> None:
    # "3:30 p.m." holds Latin letters but is glued to Japanese on both sides
    assert _runs("会議は3:30 p.m.からです。", "ja") == [("会議は3:30 p.m.からです。", "ja")]
    # the model number is glued to 很: a Mandarin speaker says 十五
    assert _runs("我的iPhone15很好用", "zh") == [("我的iPhone15很好用", "zh")]


def test_a_spaced_span_with_letters_is_english() -> None:
    assert _runs("明天下午3:30开会, see you at 3:30 p.m.", "zh") == [
        ("明天下午3:30开会, ", "zh"), ("see you at 3:30 p.m.", "en")]


def test_digits_go_with_the_word_they_are_glued_to() -> None:
    runs = split_read_text("Meet me at 下午3:30 on 2023年7月4日.", "auto", "zh")
    assert [(run.text, run.language) for run in runs] == [
        ("Meet me at ", "en"), ("下午3:30 ", "zh"), ("on ", "en"), ("2023年7月4日.", "zh")]


def test_marks_between_two_languages_stay_with_the_run_before_as_in_the_split() -> None:
    runs = split_read_text("Hello，你好！", "auto", "zh")
    assert [(run.text, run.language) for run in runs] == [("Hello，", "en"), ("你好！", "zh")]


def test_english_words_without_digits_in_chinese_text_keep_the_chinese_reading() -> None:
    # en's reading says "okay"; inside Chinese text "OK" is spelled, as upstream's g2p does
    assert _runs("OK，没问题。", "zh") == [("OK，没问题。", "zh")]
    norm = "".join(c.norm_text for c, _ in clean_runs("OK，没问题。", "auto", readings="improved"))
    assert norm.startswith("O K")


def test_a_spaced_model_number_in_chinese_text_is_read_in_mandarin() -> None:
    text = "我买了 iPhone 15 Pro，很好用。"
    assert _runs(text, "zh") == [(text, "zh")]
    # with two English words of its own besides the time, it is English speech
    assert _runs("明天开会, see you at 3:30 p.m.", "zh")[-1] == ("see you at 3:30 p.m.", "en")
    assert _runs("明天开会 at 3:30 p.m.", "zh") == [("明天开会 at 3:30 p.m.", "zh")]


def test_a_colon_inside_a_time_does_not_end_the_japanese_clause() -> None:
    # language_split ends clauses at ":"; 朝 would be Chinese, and 7:00 read as 七点
    assert _runs("朝7:00に起きた。", "ja") == [("朝7:00に起きた。", "ja")]


def test_auto_yue_reads_han_stretches_in_cantonese() -> None:
    runs = reading_runs("我哋聽日3:30見, see you at 3:30 p.m.", "auto_yue", "yue")
    assert runs == [ReadingRun("我哋聽日3:30見, ", "yue"), ReadingRun("see you at 3:30 p.m.", "en")]


def test_text_without_letters_reads_in_the_dominant_language() -> None:
    assert _runs("123", "zh") == [("123", "zh")]
    assert reading_runs("", "auto", "en") == []
