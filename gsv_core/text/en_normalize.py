"""English normalisation: numbers, money, times, units and symbols to words.

The rules and their order follow upstream's ``text_normalize`` in
``GPT_SoVITS/text/english.py`` and its ``en_normalization/expend.py``, quirks
included ("1,234" → "twelve thirty-four", "Wait..." → "Wait.", capitals
inside a word split it so acronyms are spelled out).
"""

from __future__ import annotations

import re
import unicodedata

from gsv_core.text.en_numbers import cardinal, ordinal_suffix, ordinal_words, paired
from gsv_core.text.symbols import PUNCTUATION

__all__ = ["text_normalize"]

# Upstream escapes these keys before joining them into one pattern, so its two
# bracket classes only match their literal text; in effect it maps 。！？ and
# leaves ; : " ’ to be deleted later. Kept as it behaves.
_PUNCTUATION_MAP = {"[;:：，；]": ",", '["’]': "'", "。": ".", "！": "!", "？": "?"}
_PUNCTUATION_PATTERN = re.compile("|".join(re.escape(key) for key in _PUNCTUATION_MAP))
_UNITS = {
    "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"),
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "ft": ("feet", "feet"),
    "L": ("liter", "liters"),
    "tbsp": ("tablespoon", "tablespoons"),
    "tsp": ("teaspoon", "teaspoons"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "s": ("second", "seconds"),
    "°C": ("degree celsius", "degrees celsius"),
    "°F": ("degree fahrenheit", "degrees fahrenheit"),
}
_POWERS = "⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ"
_OPERAND = rf"((-?)((\d+)(\.\d+)?[{_POWERS}]*)|(\.\d+[{_POWERS}]*)|([A-Za-z][{_POWERS}]*))"
_ASMD = re.compile(_OPERAND + r"\s+([\+\-\×÷=])\s+" + _OPERAND)
_ASMD_WORDS = {"+": " plus ", "-": " minus ", "×": " times ", "÷": " divided by ", "=": " Equals "}
_NEGATIVE = re.compile(r"(?:^|\s+)(-)(\d+)")
_LIST_ORDINAL = re.compile(r"\b([0-9]+)\. ")
_COMMA_NUMBER = re.compile(r"([0-9][0-9\,]+[0-9])")
_TIME = re.compile(r"\b([01]?[0-9]|2[0-3]):([0-5][0-9])\b")
_MEASUREMENT = re.compile(r"\b([0-9]+(\.[0-9]+)?(m|km|km/h|ft|L|tbsp|tsp|h|min|s|°C|°F))\b")
_POUNDS_BEFORE = re.compile(r"£([0-9\.\,]*[0-9]+)")
_POUNDS_AFTER = re.compile(r"([0-9\.\,]*[0-9]+)£")
_DOLLARS_BEFORE = re.compile(r"\$([0-9\.\,]*[0-9]+)")
_DOLLARS_AFTER = re.compile(r"([(0-9\.\,]*[0-9]+)\$")
_DECIMAL = re.compile(r"([0-9]+\.\s*[0-9]+)")
_FRACTION = re.compile(r"([0-9]+/[0-9]+)")
_ORDINAL = re.compile(r"[0-9]+(st|nd|rd|th)")
_NUMBER = re.compile(r"[0-9]+")


def _asmd(match: re.Match[str]) -> str:
    return match.group(1) + _ASMD_WORDS[match.group(8)] + match.group(9)


def _negative(match: re.Match[str]) -> str:
    # Upstream's replacement drops the whitespace the pattern consumed.
    return f"negative {match.group(2)}"


def _list_ordinal(match: re.Match[str]) -> str:
    return ordinal_suffix(match.group(1)) + ", "


