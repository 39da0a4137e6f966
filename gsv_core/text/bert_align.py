"""Phones and phone-level BERT features for one inference segment of mixed text.

Upstream's ``get_phones_and_bert`` (``GPT_SoVITS/inference_webui.py``): split
the text into language runs, clean each run, and give every phone a 1024-dim
feature — Chinese runs from the BERT model (each character's hidden state
repeated ``word2ph`` times), every other language zeros. A segment with fewer
than six phones is cleaned again with a leading "." so the model gets enough
context, as upstream does.

The BERT extractor is ``gsv_core.features.BertFeatures`` (loaded by the caller
from its local folder); without one, Chinese runs get zeros too, and
``PhoneFeatures.bert_used`` says so.

``readings="improved"`` rewrites spans (URLs, units, scores…) with
``readings.read_spans`` on the whole segment BEFORE the language split, so a URL
inside Chinese text becomes Latin words and Hanzi that the split then routes to the
English and Mandarin g2p. The reading language is the mode's (``all_zh``/``zh`` → zh…);
in ``auto``/``auto_yue`` each stretch of the segment is read in its own language
(``readings.mixed.read_mixed``: "Meet me at 下午3:30 on 2023年7月4日." reads the time
and the date in Mandarin, the rest in English), see ``read_improved``.
In improved mode ``all_zh`` also splits Latin runs that are not plain ASCII
(full-width letters, accents) out as English, like ``zh``. The runs are then cleaned
with upstream's readings: their spans are words already, and an English word inside
Chinese text keeps upstream's English reading.
``"upstream"`` (the default here) is upstream's reading, byte for byte.

``spans_read=True`` says the caller has read the spans already, as ``read_improved``
does (``gsv_core.infer.segments`` reads the whole text before cutting it, so
a URL is not cut at its dots): the read is skipped, everything else (the unknown-mode
check, the all_zh routing of Latin runs to English) stays. Reading read text again leaves
its phones as they are, so the flag saves the second pass over every segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gsv_core.text.cleaner import CleanedText, clean_text
from gsv_core.text.language_split import LANGUAGE_MODES, split_by_language
from gsv_core.text.polyphones import PolyphoneBackend
from gsv_core.text.readings import check_readings, read_spans
from gsv_core.text.readings.mixed import AUTO_MODES, read_mixed, split_read_text

if TYPE_CHECKING:
    import torch

__all__ = ["BERT_DIM", "BatchPhoneFeatureExtractor", "PhoneFeatures", "clean_runs",
           "clean_segment", "features_of_runs", "phones_and_features",
           "phones_and_features_batch", "read_improved", "reading_language"]

BERT_DIM = 1024  # hidden size of chinese-roberta-wwm-ext-large
_MIN_PHONES = 6
_LATIN_WORD = re.compile(r"[A-Za-z]+")


class PhoneFeatureExtractor(Protocol):
    """What we need from ``gsv_core.features.BertFeatures``."""

    def phone_features(self, text: str, word2ph: Sequence[int]) -> torch.Tensor: ...


class BatchPhoneFeatureExtractor(PhoneFeatureExtractor, Protocol):
    """An extractor that also takes several texts in one call (``BertFeatures`` does)."""

    def phone_features_batch(self, texts: Sequence[str], word2phs: Sequence[Sequence[int]]
                             ) -> list[torch.Tensor]: ...


@dataclass(frozen=True)
class PhoneFeatures:
    """Phones of a segment and their features.

    phones: v2 symbols of all runs, in order.
    phone_ids: their embedding indices.
    features: float32 tensor [1024, len(phones)].
    norm_text: the normalised text of all runs, joined.
    bert_used: True when at least one Chinese run got real BERT features.
    """

    phones: tuple[str, ...]
    phone_ids: tuple[int, ...]
    features: torch.Tensor
    norm_text: str
    bert_used: bool


def _run_features(
    cleaned: CleanedText, language: str, bert: PhoneFeatureExtractor | None
) -> tuple[torch.Tensor, bool]:
    import torch

    if language == "zh" and bert is not None and cleaned.word2ph is not None:
        return bert.phone_features(cleaned.norm_text, cleaned.word2ph).float(), True
    return torch.zeros(BERT_DIM, len(cleaned.phones), dtype=torch.float32), False


def phones_and_features(
    text: str, mode: str, bert: PhoneFeatureExtractor | None = None, *,
    polyphones: PolyphoneBackend | None = None, readings: str = "upstream",
    spans_read: bool = False,
) -> PhoneFeatures:
    """Clean ``text`` in language ``mode`` (see ``language_split``) and align features.

    Args:
        text: one inference segment (see ``splitting.cut_text``).
        mode: ``auto``, ``zh``, ``all_ja``… (``language_split.LANGUAGE_MODES``).
        bert: a loaded BERT extractor, or None for zeros everywhere.
        polyphones: the Mandarin polyphone reader; None reads with pypinyin.
        readings: ``"upstream"`` or ``"improved"`` (see the module docstring).
        spans_read: the caller has read the spans already (see the module docstring).
    """
    runs = _cleaned_runs(text, mode, polyphones, check_readings(readings), spans_read)
    return _assemble(runs, [_run_features(cleaned, language, bert) for cleaned, language in runs])


def phones_and_features_batch(
    texts: Sequence[str], mode: str, bert: BatchPhoneFeatureExtractor | None = None, *,
    polyphones: PolyphoneBackend | None = None, readings: str = "upstream",
    spans_read: bool | Sequence[bool] = False,
) -> list[PhoneFeatures]:
    """:func:`phones_and_features` of several segments, with one batched BERT call.

    The phones are exactly those of ``phones_and_features``; the Chinese runs' features come
    from ``bert.phone_features_batch`` (equal up to float rounding, see
    ``BertFeatures.phone_features_batch``), so a request's segments share BERT forwards.
    ``spans_read``: one flag for every text, or one per text.
    """
    check_readings(readings)
    flags = ([spans_read] * len(texts) if isinstance(spans_read, bool) else list(spans_read))
    if len(flags) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(flags)} spans_read flags")
    return features_of_runs([_cleaned_runs(text, mode, polyphones, readings, read)
                             for text, read in zip(texts, flags, strict=True)], bert)


def clean_segment(text: str, mode: str, *, polyphones: PolyphoneBackend | None = None,
                  readings: str = "upstream", spans_read: bool = False
                  ) -> list[tuple[CleanedText, str]]:
    """The text front end of :func:`phones_and_features` alone: the runs of ``text``
    cleaned (a segment under six phones cleaned again with a leading "."), no BERT.

    Why apart: a streamed request needs the phones of a segment (is anything spoken?) before
    it needs its BERT features; :func:`features_of_runs` adds them later, in one batch.
    """
    return _cleaned_runs(text, mode, polyphones, check_readings(readings), spans_read)


def features_of_runs(segments: Sequence[Sequence[tuple[CleanedText, str]]],
                     bert: PhoneFeatureExtractor | None) -> list[PhoneFeatures]:
    """:class:`PhoneFeatures` of cleaned segments (:func:`clean_segment`): an extractor with
    ``phone_features_batch`` gets every segment's Chinese runs in one call, another one run
    at a time (as :func:`phones_and_features`)."""
    if bert is None or not hasattr(bert, "phone_features_batch"):
        return [_assemble(runs, [_run_features(cleaned, language, bert)
                                 for cleaned, language in runs]) for runs in segments]
    wanted = [(cleaned.norm_text, cleaned.word2ph)
              for runs in segments for cleaned, language in runs
              if _has_bert(cleaned, language, bert)]
    computed = iter(bert.phone_features_batch([t for t, _ in wanted], [w for _, w in wanted])
                    if wanted else [])
    results = []
    for runs in segments:
        features = [(next(computed).float(), True) if _has_bert(cleaned, language, bert)
                    else _run_features(cleaned, language, None) for cleaned, language in runs]
        results.append(_assemble(runs, features))
    return results


def _has_bert(cleaned: CleanedText, language: str, bert: object | None) -> bool:
    return language == "zh" and bert is not None and cleaned.word2ph is not None


def _cleaned_runs(text: str, mode: str, polyphones: PolyphoneBackend | None, readings: str,
                  spans_read: bool = False) -> list[tuple[CleanedText, str]]:
    """Each language run of ``text`` cleaned; a segment with fewer than six phones is cleaned
    again with a leading "." (upstream)."""
    runs = clean_runs(text, mode, polyphones=polyphones, readings=readings,
                      spans_read=spans_read)
    if sum(len(cleaned.phones) for cleaned, _ in runs) < _MIN_PHONES:
        runs = clean_runs("." + text, mode, polyphones=polyphones, readings=readings,
                          spans_read=spans_read)
    return runs


def read_improved(text: str, mode: str) -> str:
    """``text`` with its spans read (``readings="improved"``) for language ``mode``.

    A single-language mode reads all of it in the mode's language (``reading_language``);
    ``auto``/``auto_yue`` read each stretch in its own (``readings.mixed``), so a Chinese
    time inside an English sentence is read with Mandarin rules and the other way round.
    """
    language = reading_language(text, mode)
    if mode.strip().lower() in AUTO_MODES:
        return read_mixed(text, mode.strip().lower(), language)
    return read_spans(text, language)


def reading_language(text: str, mode: str) -> str:
    """The language improved readings read ``text`` in under language ``mode``; in the
    auto modes its dominant one (each stretch is then read in its own: ``read_improved``).

    The mode's language (``all_zh``/``zh`` → zh, ``en`` → en…); for ``auto``/``auto_yue``
    the language with the most words in ``text``, counting an English word (a Latin
    run) as one and each Han, kana or Hangul character as one, since one such character
    carries about a word ("我用iPhone拍照" → zh, "I love 北京 at 3:30 p.m." → en).
    """
    mode = mode.strip().lower()
    if mode not in ("auto", "auto_yue"):
        return mode.removeprefix("all_")
    runs = split_by_language(text, mode)
    counts: dict[str, int] = {}
    for run in runs:
        words = (len(_LATIN_WORD.findall(run.text)) if run.language == "en"
                 else sum(1 for char in run.text if char.isalpha() and not char.isascii()))
        counts[run.language] = counts.get(run.language, 0) + words
    best = max(counts, key=counts.__getitem__, default="en")
    if not counts.get(best):  # no words ("123"): the split's own language for it
        return runs[0].language if runs else "en"
    return best


def clean_runs(text: str, mode: str, *, polyphones: PolyphoneBackend | None = None,
               readings: str = "upstream", spans_read: bool = False
               ) -> list[tuple[CleanedText, str]]:
    """``text`` split by language ``mode`` and each run cleaned, as (cleaned, language) pairs.

    With ``readings="improved"`` the spans are read first (``read_improved``); the runs
    are then cleaned as upstream does (the spans are already words). In the auto modes the
    digits and marks between two languages go to the run ``read_improved`` read them with
    (``readings.mixed.split_read_text``: "on 2023年" gives the year to the Mandarin
    cleaner). ``spans_read=True`` skips that read (the caller did it) and keeps the rest of
    improved mode; with ``"upstream"`` it changes nothing.

    Raises:
        TextError: unknown mode (Q-5).
        ConfigError: unknown readings mode.
    """
    runs = None
    if check_readings(readings) == "improved":
        normal_mode = mode.strip().lower()
        if normal_mode not in LANGUAGE_MODES:
            split_by_language(text, mode)  # raises the unknown-mode error before any reading
        if not spans_read:
            text = read_improved(text, mode)
        if normal_mode == "all_zh":
            # every Latin run is English, not only plain-ASCII ones
            runs = split_by_language(text, "zh")
        elif normal_mode in AUTO_MODES:
            runs = split_read_text(text, normal_mode, reading_language(text, mode))
    if runs is None:
        runs = split_by_language(text, mode)
    return [(clean_text(run.text, run.language, polyphones=polyphones), run.language)
            for run in runs]


def _assemble(runs: Sequence[tuple[CleanedText, str]],
              features: Sequence[tuple[torch.Tensor, bool]]) -> PhoneFeatures:
    import torch

    phones = [p for cleaned, _ in runs for p in cleaned.phones]
    ids = [i for cleaned, _ in runs for i in cleaned.phone_ids]
    norm_text = "".join(cleaned.norm_text for cleaned, _ in runs)
    stacked = (torch.cat([f for f, _ in features], dim=1) if features
               else torch.zeros(BERT_DIM, 0))
    return PhoneFeatures(tuple(phones), tuple(ids), stacked, norm_text,
                         any(used for _, used in features))
