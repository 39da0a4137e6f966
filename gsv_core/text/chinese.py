"""Mandarin: normalisation and grapheme-to-phoneme to the v2 phone set.

Follows upstream's v2 Mandarin cleaner (``GPT_SoVITS/text/chinese2.py``) on its
dictionary path: jieba POS segmentation, pypinyin readings per word (its
phrase dictionary resolves most polyphones), tone sandhi, erhua, then each
syllable to an initial + tonal final through the opencpop-strict table. Every
character gives two phones and every punctuation mark one; ``word2ph`` counts
them per character of the normalised text. Latin letters are dropped, as
upstream does (mixed text sends English runs to the English cleaner instead).

With a loaded g2pW model (``polyphones.load_polyphone_backend``) readings follow
upstream's g2pW path instead: the model's reading of each character of the
sentence, overridden by upstream's word dictionary of known polyphone readings
(``data/zh_polyphonic_words.txt.gz``), then the same tone sandhi and erhua.
"""

from __future__ import annotations

import gzip
import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from gsv_core.text.polyphones import describe_polyphone_backend
from gsv_core.text.symbols import PUNCTUATION
from gsv_core.text.third_party import quiet_import
from gsv_core.text.tone_sandhi import apply_sandhi, merge_for_sandhi
from gsv_core.text.zh_normalize import collapse_punctuation, normalize_sentences

if TYPE_CHECKING:
    from gsv_core.text.g2pw import G2pw
    from gsv_core.workspace import Workspace

__all__ = ["chinese_polyphone_backend", "g2p", "text_normalize"]

_PUNCTUATION_MAP = {
    "：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",",
    "、": ",", "...": "…", "$": ".", "/": ",", "—": "-", "~": "…", "～": "…",
}  # fmt: skip
_PUNCTUATION_PATTERN = re.compile("|".join(re.escape(p) for p in _PUNCTUATION_MAP))
_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5" + "".join(PUNCTUATION) + r"]+")
_AFTER_PUNCTUATION = re.compile(r"(?<=[" + "".join(PUNCTUATION) + r"])\s*")
_LATIN = re.compile("[a-zA-Z]+")

# Words whose final 儿 is read as a syllable of its own, or always as erhua.
_MUST_ERHUA = frozenset(
    ("小院儿", "胡同儿", "范儿", "老汉儿", "撒欢儿", "寻老礼儿", "妥妥儿", "媳妇儿")
)
_NOT_ERHUA = frozenset((
    "虐儿", "为儿", "护儿", "瞒儿", "救儿", "替儿", "有儿", "一儿", "我儿",
    "俺儿", "妻儿", "拐儿", "聋儿", "乞儿", "患儿", "幼儿", "孤儿", "婴儿",
    "婴幼儿", "连体儿", "脑瘫儿", "流浪儿", "体弱儿", "混血儿", "蜜雪儿", "舫儿", "祖儿",
    "美儿", "应采儿", "可儿", "侄儿", "孙儿", "侄孙儿", "女儿", "男儿", "红孩儿",
    "花儿", "虫儿", "马儿", "鸟儿", "猪儿", "猫儿", "狗儿", "少儿",
))  # fmt: skip
# Syllables without an initial are spelled with y/w before the table lookup.
_FINAL_RESPELLING = {"uei": "ui", "iou": "iu", "uen": "un"}
_ZERO_INITIAL_RESPELLING = {"ing": "ying", "i": "yi", "in": "yin", "u": "wu"}
_ZERO_INITIAL_FIRST = {"v": "yu", "e": "e", "i": "y", "u": "w"}


def chinese_polyphone_backend(workspace: Workspace | None = None, *,
                              g2pw_dir: Path | None = None, bert_dir: Path | None = None) -> str:
    """Which polyphone reader the Chinese g2p uses for this workspace, and why.

    ``"g2pW (<folder>)"`` when the workspace (or ``g2pw_dir``) has a complete
    G2PWModel folder and onnxruntime and opencc are installed, else
    ``"pypinyin (<why not>)"``. With no arguments there is no folder to look at and
    the answer is plain ``"pypinyin"``: :func:`g2p` reads with pypinyin unless it
    is handed a loaded model. Nothing is loaded here (see
    ``polyphones.load_polyphone_backend``).

    Raises:
        ModelMissing: the G2PWModel folder exists but lacks a required file.
    """
    if workspace is None and g2pw_dir is None:
        return "pypinyin"
    return describe_polyphone_backend(workspace, g2pw_dir=g2pw_dir, bert_dir=bert_dir)


def _replace_punctuation(text: str) -> str:
    text = text.replace("嗯", "恩").replace("呣", "母")
    text = _PUNCTUATION_PATTERN.sub(lambda m: _PUNCTUATION_MAP[m.group()], text)
    return _NOT_KEPT.sub("", text)


def text_normalize(text: str) -> str:
    """Normalise Mandarin text to Hanzi and the six punctuation phones."""
    text = "".join(_replace_punctuation(s) for s in normalize_sentences(text))
    return collapse_punctuation(text, "".join(PUNCTUATION))


@lru_cache(maxsize=1)
def _pinyin_to_phones() -> dict[str, tuple[str, str]]:
    table = resources.files("gsv_core.text").joinpath("data/opencpop-strict.txt")
    rows = (line.split("\t") for line in table.read_text("utf-8").splitlines() if line)
    return {pinyin: tuple(phones.split(" ")) for pinyin, phones in rows}  # type: ignore[misc]


