"""The language-independent span finders (``gsv_core.text.readings.shared``) and the package API."""

from __future__ import annotations

from itertools import pairwise

import pytest

from gsv_core.errors import ConfigError
from gsv_core.text.readings import (
    DEFAULT_READINGS,
    READINGS,
    check_readings,
    read_spans,
    rules_matched,
)
from gsv_core.text.readings.shared import Span, find_spans, load_table, rewrite


def _found(text: str) -> list[tuple[str, str, dict[str, str]]]:
    return [(s.kind, text[s.start:s.end], s.parts) for s in find_spans(text)]


@pytest.mark.parametrize(("text", "matched", "parts"), [
    ("请访问https://www.example.com/index.html。", "https://www.example.com/index.html",
     {"scheme": "https", "host": "www.example.com", "path": "/index.html"}),
    ("see github.com/openai/whisper.", "github.com/openai/whisper",
     {"host": "github.com", "path": "/openai/whisper"}),
    ("go to www.bbc.co.uk now", "www.bbc.co.uk", {"host": "www.bbc.co.uk"}),
])
def test_url(text: str, matched: str, parts: dict[str, str]) -> None:
    assert _found(text) == [("url", matched, parts)]


def test_email_is_not_a_url() -> None:
    assert _found("mail zhang.san@example.com ok") == [
        ("email", "zhang.san@example.com", {"user": "zhang.san", "domain": "example.com"})]


@pytest.mark.parametrize(("text", "groups", "plus"), [
    ("座机号码是010-62345678。", "010 62345678", False),
    ("call (555) 123-4567 today", "555 123 4567", False),
    ("555-123-4567", "555 123 4567", False),
    ("+86 138 0013 8000", "86 138 0013 8000", True),
    ("138-0013-8000", "138 0013 8000", False),
    ("400-123-4567", "400 123 4567", False),
    ("打9123 4567搵我", "9123 4567", False),
])
def test_phone(text: str, groups: str, plus: bool) -> None:
    (kind, _, parts), = _found(text)
    assert kind == "phone"
    assert parts["groups"] == groups
    assert ("plus" in parts) is plus


def test_two_years_are_not_a_phone_number() -> None:
    assert [k for k, _, _ in _found("2023 2024")] == []


@pytest.mark.parametrize(("text", "parts"), [
    ("07/04/2023", {"year": "2023", "month": "7", "day": "4", "order": "mdy"}),
    ("25/12/2023", {"year": "2023", "month": "12", "day": "25", "order": "dmy"}),
    ("2023-07-04", {"year": "2023", "month": "7", "day": "4", "order": "ymd"}),
    ("4.7.2023", {"year": "2023", "month": "7", "day": "4", "order": "dmy"}),
])
def test_date(text: str, parts: dict[str, str]) -> None:
    assert _found(text) == [("date", text, parts)]


def test_impossible_date_is_no_date() -> None:
    assert [k for k, _, _ in _found("13/13/2023")] == []


@pytest.mark.parametrize(("text", "matched", "parts"), [
    ("3:30 p.m.", "3:30 p.m.", {"hour": "3", "minute": "30", "period": "pm"}),
    ("10:00 AM EST", "10:00 AM EST",
     {"hour": "10", "minute": "00", "period": "am", "zone": "EST"}),
    ("at 9:30 tomorrow", "9:30", {"hour": "9", "minute": "30"}),
    ("12:30:20", "12:30:20", {"hour": "12", "minute": "30", "second": "20"}),
])
def test_time(text: str, matched: str, parts: dict[str, str]) -> None:
    assert _found(text) == [("time", matched, parts)]


@pytest.mark.parametrize("text", ["比分21:19", "以21:19获胜", "they won 21:19", "3:2险胜",
                                  "final 98:95", "score 3:1", "比分是21:19",
                                  "21:19，主队获胜"])
def test_score_needs_a_cue_or_an_impossible_clock(text: str) -> None:
    assert [k for k, _, _ in _found(text)] == ["score"]


def test_negative_unit_starts_at_the_sign() -> None:
    assert _found("气温-5°C") == [("unit", "-5°C", {"number": "5", "unit": "degC",
                                                  "negative": "1"})]
    assert [k for k, _, _ in _found("3-5kg")] == ["range"]


def test_version_is_no_model_number() -> None:
    assert "model" not in [k for k, _, _ in _found("v2.1版本")]


def test_clock_time_without_a_cue_stays_a_time() -> None:
    assert [k for k, _, _ in _found("下午21:19出发")] == ["time"]


@pytest.mark.parametrize(("text", "parts"), [
    ("¥199", {"number": "199", "currency": "CNY"}),
    ("$4.2B", {"number": "4.2", "currency": "USD", "scale": "B"}),
    ("US$1,000", {"number": "1000", "currency": "USD"}),
    ("€5", {"number": "5", "currency": "EUR"}),
    ("HK$88", {"number": "88", "currency": "HKD"}),
    ("100美元", {"number": "100", "currency": "USD"}),
])
def test_currency(text: str, parts: dict[str, str]) -> None:
    assert _found(text) == [("currency", text, parts)]


