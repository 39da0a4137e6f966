"""Improved readings read each span once: ``split_segments`` reads the whole text before the
cut, and the cleaner is told so (``spans_read`` / ``read_in``) instead of reading every
segment again. Reading is idempotent in one language, so the phones must not change; in an
auto mode a segment mostly in another language than the whole text is still read again, in
its own language. Upstream readings read nothing, with or without the flag.
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
from gsv_core.text.bert_align import clean_runs, phones_and_features, reading_language
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
    """(text, language) of each read the cleaner's side makes (``bert_align.read_spans``)."""
    calls: list[tuple[str, str]] = []
    real = bert_align.read_spans

    def spy(text: str, language: str) -> str:
        calls.append((text, language))
        return real(text, language)

    monkeypatch.setattr(bert_align, "read_spans", spy)
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


def test_auto_mode_reads_a_segment_of_another_language_again(reads) -> None:
    text = "我们明天早上在公司门口见面，大家都要来。\nMeet me at the station at 10 a.m."
    read_in = split_reading_language(text, "auto", "improved")
    assert read_in == "zh"
    segments = split_segments(text, "auto", "cut5", readings="improved")
    languages = [reading_language(segment, "auto") for segment in segments]
    assert "en" in languages and "zh" in languages
    reads.clear()
    clean_segments(segments, "auto", readings="improved", read_in=read_in)
    assert [text for text, _ in reads] == [
        s for s, language in zip(segments, languages, strict=True) if language != "zh"]
    assert {language for _, language in reads} == {"en"}


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
