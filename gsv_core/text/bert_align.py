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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gsv_core.text.cleaner import CleanedText, clean_text
from gsv_core.text.language_split import split_by_language
from gsv_core.text.polyphones import PolyphoneBackend

if TYPE_CHECKING:
    import torch

__all__ = ["BERT_DIM", "PhoneFeatures", "phones_and_features"]

BERT_DIM = 1024  # hidden size of chinese-roberta-wwm-ext-large
_MIN_PHONES = 6


class PhoneFeatureExtractor(Protocol):
    """What we need from ``gsv_core.features.BertFeatures``."""

    def phone_features(self, text: str, word2ph: Sequence[int]) -> torch.Tensor: ...


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
    polyphones: PolyphoneBackend | None = None,
) -> PhoneFeatures:
    """Clean ``text`` in language ``mode`` (see ``language_split``) and align features.

    Args:
        text: one inference segment (see ``splitting.cut_text``).
        mode: ``auto``, ``zh``, ``all_ja``… (``language_split.LANGUAGE_MODES``).
        bert: a loaded BERT extractor, or None for zeros everywhere.
        polyphones: the Mandarin polyphone reader; None reads with pypinyin.
    """
    result = _clean_runs(text, mode, bert, polyphones)
    if len(result.phones) < _MIN_PHONES:
        result = _clean_runs("." + text, mode, bert, polyphones)
    return result


def _clean_runs(text: str, mode: str, bert: PhoneFeatureExtractor | None,
                polyphones: PolyphoneBackend | None) -> PhoneFeatures:
    import torch

    phones: list[str] = []
    ids: list[int] = []
    features: list[torch.Tensor] = []
    norm_text = ""
    bert_used = False
    for run in split_by_language(text, mode):
        cleaned = clean_text(run.text, run.language, polyphones=polyphones)
        run_features, used = _run_features(cleaned, run.language, bert)
        phones += cleaned.phones
        ids += cleaned.phone_ids
        features.append(run_features)
        norm_text += cleaned.norm_text
        bert_used = bert_used or used
    stacked = torch.cat(features, dim=1) if features else torch.zeros(BERT_DIM, 0)
    return PhoneFeatures(tuple(phones), tuple(ids), stacked, norm_text, bert_used)
