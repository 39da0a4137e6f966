"""Japanese readings (``gsv_core.text.readings.ja``): each rule with examples written by hand."""

from __future__ import annotations

import pytest

from gsv_core.text import clean_text
from gsv_core.text.readings.ja import read, rules_matched


@pytest.mark.parametrize(("text", "reading"), [
    # the examples: quote marks, 〜 and ーー
    ("「東京」へ行きます。", "東京へ行きます。"),
    ("彼は『ありがとう』と言った。", "彼はありがとうと言った。"),
    ("すごい〜", "すごいー"),
    ("よろしく～！", "よろしくー！"),
    ("えーーっと", "えーっと"),
    # a tilde between numbers or counters is a range
    ("3〜5日で届きます。", "3から5日で届きます。"),
    ("営業時間は9時〜18時です。", "営業時間は9時から18時です。"),
    ("東京〜大阪は新幹線で行く。", "東京から大阪は新幹線で行く。"),
    ("ありがと〜ございます", "ありがとーございます"),
])
def test_marks(text: str, reading: str) -> None:
    assert read(text) == reading


@pytest.mark.parametrize(("text", "reading"), [
    ("価格は1,980円です。", "価格は1980円です。"),
    ("会議は15:30からです。", "会議は15時30分からです。"),
    ("朝7:00に起きた。", "朝7時に起きた。"),
    ("売上が20%増えた。", "売上が20パーセント増えた。"),
    ("重さは250gです。", "重さは250グラムです。"),
    ("120km/hで走った。", "時速120キロで走った。"),
    ("時速120km/hで走った。", "時速120キロで走った。"),
    ("締め切りは2024/03/15です。", "締め切りは2024年3月15日です。"),
    ("試合は3-1で勝った。", "試合は3対1で勝った。"),
    ("気温は-3℃まで下がった。", "気温はマイナス3度まで下がった。"),
    ("価格は$99です。", "価格は99ドルです。"),
    ("評価額は$4.2B。", "評価額は42億ドル。"),
    ("午後3:30 p.m.に", "午後3時30分に"),  # 午後 written once, read once
    ("電話は03-1234-5678です。", "電話はゼロサンのイチニーサンヨンのゴーロクナナハチです。"),
    ("詳しくはhttps://example.jpを見て", "詳しくはexample dot J Pを見て"),
])
def test_spans(text: str, reading: str) -> None:
    assert read(text) == reading


@pytest.mark.parametrize("text", ["", "今日はいい天気ですね。", "2024年3月15日に発表された。"])
def test_text_without_a_rule_is_unchanged(text: str) -> None:
    assert read(text) == text


def test_rules_matched_names_the_japanese_rules() -> None:
    assert rules_matched("「すごい」〜1,980円") == ("ja_quotes", "ja_tilde_long",
                                                  "ja_grouped_number")
    assert rules_matched("普通の文です。") == ()


def test_quote_marks_give_no_unk_phones() -> None:
    upstream = clean_text("「東京」へ行きます。", "ja", readings="upstream").phones
    improved = clean_text("「東京」へ行きます。", "ja", readings="improved").phones
    assert improved == clean_text("東京へ行きます。", "ja").phones
    assert improved.count("UNK") < upstream.count("UNK")
