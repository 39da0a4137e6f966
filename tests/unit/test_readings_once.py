"""Improved readings read each span once: ``split_segments`` reads the whole text before the
cut, and the cleaner is told so (``spans_read`` / ``read_in``) instead of reading every
segment again. Reading read text again changes nothing, so the phones must not change; in an
auto mode each stretch of the whole text is read in its own language before the cut, so no
segment is read again either. Upstream readings read nothing, with or without the flag.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsv_core.errors import TextError
from gsv_core.infer.segments import (
    clean_segments,
    segment_features,
    split_reading_language,
    split_segments,
)
from gsv_core.text import bert_align
from gsv_core.text.bert_align import clean_runs, phones_and_features
from gsv_core.text.readings import mixed
from tests.fixture_paths import text_fixture

CORPUS = Path(__file__).resolve().parent.parent / "data" / "readings_corpus.jsonl"
AUTO = {"zh": "auto", "en": "auto", "ja": "auto", "ko": "auto", "yue": "auto_yue"}


def _rows() -> list[tuple[str, str]]:
    """(text, mode) of every readings-corpus and golden row, in its language and in auto."""
    rows = []
    for path in (CORPUS, text_fixture("golden.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows += [(row["text"], row["lang"]), (row["text"], AUTO[row["lang"]])]
    return rows


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(text, language) of each read the cleaner's side makes (``read_spans`` as
    ``bert_align`` calls it, and as ``readings.mixed`` calls it for the auto modes)."""
    calls: list[tuple[str, str]] = []
    real = bert_align.read_spans

    def spy(text: str, language: str) -> str:
        calls.append((text, language))
        return real(text, language)

    monkeypatch.setattr(bert_align, "read_spans", spy)
    monkeypatch.setattr(mixed, "read_spans", spy)
    return calls


def test_reading_once_gives_the_phones_of_reading_twice() -> None:
    checked = changed_by_reading = 0
    for text, mode in _rows():
        segments = split_segments(text, mode, "cut5", readings="improved")
        read_in = split_reading_language(text, mode, "improved")
        once = clean_segments(segments, mode, readings="improved", read_in=read_in)
        for segment, cleaned in zip(segments, once, strict=True):
            twice = phones_and_features(segment, mode, readings="improved")
            assert (cleaned.norm_text, cleaned.phone_ids) == (twice.norm_text,
                                                              twice.phone_ids), (mode, segment)
            checked += 1
        upstream = split_segments(text, mode, "cut5")
        changed_by_reading += upstream != segments
    assert checked > 600
    assert changed_by_reading > 100  # the corpus has spans to read: the check means something


def test_segments_are_not_read_again_in_a_single_language_mode(reads) -> None:
    text = "电池5000mAh，充电120W。请访问https://www.example.com了解详情。"
    segments = split_segments(text, "zh", "cut5", readings="improved")
    assert len(segments) > 1
    read_in = split_reading_language(text, "zh", "improved")
    reads.clear()
    once = segment_features(segments, "zh", None, readings="improved", read_in=read_in)
    assert reads == []
    twice = segment_features(segments, "zh", None, readings="improved")
    assert [text for text, _ in reads] == segments  # without read_in: every segment again
    assert [(s.norm_text, s.phone_ids.tolist()) for s in once] == [
        (s.norm_text, s.phone_ids.tolist()) for s in twice]


def test_auto_mode_reads_each_stretch_in_its_language_once(reads) -> None:
    text = "我们明天下午3:30在公司门口见面，大家都要来。\nMeet me at the station at 3:30 p.m."
    read_in = split_reading_language(text, "auto", "improved")
    assert read_in == "auto"  # not one language: each stretch in its own
    segments = split_segments(text, "auto", "cut5", readings="improved")
    assert {language for _, language in reads} == {"zh", "en"}
    assert len(reads) == 2  # the whole text, one read per language stretch
    reads.clear()
    cleaned = clean_segments(segments, "auto", readings="improved", read_in=read_in)
    assert reads == []
    # the Mandarin time keeps upstream's Mandarin reading, the English one reads in English
    norm = "".join(segment.norm_text for segment in cleaned)
    assert "下午三点半" in norm and "three thirty P M" in norm
    assert "three thirty" not in norm.split("Meet")[0]


def test_spans_read_keeps_the_all_zh_routing_of_latin_to_english(reads) -> None:
    text = "用ＧＰＵ跑模型，还要装CUDA。"
    read = clean_runs(text, "all_zh", readings="improved")
    reads.clear()
    skipped = clean_runs(text, "all_zh", readings="improved", spans_read=True)
    assert reads == []
    assert [language for _, language in skipped] == [language for _, language in read]
    assert "en" in [language for _, language in skipped]
    # upstream's all_zh: full-width Latin stays Mandarin
    upstream_languages = [language for _, language in clean_runs("用ＧＰＵ跑", "all_zh")]
    assert upstream_languages == ["zh"]


def test_upstream_readings_ignore_the_flag(reads) -> None:
    rows = [json.loads(line) for line in
            text_fixture("golden.jsonl").read_text(encoding="utf-8").splitlines()]
    for row in rows:
        plain = phones_and_features(row["text"], row["lang"])
        flagged = phones_and_features(row["text"], row["lang"], readings="upstream",
                                      spans_read=True)
        assert (flagged.phones, flagged.norm_text) == (plain.phones, plain.norm_text)
    assert reads == []


def test_an_unknown_mode_is_still_an_error_when_spans_were_read() -> None:
    with pytest.raises(TextError, match="klingon"):
        clean_runs("你好", "klingon", readings="improved", spans_read=True)
