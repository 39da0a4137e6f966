"""Korean: g2pk2 pronunciation rules, then one jamo phone per letter.

As upstream's v2 cleaner (``GPT_SoVITS/text/korean.py``): Latin letters are
spelled in Hangul, g2pk2 applies the standard pronunciation rules (idioms,
MeCab part-of-speech annotations, numerals, special and regular rules,
linking), the result is split into compatibility jamo with compound vowels
divided, and each jamo is a phone (``空`` for a space, ``停`` for anything the
v2 table lacks).

g2pk2's ``G2p`` class runs ``pip install`` when it cannot find MeCab and calls
``nltk.download`` at import, so it is never used: its rule modules are loaded
under a package entry that skips its ``__init__``, and this module runs the
same steps with MeCab from ``python-mecab-ko`` (with its dictionary package).
English words, which g2pk2 would look up in nltk's CMU data, cannot reach it
here: Latin letters are spelled out before.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from gsv_core.errors import TextError
from gsv_core.text.symbols import symbol_to_id
from gsv_core.text.third_party import quiet_import

__all__ = ["g2p", "text_normalize"]

_LATIN_NAMES = {
    "a": "에이", "b": "비", "c": "시", "d": "디", "e": "이", "f": "에프", "g": "지", "h": "에이치",
    "i": "아이", "j": "제이", "k": "케이", "l": "엘", "m": "엠", "n": "엔", "o": "오", "p": "피",
    "q": "큐", "r": "아르", "s": "에스", "t": "티", "u": "유", "v": "브이", "w": "더블유",
    "x": "엑스", "y": "와이", "z": "제트",
}  # fmt: skip
# Compound vowels split into their parts (the v2 table has only simple vowels).
_DIVIDED_VOWELS = (
    ("ㅘ", "ㅗㅏ"), ("ㅙ", "ㅗㅐ"), ("ㅚ", "ㅗㅣ"), ("ㅝ", "ㅜㅓ"), ("ㅞ", "ㅜㅔ"), ("ㅟ", "ㅜㅣ"),
    ("ㅢ", "ㅡㅣ"), ("ㅑ", "ㅣㅏ"), ("ㅒ", "ㅣㅐ"), ("ㅕ", "ㅣㅓ"), ("ㅖ", "ㅣㅔ"), ("ㅛ", "ㅣㅗ"),
    ("ㅠ", "ㅣㅜ"),
)  # fmt: skip
_PUNCTUATION_MAP = {
    "：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",",
    "、": ",", "...": "…", " ": "空",
}  # fmt: skip
_SPECIAL_RULES = (
    "jyeo", "ye", "consonant_ui", "josa_ui", "vowel_ui", "jamo", "rieulgiyeok", "rieulbieub",
    "verb_nieun", "balb", "palatalize", "modifying_rieul",
)  # fmt: skip
_LINK_RULES = ("link1", "link2", "link3", "link4")


def text_normalize(text: str) -> str:
    """Korean text is passed on unchanged (g2pk2 does the normalisation)."""
    return text


def _g2pk2_module(name: str) -> types.ModuleType:
    """Import ``g2pk2.<name>`` without running ``g2pk2/__init__`` (nltk download, pip)."""
    if "g2pk2" not in sys.modules:
        spec = importlib.util.find_spec("g2pk2")
        if spec is None or not spec.submodule_search_locations:
            raise TextError(
                "Korean needs the g2pk2 package, which is not installed.",
                "Reinstall GSV Studio's dependencies: pip install -e .",
            )
        package = types.ModuleType("g2pk2")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["g2pk2"] = package
    return quiet_import(f"g2pk2.{name}")


class _Pipeline:
    """g2pk2's conversion steps, assembled once (upstream's ``G2p.__call__``)."""

    def __init__(self) -> None:
        utils = _g2pk2_module("utils")
        special = _g2pk2_module("special")
        regular = _g2pk2_module("regular")
        self._annotate = utils.annotate
        self._compose = utils.compose
        self._convert_num = _g2pk2_module("numerals").convert_num
        # ~400 table rules + ~120 idioms: more than re's pattern cache holds, so
        # compile them once instead of letting re.sub recompile on every call.
        self._table = [(re.compile(p), r) for p, r, _ in utils.parse_table()]
        self._special: list[Callable[..., str]] = [getattr(special, n) for n in _SPECIAL_RULES]
        self._links: list[Callable[..., str]] = [getattr(regular, n) for n in _LINK_RULES]
        self._idioms = _idioms(Path(utils.__file__).with_name("idioms.txt"))
        self._mecab = _mecab()
        self._h2j = quiet_import("jamo").h2j

    def __call__(self, text: str) -> str:
        for pattern, replacement in self._idioms:
            text = pattern.sub(replacement, text)
        text = self._annotate(text, self._mecab)
        text = self._convert_num(text)
        letters = self._h2j(text)
        for rule in self._special:
            letters = rule(letters, False, False)
        letters = re.sub("/[PJEB]", "", letters)
        for pattern, replacement in self._table:
            letters = pattern.sub(replacement, letters)
        for rule in self._links:
            letters = rule(letters, False, False)
        return self._compose(letters)


def _idioms(path: Path) -> list[tuple[re.Pattern[str], str]]:
    pairs = []
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#")[0].strip()
        if "===" in line:
            pattern, replacement = line.split("===")
            pairs.append((re.compile(pattern), replacement))
    return pairs


def _mecab() -> object:
    try:
        mecab = quiet_import("mecab")
    except ImportError as exc:
        raise TextError(
            "Korean needs MeCab (package python-mecab-ko), which is not installed.",
            "Reinstall GSV Studio's dependencies: pip install -e .",
        ) from exc
    return mecab.MeCab()


@lru_cache(maxsize=1)
def _pipeline() -> _Pipeline:
    return _Pipeline()


def _latin_to_hangul(text: str) -> str:
    return re.sub("[A-Za-z]", lambda m: _LATIN_NAMES[m.group().lower()], text)


def _divide(text: str) -> str:
    jamo = quiet_import("jamo")
    text = jamo.j2hcj(jamo.h2j(text))
    for compound, parts in _DIVIDED_VOWELS:
        text = text.replace(compound, parts)
    return text


def _fix_linking(text: str) -> str:
    """Read ㄹ after a word ending in 을/를 as ㄴ, upstream's fix of a g2pk2 slip."""
    fixed = ""
    i = 0
    while i < len(text) - 4:
        if text[i : i + 3] in ("ㅇㅡㄹ", "ㄹㅡㄹ") and text[i + 3] == " " and text[i + 4] == "ㄹ":
            fixed += text[i : i + 3] + " ㄴ"
            i += 5
        else:
            fixed += text[i]
            i += 1
    return fixed + text[i:]


def g2p(norm_text: str) -> list[str]:
    """One phone per jamo, ``空`` per space, ``停`` for anything outside the table."""
    text = _pipeline()(_latin_to_hangul(norm_text))
    text = _fix_linking(_divide(text))
    text = re.sub(r"([\u3131-\u3163])$", r"\1.", text)
    table = symbol_to_id()
    phones = [_PUNCTUATION_MAP.get(char, char) for char in text]
    return [phone if phone in table else "停" for phone in phones]
