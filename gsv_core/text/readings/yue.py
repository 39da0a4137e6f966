"""Cantonese readings: the spans where Cantonese differs from Mandarin, then Mandarin's rules.

The Cantonese cleaner runs upstream's Mandarin normaliser, so it inherits its
misreadings and adds its own: a phone number "9123 4567" comes out with
Mandarin's 幺 for 1 (ToJyutping reads 幺 jiu1, which no Cantonese speaker says
in a number), and "1,000蚊" as 一,零零零蚊 because the comma is no thousands
separator to it. Dollar amounts are 蚊 in speech, not 美元.

So ``read`` first rewrites the spans Cantonese reads its own way (phone numbers
digit by digit with 一 and 零, currencies from ``data/yue_currencies.json``,
the units Hong Kong says differently, ``data/yue_units.json``, numbers with
thousands separators), all into Hanzi, and then hands the text to
the Mandarin readings (``readings.zh``) for everything else — units, dates,
scores, ranges and Latin words are written the same way in both, and ToJyutping
gives the Hanzi their Cantonese sounds.
"""

from __future__ import annotations

import re
from decimal import Decimal

from gsv_core.text.readings import zh
from gsv_core.text.readings.shared import Span, load_table, rewrite
from gsv_core.text.zh_numbers import num2str, verbalize_digit

__all__ = ["read", "rules_matched"]

_TABLE = load_table("yue_currencies")
_CURRENCY_WORDS: dict[str, str] = _TABLE["currencies"]
_US_DOLLAR: str = _TABLE["us_dollar"]
_SCALES: dict[str, int] = _TABLE["scales"]
_UNITS: dict[str, str] = load_table("yue_units")["units"]
# A number with thousands separators outside any span ("1,000蚊", "10,000人").
_DIGIT = re.compile(r"\d")
_MAYBE_OWN_SPAN = re.compile(r"[$€£¥₩]|[A-Z]{3}|\d{4}[\s-]\d{3}|\d-\d|\+\d|\d\s?(?:k|K)")
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,]|\.\d)")


def _amount(number: str, scale: str | None) -> str:
    value = Decimal(number).scaleb(_SCALES.get(scale or "", 0))
    return num2str(format(value.normalize(), "f"))


def _read_span(span: Span, written: str) -> str | None:
    parts = span.parts
    if span.kind == "phone":
        # Cantonese reads 1 as 一 (jat1) in numbers; the Mandarin rule would write 幺.
        groups = "，".join(verbalize_digit(g) for g in parts["groups"].split())
        return ("加" if "plus" in parts else "") + groups
    if span.kind == "currency":
        currency = parts["currency"]
        word = _US_DOLLAR if written.upper().startswith("US") else _CURRENCY_WORDS.get(currency)
        if word is None:
            return None
        return _amount(parts["number"], parts.get("scale")) + word
    if span.kind == "unit" and parts["unit"] in _UNITS:
        return num2str(parts["number"]) + _UNITS[parts["unit"]]
    return None  # the Mandarin readings read it


def _read_own(text: str) -> str:
    if not _DIGIT.search(text):
        return text  # every Cantonese rule reads a number
    if _MAYBE_OWN_SPAN.search(text):  # skip the finders when no phone/currency/km can match
        text = rewrite(text, _read_span)
    return _GROUPED.sub(lambda m: num2str(m.group(0).replace(",", "")), text)


def read(text: str) -> str:
    """``text`` with matched spans read as Cantonese speakers say them (Hanzi for ToJyutping)."""
    return zh.read(_read_own(text))


def rules_matched(text: str) -> tuple[str, ...]:
    """Names of the rules beyond the shared span kinds that change ``text``: Cantonese's own
    grouped-number rule, then the Mandarin module's (``zh.rules_matched``, when it has one)."""
    own = ("yue_grouped_number",) if _GROUPED.search(text) else ()
    zh_rules = getattr(zh, "rules_matched", None)
    return own + (tuple(zh_rules(_read_own(text))) if zh_rules is not None else ())
