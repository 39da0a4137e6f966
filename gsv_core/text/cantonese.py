"""Cantonese: Jyutping readings to ``Y``-prefixed initial and final phones.

As upstream's v2 cleaner (``GPT_SoVITS/text/cantonese.py``): the Chinese
normaliser (which also simplifies traditional characters), Cantonese
punctuation mapping, ToJyutping readings per character, then each syllable
split into initial + final-with-tone, both prefixed with ``Y`` so they never
collide with Mandarin phones. Two phones per character, one per punctuation
mark, counted in ``word2ph``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import ModuleType

from gsv_core.errors import TextError
from gsv_core.text.symbols import PUNCTUATION
from gsv_core.text.third_party import quiet_import
from gsv_core.text.zh_normalize import normalize_sentences

__all__ = ["g2p", "text_normalize"]

_PUNCTUATION_MAP = {
    "：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",",
    "、": ",", "...": "…", "$": ".", "“": "'", "”": "'", '"': "'", "‘": "'", "’": "'",
    "（": "'", "）": "'", "(": "'", ")": "'", "《": "'", "》": "'", "【": "'", "】": "'",
    "[": "'", "]": "'", "—": "-", "～": "-", "~": "-", "「": "'", "」": "'",
}  # fmt: skip
_PUNCTUATION_PATTERN = re.compile("|".join(re.escape(p) for p in _PUNCTUATION_MAP))
_NOT_KEPT = re.compile(r"[^\u4e00-\u9fa5" + "".join(PUNCTUATION) + r"]+")
_ALL_PUNCTUATION = re.compile(r"^[{}]+$".format(re.escape("".join(PUNCTUATION))))
_JYUTPING = re.compile(r"^([a-z]+[1-6]+[ ]?)+$")
# Tried in this order: the first prefix a syllable starts with is its initial.
_INITIALS = (
    "aa", "aai", "aak", "aap", "aat", "aau", "ai", "au", "ap", "at", "ak", "a", "p", "b", "e",
    "ts", "t", "dz", "d", "kw", "k", "gw", "g", "f", "h", "l", "m", "ng", "n", "s", "y", "w",
    "c", "z", "j", "ong", "on", "ou", "oi", "ok", "o", "uk", "ung", "sp", "spl", "spn", "sil",
)  # fmt: skip


def _replace_punctuation(text: str) -> str:
    text = _PUNCTUATION_PATTERN.sub(lambda m: _PUNCTUATION_MAP[m.group()], text)
    return _NOT_KEPT.sub("", text)


def text_normalize(text: str) -> str:
    """Normalise Cantonese text to simplified Hanzi and the punctuation phones."""
    return "".join(_replace_punctuation(s) for s in normalize_sentences(text))


@lru_cache(maxsize=1)
def _tojyutping() -> ModuleType:
    return quiet_import("ToJyutping")


def _syllables(text: str) -> list[str]:
    syllables: list[str] = []
    for character, reading in _tojyutping().get_jyutping_list(text):
        if _ALL_PUNCTUATION.match(character):
            syllables += list(character)  # one syllable per mark
        elif reading and _JYUTPING.search(reading):
            syllables.append(reading)
        else:
            raise TextError(
                f"No Cantonese reading for {character!r}.",
                "Replace or remove this character, or choose another language.",
            )
    return syllables


def _syllable_phones(syllable: str) -> list[str]:
    if syllable in PUNCTUATION:
        return [syllable]
    if syllable == "_":
        return ["Y_"]
    tone = syllable[-1] if syllable[-1].isdigit() else ""
    bare = syllable[:-1] if tone else syllable
    initial = next((i for i in _INITIALS if bare.startswith(i)), None)
    if initial is None:
        return []
    final = bare[len(initial) :] or initial[-1]
    return ["Y" + initial, "Y" + final + (tone if tone != "0" else "")]


def g2p(norm_text: str) -> tuple[list[str], list[int]]:
    """Phones and per-character phone counts (``word2ph``) of normalised text."""
    phones: list[str] = []
    word2ph: list[int] = []
    for syllable in _syllables(norm_text):
        syllable_phones = _syllable_phones(syllable)
        if syllable_phones:
            phones += syllable_phones
            word2ph.append(len(syllable_phones))
    return phones, word2ph