@lru_cache(maxsize=1)
def _posseg() -> ModuleType:
    jieba = quiet_import("jieba")
    posseg = quiet_import("jieba.posseg")
    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return posseg


def _initials_finals(word: str) -> tuple[list[str], list[str]]:
    """pypinyin's initials and toned finals of a word (new lists: the caller edits them)."""
    initials, finals = _word_initials_finals(word)
    return list(initials), list(finals)


@lru_cache(maxsize=1 << 16)
def _word_initials_finals(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    # A word's readings never change (no custom pypinyin dictionary), and words repeat.
    pypinyin = quiet_import("pypinyin")
    lazy_pinyin, Style = pypinyin.lazy_pinyin, pypinyin.Style
    initials = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.INITIALS)
    finals = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3)
    return tuple(initials), tuple(finals)


def _erhua(initials: list[str], finals: list[str], word: str, pos: str) -> tuple[list, list]:
    if finals and word[len(finals) - 1 : len(finals)] == "儿" and finals[-1] == "er1":
        finals[-1] = "er2"
    if word not in _MUST_ERHUA and (word in _NOT_ERHUA or pos in {"a", "j", "nr"}):
        return initials, finals
    if len(finals) != len(word):  # e.g. "……"
        return initials, finals
    new_finals: list[str] = []
    for i, final in enumerate(finals):
        if (
            i == len(finals) - 1 and word[i] == "儿" and final in {"er2", "er5"}
            and word[-2:] not in _NOT_ERHUA and new_finals
        ):
            final = "er" + new_finals[-1][-1]
        new_finals.append(final)
    return initials, new_finals


def _syllable_phones(initial: str, final: str) -> list[str]:
    if initial == final:  # punctuation passes through pypinyin unchanged
        return [initial]
    bare, tone = final[:-1], final[-1]
    if initial:
        pinyin = initial + _FINAL_RESPELLING.get(bare, bare)
    elif bare in _ZERO_INITIAL_RESPELLING:
        pinyin = _ZERO_INITIAL_RESPELLING[bare]
    elif bare[:1] in _ZERO_INITIAL_FIRST:
        pinyin = _ZERO_INITIAL_FIRST[bare[0]] + bare[1:]
    else:
        pinyin = bare
    consonant, vowel = _pinyin_to_phones()[pinyin]
    return [consonant, vowel + tone]


@lru_cache(maxsize=1)
def _word_readings() -> dict[str, list[str]]:
    table = resources.files("gsv_core.text").joinpath("data/zh_polyphonic_words.txt.gz")
    text = gzip.decompress(table.read_bytes()).decode("utf-8")
    rows = (line.split("\t") for line in text.splitlines() if line)
    return {word: readings.split(" ") for word, readings in rows}


def _dictionary_corrected(word: str, readings: list[str]) -> list[str]:
    """Upstream's ``correct_pronunciation``: a listed word's readings win over g2pW's,
    else each listed single character's first reading does."""
    table = _word_readings()
    if word in table:
        return list(table[word])
    return [table[char][0] if char in table else reading
            for char, reading in zip(word, readings, strict=True)]


def _g2pw_initials_finals(readings: list[str]) -> tuple[list[str], list[str]]:
    pypinyin_tones = quiet_import("pypinyin.contrib.tone_convert")
    initials: list[str] = []
    finals: list[str] = []
    for reading in readings:
        if reading[:1].isalpha():
            initials.append(pypinyin_tones.to_initials(reading))
            finals.append(pypinyin_tones.to_finals_tone3(reading, neutral_tone_with_five=True))
        else:  # a punctuation mark reads as itself
            initials.append(reading)
            finals.append(reading)
    return initials, finals


def _sentence_syllables(sentence: str, g2pw: G2pw | None) -> tuple[list[str], list[str]]:
    words = [(w.word, w.flag) for w in _posseg().lcut(sentence)]
    readings = g2pw.readings(sentence) if g2pw is not None and sentence else []
    initials: list[str] = []
    finals: list[str] = []
    end = 0  # readings are per character of the sentence; words cover it in order
    for word, pos in merge_for_sandhi(words):
        start, end = end, end + len(word)
        if pos == "eng":
            continue
        if g2pw is None:
            word_initials, word_finals = _initials_finals(word)
        else:
            word_readings = _dictionary_corrected(word, readings[start:end])
            word_initials, word_finals = _g2pw_initials_finals(word_readings)
        word_finals = apply_sandhi(word, pos, word_finals)
        word_initials, word_finals = _erhua(word_initials, word_finals, word, pos)
        initials += word_initials
        finals += word_finals
    return initials, finals


def g2p(norm_text: str, g2pw: G2pw | None = None) -> tuple[list[str], list[int]]:
    """Phones and per-character phone counts (``word2ph``) of normalised text.

    Args:
        norm_text: output of :func:`text_normalize`.
        g2pw: a loaded g2pW model to read polyphones with; None reads with pypinyin.
    """
    phones: list[str] = []
    word2ph: list[int] = []
    sentences = [s for s in _AFTER_PUNCTUATION.split(norm_text) if s.strip()]
    for sentence in sentences:
        initials, finals = _sentence_syllables(_LATIN.sub("", sentence), g2pw)
        for initial, final in zip(initials, finals, strict=True):
            syllable = _syllable_phones(initial, final)
            phones += syllable
            word2ph.append(len(syllable))
    return phones, word2ph
