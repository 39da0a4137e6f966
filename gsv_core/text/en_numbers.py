"""English number words, as the ``inflect`` package spells them.

Upstream's English normaliser calls ``inflect.engine().number_to_words`` and
``ordinal``. Importing inflect takes over a second (its type-checking
decorators), which alone would break our first-call budget, so the subset of
its behaviour that upstream uses is written here: cardinals with and without
"and", the four-digit "year" reading in pairs, ordinal words and ordinal
suffixes — including inflect's punctuation ("one thousand, two hundred").
The unit tests compare this module with inflect itself over wide ranges.
"""

from __future__ import annotations

__all__ = ["cardinal", "ordinal_suffix", "ordinal_words", "paired"]

_UNITS = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_TEENS = (
    "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = (
    "", " thousand", " million", " billion", " trillion", " quadrillion", " quintillion",
    " sextillion", " septillion", " octillion", " nonillion", " decillion",
)  # fmt: skip
# Last-word endings that change in the ordinal (twenty → twentieth, one → first).
_ORDINAL_ENDINGS = (
    ("ty", "tieth"), ("one", "first"), ("two", "second"), ("three", "third"), ("five", "fifth"),
    ("eight", "eighth"), ("nine", "ninth"), ("twelve", "twelfth"),
)  # fmt: skip
_SUFFIXES = {1: "st", 2: "nd", 3: "rd"}


def _below_hundred(tens: int, units: int) -> str:
    if tens == 1:
        return _TEENS[units]
    hyphen = "-" if tens and units else ""
    return f"{_TENS[tens]}{hyphen}{_UNITS[units]}"


def _below_thousand(group: int, andword: str) -> str:
    hundreds, rest = divmod(group, 100)
    tens, units = divmod(rest, 10)
    if not hundreds:
        return _below_hundred(tens, units)
    joiner = f" {andword} " if rest else ""
    return f"{_UNITS[hundreds]} hundred{joiner}{_below_hundred(tens, units)}"


def cardinal(number: int, andword: str = "and") -> str:
    """``number_to_words(number, andword=andword)`` for a non-negative int.

    Groups of three digits are joined by ", "; when the last group is a single
    word it is joined by ``andword`` instead (1005 → "one thousand and five").
    """
    if number < 0:
        raise ValueError("cardinal() takes a non-negative number")
    if number <= 1:
        return ("zero", "one")[number]
    groups: list[int] = []
    while number:
        number, group = divmod(number, 1000)
        groups.append(group)
    if len(groups) > len(_SCALES):
        raise ValueError("number too large to spell")
    words = [
        _below_thousand(group, andword) + _SCALES[scale]
        for scale, group in reversed(list(enumerate(groups)))
        if group
    ]
    last = words[-1]
    if len(words) > 1 and groups[0] and " " not in last:
        # inflect's "comma word" rule: ", five" at the end becomes " and five"
        return _collapse_spaces(f"{', '.join(words[:-1])} {andword} {last}")
    return _collapse_spaces(", ".join(words))


def _collapse_spaces(text: str) -> str:
    # An empty andword leaves double spaces, which inflect collapses.
    return " ".join(text.split())


def paired(number: int) -> str:
    """Read a four-digit number in pairs, as a year: 1987 → "nineteen eighty-seven".

    Equals ``number_to_words(n, andword="", zero="oh", group=2)`` with ", "
    removed, which is how upstream reads 1001–2999 outside round hundreds.
    """
    digits = str(number)
    if len(digits) != 4:
        raise ValueError("paired() reads four-digit numbers")
    words = []
    for pair in (digits[:2], digits[2:]):
        tens, units = int(pair[0]), int(pair[1])
        if tens:
            words.append(_below_hundred(tens, units))
        else:
            words.append(f"oh {_UNITS[units]}" if units else "oh oh")
    return " ".join(words)


def ordinal_words(words: str) -> str:
    """Turn number words into ordinal words: "twenty-one" → "twenty-first"."""
    for ending, replacement in _ORDINAL_ENDINGS:
        if words.endswith(ending):
            return words[: -len(ending)] + replacement
    return words + "th"


def ordinal_suffix(digits: str) -> str:
    """Append the ordinal suffix to a digit string: "22" → "22nd", "13" → "13th"."""
    number = int(digits)
    if number % 100 in (11, 12, 13):
        return digits + "th"
    return digits + _SUFFIXES.get(number % 10, "th")
