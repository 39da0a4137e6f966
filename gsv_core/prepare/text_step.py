"""Step 1 of formatting, its BERT half: ``[1024, n_phones]`` features per Mandarin clip.

As upstream's ``prepare_datasets/1-get-text.py``: for Mandarin clips only, features from
BERT's third-to-last layer, repeated per phone. Cleaning the labels themselves (the
``2-name2text.txt`` rows) is ``labels``; with the ``"improved"`` readings the Latin runs of a
Mandarin label get zero columns, as inference does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from gsv_core.errors import TextError
from gsv_core.prepare.labels import ClipText, clean_clip_text
from gsv_core.text import BERT_DIM

__all__ = ["ClipText", "bert_features", "clean_clip_text"]


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
