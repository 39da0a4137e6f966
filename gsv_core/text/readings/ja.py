"""Japanese readings: marks OpenJTalk cannot read, and the shared spans, → text it reads.

Upstream's Japanese g2p passes every character outside kana, kanji, Latin and
digits through as a phone, so 「」 and 『』 become ``UNK`` phones, ``〜`` gives
``UNK`` (or nothing), and ``ーー`` reads oddly; "1,980円" is cut at its comma;
"%" (half-width), "$99", "15:30" and "2024/03/15" are not read at all.

``read`` removes the quote marks, reads a tilde between numbers or kanji words
as から and after any other word as a long vowel, folds repeated ー, and writes the shared spans
in the forms OpenJTalk reads well: digits followed by a counter or a unit in
katakana ("15時30分", "250グラム", "99ドル", tables in ``data/ja_units.json``).
URLs and e-mail addresses become English words (``en.read_address``), which the
mixed split sends to the English g2p, as for any Latin text in Japanese.

OpenJTalk's accent-phrase mark ``#`` is a phone, not text: this layer cannot and
does not touch it (the pretrained model learnt it as ``UNK``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

from gsv_core.text.readings.en import read_address
from gsv_core.text.readings.shared import Span, fired_rules, load_table, rewrite

__all__ = ["read", "rules_matched"]

_TABLE = load_table("ja_units")
_UNITS: dict[str, str] = _TABLE["units"]
_CURRENCIES: dict[str, str] = _TABLE["currencies"]
_SCALE_POWERS = {"K": 3, "M": 6, "B": 9, "万": 4, "亿": 8}
_DIGITS = ("ゼロ", "イチ", "ニー", "サン", "ヨン", "ゴー", "ロク", "ナナ", "ハチ", "キュー")

_QUOTES = re.compile(r"[「」『』【】〈〉《》“”\"]")
# A tilde between two numbers (3〜5日) or after a counter before a number (9時〜18時): から.
_TILDE_RANGE = re.compile(r"(?<=[\d時分日月年円人個回歳度])\s?[〜～~]\s?(?=\d)")
# Between two kanji words it is a range too (東京〜大阪, 月曜〜金曜).
_TILDE_BETWEEN = re.compile(r"(?<=[\u4e00-\u9fff])\s?[〜～~]\s?(?=[\u4e00-\u9fff])")
# Any other tilde after a word stretches its last sound (すごい〜 → すごいー).
_TILDE_LONG = re.compile(r"(?<=[\u3040-\u30ff\u4e00-\u9fff])[〜～~]+")
_TILDE_LEFT = re.compile(r"[〜～~]+")
_LONG_VOWELS = re.compile(r"[ーｰ]{2,}")
# "3-1で勝った": a result, read 対.
_SCORE = re.compile(r"(?<![\d\-])(\d{1,3})[-－](\d{1,3})(?=で|の[勝負引])")
_BELOW_ZERO = re.compile(r"(?<![\dA-Za-z\-])[-−－](\d+(?:\.\d+)?)\s?(?:℃|°C|度)")
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,]|\.\d)")
# Japanese numbers the shared phone finder does not know: 03-1234-5678, 090-1234-5678.
_PHONE = re.compile(r"(?<![\d\-])0\d{1,4}-\d{1,4}-\d{4}(?![\d\-])")
_PERIOD_BEFORE = re.compile(r"午[前後]\s*$")
_SPEED_BEFORE = re.compile(r"時速\s*$")


def _digit_groups(groups: list[str]) -> str:
    # Digit by digit in katakana, groups joined by の, as a phone number is said.
    return "の".join("".join(_DIGITS[int(d)] for d in group) for group in groups)


def _phone(span: Span) -> str:
    return ("プラス" if "plus" in span.parts else "") + _digit_groups(span.parts["groups"].split())


def _time(span: Span, period_written: bool) -> str:
    hour, minute = int(span.parts["hour"]), int(span.parts["minute"])
    period = "" if period_written else span.parts.get("period", "")
    words = {"am": "午前", "pm": "午後"}.get(period, "") + f"{hour}時"
    if minute:
        words += f"{minute}分"
    if "second" in span.parts:
        words += f"{int(span.parts['second'])}秒"
    return words


def _amount(number: str, scale: str | None) -> str:
    """Digits with 万 or 億 as Japanese groups them: "4.2" with scale B → 42億."""
    value = Decimal(number).scaleb(_SCALE_POWERS.get(scale or "", 0))
    for power, unit in ((12, "兆"), (8, "億"), (4, "万")):
        if scale and value >= Decimal(10) ** power:
            return _plain(value.scaleb(-power)) + unit
    return _plain(value)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _currency(span: Span) -> str | None:
    word = _CURRENCIES.get(span.parts["currency"])
    if word is None:
        return None
    return _amount(span.parts["number"], span.parts.get("scale")) + word


def _unit_word(unit: str) -> str | None:
    return _UNITS.get(unit)


def _read_spans(text: str) -> str:
    def read_span(span: Span, written: str) -> str | None:
        parts = span.parts
        kind = span.kind
        if kind == "url":
            return read_address(parts["host"] + parts.get("path", "").rstrip("/"))
        if kind == "email":
            return f"{read_address(parts['user'])} at {read_address(parts['domain'])}"
        if kind == "phone":
            return _phone(span)
        if kind == "date":
            return f"{parts['year']}年{parts['month']}月{parts['day']}日"
        if kind == "time":
            return _time(span, bool(_PERIOD_BEFORE.search(text, 0, span.start)))
        if kind == "score":
            return f"{parts['left']}対{parts['right']}"
        if kind == "currency":
            return _currency(span)
        if kind == "range":
            word = _unit_word(parts["unit"]) if "unit" in parts else ""
            return None if word is None else f"{parts['low']}から{parts['high']}{word}"
        if kind == "decade":
            return parts["number"] + "年代"
        if kind == "numero":
            return "ナンバー" + parts["number"]
        if kind == "unit":
            word = _unit_word(parts["unit"])
            if word is None:
                return None
            speed = parts["unit"] == "km/h" and not _SPEED_BEFORE.search(text, 0, span.start)
            return ("時速" if speed else "") + parts["number"] + word
        return None  # model numbers: Latin stays for the English g2p

    return rewrite(text, read_span)


_RULES: tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    ("ja_quotes", _QUOTES, ""),
    ("ja_tilde_range", _TILDE_RANGE, "から"),
    ("ja_tilde_between", _TILDE_BETWEEN, "から"),
    ("ja_tilde_long", _TILDE_LONG, "ー"),
    ("ja_tilde", _TILDE_LEFT, ""),
    ("ja_long_vowels", _LONG_VOWELS, "ー"),
    ("ja_score", _SCORE, r"\1対\2"),
    ("ja_below_zero", _BELOW_ZERO, r"マイナス\1度"),
    ("ja_phone", _PHONE, lambda m: _digit_groups(m.group(0).split("-"))),
)


def _read(text: str, fired: list[str]) -> str:
    for name, pattern, replacement in _RULES:
        rewritten = pattern.sub(replacement, text)
        if rewritten != text:
            fired.append(name)
        text = rewritten
    text = _read_spans(text)
    rewritten = _GROUPED.sub(lambda m: m.group(0).replace(",", ""), text)
    if rewritten != text:
        fired.append("ja_grouped_number")
    return rewritten


def read(text: str) -> str:
    """``text`` with quote marks, tildes and the shared spans rewritten for OpenJTalk."""
    return _read(text, [])


def rules_matched(text: str) -> tuple[str, ...]:
    """Names of the Japanese-only rules that change ``text`` (shared span kinds not included)."""
    return fired_rules(_read, text)
