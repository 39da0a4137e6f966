"""English readings: shared spans and English-only spans → words the en cleaner reads.

Upstream's English normaliser (``en_normalize``) reads "3:30 p.m." as "three
thirty a.m. p.m.", "TED2024" as "T E Dtwenty twenty-four", "$4.2B" as "four
dollars and twenty cents B", "1,234" as "twelve thirty-four" and drops URLs'
punctuation so their words run together. Here each such span is replaced by
plain words before that normaliser runs, so it has no digits or symbols left to
misread; text no rule matches is left as it is.

Order: English-only rules that must see the raw text (versions, abbreviations),
then the shared spans (``shared.rewrite``: URLs, e-mail, phones, dates, times,
scores, currencies, ranges, decades, "No. 1", units, model numbers), then
English-only rules for what is left (hours with a.m./p.m. but no minutes,
"4K"/"5G", "50/50", "1,234", "&", acronyms said as words). The words come from
``data/en_*.json``; numbers are spelled with ``en_numbers`` as upstream's do.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gsv_core.text.en_numbers import cardinal, ordinal_words, paired
from gsv_core.text.readings.shared import Span, fired_rules, load_table, rewrite

__all__ = ["read", "read_address", "read_number", "read_year", "rules_matched"]

_UNITS: dict[str, list[str]] = load_table("en_units")["units"]
_CURRENCY_TABLE = load_table("en_currencies")
_CURRENCIES: dict[str, list[str]] = _CURRENCY_TABLE["currencies"]
_SCALES: dict[str, str] = _CURRENCY_TABLE["scales"]
_ABBREVIATIONS = load_table("en_abbreviations")
_WORDS = load_table("en_words")
_ACRONYMS: dict[str, str] = _WORDS["acronyms"]
_SPELLED = frozenset(_WORDS["spelled"])
_NAMED: dict[str, str] = _WORDS["named"]
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_DIGIT_NAMES = ("oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# What each URL/e-mail separator is called.
_SEPARATORS = {".": "dot", "/": "slash", "-": "dash", "_": "underscore", ":": "colon",
               "?": "question mark", "=": "equals", "&": "and", "#": "hash", "+": "plus",
               "~": "tilde", "%": "percent"}


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


# --- numbers ------------------------------------------------------------------

def read_number(number: str) -> str:
    """Words of an unsigned decimal string as upstream's English rules spell them.

    "1000" → "one thousand", "4.2" → "four point two", "0.75" → "zero point seven five";
    no "and" and no commas inside a number (inflect's "one thousand, two hundred" would put
    a pause in the middle of it).
    """
    whole, _, fraction = number.replace(",", "").partition(".")
    words = cardinal(int(whole or "0"), andword="").replace(",", "")
    if fraction:
        words += " point " + " ".join(_DIGIT_NAMES[int(d)] if d != "0" else "zero"
                                      for d in fraction)
    return words


def read_year(number: str) -> str:
    """A year or a four-digit model number in pairs: 1987 → "nineteen eighty-seven".

    Round thousands and 2001–2009 read as upstream reads years ("two thousand five");
    round hundreds as "nineteen hundred"; anything not four digits as a cardinal.
    """
    value = int(number)
    if len(number) != 4 or value < 1000:
        return read_number(number)
    if value % 1000 == 0:
        return read_number(number)
    if value % 100 == 0:
        return cardinal(value // 100) + " hundred"
    if 2000 < value < 2010:
        return "two thousand " + cardinal(value % 100)
    return paired(value)


def _plural_decade(words: str) -> str:
    # "nineteen ninety" → "nineteen nineties"; "nineteen hundred" → "nineteen hundreds".
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}".strip()


# --- readers of the shared spans ------------------------------------------------

def _spell_token(token: str) -> str:
    """One piece of a URL or e-mail address: a word, a spelled token, or digits."""
    lower = token.lower()
    if lower in _NAMED:
        return _NAMED[lower]
    if token.isdigit():
        return " ".join(_DIGIT_NAMES[int(d)] for d in token) if len(token) > 4 else read_year(token)
    if lower in _SPELLED or not re.search("[aeiouy]", lower):
        return " ".join(lower.upper())
    return lower


def read_address(address: str) -> str:
    """A host, path or e-mail part in English words.

    "github.com/a-b" → "git hub dot com slash a dash b".

    Used for Japanese and Korean text too, whose Latin runs the mixed split sends to the
    English g2p.
    """
    pieces = re.findall(r"[A-Za-z]+|\d+|[^A-Za-z\d]", address)
    words = [_SEPARATORS.get(p, "") if len(p) == 1 and not p.isalnum() else _spell_token(p)
             for p in pieces]
    return " ".join(w for w in words if w)


def _url(span: Span) -> str:
    # The scheme is not read: people say "example dot com", not "h t t p s colon…".
    path = span.parts.get("path", "").rstrip("/")
    return read_address(span.parts["host"] + path)


def _email(span: Span) -> str:
    return f"{read_address(span.parts['user'])} at {read_address(span.parts['domain'])}"


def _phone(span: Span) -> str:
    groups = [" ".join(_DIGIT_NAMES[int(d)] for d in g) for g in span.parts["groups"].split()]
    return ("plus " if span.parts.get("plus") else "") + ", ".join(groups)


def _date(span: Span) -> str:
    month = _MONTHS[int(span.parts["month"]) - 1]
    day = ordinal_words(cardinal(int(span.parts["day"])))
    return f"{month} {day}, {read_year(span.parts['year'])}"


def _clock(hour: int, minute: int, period: str | None) -> str:
    words = cardinal(hour)
    if minute:
        words += " " + (f"oh {cardinal(minute)}" if minute < 10 else cardinal(minute))
    elif period is None:
        words += " o'clock" if hour <= 12 else " hundred"
    if period is not None:
        words += " A M" if period == "am" else " P M"
    return words


def _time(span: Span) -> str:
    words = _clock(int(span.parts["hour"]), int(span.parts["minute"]), span.parts.get("period"))
    if "second" in span.parts:
        words += f" and {read_number(span.parts['second'])} seconds"
    if "zone" in span.parts:
        words += " " + span.parts["zone"]  # capitals: the cleaner spells them (E S T)
    return words


def _score(span: Span) -> str:
    return f"{read_number(span.parts['left'])} to {read_number(span.parts['right'])}"


def _amount(number: str, scale: str | None) -> tuple[str, bool]:
    """Words of an amount and whether it is exactly one."""
    words = read_number(number)
    if scale:
        words += " " + _SCALES[scale]
    return words, number == "1" and not scale


def _currency(span: Span) -> str | None:
    names = _CURRENCIES.get(span.parts["currency"])
    if names is None:
        return None
    one, many, sub_one, sub_many = names
    number, scale = span.parts["number"], span.parts.get("scale")
    whole, _, cents = number.partition(".")
    if sub_many and not scale and 1 <= len(cents) <= 2:
        cents_value = int(cents.ljust(2, "0"))
        whole_words = f"{read_number(whole)} {one if whole == '1' else many}"
        cents_words = f"{cardinal(cents_value)} {sub_one if cents_value == 1 else sub_many}"
        if int(whole or "0") == 0:
            return cents_words
        return whole_words if cents_value == 0 else f"{whole_words} and {cents_words}"
    words, single = _amount(number, scale)
    return f"{words} {one if single else many}"


def _unit_words(unit: str, number: str) -> str:
    singular, plural = _UNITS[unit]
    return singular if number == "1" else plural


def _range(span: Span) -> str:
    low, high = span.parts["low"], span.parts["high"]
    if "unit" in span.parts:
        return f"{read_number(low)} to {read_number(high)} {_unit_words(span.parts['unit'], high)}"
    if all(len(n) == 4 and n.isdigit() and 1100 <= int(n) <= 2099 for n in (low, high)):
        return f"{read_year(low)} to {read_year(high)}"
    return f"{read_number(low)} to {read_number(high)}"


def _decade(span: Span) -> str:
    number = span.parts["number"]
    if len(number) == 2:
        return _plural_decade(cardinal(int(number)))
    return _plural_decade(read_year(number))


def _numero(span: Span) -> str:
    return "number " + read_number(span.parts["number"])


def _unit(span: Span, singular: bool = False) -> str | None:
    if span.parts["unit"] not in _UNITS:
        return None
    number = span.parts["number"]
    words = _UNITS[span.parts["unit"]][0] if singular else _unit_words(span.parts["unit"], number)
    sign = "minus " if span.parts.get("negative") else ""
    return f"{sign}{read_number(number)} {words}"


def _model_piece(piece: str) -> str:
    if piece.isdigit():
        return read_year(piece)
    if len(piece) == 1:
        return piece.upper()  # "GPT-4o": the letter O, not the word "o"
    return _ACRONYMS.get(piece, piece)


def _model(span: Span) -> str:
    return " ".join(_model_piece(p) for p in span.parts["pieces"].split())


_SPAN_READERS: dict[str, Callable[[Span], str | None]] = {
    "url": _url, "email": _email, "phone": _phone, "date": _date, "time": _time,
    "score": _score, "currency": _currency, "range": _range, "decade": _decade,
    "numero": _numero, "unit": _unit, "model": _model,
}
_SENTENCE_START = re.compile(r"\s*(?:$|[A-Z])")
# "Add 200", "Chapter 3": an ordinary capitalised word and a number is no model number
# (the shared finder takes any); the number rules read it, or the ones after the spans.
_PLAIN_WORD_NUMBER = re.compile(r"[A-Z][a-z]+ \d+")
# A unit after "a"/"an" modifies a noun and stays singular ("a 5000mAh battery").
_ARTICLE_BEFORE = re.compile(r"(?:^|\s)(?:[Aa]|[Aa]n)\s+$")
# A model span cut short by the shared finder ("Python 3" of "Python 3.12", "Over 1" of
# "Over 1,234", "A 4" of "A 4-3 win"): left to the version, grouped-number and decimal rules.
_NUMBER_AFTER = re.compile(r"[.,/:\-]\d")


def _read_spans(text: str) -> str:
    def read_span(span: Span, matched: str) -> str | None:
        if span.kind == "model" and (_NUMBER_AFTER.match(text, span.end)
                                     or _PLAIN_WORD_NUMBER.fullmatch(span.parts["pieces"])):
            return None
        if span.kind == "unit" and _ARTICLE_BEFORE.search(text, 0, span.start):
            words = _unit(span, singular=True)  # "a 65W charger": a sixty-five watt charger
        else:
            words = _SPAN_READERS[span.kind](span)
        # "… at 3 p.m. Then …": the dot of "p.m." also ended the sentence.
        if words is not None and matched.endswith(".") and _SENTENCE_START.match(text, span.end):
            words += "."
        return words

    return rewrite(text, read_span)


# --- English-only rules -----------------------------------------------------------

_VERSION = re.compile(r"(?<![\w.])(?:(?P<v>[vV])(?P<n1>\d+(?:\.\d+)+)|(?P<n2>\d+(?:\.\d+){2,}))"
                      r"(?![\w]|\.\d)")
# A result after a word of winning or losing: "won 102-99", "lost the final 21:19".
_SCORE = re.compile(
    r"(?i)\b(?P<cue>won|lost|beat|beats|defeated|drew|tied|leads?|led|trail(?:s|ed)?|"
    r"scored?|final|victory|win|loss)(?P<gap>(?:\s+[A-Za-z]+){0,2}?\s+)"
    r"(?P<left>\d{1,3})\s?[-–:](?P<right>\d{1,3})(?![\d:\-])")
# "$1.5 million" → the shared currency span's scale ("$1.5M"), so the currency comes last.
_SCALE_WORD = re.compile(r"(?<=\d)\s(thousand|million|billion)\b")
_SCALE_LETTERS = {"thousand": "K", "million": "M", "billion": "B"}
_CURRENCY_SIGN = re.compile(r"[$€£¥₩]\s?\d[\d,]*(?:\.\d+)?\s(?:thousand|million|billion)\b")
# "No. 1." at a sentence end, which the shared numero finder leaves (it could be "No. 1.5").
_NUMERO_END = re.compile(r"(?<![A-Za-z])[Nn]o\.\s?(\d+)(?=\.(?:\s|$))")
_BEFORE_NAME = re.compile(
    rf"(?<![\w.])({_alternation(list(_ABBREVIATIONS['before_name']))})(?=\s+[A-Z])")
_ANYWHERE = re.compile(rf"(?<![\w.])({_alternation(list(_ABBREVIATIONS['anywhere']))})")
_HOUR_PERIOD = re.compile(r"(?<![\d:.,])(\d{1,2})\s?([AaPp])\.?[Mm]\.?(?![A-Za-z])")
_NUMBER_LETTERS = re.compile(r"(?<![\w.,])(\d+)([A-Za-z]{1,2})(?![\w])")
_SLASH_PAIR = re.compile(r"(?<![\d/.,])(\d+)/(\d+)(?![\d/]|\.\d)")
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,]|\.\d)")
# "200 g of flour", "5 m of cable": a one-letter unit after a space, which the shared
# finder takes only when glued to the digits, is a unit when "of" follows.
_UNIT_OF = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)\s(g|m|L)(?=\s+of\b)")
# "1-800-555-0199": a US toll-free or long-distance number ("one, eight hundred, …").
_LONG_DISTANCE = re.compile(r"(?<![\d\-])1-(\d{3})-(\d{3})-(\d{4})(?![\d\-])")
# "March 5, 1990": the day after a month name is an ordinal.
_MONTH_DAY = re.compile(rf"\b({'|'.join(_MONTHS)}|Sept?|Oct|Nov|Dec|Jan|Feb|Mar|Apr|Jun|Jul|Aug)"
                        r"\.? (\d{1,2})(?:st|nd|rd|th)?(?![\d:])")
_SHORT_MONTHS = {m[:3]: m for m in _MONTHS} | {"Sep": "September", "Sept": "September"}
# "20 min", "2 hrs": time abbreviations after a space (the shared finder takes them glued).
_SPACED_TIME = re.compile(r"(?<![\w.,])(\d+(?:\.\d+)?)\s(mins?|hrs?|secs?)(\.?)(?![A-Za-z])")
_TIME_UNITS = {"min": "min", "mins": "min", "hr": "h", "hrs": "h", "sec": "s", "secs": "s"}
_PLUS = re.compile(r"(?<=\d)\+")
_AMPERSAND = re.compile(r"\s*&\s*")
_ACRONYM = re.compile(rf"(?<![\w-])({_alternation(list(_ACRONYMS))})(?![\w-])")
_LETTER_NAMES = {"x": "times", "X": "times"}


def _version(match: re.Match[str]) -> str:
    number = match.group("n1") or match.group("n2")
    words = " point ".join(read_number(part) for part in number.split("."))
    return ("version " if match.group("v") else "") + words


def _score_words(match: re.Match[str]) -> str:
    left, right = read_number(match.group("left")), read_number(match.group("right"))
    return f"{match.group('cue')}{match.group('gap')}{left} to {right}"


def _scale_word(match: re.Match[str]) -> str:
    return _SCALE_WORD.sub(lambda m: _SCALE_LETTERS[m.group(1)], match.group(0))


def _abbreviation(table: dict[str, str]) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        words = table[match.group(1)]
        # "… drinks, etc." ends the sentence with the abbreviation's dot: keep one.
        after = match.string[match.end():]
        return words + "." if not after.strip() or after[:1] == "\n" else words

    return replace


def _hour_period(match: re.Match[str]) -> str:
    hour = int(match.group(1))
    if not 1 <= hour <= 12:
        return match.group(0)
    words = _clock(hour, 0, "am" if match.group(2) in "Aa" else "pm")
    ends_sentence = match.group(0).endswith(".") and _SENTENCE_START.match(
        match.string, match.end())
    return words + "." if ends_sentence else words


def _number_letters(match: re.Match[str]) -> str:
    # "4K", "5G", "3D", "1080p", "3x": the number, then the letters spelled.
    digits, letters = match.group(1), match.group(2)
    if letters in ("st", "nd", "rd", "th", "s"):
        return match.group(0)  # ordinals and plurals: upstream reads them
    spoken = _LETTER_NAMES.get(letters, " ".join(letters.upper()))
    return f"{read_year(digits)} {spoken}"


def _long_distance(match: re.Match[str]) -> str:
    def group(digits: str) -> str:
        if digits.endswith("00") and digits[0] != "0":
            return cardinal(int(digits))  # 800 → "eight hundred", as it is said
        return " ".join(_DIGIT_NAMES[int(d)] for d in digits)

    return "one, " + ", ".join(group(g) for g in match.groups())


def _month_day(match: re.Match[str]) -> str:
    month = _SHORT_MONTHS.get(match.group(1), match.group(1))
    day = int(match.group(2))
    if not 1 <= day <= 31:
        return match.group(0)
    return f"{month} {ordinal_words(cardinal(day))}"


def _spaced_time(match: re.Match[str]) -> str:
    number = match.group(1)
    words = f"{read_number(number)} {_unit_words(_TIME_UNITS[match.group(2)], number)}"
    ends_sentence = match.group(3) and _SENTENCE_START.match(match.string, match.end())
    return words + "." if ends_sentence else words


def _slash_pair(match: re.Match[str]) -> str:
    numerator, denominator = int(match.group(1)), int(match.group(2))
    if numerator < denominator <= 10:
        return match.group(0)  # 3/4: a fraction, as upstream reads it
    return f"{read_number(match.group(1))} {read_number(match.group(2))}"  # 50/50, 24/7


_Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], str]]
_BEFORE_SPANS: tuple[_Rule, ...] = (
    ("en_version", _VERSION, _version),
    ("en_score", _SCORE, _score_words),
    ("en_scale_word", _CURRENCY_SIGN, _scale_word),
    ("en_numero_end", _NUMERO_END, lambda m: "number " + read_number(m.group(1))),
    ("en_title", _BEFORE_NAME, _abbreviation(_ABBREVIATIONS["before_name"])),
    ("en_abbreviation", _ANYWHERE, _abbreviation(_ABBREVIATIONS["anywhere"])),
)
_AFTER_SPANS: tuple[_Rule, ...] = (
    ("en_hour_period", _HOUR_PERIOD, _hour_period),
    ("en_long_distance", _LONG_DISTANCE, _long_distance),
    ("en_month_day", _MONTH_DAY, _month_day),
    ("en_spaced_time", _SPACED_TIME, _spaced_time),
    ("en_number_letters", _NUMBER_LETTERS, _number_letters),
    ("en_slash_pair", _SLASH_PAIR, _slash_pair),
    ("en_unit_of", _UNIT_OF, lambda m: f"{read_number(m.group(1))} "
                                       f"{_unit_words(m.group(2), m.group(1))}"),
    ("en_grouped_number", _GROUPED, lambda m: read_number(m.group(0))),
    ("en_plus", _PLUS, lambda m: " plus"),
    ("en_ampersand", _AMPERSAND, lambda m: " and "),
    ("en_acronym_word", _ACRONYM, lambda m: _ACRONYMS[m.group(1)]),
)
# Text with none of these characters has nothing any rule reads.
_MAYBE = re.compile(r"[\d@&.]|[A-Z]{2}|[A-Za-z][A-Z]")


def _apply(rules: tuple[_Rule, ...], text: str, fired: list[str]) -> str:
    for name, pattern, replace in rules:
        rewritten = pattern.sub(replace, text)
        if rewritten != text:
            fired.append(name)
        text = rewritten
    return text


def _read(text: str, fired: list[str]) -> str:
    if not _MAYBE.search(text):
        return text
    text = _apply(_BEFORE_SPANS, text, fired)
    text = _read_spans(text)
    return _apply(_AFTER_SPANS, text, fired)


def read(text: str) -> str:
    """``text`` with every span a rule matches replaced by English words."""
    return _read(text, [])


def rules_matched(text: str) -> tuple[str, ...]:
    """Names of the English-only rules that change ``text`` (shared span kinds not included)."""
    return fired_rules(_read, text)
