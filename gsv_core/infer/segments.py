"""Target text → segments → phones and phone-level BERT features, as upstream prepares them.

Upstream's ``TextPreprocessor.pre_seg_text`` / ``preprocess`` (``TTS_infer_pack``, 48b1a01),
the path its api_v2 uses:

1. strip line breaks at both ends; if the text does not start with a mark and its first
   clause is shorter than 4 characters, prepend "。" ("." in ``en``), so a very short opening
   is not swallowed;
2. cut with ``cut0``…``cut5``; repeated line breaks, blank and punctuation-only pieces and
   the merging of segments under 5 characters are ``gsv_core.text.cut_text`` (X-2, X-3, X-4);
3. end every segment with a mark ("。", or "." in ``en``) when it does not end with one;
4. split segments over 510 characters (BERT's window) at marks, else every 510 characters;
5. phones + BERT per segment (``phones_and_features``: real BERT for Chinese runs only,
   zeros otherwise); a segment whose normalised text is empty is dropped.

With ``readings="improved"`` the spans are read once, on the whole text before the cut
(step 2 must not cut "www.example.com" at its dots): in the mode's language, or in ``auto``
each stretch in its own (``bert_align.read_improved``). ``segment_features(..., read_in=...)``
then skips the cleaner's second read of every segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gsv_core.errors import ConfigError, TextError
from gsv_core.text import PolyphoneBackend, cut_text
from gsv_core.text.bert_align import (
    PhoneFeatureExtractor,
    clean_segment,
    features_of_runs,
    read_improved,
    reading_language,
)
from gsv_core.text.cleaner import CleanedText
from gsv_core.text.readings import check_readings
from gsv_core.text.readings.mixed import AUTO_MODES

__all__ = ["BERT_MAX_CHARS", "END_MARKS", "CleanedSegment", "Segment", "clean_segments",
           "segment_features", "segments_with_bert", "split_reading_language", "split_segments"]

# Upstream's ``splits``: a segment ending in one of these needs no added full stop.
END_MARKS = frozenset("，。？！,.?!~:：—…")
SHORT_OPENING_CHARS = 4  # a first clause shorter than this gets a leading full stop
BERT_MAX_CHARS = 510  # BERT's 512 positions less [CLS] and [SEP]
_BIG_SPLIT_MARKS = re.compile(r"(?<=[，。？！,.?!~:：—…；;])")


@dataclass(frozen=True)
class Segment:
    """One piece of target text ready for the GPT: its text, phones and BERT features."""

    text: str
    phone_ids: torch.Tensor  # [T] int64
    bert: torch.Tensor  # [1024, T] float32
    norm_text: str


@dataclass(frozen=True)
class CleanedSegment:
    """One piece of target text after the text front end, before BERT: what decides whether
    it is kept (``phone_ids``, ``norm_text``) is known here."""

    text: str
    runs: tuple[tuple[CleanedText, str], ...]  # (cleaned run, its language)

    @property
    def phone_ids(self) -> tuple[int, ...]:
        return tuple(i for cleaned, _ in self.runs for i in cleaned.phone_ids)

    @property
    def norm_text(self) -> str:
        return "".join(cleaned.norm_text for cleaned, _ in self.runs)


def _full_stop(language: str) -> str:
    return "." if language == "en" else "。"


def _first_clause(text: str) -> str:
    return re.split("[" + re.escape("".join(sorted(END_MARKS))) + "]", text)[0].strip()


def _split_big(text: str) -> list[str]:
    """Pieces of at most BERT_MAX_CHARS characters, cut after marks where possible."""
    pieces, current = [], ""
    for part in _BIG_SPLIT_MARKS.split(text):
        while len(part) > BERT_MAX_CHARS:  # one clause longer than BERT's window
            pieces += [current] if current else []
            current = ""
            pieces.append(part[:BERT_MAX_CHARS])
            part = part[BERT_MAX_CHARS:]
        if len(current) + len(part) > BERT_MAX_CHARS:
            pieces.append(current)
            current = ""
        current += part
    return [p for p in [*pieces, current] if p]


def split_reading_language(text: str, language: str, readings: str) -> str | None:
    """The language ``split_segments`` reads the spans of ``text`` in: None with upstream
    readings (nothing is read), the mode itself (``auto``, ``auto_yue``) when each stretch
    is read in its own language. Pass it to ``segment_features(read_in=...)``.

    Raises:
        ConfigError: ``readings`` is not a readings mode.
    """
    if check_readings(readings) != "improved":
        return None
    mode = language.strip().lower()
    return mode if mode in AUTO_MODES else reading_language(text, language)


def split_segments(text: str, language: str, cut_method: str,
                   readings: str = "upstream") -> list[str]:
    """The segment texts synthesised one after another (possibly none: X-4).

    With ``readings="improved"`` the spans are read (``bert_align.read_improved``) before
    the cut, so "www.example.com" or "3:30 p.m." is not cut at its dots; the segments then
    hold the read text, which reading again leaves as it is.

    Raises:
        TextError: the text is empty (or only white space).
        ConfigError: an unknown cut method.
    """
    if not isinstance(text, str) or not text.strip():
        raise TextError("The text to synthesise is empty.", "Type the text to speak.")
    if split_reading_language(text, language, readings) is not None:
        text = read_improved(text, language)
    try:
        text = text.strip("\n")
        stop = _full_stop(language)
        if text[0] not in END_MARKS and len(_first_clause(text)) < SHORT_OPENING_CHARS:
            text = stop + text
        segments = []
        for segment in cut_text(text, cut_method):
            if segment[-1] not in END_MARKS:
                segment += stop
            segments += _split_big(segment) if len(segment) > BERT_MAX_CHARS else [segment]
    except TextError as exc:  # an unknown cut method: an option, so a ConfigError
        raise ConfigError(f"cut_method: {exc.message}", exc.advice) from exc
    return segments


def clean_segments(texts: Sequence[str], language: str,
                   polyphones: PolyphoneBackend | None = None, readings: str = "upstream", *,
                   read_in: str | None = None) -> list[CleanedSegment]:
    """The text front end of each segment (no BERT), as ``segment_features`` runs it.

    ``read_in``: the language ``split_segments`` already read these texts' spans in
    (``split_reading_language``); a segment read in it is not read again. None: read them.
    """
    return [CleanedSegment(text, tuple(clean_segment(
        text, language, polyphones=polyphones, readings=readings,
        spans_read=_was_read(text, language, read_in))))
        for text in texts]


def _was_read(text: str, language: str, read_in: str | None) -> bool:
    """Whether ``split_segments`` read this segment already (``read_in`` as in
    ``clean_segments``): in an auto mode it read every stretch in its own language."""
    if read_in is None:
        return False
    return read_in in AUTO_MODES or reading_language(text, language) == read_in


def segments_with_bert(cleaned: Sequence[CleanedSegment],
                       bert: PhoneFeatureExtractor | None) -> list[Segment]:
    """The BERT features of cleaned segments; segments that clean to nothing are dropped.

    An extractor with ``phone_features_batch`` (``BertFeatures``) gets every segment's Chinese
    runs in batched forwards instead of one forward per run.
    """
    all_features = features_of_runs([c.runs for c in cleaned], bert)
    segments = []
    for segment, features in zip(cleaned, all_features, strict=True):
        if not features.phone_ids or not features.norm_text:
            continue
        segments.append(Segment(text=segment.text,
                                phone_ids=torch.tensor(features.phone_ids, dtype=torch.long),
                                bert=features.features.float(), norm_text=features.norm_text))
    return segments


def segment_features(texts: Sequence[str], language: str,
                     bert: PhoneFeatureExtractor | None,
                     polyphones: PolyphoneBackend | None = None,
                     readings: str = "upstream", *, read_in: str | None = None
                     ) -> list[Segment]:
    """Phones and BERT features of each segment; segments that clean to nothing are dropped:
    ``clean_segments`` then ``segments_with_bert``.

    ``readings`` goes to the cleaner (``"upstream"`` or ``"improved"``); ``read_in`` as in
    ``clean_segments``.
    """
    return segments_with_bert(clean_segments(texts, language, polyphones, readings,
                                             read_in=read_in), bert)
