"""Cleaning one clip's label into its ``2-name2text.txt`` row (step 1 of formatting).

As upstream's ``prepare_datasets/1-get-text.py``: a row ``name\\tphones\\tword2ph\\tnorm_text``
per clip (phones space-separated, ``word2ph`` the Python list of phones per character for
Chinese and Cantonese, else ``None``).

Readings (issue 9): ``"upstream"`` cleans as upstream does, byte for byte, including its
``%``→``-`` and ``￥``→``,`` replacements; ``"improved"`` (the default) reads URLs, units,
times… first and reads the Latin words of a Mandarin clip in English (each run its own
phones), so the GPT learns the same phones it will be given at inference.

This module imports no torch: the label worker processes (``label_pool``) load only it and
the text front end.
"""

from __future__ import annotations

from dataclasses import dataclass

from gsv_core.errors import TextError
from gsv_core.infer.readable import SILENT_PHONES
from gsv_core.text import CleanedText, PolyphoneBackend, check_readings, clean_text
from gsv_core.text.bert_align import clean_runs

__all__ = ["ClipText", "clean_clip_text"]

_UPSTREAM_REPLACEMENTS = (("%", "-"), ("￥", ","))  # 1-get-text.py, before clean_text


@dataclass(frozen=True)
class ClipText:
    """The cleaned label of one clip: its row and what its BERT features are made of."""

    name: str
    language: str
    phones: tuple[str, ...]
    word2ph: tuple[int, ...] | None
    norm_text: str
    runs: tuple[tuple[CleanedText, str], ...]   # (cleaned run, language), in order

    @property
    def needs_bert(self) -> bool:
        """Upstream writes BERT files for Mandarin clips only."""
        return self.language == "zh"

    def row(self) -> str:
        """The clip's ``2-name2text.txt`` line (without the newline)."""
        word2ph = "None" if self.word2ph is None else str(list(self.word2ph))
        return f"{self.name}\t{' '.join(self.phones)}\t{word2ph}\t{self.norm_text}"


def clean_clip_text(name: str, text: str, language: str, *, readings: str,
                    polyphones: PolyphoneBackend | None = None) -> ClipText:
    """Clean one label; TextError when it has nothing to read or cannot be a TSV row."""
    mode = check_readings(readings)
    if mode == "upstream" or language != "zh":
        if mode == "upstream":
            for old, new in _UPSTREAM_REPLACEMENTS:
                text = text.replace(old, new)
        cleaned = clean_text(text, language, polyphones=polyphones, readings=mode)
        runs: tuple[tuple[CleanedText, str], ...] = ((cleaned, language),)
    else:
        # "all_zh": every Latin run of a Mandarin label is read in English.
        runs = tuple(clean_runs(text, "all_zh", polyphones=polyphones, readings=mode))
    phones = tuple(p for cleaned, _ in runs for p in cleaned.phones)
    norm_text = "".join(cleaned.norm_text for cleaned, _ in runs)
    counts = [cleaned.word2ph for cleaned, _ in runs]
    word2ph = (tuple(n for c in counts for n in c)  # type: ignore[union-attr]
               if counts and all(c is not None for c in counts) else None)
    if not any(phone not in SILENT_PHONES for phone in phones):   # e.g. "。。。"
        raise TextError("the label has nothing to read (no spoken phones).",
                        "Type the words spoken in the clip, or delete the clip.")
    if "\t" in norm_text or "\n" in norm_text:
        raise TextError("the label contains a tab or a line break.",
                        "Remove it: 2-name2text.txt is a tab-separated file.")
    return ClipText(name, language, phones, word2ph, norm_text, runs)
