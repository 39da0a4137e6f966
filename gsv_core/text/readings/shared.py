"""Language-independent span finders for readings (URLs, numbers with units…).

``find_spans(text)`` returns structured matches (``Span``); a language module
turns each into words of its language and leaves the text between spans to the
cleaner. Nothing here knows any language's words; the unit and currency symbols
are read from ``data/units.json`` and ``data/currencies.json``.

Span kinds and their ``parts`` (all values are strings; absent keys are absent):

- ``url``: ``scheme`` ("https", may be absent), ``host`` ("www.example.com"),
  ``path`` ("/index.html", may be absent).
- ``email``: ``user``, ``domain``.
- ``phone``: ``groups`` — the digit groups joined by single spaces
  ("010 62345678", "555 123 4567"); ``plus`` = "1" when it started with "+".
- ``model``: ``pieces`` — letter and digit runs joined by single spaces
  ("TED 2024", "Q 3", "iPhone 15 Pro").
- ``unit``: ``number`` ("5000", "1.5"), ``unit`` — a canonical unit id from
  ``data/units.json`` ("mAh", "km/h", "degF").
- ``currency``: ``number``, ``currency`` (canonical id: "CNY", "USD"…),
  ``scale`` ("K", "M", "B" — absent without a suffix).
- ``range``: ``low``, ``high``; ``unit`` (canonical id) when one follows.
- ``score``: ``left``, ``right``.
- ``time``: ``hour``, ``minute``; ``period`` ("am"/"pm"), ``zone`` ("EST") when given.
- ``date``: ``year``, ``month``, ``day`` (numbers as written, no zero padding
  removed), ``order`` ("mdy", "dmy", "ymd": how it was written).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Span", "find_spans"]


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


def find_spans(text: str) -> list[Span]:
    """All non-overlapping spans in ``text``, left to right (skeleton: none yet)."""
    return []
