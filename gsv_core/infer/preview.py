"""The text as it will be read: each segment's normalised text, before any model runs.

The model speaks what the text front end makes of the text, not what was typed: numbers,
units, dates and Latin words are rewritten first (``gsv_core.text.readings`` with
``readings="improved"``, or upstream's cleaner alone with ``"upstream"``). Showing that
rewrite before generating lets a user see a misreading ("5000mAh" read as "五千米") and fix
the text, instead of hearing it after a render. The segments and their normalised text are
the ones the engine computes (``split_segments`` then the cleaner), without BERT, so a preview
costs only the text front end.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SegmentReading", "reading_preview"]


@dataclass(frozen=True)
class SegmentReading:
    """One segment: what was typed and what will be read."""

    text: str  # the segment as cut from the input (after readings when improved)
    reading: str  # its normalised text, as the phones spell it
    spoken: bool  # False: only marks or unknown symbols, so the engine leaves it out


def reading_preview(text: str, language_mode: str, cut_method: str,
                    readings: str) -> list[SegmentReading]:
    """The segments of ``text`` and how each will be read (empty text: no segments).

    Raises:
        ConfigError: an unknown language mode, cut method or readings mode.
    """
    from gsv_core.infer.options import check_language
    from gsv_core.infer.readable import is_spoken
    from gsv_core.infer.segments import clean_segments, split_reading_language, split_segments

    if not text or not text.strip():
        return []
    mode = check_language(language_mode, "text_language")
    segments = split_segments(text, mode, cut_method, readings=readings)
    read_in = split_reading_language(text, mode, readings)  # spans read once, as the engine
    return [SegmentReading(cleaned.text, cleaned.norm_text, is_spoken(cleaned.phone_ids))
            for cleaned in clean_segments(segments, mode, readings=readings, read_in=read_in)]
