"""Mandarin readings (``gsv_core.text.readings.zh``) and the ``readings=`` switch through
``clean_text``, ``bert_align`` and ``infer.segments``.

The issue's examples are the minimum: each is read as a person would, while
``readings="upstream"`` (the low-level default) still gives upstream's misreading.
"""

from __future__ import annotations

import pytest

from gsv_core.errors import ConfigError, TextError
from gsv_core.text import clean_text, phones_and_features
from gsv_core.text.bert_align import clean_runs, phones_and_features_batch, reading_language
from gsv_core.text.readings import read_spans, rules_matched
from gsv_core.text.readings.zh import read

# (text, read with Latin kept for the English g2p, the issue's upstream reading)
ISSUE_EXAMPLES = [
    ("请访问https://www.example.com/index.html", "请访问WWW 点 example 点 com 斜杠 index 点 HTML",
     "请访问秒每每.米.米每.毫升"),
    ("5000mAh", "五千毫安时", "五千米"),
    ("120W", "一百二十瓦", "幺二零"),
    ("小米14 Pro", "小米十四 Pro", "小米十四"),
    ("32GB内存", "三十二GB内存", "三十二内存"),
    ("010-62345678", "零幺零，六二三四五六七八", "零幺零减六二三四五六七八"),
    ("50-80万", "五十到八十万", "五十减八十万"),
    ("第2名", "第二名", "第两名"),
    ("公元前221年", "公元前二百二十一年", "公元前二二一年"),
    ("¥199", "一百九十九元", "幺九九"),
    ("100°F", "一百华氏度", "幺零零"),
    ("No.1", "第一", "零点一"),
    ("比分21:19", "比分二十一比十九", "比分二十一点十九分"),
]


@pytest.mark.parametrize(("text", "improved", "upstream"), ISSUE_EXAMPLES)
def test_issue_examples(text: str, improved: str, upstream: str) -> None:
    assert read(text) == improved
    assert read_spans(text, "zh") == improved
    assert clean_text(text, "zh").norm_text == upstream
    assert clean_text(text, "zh", readings="upstream").norm_text == upstream


@pytest.mark.parametrize(("text", "expected"), [
    ("$4.2B", "四十二亿美元"),
    ("¥5万", "五万元"),
    ("€5", "五欧元"),
    ("US$1,000", "一千美元"),
    ("HK$88", "八十八港元"),
])
def test_currency(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("3:30 p.m.出发", "下午3:30出发"),
    ("10:00 AM EST开会", " EST 上午10:00开会"),
    ("下午3:30", "下午3:30"),  # a plain clock time is left to upstream (三点半)
])
def test_time(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("07/04/2023", "2023年7月4日"),
    ("25/12/2023", "2023年12月25日"),
    ("2023-07-04", "2023年7月4日"),
])
def test_date_is_written_the_way_upstream_reads_dates(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("以21:19获胜", "以二十一比十九获胜"),
    ("3:2险胜", "三比二险胜"),
    ("最终比分是21:19，主队获胜。", "最终比分是二十一比十九，主队获胜。"),
    ("3:30出发去胜利路", "3:30出发去胜利路"),  # a lone 胜 further on is no cue
])
def test_score(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("50%-80%", "百分之五十到百分之八十"),
    ("3-5kg", "三到五千克"),
    ("10-20元", "十到二十元"),
])
def test_range(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2kg", "两千克"),
    ("5m²", "五平方米"),
    ("105 km/h", "一百零五公里每小时"),
    ("36℃", "三十六度"),
    ("50%", "百分之五十"),
    ("2.4GHz", "二点四G赫兹"),
    ("-5°C", "零下五度"),
    ("-3kg", "负三千克"),
    ("-3%", "负百分之三"),
])
def test_unit(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("TED2024大会", "TED 二零二四大会"),
    ("Q3财报", "Q 三财报"),
    ("RTX 4090显卡", "RTX 四零九零显卡"),
    ("iPhone 15 Pro", "iPhone 十五 Pro"),
])
def test_model_numbers_short_as_numbers_long_as_digits(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("邮箱zhang.san@qq.com", "邮箱zhang 点 san at QQ 点 com"),
    ("那是20世纪90年代", "那是20世纪九十年代"),
    ("全长约6300公里", "全长约六千三百公里"),
    ("跑了2公里", "跑了两公里"),
    ("请升级到v2.1版本", "请升级到V二点一版本"),
    ("A4纸", "A 四纸"),
    ("比例是1:3", "比例是一比三"),
    ("16:9的屏幕", "十六比九的屏幕"),
    ("4S店", "四S店"),
    ("3D打印", "三D打印"),
    ("1,000元", "1000元"),
    ("+86 138 0013 8000", "加八六，幺三八，零零幺三，八零零零"),
    ("80s的歌", "八十年代的歌"),
    ("1990s", "一九九零年代"),
    ("持续了221年", "持续了二百二十一年"),
    ("用ＧＰＵ跑", "用GPU跑"),
])
def test_other_rules(text: str, expected: str) -> None:
    assert read(text) == expected


