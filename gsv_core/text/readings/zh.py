"""Mandarin readings: shared spans and Mandarin-only patterns → text the zh cleaner reads well.

Upstream's normaliser misreads many spans (``5000mAh`` → 五千米, ``50-80万`` → 五十减八十万,
``第2名`` → 第两名, a score ``21:19`` → 二十一点十九分). ``read`` rewrites them first:
numbers become Hanzi (``zh_numbers``), units and currencies come from
``data/zh_units.json`` and ``data/zh_currencies.json``, and Latin letters (``TED``,
``www``, ``GB``) stay Latin so the mixed split sends them to the English g2p — a
Mandarin speaker says them in English. Clock times, dates and plain numbers are written
back in the form upstream's normaliser already reads correctly ("下午3:30",
"2023年7月4日"), so its readings and ours never disagree.

``read(text, keep_latin=False)`` is for a caller that reads Mandarin only
(``clean_text(..., "zh")``, whose word2ph must cover Hanzi alone): addresses are left
out, and Latin words are dropped rather than handed to the normaliser, which would
spell unit letters inside them ("AirPods" → 毫秒, "meeting" → 米). Single letters stay:
they are operands ("x+y=10" → 加等于十) or dropped by upstream anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from gsv_core.text.readings.shared import Span, load_table, rewrite
from gsv_core.text.zh_numbers import num2str, verbalize_cardinal, verbalize_digit

__all__ = ["read", "rules_matched"]

_UNIT_TABLE = load_table("zh_units")
_UNIT_WORDS: dict[str, str] = _UNIT_TABLE["units"]
_PERCENT: str = _UNIT_TABLE["percent"]
_SPOKEN_UNITS = frozenset([*_UNIT_WORDS, "percent"])  # the units read in Hanzi
_CURRENCY_TABLE = load_table("zh_currencies")
_CURRENCY_WORDS: dict[str, str] = _CURRENCY_TABLE["currencies"]
_SCALES: dict[str, int] = _CURRENCY_TABLE["scales"]
# Units after which 2 is read 两 (两公斤), as a Mandarin speaker counts measures.
_NOT_COUNTED = frozenset({"percent", "degC", "degF", "deg"})
# Full-width letters and digits → ASCII, so "ＧＰＵ" is found and split like "GPU".
_FULL_WIDTH = {code: code - 0xFEE0 for code in
               [*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B)]}
_URL_MARKS = {".": "点", "/": "斜杠", "-": "杠", "_": "下划线", "@": "at"}
_URL_PIECE = re.compile(r"[A-Za-z]+|\d+|[./\-_@]")
_SPELLED_PIECE = re.compile(r"[b-df-hj-np-tv-z]{1,5}")  # lower case, no vowel (y counts as one)
_PERIODS = {"am": "上午", "pm": "下午"}
# Mandarin-only patterns, applied after the shared spans.
_ORDINAL = re.compile(r"第(\d+)(?![\d.])")  # 第2名 → 第二名, not 第两名
_DECADE = re.compile(r"(?<![\d.])(\d0)年代")  # 90年代 → 九十年代, not 九零年代
# v2.1 → V二点一: the digits are read in Mandarin, not glued to the English "v".
_VERSION = re.compile(r"(?<![A-Za-z0-9.])([vV])(\d+(?:\.\d+)+|\d+)(?![\d.A-Za-z])")
# 1,000元 → 一千元: upstream reads the comma as a pause and the groups as numbers.
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,]|\.\d)")
# 1:3, 16:9: a ratio (a one-digit right side is no clock time); upstream reads 一三.
_RATIO = re.compile(r"(?<![\d:.])(\d{1,3})[:：](\d)(?![\d:])")
# 4S店, 3D打印, 5G: digits glued to letters; the digits alone would join the English run.
_DIGITS_LETTERS = re.compile(r"(?<![A-Za-z0-9.])(\d{1,4})([A-Za-z]+)(?![A-Za-z0-9])")
# 150公里 → 一百五十公里: upstream reads 3+ digits before these one by one.
_MEASURE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(" + "|".join(
    sorted(_UNIT_TABLE["measure_words"], key=len, reverse=True)) + ")")
_CARDINAL_YEAR = re.compile(r"(公元前?)(\d+)年|(?<![\d.])(\d{3})年")  # 公元前221年, 221年
_LATIN_WORDS = re.compile(r"[A-Za-z]{2,}")
_ANY_DIGIT = re.compile(r"\d")  # the same digits the rules' \d matches


def _number(number: str) -> str:
    return num2str(number)


def _counted(number: str) -> str:
    return "两" if number == "2" else num2str(number)


def _model_digits(digits: str) -> str:
    # "iPhone 15" is 十五, "RTX 4090" is 四零九零: short numbers as numbers, long as digits.
    return verbalize_cardinal(digits) if len(digits) <= 2 else verbalize_digit(digits)


def _spelled(text: str) -> str:
    """A URL, host or address piece by piece: Latin kept, digits one by one, marks as words.

    A short piece without a vowel ("html", "qq") is capitalised: it is said letter by
    letter, and the English g2p spells capitals with their letter stress.
    """
    out = []
    for piece in _URL_PIECE.findall(text):
        if piece.isdigit():
            out.append(verbalize_digit(piece))
        elif _SPELLED_PIECE.fullmatch(piece):
            out.append(piece.upper())
        else:
            out.append(_URL_MARKS.get(piece, piece))
    return " ".join(out)


def _amount(number: str, power: int) -> str:
    """``number`` × 10**power in Hanzi, in 亿 or 万 when a scale made it large (4.2B → 四十二亿)."""
    value = Decimal(number).scaleb(power)
    if power and value >= Decimal("1e8"):
        return num2str(_plain(value.scaleb(-8))) + "亿"
    if power and value >= Decimal("1e4"):
        return num2str(_plain(value.scaleb(-4))) + "万"
    return num2str(_plain(value))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _read_span_hanzi(span: Span, written: str) -> str | None:
    # Mandarin only: no Latin may be left for an English reader.
    if span.kind in ("url", "email"):
        return ""
    if span.kind == "model":
        return "".join(_model_digits(p) for p in span.parts["pieces"].split() if p.isdigit())
    if span.kind == "unit" and span.parts["unit"] not in _SPOKEN_UNITS:
        return ("负" if "negative" in span.parts else "") + _number(span.parts["number"])
    return _read_span(span, written)


def _read_span(span: Span, written: str) -> str | None:
    parts = span.parts
    kind = span.kind
    if kind == "url":
        words = _spelled(parts["host"])
        return words + (" " + _spelled(parts["path"]) if "path" in parts else "")
    if kind == "email":
        return f"{_spelled(parts['user'])} at {_spelled(parts['domain'])}"  # said in English
    if kind == "phone":
        groups = "，".join(verbalize_digit(g, alt_one=True) for g in parts["groups"].split())
        return ("加" if "plus" in parts else "") + groups
    if kind == "date":
        return f"{parts['year']}年{parts['month']}月{parts['day']}日"
    if kind == "time":
        if "period" not in parts and "zone" not in parts:
            return None  # upstream reads a plain clock time well (三点半)
        clock = f"{int(parts['hour'])}:{parts['minute']}" + (
            f":{parts['second']}" if "second" in parts else "")
        zone = f" {parts['zone']} " if "zone" in parts else ""
        return zone + _PERIODS.get(parts.get("period", ""), "") + clock
    if kind == "score":
        return f"{verbalize_cardinal(parts['left'])}比{verbalize_cardinal(parts['right'])}"
    if kind == "currency":
        power = _SCALES.get(parts.get("scale", ""), 0)
        return _amount(parts["number"], power) + _CURRENCY_WORDS[parts["currency"]]
    if kind == "range":
        return _range(parts)
    if kind == "decade":
        number = parts["number"]
        years = verbalize_digit(number) if len(number) == 4 else verbalize_cardinal(number)
        return years + "年代"
    if kind == "numero":
        return "第" + verbalize_cardinal(parts["number"])
    if kind == "unit":
        return _unit(parts["number"], parts["unit"], "negative" in parts)
    if kind == "model":
        return " ".join(_model_digits(p) if p.isdigit() else p for p in parts["pieces"].split())
    return None


def _unit(number: str, unit: str, negative: bool = False) -> str:
    if unit == "percent":
        return ("负" if negative else "") + _PERCENT + _number(number)
    word = _UNIT_WORDS.get(unit)
    if word is None:  # no Mandarin word: the symbol stays, read in English (三十二GB)
        word = unit
    if negative:  # -5°C → 零下五度, -3kg → 负三千克 (as upstream signs numbers)
        return ("零下" if unit in _NOT_COUNTED else "负") + _number(number) + word
    return (_number(number) if unit in _NOT_COUNTED or word == unit else _counted(number)) + word


def _range(parts: dict[str, str]) -> str:
    low, high, unit = parts["low"], parts["high"], parts.get("unit")
    if unit == "percent":
        return f"{_PERCENT}{_number(low)}到{_PERCENT}{_number(high)}"
    if unit is None:
        return f"{_number(low)}到{_number(high)}"
    return f"{_number(low)}到{_unit(high, unit)}"


def _cardinal_year(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + verbalize_cardinal(match.group(2)) + "年"
    return verbalize_cardinal(match.group(3)) + "年"


def _ratio(match: re.Match[str]) -> str:
    return f"{verbalize_cardinal(match.group(1))}比{verbalize_cardinal(match.group(2))}"


def _version(match: re.Match[str]) -> str:
    return "V" + "点".join(_model_digits(n) for n in match.group(2).split("."))


# Mandarin-only rules after the shared spans, in order: (name, pattern, replacement).
_RULES: tuple[tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    ("grouped_number", _GROUPED, lambda m: m.group(0).replace(",", "")),
    ("ratio", _RATIO, _ratio),
    ("digits_letters", _DIGITS_LETTERS, lambda m: _model_digits(m.group(1)) + m.group(2)),
    ("version", _VERSION, _version),
    ("ordinal", _ORDINAL, lambda m: "第" + verbalize_cardinal(m.group(1))),
    ("decade_zh", _DECADE, lambda m: verbalize_cardinal(m.group(1)) + "年代"),
    ("measure_word", _MEASURE, lambda m: _counted(m.group(1)) + m.group(2)),
    ("cardinal_year", _CARDINAL_YEAR, _cardinal_year),
)


def read(text: str, *, keep_latin: bool = True) -> str:
    """Return ``text`` with matched spans read as Mandarin.

    Text no rule matches is unchanged, so the cleaner reads it as upstream does.
    ``keep_latin``: Latin words stay for the English g2p (the mixed split sends them
    there); False drops them, for a Mandarin-only reader (see the module docstring).
    """
    text = text.translate(_FULL_WIDTH)
    text = rewrite(text, _read_span if keep_latin else _read_span_hanzi)
    if _ANY_DIGIT.search(text):  # every Mandarin-only rule reads a number
        for _, pattern, replace in _RULES:
            text = pattern.sub(replace, text)
    return text if keep_latin else _LATIN_WORDS.sub("", text)


def rules_matched(text: str) -> tuple[str, ...]:
    """Names of the Mandarin-only rules that match ``text`` (the shared kinds are
    ``shared.find_spans``'s), so a changed reading can be traced to its rule.

    ``latin_words``: Latin words that a Mandarin-only reading drops.
    """
    names = ["full_width"] if text != text.translate(_FULL_WIDTH) else []
    # Each rule is tried on the text it sees in ``read``: after the shared spans and the
    # rules before it ("120W" is a unit, not digits_letters).
    text = rewrite(text.translate(_FULL_WIDTH), _read_span)
    for name, pattern, replace in _RULES:
        if pattern.search(text):
            names.append(name)
            text = pattern.sub(replace, text)
    if _LATIN_WORDS.search(rewrite(text, _read_span_hanzi)):
        names.append("latin_words")
    return tuple(names)
