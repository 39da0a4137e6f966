"""Chinese verbalisation of numbers, dates, times, phone numbers and units.

Each rule is a compiled pattern plus the function that rewrites a match. The
rules and their order are those of upstream's ``zh_normalization`` package
(itself from PaddleSpeech), kept as they are so that a pretrained GPT hears the
characters it was trained on, including its quirks (e.g. ``12,800`` reads as
十二,八百 because the comma is not a thousands separator to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["RULES", "num2str", "verbalize_cardinal", "verbalize_digit"]

DIGITS = "零一二三四五六七八九"
# Power of ten of each unit character; 万 and 亿 restart the small units.
_UNITS = ((8, "亿"), (4, "万"), (3, "千"), (2, "百"), (1, "十"))


def verbalize_digit(digits: str, alt_one: bool = False) -> str:
    """Read digit by digit (二零二三); ``alt_one`` reads 1 as 幺, as in phone numbers."""
    text = "".join(DIGITS[int(d)] for d in digits)
    return text.replace("一", "幺") if alt_one else text


def _cardinal_parts(digits: str, use_zero: bool = True) -> list[str]:
    stripped = digits.lstrip("0")
    if not stripped:
        return []
    if len(stripped) == 1:
        if use_zero and len(stripped) < len(digits):
            return [DIGITS[0], DIGITS[int(stripped)]]
        return [DIGITS[int(stripped)]]
    power, unit = next((p, u) for p, u in _UNITS if p < len(stripped))
    head, tail = digits[:-power], digits[-power:]
    return [*_cardinal_parts(head), unit, *_cardinal_parts(tail)]


def verbalize_cardinal(digits: str) -> str:
    """Read an integer string as a Chinese cardinal (1205 → 一千二百零五; 10 → 十)."""
    if not digits:
        return ""
    digits = digits.lstrip("0")
    if not digits:
        return DIGITS[0]
    parts = _cardinal_parts(digits)
    if len(parts) >= 2 and parts[0] == "一" and parts[1] == "十":
        parts = parts[1:]
    return "".join(parts)


def num2str(number: str) -> str:
    """Read an unsigned decimal string (3.20 → 三点二, .5 → 零点五)."""
    integer, _, decimal = number.partition(".")
    if "." in decimal:
        raise ValueError(f"more than one decimal point in {number!r}")
    text = verbalize_cardinal(integer)
    # Trailing zeros are dropped except one (3.200 → 三点二零) — upstream's rule.
    decimal = decimal.rstrip("0") + "0" if decimal.endswith("0") else decimal.rstrip("0")
    if decimal:
        text = (text or DIGITS[0]) + "点" + verbalize_digit(decimal)
    return text


def _sign(text: str, word: str = "负") -> str:
    return word if text else ""


# --- dates and times -------------------------------------------------------

_DATE = re.compile(r"(\d{4}|\d{2})年((0?[1-9]|1[0-2])月)?(((0?[1-9])|((1|2)[0-9])|30|31)([日号]))?")
_DATE2 = re.compile(r"(\d{4})([- /.])(0[1-9]|1[012])\2(0[1-9]|[12][0-9]|3[01])")
_CLOCK = r"([0-1]?[0-9]|2[0-3]):([0-5][0-9])(:([0-5][0-9]))?"
_TIME = re.compile(_CLOCK)
_TIME_RANGE = re.compile(_CLOCK + r"(~|-)" + _CLOCK)


def _date(match: re.Match[str]) -> str:
    year, month, day = match.group(1), match.group(3), match.group(5)
    text = f"{verbalize_digit(year)}年"
    if month:
        text += f"{verbalize_cardinal(month)}月"
    if day:
        text += f"{verbalize_cardinal(day)}{match.group(9)}"
    return text


def _date2(match: re.Match[str]) -> str:
    year, month, day = match.group(1), match.group(3), match.group(4)
    return f"{verbalize_digit(year)}年{verbalize_cardinal(month)}月{verbalize_cardinal(day)}日"


def _clock_part(digits: str) -> str:
    text = num2str(digits.lstrip("0"))
    return DIGITS[0] + text if digits.startswith("0") else text


def _clock(hour: str, minute: str, second: str | None, half_hour: bool) -> str:
    text = f"{num2str(hour)}点"
    if minute.lstrip("0"):
        text += "半" if half_hour else f"{_clock_part(minute)}分"
    if second and second.lstrip("0"):
        text += f"{_clock_part(second)}秒"
    return text


def _time(match: re.Match[str]) -> str:
    minute = match.group(2)
    text = _clock(match.group(1), minute, match.group(4), int(minute) == 30)
    if len(match.groups()) > 5:
        # Upstream decides "半" for the range's end by the *start* minute; kept.
        text += "至" + _clock(match.group(6), match.group(7), match.group(9), int(minute) == 30)
    return text


# --- numbers ---------------------------------------------------------------

_UNIT_PATTERN = (
    r"(%|°C|℃|度|摄氏度|cm2|cm²|cm3|cm³|cm|db|ds|kg|km|m2|m²|m³|m3|ml|m|mm|s)"
)
_SIGNED = r"((-?)((\d+)(\.\d+)?)|(\.(\d+)))"
_TO_RANGE = re.compile(_SIGNED + _UNIT_PATTERN + r"[~]" + _SIGNED + _UNIT_PATTERN)
_TEMPERATURE = re.compile(r"(-?)(\d+(\.\d+)?)(°C|℃|度|摄氏度)")
_MEASURES = (
    ("cm2", "平方厘米"), ("cm²", "平方厘米"), ("cm3", "立方厘米"), ("cm³", "立方厘米"),
    ("cm", "厘米"), ("db", "分贝"), ("ds", "毫秒"), ("kg", "千克"), ("km", "千米"),
    ("m2", "平方米"), ("m²", "平方米"), ("m³", "立方米"), ("m3", "立方米"), ("ml", "毫升"),
    ("m", "米"), ("mm", "毫米"), ("s", "秒"),
)  # fmt: skip
_POWERS = "⁰¹²³⁴⁵⁶⁷⁸⁹ˣʸⁿ"
_POWER_VALUES = "0123456789xyn"
_OPERAND = rf"((-?)((\d+)(\.\d+)?[{_POWERS}]*)|(\.\d+[{_POWERS}]*)|([A-Za-z][{_POWERS}]*))"
_ASMD = re.compile(_OPERAND + r"([\+\-\×÷=])" + _OPERAND)
_ASMD_WORDS = {"+": "加", "-": "减", "×": "乘", "÷": "除", "=": "等于"}
_POWER = re.compile(f"[{_POWERS}]+")
_FRACTION = re.compile(r"(-?)(\d+)/(\d+)")
_PERCENTAGE = re.compile(r"(-?)(\d+(\.\d+)?)%")
_MOBILE = re.compile(r"(?<!\d)((\+?86 ?)?1([38]\d|5[0-35-9]|7[678]|9[89])\d{8})(?!\d)")
_TELEPHONE = re.compile(r"(?<!\d)((0(10|2[1-3]|[3-9]\d{2})-?)?[1-9]\d{6,7})(?!\d)")
_NATIONAL_NUMBER = re.compile(r"(400)(-)?\d{3}(-)?\d{4}")
_RANGE = re.compile(
    r"(?<![\d\+\-\×÷=])((-?)((\d+)(\.\d+)?))[-~]((-?)((\d+)(\.\d+)?))(?![\d\+\-\×÷=])"
)
_NEGATIVE_INTEGER = re.compile(r"(-)(\d+)")
_VERSION = re.compile(r"((\d+)(\.\d+)(\.\d+)?(\.\d+)+)")
_DECIMAL = re.compile(r"(-?)((\d+)(\.\d+))|(\.(\d+))")
_NUMBER = re.compile(r"(-?)((\d+)(\.\d+)?)|(\.(\d+))")
_SERIAL = re.compile(r"\d{3}\d*")
# Measure words after which a number is read as a quantity (两 for 2).
_QUANTIFIERS = (
    "(处|台|架|枚|趟|幅|平|方|堵|间|床|株|批|项|例|列|篇|栋|注|亩|封|艘|把|目|套|段|人|所|朵|匹|张|座|回|场|"
    "尾|条|个|首|阙|阵|网|炮|顶|丘|棵|只|支|袭|辆|挑|担|颗|壳|窠|曲|墙|群|腔|砣|座|客|贯|扎|捆|刀|令|打|手|"
    "罗|坡|山|岭|江|溪|钟|队|单|双|对|出|口|头|脚|板|跳|枝|件|贴|针|线|管|名|位|身|堂|课|本|页|家|户|层|丝|"
    "毫|厘|分|钱|两|斤|担|铢|石|钧|锱|忽|(千|毫|微)克|毫|厘|(公)分|分|寸|尺|丈|里|寻|常|铺|程|"
    "(千|分|厘|毫|微)米|米|撮|勺|合|升|斗|石|盘|碗|碟|叠|桶|笼|盆|盒|杯|钟|斛|锅|簋|篮|盘|桶|罐|瓶|壶|卮|"
    "盏|箩|箱|煲|啖|袋|钵|年|月|日|季|刻|时|周|天|秒|分|小时|旬|纪|岁|世|更|夜|春|夏|秋|冬|代|伏|辈|丸|泡|"
    "粒|颗|幢|堆|条|根|支|道|面|片|张|颗|块|元|(亿|千万|百万|万|千|百)|(亿|千万|百万|万|千|百|美|)元|"
    "(亿|千万|百万|万|千|百|十|)吨|(亿|千万|百万|万|千|百|)块|角|毛|分)"
)
_POSITIVE_QUANTIFIER = re.compile(r"(\d+)([多余几\+])?" + _QUANTIFIERS)


def _to_range(match: re.Match[str]) -> str:
    return match.group(0).replace("~", "至")


def _temperature(match: re.Match[str]) -> str:
    unit = "摄氏度" if match.group(4) == "摄氏度" else "度"
    return f"{_sign(match.group(1), '零下')}{num2str(match.group(2))}{unit}"


def replace_measures(sentence: str) -> str:
    """Spell unit abbreviations (km → 千米); a plain substring replace, as upstream."""
    for abbreviation, word in _MEASURES:
        sentence = sentence.replace(abbreviation, word)
    return sentence


def _asmd(match: re.Match[str]) -> str:
    return match.group(1) + _ASMD_WORDS[match.group(8)] + match.group(9)


def _power(match: re.Match[str]) -> str:
    exponent = "".join(_POWER_VALUES[_POWERS.index(c)] for c in match.group(0))
    return f"的{exponent}次方"


def _fraction(match: re.Match[str]) -> str:
    return f"{_sign(match.group(1))}{num2str(match.group(3))}分之{num2str(match.group(2))}"


def _percentage(match: re.Match[str]) -> str:
    return f"{_sign(match.group(1))}百分之{num2str(match.group(2))}"


def _phone_digits(text: str, separator: str) -> str:
    parts = text.strip("+").split() if separator == " " else text.split(separator)
    return "，".join(verbalize_digit(part, alt_one=True) for part in parts)


def _mobile(match: re.Match[str]) -> str:
    return _phone_digits(match.group(0), " ")


def _telephone(match: re.Match[str]) -> str:
    return _phone_digits(match.group(0), "-")


def _number(match: re.Match[str]) -> str:
    if match.group(5):
        return num2str(match.group(5))
    return f"{_sign(match.group(1))}{num2str(match.group(2))}"


def _range(match: re.Match[str]) -> str:
    first = _NUMBER.sub(_number, match.group(1))
    second = _NUMBER.sub(_number, match.group(6))
    return f"{first}到{second}"


def _negative_integer(match: re.Match[str]) -> str:
    return f"{_sign(match.group(1))}{num2str(match.group(2))}"


def _version(match: re.Match[str]) -> str:
    return "".join("点" if c == "." else num2str(c) for c in match.group(1))


def _positive_quantifier(match: re.Match[str]) -> str:
    approx = "多" if match.group(2) == "+" else (match.group(2) or "")
    number = num2str(match.group(1))
    number = "两" if number == "二" else number
    return f"{number}{approx}{match.group(3)}"


def _serial(match: re.Match[str]) -> str:
    return verbalize_digit(match.group(0), alt_one=True)


def _sub(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> Callable[[str], str]:
    return lambda sentence: pattern.sub(replace, sentence)


def _sub_until_stable(
    pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]
) -> Callable[[str], str]:
    def apply(sentence: str) -> str:
        while pattern.search(sentence):
            sentence = pattern.sub(replace, sentence)
        return sentence

    return apply


# In upstream order: dates before times, ranges before single numbers, and the
# catch-all number reading last.
RULES: tuple[Callable[[str], str], ...] = (
    _sub(_DATE, _date),
    _sub(_DATE2, _date2),
    _sub(_TIME_RANGE, _time),
    _sub(_TIME, _time),
    _sub(_TO_RANGE, _to_range),
    _sub(_TEMPERATURE, _temperature),
    replace_measures,
    _sub_until_stable(_ASMD, _asmd),
    _sub(_POWER, _power),
    _sub(_FRACTION, _fraction),
    _sub(_PERCENTAGE, _percentage),
    _sub(_MOBILE, _mobile),
    _sub(_TELEPHONE, _telephone),
    _sub(_NATIONAL_NUMBER, _telephone),
    _sub(_RANGE, _range),
    _sub(_NEGATIVE_INTEGER, _negative_integer),
    _sub(_VERSION, _version),
    _sub(_DECIMAL, _number),
    _sub(_POSITIVE_QUANTIFIER, _positive_quantifier),
    _sub(_SERIAL, _serial),
    _sub(_NUMBER, _number),
)