@pytest.mark.parametrize("text", ["今天天气很好。", "2023年7月4日", "x+y=10", "98年",
                                  "两个AirPods"])
def test_text_no_rule_matches_is_unchanged(text: str) -> None:
    assert read(text) == text


def test_ordinal_one_reads_as_upstream_did() -> None:
    assert clean_text("第1名", "zh", readings="improved") == clean_text("第1名", "zh")


@pytest.mark.parametrize("text", [t for t, _, _ in ISSUE_EXAMPLES] + ["$4.2B", "TED2024大会",
                                                                      "3:30 p.m.出发"])
def test_reading_twice_changes_nothing(text: str) -> None:
    # split_segments reads before the cut and segment_features reads the segments again.
    assert read(read(text)) == read(text)


def test_rules_are_named() -> None:
    assert rules_matched("第2名卖120W", "zh") == ("unit", "ordinal")
    assert rules_matched("公元前221年的ＡＩ", "zh") == ("full_width", "cardinal_year",
                                                    "latin_words")
    assert rules_matched("今天的meeting", "zh") == ("latin_words",)
    assert rules_matched("v2.1版的90年代150公里", "zh") == ("version", "decade_zh", "measure_word")
    assert rules_matched("1,000元买4S店1:3", "zh") == ("grouped_number", "ratio", "digits_letters")


# --- clean_text: one language, so Latin words are dropped, never spelled as units ----------

@pytest.mark.parametrize(("text", "improved", "upstream"), [
    ("两个AirPods", "两个", "两个毫秒"),
    ("请访问https://www.example.com/index.html。", "请访问.", "请访问秒每每.米.米每.毫升."),
    ("今天的meeting取消了。", "今天的取消了.", "今天的米取消了."),
    ("32GB内存", "三十二内存", "三十二内存"),
    ("5000mAh", "五千毫安时", "五千米"),
    ("x+y=10", "加等于十", "加等于十"),
    ("1,000元", "一千元", "一,零元"),
    ("比例是1:3", "比例是一比三", "比例是一三"),
])
def test_clean_text_mandarin_only(text: str, improved: str, upstream: str) -> None:
    cleaned = clean_text(text, "zh", readings="improved")
    assert cleaned.norm_text == improved
    assert cleaned.word2ph is not None and len(cleaned.word2ph) == len(cleaned.norm_text)
    assert clean_text(text, "zh").norm_text == upstream


@pytest.mark.parametrize("readings", ["upstream", "improved"])
@pytest.mark.parametrize(("text", "language"), [
    ("", "zh"), ("   ", "zh"), ("Hello world", "all_zh"), ("   ", "yue"), ("", "ja")])
def test_nothing_readable_gives_zero_phones(text: str, language: str, readings: str) -> None:
    assert clean_text(text, language, readings=readings).phones == ()


@pytest.mark.parametrize("language", ["en", "zh", "ja", "ko", "yue"])
@pytest.mark.parametrize("text", ["", "   "])
def test_blank_text_gives_zero_phones_in_improved_mode(text: str, language: str) -> None:
    # Upstream pads a short English phone list with "," even for "" (kept in upstream mode).
    assert clean_text("", "en").phones == (",",)
    assert clean_text(text, language, readings="improved").phones == ()


def test_unknown_readings_mode_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        clean_text("你好", "zh", readings="better")
    with pytest.raises(ConfigError):
        phones_and_features("你好", "zh", readings="better")


