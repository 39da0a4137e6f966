"""Step 1 of formatting: each label's phones (``2-name2text.txt``) and BERT features (``3-bert``).

As upstream's ``prepare_datasets/1-get-text.py``: a row ``name\\tphones\\tword2ph\\tnorm_text``
per clip (phones space-separated, ``word2ph`` the Python list of phones per character for
Chinese and Cantonese, else ``None``) and, for Mandarin clips only, ``[1024, n_phones]``
features from BERT's third-to-last layer, repeated per phone.

Readings (issue 9): ``"upstream"`` cleans as upstream does, byte for byte, including its
``%``→``-`` and ``￥``→``,`` replacements; ``"improved"`` (the default) reads URLs, units,
times… first and reads the Latin words of a Mandarin clip in English (each run its own
phones; BERT features for the Mandarin runs, zeros for the others — as inference does), so
the GPT learns the same phones it will be given at inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from gsv_core.errors import TextError
from gsv_core.infer.readable import SILENT_PHONES
from gsv_core.text import BERT_DIM, CleanedText, PolyphoneBackend, check_readings, clean_text
from gsv_core.text.bert_align import clean_runs

__all__ = ["ClipText", "bert_features", "clean_clip_text"]

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


def bert_features(bert: object, clips: Sequence[ClipText], *, max_batch: int = 16,
                  dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """``[1024, n_phones]`` features of each (Mandarin) clip, Mandarin runs batched.

    ``bert`` is a :class:`gsv_core.features.BertFeatures`. Runs in other languages get zero
    columns. ``dtype`` is what is saved: fp16 when the model ran in half precision, as
    upstream saves it.
    """
    wanted = [(c, i) for c in clips for i, (run, lang) in enumerate(c.runs)
              if lang == "zh" and run.word2ph is not None and run.phones]
    computed = bert.phone_features_batch(  # type: ignore[attr-defined]
        [c.runs[i][0].norm_text for c, i in wanted],
        [c.runs[i][0].word2ph for c, i in wanted], max_batch=max_batch)
    by_run = {(id(c), i): f for (c, i), f in zip(wanted, computed, strict=True)}
    out = []
    for clip in clips:
        parts = [by_run.get((id(clip), i), torch.zeros(BERT_DIM, len(run.phones)))
                 for i, (run, _) in enumerate(clip.runs)]
        features = torch.cat(parts, dim=1)
        if features.shape[1] != len(clip.phones):  # the front end's alignment contract
            raise TextError(f"{clip.name}: BERT features cover {features.shape[1]} of "
                            f"{len(clip.phones)} phones.", "Report this label as a bug.")
        out.append(features.to(dtype))
    return out
