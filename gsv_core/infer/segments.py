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
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gsv_core.errors import ConfigError, TextError
from gsv_core.text import PolyphoneBackend, cut_text, phones_and_features
from gsv_core.text.bert_align import (
    PhoneFeatureExtractor,
    phones_and_features_batch,
    reading_language,
)
from gsv_core.text.readings import check_readings, read_spans

__all__ = ["BERT_MAX_CHARS", "END_MARKS", "Segment", "segment_features", "split_segments"]

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


def split_segments(text: str, language: str, cut_method: str,
                   readings: str = "upstream") -> list[str]:
    """The segment texts synthesised one after another (possibly none: X-4).

    With ``readings="improved"`` the spans are read (``readings.read_spans``) before the cut,
    so "www.example.com" or "3:30 p.m." is not cut at its dots; the segments then hold the
    read text, which reading again leaves as it is.

    Raises:
        TextError: the text is empty (or only white space).
        ConfigError: an unknown cut method.
    """
    if not isinstance(text, str) or not text.strip():
        raise TextError("The text to synthesise is empty.", "Type the text to speak.")
    if check_readings(readings) == "improved":
        text = read_spans(text, reading_language(text, language))
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


def segment_features(texts: Sequence[str], language: str,
                     bert: PhoneFeatureExtractor | None,
                     polyphones: PolyphoneBackend | None = None,
                     readings: str = "upstream") -> list[Segment]:
    """Phones and BERT features of each segment; segments that clean to nothing are dropped.

    ``readings`` goes to ``phones_and_features`` (``"upstream"`` or ``"improved"``).

    An extractor with ``phone_features_batch`` (``BertFeatures``) gets every segment's Chinese
    runs in batched forwards instead of one forward per run.
    """
    if bert is not None and hasattr(bert, "phone_features_batch"):
        all_features = phones_and_features_batch(texts, language, bert, polyphones=polyphones,
                                                 readings=readings)
    else:
        all_features = [phones_and_features(text, language, bert, polyphones=polyphones,
                                            readings=readings) for text in texts]
    segments = []
    for text, features in zip(texts, all_features, strict=True):
        if not features.phone_ids or not features.norm_text:
            continue
        segments.append(Segment(text=text,
                                phone_ids=torch.tensor(features.phone_ids, dtype=torch.long),
                                bert=features.features.float(), norm_text=features.norm_text))
    return segments
