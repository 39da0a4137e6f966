"""Cut long inference text into segments synthesised one at a time.

The methods are upstream's ``cut0``…``cut5`` (``GPT_SoVITS/inference_webui.py``):

- ``cut0``: no cut.
- ``cut1``: every four sentences.
- ``cut2``: about every 50 characters, at sentence ends.
- ``cut3``: at each Chinese full stop 。.
- ``cut4``: at each English full stop, never between two digits (3.14 stays whole).
- ``cut5``: at every punctuation mark, never a decimal point.

Then, as upstream does before synthesis: repeated line breaks collapse,
blank and punctuation-only segments are dropped, and segments shorter than
five characters are merged into their neighbour. Where upstream fails we do
not: punctuation-only or empty input gives no segments instead of an error
(X-4), and a decimal point never splits a number in any method (X-3).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import pairwise

from gsv_core.errors import TextError

__all__ = ["CUT_METHODS", "MIN_SEGMENT_CHARS", "cut_text"]

MIN_SEGMENT_CHARS = 5  # shorter segments are merged (upstream's threshold)
_CUT2_CHARS = 50
_SENTENCES_PER_CUT1 = 4
# Marks that end a sentence for cut1/cut2.
_SENTENCE_MARKS = frozenset("，。？！,.?!~:：—…")
# Marks cut5 cuts at.
_CUT5_MARKS = frozenset(",.;?!、，。？！;：…")
# A segment made only of these carries nothing to say.
_SILENT = (
    frozenset("!?…,.- \n\t　\"'“”‘’「」『』()（）《》") | _SENTENCE_MARKS | _CUT5_MARKS
)


def _is_decimal_point(text: str, i: int) -> bool:
    inside = 0 < i < len(text) - 1
    return text[i] == "." and inside and text[i - 1].isdigit() and text[i + 1].isdigit()


def _sentences(text: str) -> list[str]:
    """Split after each sentence mark (upstream's ``split``), keeping the mark."""
    text = text.replace("……", "。").replace("——", "，")
    if text[-1] not in _SENTENCE_MARKS:
        text += "。"
    pieces, start = [], 0
    for i, char in enumerate(text):
        if char in _SENTENCE_MARKS and not _is_decimal_point(text, i):
            pieces.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _cut0(text: str) -> list[str]:
    return [text]


def _cut1(text: str) -> list[str]:
    sentences = _sentences(text)
    if len(sentences) <= _SENTENCES_PER_CUT1:
        return [text]
    # Upstream's grouping: the last group absorbs a remainder of up to four sentences.
    starts = [*range(0, len(sentences), _SENTENCES_PER_CUT1)][:-1]
    starts.append(len(sentences))
    return ["".join(sentences[a:b]) for a, b in pairwise(starts)]


def _cut2(text: str) -> list[str]:
    sentences = _sentences(text)
    if len(sentences) < 2:
        return [text]
    segments, current = [], ""
    for sentence in sentences:
        current += sentence
        if len(current) > _CUT2_CHARS:
            segments.append(current)
            current = ""
    if current:
        segments.append(current)
    if len(segments) > 1 and len(segments[-1]) < _CUT2_CHARS:  # short tail joins the last one
        segments[-2:] = [segments[-2] + segments[-1]]
    return segments


def _cut3(text: str) -> list[str]:
    return text.strip("。").split("。")


def _cut4(text: str) -> list[str]:
    return re.split(r"(?<!\d)\.(?!\d)", text.strip("."))


def _cut5(text: str) -> list[str]:
    segments, start = [], 0
    for i, char in enumerate(text):
        if char in _CUT5_MARKS and not _is_decimal_point(text, i):
            segments.append(text[start : i + 1])
            start = i + 1
    if start < len(text):
        segments.append(text[start:])
    return segments


CUT_METHODS: dict[str, Callable[[str], list[str]]] = {
    "cut0": _cut0,
    "cut1": _cut1,
    "cut2": _cut2,
    "cut3": _cut3,
    "cut4": _cut4,
    "cut5": _cut5,
}


def _says_something(segment: str) -> bool:
    return any(char not in _SILENT for char in segment)


def _merge_short(segments: list[str], threshold: int) -> list[str]:
    """Join segments until each has ``threshold`` characters; a short tail joins the last."""
    if len(segments) < 2:
        return segments
    merged, current = [], ""
    for segment in segments:
        current += segment
        if len(current) >= threshold:
            merged.append(current)
            current = ""
    if current:
        if merged:
            merged[-1] += current
        else:
            merged.append(current)
    return merged


def cut_text(text: str, method: str = "cut0") -> list[str]:
    """Cut ``text`` for synthesis; returns the segments in order (possibly none).

    Raises:
        TextError: unknown method name.
    """
    if method not in CUT_METHODS:
        raise TextError(
            f"Unknown text cutting method {method!r}.",
            f"Use one of: {', '.join(CUT_METHODS)}.",
        )
    text = text.strip("\n")
    if not _says_something(text):
        return []
    pieces: list[str] = []
    for line in CUT_METHODS[method](text):
        pieces += re.split(r"\n+", line)
    segments = [piece for piece in pieces if piece.strip() and _says_something(piece)]
    return _merge_short(segments, MIN_SEGMENT_CHARS)
