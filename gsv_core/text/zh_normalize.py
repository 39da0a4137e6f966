"""Chinese text normalisation: characters, symbols and numbers to readable Hanzi.

Shared by Mandarin (``chinese``) and Cantonese (``cantonese``), which then map
punctuation their own way. Mirrors upstream's ``TextNormalizer``
(``GPT_SoVITS/text/zh_normalization/text_normlization.py``): split into
sentences at sentence punctuation, convert traditional characters and
full-width letters/digits, verbalise numbers (``zh_numbers.RULES``), spell a few
symbols and Greek letters, and drop brackets and quotes.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from importlib import resources

from gsv_core.text.zh_numbers import RULES

__all__ = ["collapse_punctuation", "normalize_sentences", "traditional_to_simplified"]

_SENTENCE_END = re.compile(r"([：、，；。？！,;?!][”’]?)")
_DROPPED_BEFORE = re.compile(r"[——《》【】<>{}()（）#&@“”^_|\\]")
# Upstream drops one more character ("-") after the symbol spelling below.
_DROPPED_AFTER = re.compile(r"[-——《》【】<=>{}()（）#&@“”^_|\\]")
# Full-width letters and digits to ASCII. (Upstream also lists the ideographic
# space, but keyed by a str, which str.translate never matches: it stays.)
_FULL_TO_HALF = {ord(c) + 65248: ord(c) for c in string.ascii_letters + string.digits}
_SPELLED_SYMBOLS = (
    ("/", "每"), ("①", "一"), ("②", "二"), ("③", "三"), ("④", "四"), ("⑤", "五"),
    ("⑥", "六"), ("⑦", "七"), ("⑧", "八"), ("⑨", "九"), ("⑩", "十"),
    ("α", "阿尔法"), ("β", "贝塔"), ("γ", "伽玛"), ("Γ", "伽玛"), ("δ", "德尔塔"),
    ("Δ", "德尔塔"), ("ε", "艾普西龙"), ("ζ", "捷塔"), ("η", "依塔"), ("θ", "西塔"),
    ("Θ", "西塔"), ("ι", "艾欧塔"), ("κ", "喀帕"), ("λ", "拉姆达"), ("Λ", "拉姆达"),
    ("μ", "缪"), ("ν", "拗"), ("ξ", "克西"), ("Ξ", "克西"), ("ο", "欧米克伦"), ("π", "派"),
    ("Π", "派"), ("ρ", "肉"), ("ς", "西格玛"), ("Σ", "西格玛"), ("σ", "西格玛"), ("τ", "套"),
    ("υ", "宇普西龙"), ("φ", "服艾"), ("Φ", "服艾"), ("χ", "器"), ("ψ", "普赛"), ("Ψ", "普赛"),
    ("ω", "欧米伽"), ("Ω", "欧米伽"),
    ("+", "加"), ("-", "减"), ("×", "乘"), ("÷", "除"), ("=", "等"),
)  # fmt: skip


@lru_cache(maxsize=1)
def _t2s_table() -> dict[int, str]:
    text = resources.files("gsv_core.text").joinpath("data/zh_t2s.txt").read_text("utf-8")
    pairs = (line.split("\t") for line in text.splitlines() if line)
    return {ord(traditional): simplified for traditional, simplified in pairs}


def traditional_to_simplified(text: str) -> str:
    """Map traditional characters to simplified with upstream's character table."""
    return text.translate(_t2s_table())


def _split_sentences(text: str) -> list[str]:
    text = _DROPPED_BEFORE.sub("", text.replace(" ", ""))
    text = _SENTENCE_END.sub("\\1\n", text).strip()
    return [sentence.strip() for sentence in re.split(r"\n+", text)]


def _normalize_sentence(sentence: str) -> str:
    sentence = traditional_to_simplified(sentence).translate(_FULL_TO_HALF)
    for rule in RULES:
        sentence = rule(sentence)
    for symbol, word in _SPELLED_SYMBOLS:
        sentence = sentence.replace(symbol, word)
    return _DROPPED_AFTER.sub("", sentence)


def normalize_sentences(text: str) -> list[str]:
    """Split ``text`` at sentence punctuation and normalise each piece."""
    return [_normalize_sentence(sentence) for sentence in _split_sentences(text)]


def collapse_punctuation(text: str, marks: str) -> str:
    """Keep only the first of consecutive punctuation marks ("!?." → "!").

    Repeated marks would otherwise leak the reference's pauses; upstream does
    this for zh, ja and en.
    """
    escaped = "".join(re.escape(mark) for mark in marks)
    return re.sub(f"([{escaped}])([{escaped}])+", r"\1", text)
