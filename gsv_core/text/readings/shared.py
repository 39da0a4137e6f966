"""Language-independent span finders for readings (URLs, numbers with units…).

``find_spans(text)`` returns structured matches (``Span``); a language module
turns each into words of its language (``rewrite``) and leaves the text between
spans to the cleaner. Nothing here knows any language's words; the unit and
currency symbols and the score cues are read from ``data/*.json``.

Span kinds and their ``parts`` (all values are strings; absent keys are absent):

- ``url``: ``scheme`` ("https", may be absent), ``host`` ("www.example.com"),
  ``path`` ("/index.html", may be absent).
- ``email``: ``user``, ``domain``.
- ``phone``: ``groups`` — the digit groups joined by single spaces
  ("010 62345678", "555 123 4567"); ``plus`` = "1" when it started with "+".
- ``date``: ``year``, ``month``, ``day`` (digits without leading zeros),
  ``order`` ("mdy", "dmy", "ymd": how it was written).
- ``time``: ``hour``, ``minute`` (as written, "30", "05"); ``second`` when given;
  ``period`` ("am"/"pm") and ``zone`` ("EST") when given.
- ``score``: ``left``, ``right``.
- ``currency``: ``number`` (commas removed: "4.2", "1000"), ``currency`` (ISO code:
  "CNY", "USD"…), ``scale`` ("K", "M", "B", "万", "亿" — absent without a suffix).
- ``range``: ``low``, ``high``; ``unit`` (canonical id) when one follows the high end.
- ``decade``: ``number`` ("1990", "80").
- ``numero``: ``number`` ("No.1" → "1").
- ``unit``: ``number`` ("5000", "1.5"; commas removed), ``unit`` — a canonical id
  from ``data/units.json`` ("mAh", "km/h", "degF", "percent"); ``negative`` = "1" when a
  minus sign came first ("-5°C": the span starts at the sign).
- ``model``: ``pieces`` — letter and digit runs joined by single spaces
  ("TED 2024", "Q 3", "iPhone 15 Pro", "14 Pro").

Why one finder for all languages: "5000mAh", "https://…" or "21:19" look the same in
every script; only their words differ. Finders run in the order above, and a later
finder never matches inside an earlier span ("2023-07-04" is a date, not a range).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["Span", "find_spans", "fired_rules", "load_table", "rewrite"]


@dataclass(frozen=True)
class Span:
    """One matched span of text.

    kind: the rule that matched (see the module docstring).
    start, end: character offsets (``text[start:end]`` is the matched text).
    parts: the structured pieces the language module reads (keys per kind).
    """

    kind: str
    start: int
    end: int
    parts: dict[str, str] = field(default_factory=dict)


@cache
def load_table(name: str) -> Any:
    """The parsed ``data/<name>.json`` of this package (read once)."""
    path = resources.files("gsv_core.text.readings").joinpath(f"data/{name}.json")
    return json.loads(path.read_text("utf-8"))


def _alternation(symbols: list[str]) -> str:
    # Longest first, so "mAh" wins over "m" and "km/h" over "km".
    return "|".join(re.escape(s) for s in sorted(set(symbols), key=len, reverse=True))


# --- tables -----------------------------------------------------------------

_UNITS = load_table("units")["units"]
_UNIT_IDS = {s: u["id"] for u in _UNITS for s in u["symbols"]}
_SPACED_UNITS = _alternation([s for u in _UNITS if not u["attached"] for s in u["symbols"]])
_ATTACHED_UNITS = _alternation([s for u in _UNITS if u["attached"] for s in u["symbols"]])
# A unit: attached ones right after the digits, the rest after an optional space; never
# followed by a letter ("5 mins" is min+s? no: "mins" is listed; "3 mango" is no unit).
_UNIT = rf"(?:(?:{_ATTACHED_UNITS})|\s?(?:{_SPACED_UNITS}))(?![A-Za-z])"

_CURRENCIES = load_table("currencies")["currencies"]
_PREFIX_IDS = {s: c["id"] for c in _CURRENCIES for s in c["prefix"]}
_SUFFIX_IDS = {s: c["id"] for c in _CURRENCIES for s in c["suffix"]}

_CUES = load_table("score_cues")
# A cue right before the pair, or with a short filler between ("比分是21:19", "won 21:19");
# after it, any cue right after, or a cue of two or more characters anywhere in the window
# ("21:19，主队获胜"; a lone 胜 further on may be a street name).
_CUES_BEFORE = re.compile("(?:" + _alternation(_CUES["before"])
                          + r")(?:\s?(?:是|为|了|by|of))?[\s:：]*$", re.IGNORECASE)
_CUES_AFTER = re.compile(r"^\s*(?:" + _alternation(_CUES["after"]) + ")|(?:"
                         + _alternation([c for c in _CUES["after"] if len(c) > 1]) + ")",
                         re.IGNORECASE)
_CUE_WINDOW = 8  # characters looked at on each side of an n:m pair

_TLDS = ("com|net|org|edu|gov|io|ai|dev|app|co|cn|hk|tw|jp|kr|uk|de|fr|me|tv|info|xyz|top|"
         "site|online|tech|cc")

# --- patterns (compiled once, at import) --------------------------------------

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_NOT_NUM_BEFORE = r"(?<![\d.,:/\-])"
_NOT_NUM_AFTER = r"(?![\d,]|\.\d|:\d|/\d)"

_URL = re.compile(
    r"(?<![A-Za-z0-9_@.])(?:(?P<scheme>https?|ftp)://(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    rf"|(?P<bare>(?:www\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?:{_TLDS})))(?![A-Za-z0-9-])"
    # a path never ends in "." or "?": those end the sentence around the address
    r"(?P<path>/(?:[A-Za-z0-9/._~%?=&#+\-]*[A-Za-z0-9/_~%=&#+\-])?)?"
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9_.])(?P<user>[A-Za-z0-9](?:[A-Za-z0-9._%+\-]*[A-Za-z0-9])?)"
    r"@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_PHONE = re.compile(
    r"(?<![\d\-/.:+])(?:"
    r"(?P<nanp>\(\d{3}\)\s?\d{3}-\d{4})"  # (555) 123-4567
    r"|(?P<plus>\+)\d{1,3}[\s-]\d{1,4}(?:[\s-]\d{2,4}){1,3}"  # +86 138 0013 8000
    r"|\d{3}-\d{3}-\d{4}"  # 555-123-4567
    r"|1\d{2}[\s-]\d{4}[\s-]\d{4}"  # 138-0013-8000
    r"|0\d{2,3}-\d{7,8}"  # 010-62345678
    r"|400-?\d{3}-?\d{4}"  # 400-123-4567
    r"|(?P<hk>[235679]\d{3}\s\d{4})"  # 9123 4567 (Hong Kong)
    r")(?![\d\-])"
)
_DATE = re.compile(
    r"(?<![\d/.\-])(?:(?P<y1>\d{4})[/\-.](?P<m1>\d{1,2})[/\-.](?P<d1>\d{1,2})"
    r"|(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y2>\d{4}|\d{2})"
    r"|(?P<d3>\d{1,2})\.(?P<m3>\d{1,2})\.(?P<y3>\d{4}))(?![\d/.\-]\d)"
)
_PERIOD = r"(?P<period>[AaPp]\.?\s?[Mm]\.?)(?![A-Za-z])"
_TIME = re.compile(
    r"(?<![\d:])(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)(?::(?P<second>[0-5]\d))?"
    rf"(?![\d:])(?:\s?{_PERIOD})?"
    r"(?:\s(?P<zone>EST|EDT|PST|PDT|CST|CDT|MST|MDT|GMT|UTC|BST|CET|CEST|JST|KST|HKT|ET|PT))?"
    r"(?![A-Za-z])"
)
_PAIR = re.compile(r"(?<![\d:.])(?P<left>\d{1,3})[:：](?P<right>\d{1,3})(?![\d:])")
_PREFIXES = _alternation(list(_PREFIX_IDS))
_SUFFIXES = _alternation(list(_SUFFIX_IDS))
_SCALE = r"(?P<scale>[KkMB]|bn|mn|亿|万)"
_CURRENCY = re.compile(
    rf"(?<![A-Za-z])(?P<prefix>{_PREFIXES})\s?(?P<pnum>{_NUM})(?:\s?{_SCALE}(?![A-Za-z]))?"
    rf"|{_NOT_NUM_BEFORE}(?P<snum>{_NUM})(?P<suffix>{_SUFFIXES})(?![A-Za-z])"
)
_RANGE = re.compile(
    rf"{_NOT_NUM_BEFORE}(?P<low>{_NUM})(?P<lowunit>%|％)?\s?[-–~～](?!\s?-)\s?(?P<high>{_NUM})"
    rf"(?P<unit>{_UNIT})?(?![\d=+×÷*/^\-])"
)
_DECADE = re.compile(r"(?<![A-Za-z0-9_'’])['’]?(?P<number>\d{1,3}0)['’]?s(?![A-Za-z])")
_NUMERO = re.compile(r"(?<![A-Za-z])No\.\s?(?P<number>\d+)(?![\d.])", re.IGNORECASE)
_UNIT_SPAN = re.compile(
    rf"(?:(?<![\d.,:/\-])(?P<minus>-)(?=\d)|{_NOT_NUM_BEFORE})(?P<number>{_NUM})(?P<unit>{_UNIT})"
)
_SUFFIX_WORDS = r"(?:Pro|Max|Plus|Ultra|Mini|mini|Air|SE|Lite|Ti|Super|Turbo|Neo)"
_MODEL = re.compile(
    # letters glued to digits: TED2024, Q3, RTX4090, COVID-19, A17Pro
    r"(?<![A-Za-z0-9])(?P<glued>[A-Za-z]+-?\d+(?:[A-Za-z]+\d*)*)(?![A-Za-z0-9]|[.,]\d)"
    # a name with a capital, a space and a number: iPhone 15 Pro, RTX 4090 Ti
    r"|(?<![A-Za-z0-9])(?P<named>[A-Za-z]*[A-Z][A-Za-z]* \d{1,4}(?: " + _SUFFIX_WORDS + r")*)"
    r"(?![A-Za-z0-9])"
    # a number and a product suffix after non-Latin text: 小米14 Pro
    r"|(?<![A-Za-z0-9 ])(?P<suffixed>\d{1,4} ?" + _SUFFIX_WORDS + r"(?: " + _SUFFIX_WORDS
    + r")*)(?![A-Za-z0-9])"
)
_RUNS = re.compile(r"[A-Za-z]+|\d+")


def _plain(number: str) -> str:
    return number.replace(",", "")


def _digits(number: str) -> str:
    return str(int(number))


# --- finders: (pattern, parts builder); a builder returning None rejects the match ---

def _url(m: re.Match[str], text: str) -> dict[str, str] | None:
    path = m.group("path") or ""
    parts = {"host": m.group("host") or m.group("bare")}
    if m.group("scheme"):
        parts["scheme"] = m.group("scheme")
    if path and path != "/":
        parts["path"] = path
    return parts


def _email(m: re.Match[str], text: str) -> dict[str, str] | None:
    return {"user": m.group("user"), "domain": m.group("domain")}


def _phone(m: re.Match[str], text: str) -> dict[str, str] | None:
    groups = re.findall(r"\d+", m.group(0))
    if m.group("hk") and all(re.fullmatch(r"(19|20)\d\d", g) for g in groups):
        return None  # "2023 2024": two years, not a phone number
    parts = {"groups": " ".join(groups)}
    if m.group("plus"):
        parts["plus"] = "1"
    return parts


def _date(m: re.Match[str], text: str) -> dict[str, str] | None:
    if m.group("y1"):
        year, month, day, order = m.group("y1"), m.group("m1"), m.group("d1"), "ymd"
    elif m.group("y2"):
        first, second, year = m.group("a"), m.group("b"), m.group("y2")
        # US order unless the first number cannot be a month.
        month, day, order = ((second, first, "dmy") if int(first) > 12
                             else (first, second, "mdy"))
    else:
        year, month, day, order = m.group("y3"), m.group("m3"), m.group("d3"), "dmy"
    if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
        return None
    return {"year": _digits(year), "month": _digits(month), "day": _digits(day), "order": order}


def _is_score(m: re.Match[str], text: str) -> bool:
    before = text[max(0, m.start() - _CUE_WINDOW):m.start()]
    after = text[m.end():m.end() + _CUE_WINDOW]
    return bool(_CUES_BEFORE.search(before) or _CUES_AFTER.search(after))


def _time(m: re.Match[str], text: str) -> dict[str, str] | None:
    if not (m.group("period") or m.group("zone")) and _is_score(m, text):
        return None  # "以21:19获胜": a score
    parts = {"hour": m.group("hour"), "minute": m.group("minute")}
    if m.group("second"):
        parts["second"] = m.group("second")
    if m.group("period"):
        parts["period"] = "am" if m.group("period")[0] in "Aa" else "pm"
    if m.group("zone"):
        parts["zone"] = m.group("zone")
    return parts


def _score(m: re.Match[str], text: str) -> dict[str, str] | None:
    left, right = int(m.group("left")), int(m.group("right"))
    if not (_is_score(m, text) or right >= 60 or left >= 24):
        return None
    return {"left": str(left), "right": str(right)}


def _currency(m: re.Match[str], text: str) -> dict[str, str] | None:
    if m.group("prefix"):
        parts = {"number": _plain(m.group("pnum")), "currency": _PREFIX_IDS[m.group("prefix")]}
        if m.group("scale"):
            parts["scale"] = {"k": "K", "bn": "B", "mn": "M"}.get(m.group("scale"),
                                                                   m.group("scale"))
        return parts
    return {"number": _plain(m.group("snum")), "currency": _SUFFIX_IDS[m.group("suffix")]}


def _range(m: re.Match[str], text: str) -> dict[str, str] | None:
    low, high = _plain(m.group("low")), _plain(m.group("high"))
    if float(low) >= float(high):
        return None  # "3-2": arithmetic or a score, not a range
    parts = {"low": low, "high": high}
    unit = m.group("unit")
    if unit or m.group("lowunit"):
        parts["unit"] = _UNIT_IDS[(unit or m.group("lowunit")).strip()]
    return parts


def _decade(m: re.Match[str], text: str) -> dict[str, str] | None:
    number = m.group("number")
    if len(number) not in (2, 4):
        return None
    return {"number": number}


def _numero(m: re.Match[str], text: str) -> dict[str, str] | None:
    return {"number": m.group("number")}


def _unit(m: re.Match[str], text: str) -> dict[str, str] | None:
    parts = {"number": _plain(m.group("number")), "unit": _UNIT_IDS[m.group("unit").strip()]}
    if m.group("minus"):
        parts["negative"] = "1"
    return parts


def _model(m: re.Match[str], text: str) -> dict[str, str] | None:
    return {"pieces": " ".join(_RUNS.findall(m.group(0)))}


_FinderParts = Callable[[re.Match[str], str], "dict[str, str] | None"]
# (kind, pattern, parts builder, gate): a gate is characters of which one must be in the
# text, or a pattern that must be found, or None; gates skip patterns that cannot match
# (speed, issue 9: ≤ 20 % of the cleaner).
_Gate = str | re.Pattern[str] | None
_LETTER = re.compile("[A-Za-z]")
_FINDERS: tuple[tuple[str, re.Pattern[str], _FinderParts, _Gate], ...] = (
    ("email", _EMAIL, _email, "@"),
    ("url", _URL, _url, "."),
    ("phone", _PHONE, _phone, "-( +"),
    ("date", _DATE, _date, "/-."),
    ("time", _TIME, _time, ":"),
    ("score", _PAIR, _score, ":："),
    ("currency", _CURRENCY, _currency, None),
    ("range", _RANGE, _range, "-–~～"),
    ("decade", _DECADE, _decade, "s"),
    ("numero", _NUMERO, _numero, "."),
    ("unit", _UNIT_SPAN, _unit, None),
    ("model", _MODEL, _model, _LETTER),
)
# Cheap pre-check: every finder needs a digit, "@" or a dot between letters.
_MAYBE = re.compile(r"[\d@]|[A-Za-z]\.[A-Za-z]")


def find_spans(text: str) -> list[Span]:
    """All non-overlapping spans in ``text``, left to right.

    Finders run in priority order (the module docstring's); a match that overlaps a span an
    earlier finder took is skipped.
    """
    if not _MAYBE.search(text):
        return []
    taken: list[Span] = []
    for kind, pattern, build, gate in _FINDERS:
        if isinstance(gate, str) and not any(char in text for char in gate):
            continue
        if isinstance(gate, re.Pattern) and not gate.search(text):
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            if start == end or any(s.start < end and start < s.end for s in taken):
                continue
            parts = build(match, text)
            if parts is not None:
                taken.append(Span(kind, start, end, parts))
    return sorted(taken, key=lambda s: s.start)


def rewrite(text: str, read: Callable[[Span, str], str | None]) -> str:
    """``text`` with each span replaced by ``read(span, matched_text)``.

    ``read`` returns the words for the span, or None to keep the matched text as written
    (a language that has no better reading for that kind).
    """
    spans = find_spans(text)
    if not spans:
        return text
    pieces, position = [], 0
    for span in spans:
        words = read(span, text[span.start:span.end])
        pieces.append(text[position:span.start])
        pieces.append(text[span.start:span.end] if words is None else words)
        position = span.end
    pieces.append(text[position:])
    return "".join(pieces)


def fired_rules(read_logging: Callable[[str, list[str]], str], text: str) -> tuple[str, ...]:
    """The rule names ``read_logging(text, fired)`` appends while reading ``text``: how each
    language module's ``rules_matched`` traces a changed reading to its rules."""
    fired: list[str] = []
    read_logging(text, fired)
    return tuple(fired)
