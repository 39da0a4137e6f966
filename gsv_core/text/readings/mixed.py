"""Improved readings in an auto language mode: each stretch of the text read in its own language.

In ``auto``/``auto_yue`` one sentence may mix languages ("Meet me at 下午3:30 on
2023年7月4日."). Reading all of it with the rules of its dominant language reads the
Chinese time with English rules, or an English "3:30 p.m." with Mandarin ones.
``read_mixed`` cuts the text into reading runs and reads each with ``read_spans`` in its
own language.

Reading runs follow the letters' scripts (``language_split.char_languages``: Latin → en,
kana → ja, Hangul → ko, Han → zh, or ja in a clause with kana; yue for zh in ``auto_yue``).
Digits, marks and spaces vote for no language; the split puts them with the run before,
but a reading must put them with the words they belong to:

- a span of ``shared.find_spans`` (a time, a unit, a model number…) is never cut. It is
  read in the language of a Han, kana or Hangul character inside it ("100元") or glued
  to it, without a space ("下午3:30", "iPhone15很好", "3:30 p.m.からです": a Mandarin or
  Japanese speaker says the digits in their language), else in English when it holds
  Latin letters ("at 3:30 p.m. 在公司"), else it is placed as the plain characters below;
- other characters between runs of two languages: the ones glued to the word before go
  with it, the ones glued to the word after with that ("on 2023年7月4日": the year is
  Mandarin); digits glued to both words (no space: "5G网络") go with the Han, kana or
  Hangul side, marks ("AirPods，很好") and spaces, and what lies between spaces, with the
  run before, as in the split;
- an English stretch inside text mostly in another language is read with that language's
  rules unless it is English speech with a number in it (two words of its own besides its
  spans: "see you at 3:30 p.m."). Those rules keep Latin words as written for the English
  g2p: inside Chinese text "OK" is spelled O K, not the English reading's "okay", and the
  digits of a name or model set apart by spaces ("我买了 iPhone 15 Pro") are said in
  Mandarin, as glued ones are.

Single-language modes keep reading the whole text in the mode's language
(``bert_align.reading_language``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gsv_core.text.language_split import LanguageRun, char_languages
from gsv_core.text.readings import read_spans
from gsv_core.text.readings.shared import Span, find_spans

__all__ = ["AUTO_MODES", "ReadingRun", "read_mixed", "reading_runs", "split_read_text"]

AUTO_MODES: tuple[str, ...] = ("auto", "auto_yue")
_ENGLISH = "en"
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class ReadingRun:
    """A stretch of text and the language its spans are read in."""

    text: str
    language: str


def _is_cjk(language: str | None) -> bool:
    return language is not None and language != _ENGLISH


def _span_language(languages: list[str | None], start: int, end: int) -> str | None:
    inside = languages[start:end]
    for language in inside:
        if _is_cjk(language):
            return language
    for glued in (start - 1, end):
        if 0 <= glued < len(languages) and _is_cjk(languages[glued]):
            return languages[glued]
    return _ENGLISH if _ENGLISH in inside else None


def _place_neutral(text: str, left: str | None, right: str | None) -> list[str | None]:
    """The languages of one stretch of neutral characters between ``left`` and ``right``."""
    if left is None or right is None or left == right:
        return [left or right] * len(text)
    spaces = [i for i, char in enumerate(text) if char.isspace()]
    if not spaces:  # glued to both words: digits are the CJK word's, marks the one before
        digits_side = right if left == _ENGLISH else left
        return [digits_side if any(c.isdigit() for c in text) else left] * len(text)
    last = spaces[-1]
    return [right if i > last else left for i in range(len(text))]


def _without_clause_marks(text: str, spans: list[Span]) -> str:
    """``text`` with the marks inside spans made neutral: the ":" of "朝7:00に" does not end
    a clause, so 朝 is still Japanese (kana in its clause)."""
    chars = list(text)
    for span in spans:
        for i in range(span.start, span.end):
            if not chars[i].isalnum():
                chars[i] = "_"
    return "".join(chars)


def _languages(text: str, mode: str, fallback: str, *, keep_spans: bool) -> list[str]:
    """The language of every character of ``text`` (see the module docstring); with
    ``keep_spans`` a span of ``find_spans`` is given one language, as a whole."""
    languages = char_languages(text)
    voted = set(languages) - {None}
    if len(voted) <= 1:  # one language (most text): no stretch to place, no span to look at
        languages = [voted.pop() if voted else fallback] * len(text)
    elif keep_spans:
        spans = find_spans(text)
        languages = char_languages(_without_clause_marks(text, spans))
        for span in spans:
            language = _span_language(languages, span.start, span.end)
            if language is not None:
                languages[span.start:span.end] = [language] * (span.end - span.start)
    placed: list[str] = []
    position = 0
    while position < len(text):
        end = position
        while end < len(text) and languages[end] is None:
            end += 1
        if end > position:  # a stretch of neutral characters
            right = languages[end] if end < len(text) else None
            placed += [language or fallback for language in _place_neutral(
                text[position:end], placed[-1] if placed else None, right)]
            position = end
        else:
            placed.append(languages[position] or fallback)
            position += 1
    if mode == "auto_yue":
        return ["yue" if language == "zh" else language for language in placed]
    return placed


def _grouped(text: str, languages: list[str]) -> list[ReadingRun]:
    runs, start = [], 0
    for position in range(1, len(text) + 1):
        if position == len(text) or languages[position] != languages[start]:
            runs.append(ReadingRun(text[start:position], languages[start]))
            start = position
    return runs


def reading_runs(text: str, mode: str, dominant: str) -> list[ReadingRun]:
    """``text`` cut into the runs ``read_mixed`` reads (see the module docstring).

    ``mode``: ``auto`` or ``auto_yue`` (Han text is yue in the latter). ``dominant``: the
    language of most of the text (``bert_align.reading_language``); it reads English words
    without digits inside text mostly in another language, and text with no letters.
    """
    runs = _grouped(text, _languages(text, mode, dominant, keep_spans=True))
    if dominant == _ENGLISH:
        return runs
    languages = [dominant if run.language == _ENGLISH and not _is_english_speech(run.text)
                 else run.language for run in runs for _ in run.text]
    return _grouped(text, languages)


def _is_english_speech(text: str) -> bool:
    """An English run inside mostly-CJK text that is said in English: one with digits (else
    there is nothing to read) and two words of its own besides its spans ("see you at 3:30
    p.m."), not a name or model number alone ("iPhone 15 Pro", "MacBook Pro 2023": a
    Mandarin speaker says 十五, 二零二三)."""
    if not _DIGIT.search(text):
        return False
    spans = find_spans(text)
    outside = "".join(char for i, char in enumerate(text)
                      if not any(span.start <= i < span.end for span in spans))
    return len(_WORD.findall(outside)) >= 2


def read_mixed(text: str, mode: str, dominant: str) -> str:
    """``text`` with each reading run's spans read in the run's language (``read_spans``)."""
    return "".join(read_spans(run.text, run.language)
                   for run in reading_runs(text, mode, dominant))


def split_read_text(text: str, mode: str, dominant: str) -> list[LanguageRun]:
    """Text that ``read_mixed`` read, split into runs for the cleaners.

    As ``language_split.split_by_language`` in ``mode``, but digits, marks and spaces go
    where ``read_mixed`` put them: "on 2023年7月4日" keeps the year with 年 for the
    Mandarin cleaner (the split would hand "2023" to the English one, after "on"). Letters
    stay with their own script (Latin to the English g2p), spans are not kept whole: what
    a reading left as written is read by the cleaner of its own script.
    """
    text = re.sub(r" {2,}", " ", text)  # as split_by_language
    return [LanguageRun(run.text, run.language) for run in
            _grouped(text, _languages(text, mode, dominant, keep_spans=False))]
