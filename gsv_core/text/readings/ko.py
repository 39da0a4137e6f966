"""Korean readings: the shared spans → Hangul (or digits with a counter) that g2pk2 reads.

g2pk2, which upstream's Korean cleaner runs, reads a number followed by a
counter well ("3시 30분" → 세 시 삼십 분, "3,000원" → 삼천 원), but not the
spans of real text: "3:30" gives an unknown ``停`` phone, "5km" is spelled
"오 케이 엠", "010-1234-5678" reads 영 for 0 and "20-25도" reads 이영.

``read`` writes the shared spans either as digits plus the Korean counter g2pk2
already reads (times, dates) or in Sino-Korean numerals it cannot misread
(phone numbers digit by digit with 공 for 0, units and currencies from
``data/ko_units.json``, scores with 대, ranges with 에서). Latin words in URLs are
kept for the English g2p; the marks around them are read in Korean (닷, 슬래시).
"""

from __future__ import annotations

import re
from decimal import Decimal

from gsv_core.text.readings.shared import Span, fired_rules, load_table, rewrite

__all__ = ["read", "rules_matched", "sino_korean"]

_TABLE = load_table("ko_units")
_UNITS: dict[str, str] = _TABLE["units"]
_CURRENCIES: dict[str, str] = _TABLE["currencies"]
_SCALE_POWERS = {"K": 3, "M": 6, "B": 9, "万": 4, "亿": 8}
_ADDRESS: dict[str, str] = _TABLE["address"]
_DIGITS = "영일이삼사오육칠팔구"
_SMALL_UNITS = ((3, "천"), (2, "백"), (1, "십"))
_LARGE_UNITS = ("", "만", "억", "조", "경")
_ADDRESS_PIECE = re.compile(r"[A-Za-z]+|\d+|[^A-Za-z\d]")
# "2:1로 이겼다": a pair that cannot be a clock time (one-digit right side) is a score.
# Korean numbers the shared phone finder does not know: 010-1234-5678, 02-123-4567.
_PHONE = re.compile(r"(?<![\d\-])0\d{1,2}-\d{3,4}-\d{4}(?![\d\-])")
_PAIR = re.compile(r"(?<![\d:])(\d{1,3})\s?[:：]\s?(\d{1,3})(?![\d:])")


def _below_ten_thousand(value: int) -> str:
    words = ""
    for power, unit in _SMALL_UNITS:
        digit = value // 10**power % 10
        if digit:
            words += ("" if digit == 1 else _DIGITS[digit]) + unit  # 십, not 일십
    units = value % 10
    return words + (_DIGITS[units] if units else "")


def sino_korean(number: str) -> str:
    """Sino-Korean numerals of an unsigned decimal string: "25" → 이십오, "10000" → 만.

    "4.5" → 사점오.
    Written without spaces inside the number, as g2pk2 itself spells numerals.
    """
    whole, _, fraction = number.replace(",", "").partition(".")
    value = int(whole or "0")
    if value == 0:
        words = _DIGITS[0]
    else:
        groups = []
        for scale, unit in enumerate(_LARGE_UNITS):
            group = value // 10000**scale % 10000
            if group:
                # 만 alone, not 일만, as Korean says 10000.
                head = "" if group == 1 and scale == 1 else _below_ten_thousand(group)
                groups.append(head + unit)
        words = "".join(reversed(groups))
    if fraction:
        words += "점" + "".join(_DIGITS[int(d)] for d in fraction)
    return words


def _address(address: str) -> str:
    pieces = [_ADDRESS.get(p.lower(), p) for p in _ADDRESS_PIECE.findall(address)]
    return " ".join(p for p in pieces if p.strip())


def _digits(groups: list[str]) -> str:
    # Phone numbers digit by digit, 0 as 공 (as Koreans say 공일공).
    return " ".join("".join("공" if d == "0" else _DIGITS[int(d)] for d in g) for g in groups)


def _amount(number: str, scale: str | None) -> str:
    value = Decimal(number).scaleb(_SCALE_POWERS.get(scale or "", 0))
    return sino_korean(format(value.normalize(), "f"))


def _read_span(span: Span, written: str) -> str | None:
    parts = span.parts
    kind = span.kind
    if kind == "url":
        return _address(parts["host"] + parts.get("path", "").rstrip("/"))
    if kind == "email":
        return f"{_address(parts['user'])} {_ADDRESS['@']} {_address(parts['domain'])}"
    if kind == "phone":
        return ("플러스 " if "plus" in parts else "") + _digits(parts["groups"].split())
    if kind == "date":
        return f"{parts['year']}년 {parts['month']}월 {parts['day']}일"
    if kind == "time":
        words = {"am": "오전 ", "pm": "오후 "}.get(parts.get("period", ""), "")
        words += f"{int(parts['hour'])}시"  # g2pk2 reads the hour in native numerals (세 시)
        if int(parts["minute"]):
            words += f" {int(parts['minute'])}분"
        return words
    if kind == "score":
        return f"{sino_korean(parts['left'])} 대 {sino_korean(parts['right'])}"
    if kind == "currency":
        word = _CURRENCIES.get(parts["currency"])
        return None if word is None else f"{_amount(parts['number'], parts.get('scale'))} {word}"
    if kind == "range":
        unit = _UNITS.get(parts.get("unit", ""), "")
        return f"{sino_korean(parts['low'])}에서 {sino_korean(parts['high'])} {unit}".rstrip()
    if kind == "decade":
        return sino_korean(parts["number"]) + "년대"
    if kind == "numero":
        return "넘버 " + sino_korean(parts["number"])
    if kind == "unit":
        word = _UNITS.get(parts["unit"])
        return None if word is None else f"{sino_korean(parts['number'])} {word}"
    return None  # model numbers: Latin and digits as upstream reads them


def _pair(match: re.Match[str]) -> str:
    left, right = match.group(1), match.group(2)
    if len(right) == 2 and int(left) <= 23 and int(right) <= 59:
        return match.group(0)  # a clock time: the shared time span reads it
    return f"{sino_korean(left)} 대 {sino_korean(right)}"


def _read(text: str, fired: list[str]) -> str:
    rewritten = _PHONE.sub(lambda m: _digits(m.group(0).split("-")), text)
    if rewritten != text:
        fired.append("ko_phone")
    text = rewrite(rewritten, _read_span)
    rewritten = _PAIR.sub(_pair, text)
    if rewritten != text:
        fired.append("ko_score")
    return rewritten


def read(text: str) -> str:
    """``text`` with matched spans read as Korean words g2pk2 pronounces correctly."""
    return _read(text, [])


def rules_matched(text: str) -> tuple[str, ...]:
    """Names of the Korean-only rules that change ``text`` (shared span kinds not included)."""
    return fired_rules(_read, text)