def _time(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    period = "a.m." if hours < 12 else "p.m."
    if hours > 12:
        hours -= 12
    if minutes == 0:
        return f"{cardinal(hours)} o'clock {period}"
    return f"{cardinal(hours)} {cardinal(minutes)} {period}"


def _measurement(match: re.Match[str]) -> str:
    unit = match.group(3)
    # Upstream's count: the digits with the unit and any "." removed, so 1.2 is plural.
    count = int(match.group(1).replace(unit, "").replace(".", ""))
    singular = match.group(2) is None and count == 1
    return match.group(1).replace(unit, " " + _UNITS[unit][0 if singular else 1])


def _money(amount: str, units: tuple[str, str, str, str]) -> str:
    """Read "12.5" as "12 dollars and 50 cents" (digits stay for the number rule)."""
    whole_one, whole_many, part_one, part_many = units
    parts = amount.split(".")
    if len(parts) > 2:
        return f"{amount} {whole_many}"
    whole = int(parts[0]) if parts[0] else 0
    fraction = int(parts[1].ljust(2, "0")) if len(parts) > 1 and parts[1] else 0
    whole_text = f"{whole} {whole_one if whole == 1 else whole_many}"
    fraction_text = f"{fraction} {part_one if fraction == 1 else part_many}"
    if whole and fraction:
        return f"{whole_text} and {fraction_text}"
    if whole:
        return whole_text
    if fraction:
        return fraction_text
    return f"zero {whole_many}"


def _pounds(match: re.Match[str]) -> str:
    return _money(match.group(1), ("pound", "pounds", "penny", "pence"))


def _dollars(match: re.Match[str]) -> str:
    return _money(match.group(1), ("dollar", "dollars", "cent", "cents"))


def _decimal(match: re.Match[str]) -> str:
    whole, fraction = match.group(1).split(".")[:2]
    return whole + " point " + " ".join(fraction)


def _fraction(match: re.Match[str]) -> str:
    numerator, denominator = (int(part) for part in match.group(0).split("/"))
    numerator_words = cardinal(numerator)
    if denominator == 2:
        return f"{numerator_words} {'half' if numerator == 1 else 'halves'}"
    if denominator == 1:
        return numerator_words
    plural = "s" if numerator > 1 else ""
    return f"{numerator_words} {ordinal_words(cardinal(denominator))}{plural}"


def _ordinal(match: re.Match[str]) -> str:
    return ordinal_words(cardinal(int(match.group(0)[:-2])))


def _number(match: re.Match[str]) -> str:
    number = int(match.group(0))
    if 1000 < number < 3000:
        if number == 2000:
            return "two thousand"
        if 2000 < number < 2010:
            return "two thousand " + cardinal(number % 100)
        if number % 100 == 0:
            return cardinal(number // 100) + " hundred"
        return paired(number)
    return cardinal(number, andword="")


def _expand(text: str) -> str:
    text = _LIST_ORDINAL.sub(_list_ordinal, text)
    while _ASMD.search(text):
        text = _ASMD.sub(_asmd, text)
    text = _NEGATIVE.sub(_negative, text)
    text = _COMMA_NUMBER.sub(lambda m: m.group(1).replace(",", ""), text)
    for pattern, replace in (
        (_TIME, _time),
        (_MEASUREMENT, _measurement),
        (_POUNDS_BEFORE, _pounds),
        (_POUNDS_AFTER, _pounds),
        (_DOLLARS_BEFORE, _dollars),
        (_DOLLARS_AFTER, _dollars),
        (_DECIMAL, _decimal),
        (_FRACTION, _fraction),
        (_ORDINAL, _ordinal),
        (_NUMBER, _number),
    ):
        text = pattern.sub(replace, text)
    text = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )  # strip accents
    text = text.replace("%", " percent")
    text = re.sub(r"[^ A-Za-z'.,?!\-]", "", text)
    text = re.sub(r"(?i)i\.e\.", "that is", text)
    text = re.sub(r"(?i)e\.g\.", "for example", text)
    # A capital inside a word starts a new one: "GPT" → "G P T", "iPhone" → "i Phone".
    return re.sub(r"(?<!^)(?<![\s])([A-Z])", r" \1", text)


def text_normalize(text: str) -> str:
    """Normalise English text to words and the punctuation phones."""
    text = _PUNCTUATION_PATTERN.sub(lambda m: _PUNCTUATION_MAP[m.group()], text)
    text = _expand(text)
    marks = "".join(re.escape(p) for p in PUNCTUATION)
    return re.sub(f"([{marks}\\s])([{marks}])+", r"\1", text)