def test_full_width_yen_is_the_pause_mark_not_a_currency() -> None:
    assert _found("￥199") == []


@pytest.mark.parametrize(("text", "matched", "parts"), [
    ("50-80万", "50-80", {"low": "50", "high": "80"}),
    ("10~20公里", "10~20", {"low": "10", "high": "20"}),
    ("50%-80%", "50%-80%", {"low": "50", "high": "80", "unit": "percent"}),
    ("3-5kg", "3-5kg", {"low": "3", "high": "5", "unit": "kg"}),
])
def test_range(text: str, matched: str, parts: dict[str, str]) -> None:
    assert _found(text) == [("range", matched, parts)]


@pytest.mark.parametrize("text", ["3-2=1", "5-3", "x+y=10"])
def test_arithmetic_is_no_range(text: str) -> None:
    assert "range" not in [k for k, _, _ in _found(text)]


@pytest.mark.parametrize(("text", "number"), [("1990s", "1990"), ("80s的歌", "80"),
                                              ("the '90s", "90")])
def test_decade(text: str, number: str) -> None:
    assert [(k, p) for k, _, p in _found(text)] == [("decade", {"number": number})]


def test_numero() -> None:
    assert _found("排名No.1") == [("numero", "No.1", {"number": "1"})]


@pytest.mark.parametrize(("text", "matched", "number", "unit"), [
    ("5000mAh", "5000mAh", "5000", "mAh"),
    ("120W", "120W", "120", "W"),
    ("32GB内存", "32GB", "32", "GB"),
    ("100°F", "100°F", "100", "degF"),
    ("105 km/h", "105 km/h", "105", "km/h"),
    ("面积是5m²。", "5m²", "5", "m2"),
    ("2,000 kg", "2,000 kg", "2000", "kg"),
    ("50%", "50%", "50", "percent"),
])
def test_unit(text: str, matched: str, number: str, unit: str) -> None:
    assert _found(text) == [("unit", matched, {"number": number, "unit": unit})]


@pytest.mark.parametrize("text", ["5G网络", "4K屏幕", "5A级景区", "5 mangoes", "3 mean"])
def test_letters_that_are_rarely_units_are_not_units(text: str) -> None:
    assert "unit" not in [k for k, _, _ in _found(text)]


@pytest.mark.parametrize(("text", "matched", "pieces"), [
    ("TED2024", "TED2024", "TED 2024"),
    ("Q3 results", "Q3", "Q 3"),
    ("iPhone 15 Pro", "iPhone 15 Pro", "iPhone 15 Pro"),
    ("小米14 Pro", "14 Pro", "14 Pro"),
    ("RTX 4090 Ti显卡", "RTX 4090 Ti", "RTX 4090 Ti"),
    ("COVID-19", "COVID-19", "COVID 19"),
])
def test_model(text: str, matched: str, pieces: str) -> None:
    assert _found(text) == [("model", matched, {"pieces": pieces})]


def test_an_earlier_finder_wins_an_overlap() -> None:
    # The date's "-" would otherwise be a range, the e-mail's host a URL.
    assert [k for k, _, _ in _found("2023-07-04 和 a@b.com")] == ["date", "email"]


def test_spans_are_left_to_right_and_disjoint() -> None:
    text = "TED2024 costs $4.2B at 3:30 p.m. on 07/04/2023, see www.ted.com"
    spans = find_spans(text)
    assert [s.kind for s in spans] == ["model", "currency", "time", "date", "url"]
    assert all(a.end <= b.start for a, b in pairwise(spans))


@pytest.mark.parametrize("text", ["", "   ", "今天天气很好。", "plain words only"])
def test_text_without_spans(text: str) -> None:
    assert find_spans(text) == []


def test_rewrite_replaces_spans_and_keeps_the_rest() -> None:
    def read(span: Span, written: str) -> str | None:
        return None if span.kind == "unit" else f"<{span.kind}>"

    assert rewrite("a TED2024 b 5kg c", read) == "a <model> b 5kg c"


def test_unit_table_ids_are_unique_and_symbols_unambiguous() -> None:
    units = load_table("units")["units"]
    ids = [u["id"] for u in units]
    symbols = [s for u in units for s in u["symbols"]]
    assert len(ids) == len(set(ids))
    assert len(symbols) == len(set(symbols))


def test_readings_modes() -> None:
    assert set(READINGS) == {"improved", "upstream"}
    assert DEFAULT_READINGS == "improved"
    assert check_readings("upstream") == "upstream"


def test_unknown_readings_mode_names_the_field_and_choices() -> None:
    with pytest.raises(ConfigError) as caught:
        check_readings("better")
    assert "readings" in caught.value.message
    assert "improved" in caught.value.advice and "upstream" in caught.value.advice


def test_language_without_a_module_reads_as_identity() -> None:
    assert read_spans("TED2024", "xx") == "TED2024"
    assert rules_matched("TED2024", "xx") == ("model",)


@pytest.mark.parametrize("text", ["", "   "])
def test_blank_text_is_returned_as_is(text: str) -> None:
    assert read_spans(text, "zh") == text