# --- bert_align: read before the split, so Latin goes to the English g2p --------------------

def _runs(text: str, mode: str) -> list[tuple[str, str]]:
    return [(language, cleaned.norm_text) for cleaned, language in
            clean_runs(text, mode, readings="improved")]


def test_url_in_chinese_is_read_in_english_and_mandarin() -> None:
    runs = _runs("请访问https://www.example.com", "zh")
    assert runs == [("zh", "请访问"), ("en", "W W W "), ("zh", "点"), ("en", "example "),
                    ("zh", "点"), ("en", "com")]


@pytest.mark.parametrize("mode", ["zh", "all_zh"])
def test_latin_words_are_english_in_zh_and_all_zh(mode: str) -> None:
    assert _runs("CEO说，AI是", mode) == [("en", "C E O"), ("zh", "说,"), ("en", "A I"),
                                         ("zh", "是")]
    assert _runs("5000mAh的电池", mode) == [("zh", "五千毫安时的电池")]


def test_all_zh_improved_splits_full_width_latin_out() -> None:
    assert [language for _, language in clean_runs("用ＧＰＵ跑", "all_zh")] == ["zh"]
    assert _runs("用ＧＰＵ跑", "all_zh") == [("zh", "用"), ("en", "G P U"), ("zh", "跑")]


@pytest.mark.parametrize(("text", "mode", "language"), [
    ("今天5000mAh", "zh", "zh"), ("今天", "all_zh", "zh"), ("5000mAh", "en", "en"),
    ("今天的TED2024大会", "auto", "zh"), ("The TED2024 talk", "auto", "en"),
    ("今日は5000mAhです", "auto", "ja"), ("今日5000mAh", "auto_yue", "yue"),
    ("", "auto", "en"), ("你好", "all_ja", "ja"),
    ("我用iPhone拍照", "auto", "zh"), ("I love 北京 at 3:30 p.m.", "auto", "en"),
    ("123", "auto", "zh"), ("123", "auto_yue", "yue"),
])
def test_reading_language(text: str, mode: str, language: str) -> None:
    assert reading_language(text, mode) == language


def test_upstream_default_is_unchanged_through_bert_align() -> None:
    text = "两个AirPods，5000mAh。"
    default = phones_and_features(text, "zh")
    upstream = phones_and_features(text, "zh", readings="upstream")
    improved = phones_and_features(text, "zh", readings="improved")
    assert default.phones == upstream.phones and default.norm_text == upstream.norm_text
    assert upstream.norm_text == "两个Air Podsfive thousandm Ah."
    assert improved.norm_text == "两个Air Pods五千毫安时."  # the en cleaner drops "，"


def test_features_line_up_with_phones_in_improved_mode() -> None:
    texts = ["请访问https://www.example.com/index.html。", "比分21:19。", "Q3财报。"]
    batch = phones_and_features_batch(texts, "zh", readings="improved")
    for text, features in zip(texts, batch, strict=True):
        single = phones_and_features(text, "zh", readings="improved")
        assert features.phones == single.phones
        assert tuple(features.features.shape) == (1024, len(features.phones))


def test_unknown_mode_fails_before_reading() -> None:
    with pytest.raises(TextError):
        clean_runs("你好", "klingon", readings="improved")


# --- infer.segments: the parameter reaches the reading ------------------------------------

def test_split_segments_does_not_cut_inside_an_address() -> None:
    from gsv_core.infer.segments import split_segments

    text = "官网是www.example.com，欢迎访问。"
    upstream = split_segments(text, "zh", "cut5")
    improved = split_segments(text, "zh", "cut5", readings="improved")
    assert any(segment.endswith("www.") for segment in upstream)  # cut at the dot
    assert any("WWW 点 example 点 com" in segment for segment in improved)


def test_segment_features_passes_readings() -> None:
    from gsv_core.infer.segments import segment_features

    upstream, = segment_features(["电池5000mAh。"], "zh", None)
    improved, = segment_features(["电池5000mAh。"], "zh", None, readings="improved")
    assert upstream.norm_text == "电池五零零零m Ah."
    assert improved.norm_text == "电池五千毫安时."
    assert improved.phone_ids.shape[0] == improved.bert.shape[1]
