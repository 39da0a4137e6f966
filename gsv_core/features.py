"""HuBERT and BERT features, computed as GPT-SoVITS v2 computes them, from local folders.

- HuBERT (``chinese-hubert-base``): 16 kHz mono in, the last hidden state out at 50 Hz
  (one frame per 320 samples), as ``[B, 768, frames]``. The SoVITS ``ssl_proj`` turns these
  into 25 Hz semantic tokens. Upstream: ``feature_extractor/cnhubert.py``.
- BERT (``chinese-roberta-wwm-ext-large``): the third-to-last hidden state of each character
  (``hidden_states[-3]``, [CLS]/[SEP] dropped), repeated per phone by ``word2ph``, as
  ``[1024, n_phones]``. Upstream: ``prepare_datasets/1-get-text.py::get_bert_feature``.

Models load with ``local_files_only=True``; a missing folder raises ModelMissing with the
exact path GPT-SoVITS uses (see ``workspace.py``). ``transformers`` is imported on first load.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gsv_core.errors import ModelMissing, TextError

__all__ = ["HUBERT_HOP_SAMPLES", "HUBERT_SAMPLE_RATE", "MODEL_LOAD_LOCK", "BertFeatures",
           "HubertFeatures"]

# transformers' from_pretrained builds a model on the meta device by patching torch for the
# whole process while it runs: a model built on another thread meanwhile (a second
# from_pretrained, or SoVITS) gets meta tensors ("Cannot copy out of meta tensor"). Every
# load that may run beside another takes this lock (formatting loads BERT on one thread
# while its audio stage loads HuBERT and SoVITS on another).
MODEL_LOAD_LOCK = threading.RLock()

HUBERT_SAMPLE_RATE = 16_000
HUBERT_HOP_SAMPLES = 320  # 16 kHz / 320 = 50 Hz frames
BERT_HIDDEN_LAYER = -3  # upstream reads hidden_states[-3]
_NORM_EPS = 1e-7  # Wav2Vec2FeatureExtractor's zero-mean unit-variance epsilon


def _check_folder(folder: Path, what: str, needed: Sequence[str]) -> None:
    missing = [folder / name for name in needed if not (folder / name).is_file()]
    if not folder.is_dir() or missing:
        paths = (folder,) if not folder.is_dir() else tuple(missing)
        raise ModelMissing(
            f"The {what} model is missing: {', '.join(str(p) for p in paths)}",
            f"Download it from the model list, or copy the folder '{folder.name}' from a "
            f"GPT-SoVITS install to {folder.parent}.",
            expected_paths=tuple(str(p) for p in paths),
        )


@dataclass(frozen=True)
class HubertFeatures:
    """A loaded chinese-hubert-base; call it on 16 kHz audio."""

    model: Any  # transformers.HubertModel, eval mode
    normalize: bool  # from preprocessor_config.json (do_normalize)

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu",
             dtype: torch.dtype = torch.float32) -> HubertFeatures:
        """Load from ``folder`` (config.json, preprocessor_config.json, weights)."""
        folder = Path(folder)
        _check_folder(folder, "HuBERT (chinese-hubert-base)",
                      ("config.json", "preprocessor_config.json"))
        from transformers import HubertModel, Wav2Vec2FeatureExtractor

        with MODEL_LOAD_LOCK:
            extractor = Wav2Vec2FeatureExtractor.from_pretrained(folder, local_files_only=True)
            model = HubertModel.from_pretrained(folder, local_files_only=True)
            model = model.to(device=device, dtype=dtype).eval()
        return cls(model=model, normalize=bool(extractor.do_normalize))

    @torch.no_grad()
    def __call__(self, wav_16k: torch.Tensor) -> torch.Tensor:
        """wav_16k: [T] or [B, T] float in [-1, 1] at 16 kHz -> [B, 768, T // 320] (50 Hz)."""
        x = wav_16k.unsqueeze(0) if wav_16k.dim() == 1 else wav_16k
        param = next(self.model.parameters())
        x = x.to(param.device, torch.float32)
        if self.normalize:
            # Per clip, in fp32, as the feature extractor does (it works in float64 numpy;
            # the difference is far below fp32 model noise).
            x = (x - x.mean(dim=-1, keepdim=True)) / torch.sqrt(
                x.var(dim=-1, unbiased=False, keepdim=True) + _NORM_EPS)
        hidden = self.model(x.to(param.dtype)).last_hidden_state  # [B, frames, 768]
        return hidden.transpose(1, 2)


@dataclass(frozen=True)
class BertFeatures:
    """A loaded chinese-roberta-wwm-ext-large with its tokenizer."""

    model: Any  # transformers masked-LM model, eval mode
    tokenizer: Any

    @classmethod
    def load(cls, folder: str | Path, device: str | torch.device = "cpu",
             dtype: torch.dtype = torch.float32) -> BertFeatures:
        """Load from ``folder`` (config.json, tokenizer files, weights)."""
        folder = Path(folder)
        _check_folder(folder, "BERT (chinese-roberta-wwm-ext-large)", ("config.json",))
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        with MODEL_LOAD_LOCK:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModelForMaskedLM.from_pretrained(folder, local_files_only=True)
            model = model.to(device=device, dtype=dtype).eval()
        return cls(model=model, tokenizer=tokenizer)

    @torch.no_grad()
    def phone_features(self, text: str, word2ph: Sequence[int]) -> torch.Tensor:
        """Features of normalised Chinese ``text`` spread over its phones -> [1024, n_phones].

        ``word2ph[i]`` is the number of phones of the i-th character; the tokenizer must give
        exactly one token per character (true for normalised Chinese text).
        """
        inputs = self.tokenizer(text, return_tensors="pt")
        device = next(self.model.parameters()).device
        outputs = self.model(**{k: v.to(device) for k, v in inputs.items()},
                             output_hidden_states=True)
        per_char = outputs.hidden_states[BERT_HIDDEN_LAYER][0, 1:-1]  # [n_chars, H]
        if per_char.shape[0] != len(word2ph):
            raise TextError(
                f"BERT gave {per_char.shape[0]} tokens for {len(word2ph)} characters of "
                f"{text!r}.",
                "Normalise the text first (one token per Chinese character).",
            )
        repeats = torch.tensor(list(word2ph), device=per_char.device)
        return per_char.repeat_interleave(repeats, dim=0).T.float().cpu()  # [H, n_phones]

    @torch.no_grad()
    def phone_features_batch(self, texts: Sequence[str], word2phs: Sequence[Sequence[int]],
                             max_batch: int = 16, pad_to_multiple_of: int | None = None
                             ) -> list[torch.Tensor]:
        """:meth:`phone_features` of several texts, ``max_batch`` to a forward pass.

        Why: on a GPU one BERT forward costs about the same for one sentence as for sixteen
        (the 24 layers are a few hundred kernel launches), and a request has a text run per
        segment. The texts are right-padded and masked, so each text's hidden states are its
        own; they equal the one-at-a-time ones up to float rounding (reductions over a padded
        length), not bit for bit. ``phone_features`` stays the reference path.
        ``pad_to_multiple_of`` rounds a batch's padded length up (fewer distinct shapes for
        the GPU's kernels to be chosen and loaded for); a batch of one is never padded.
        """
        if len(texts) != len(word2phs):
            raise ValueError(f"{len(texts)} texts but {len(word2phs)} word2ph lists")
        device = next(self.model.parameters()).device
        out: list[torch.Tensor] = []
        for first in range(0, len(texts), max_batch):
            chunk = list(texts[first:first + max_batch])
            inputs = self.tokenizer(chunk, return_tensors="pt", padding=True,
                                    pad_to_multiple_of=pad_to_multiple_of
                                    if len(chunk) > 1 else None)
            hidden = self.model(**{k: v.to(device) for k, v in inputs.items()},
                                output_hidden_states=True).hidden_states[BERT_HIDDEN_LAYER]
            out += _spread_over_phones(hidden, inputs["attention_mask"], chunk,
                                       word2phs[first:first + max_batch])
        return out


def _spread_over_phones(hidden: torch.Tensor, attention_mask: torch.Tensor,
                        texts: Sequence[str], word2phs: Sequence[Sequence[int]]
                        ) -> list[torch.Tensor]:
    """Each row's character states repeated per phone -> ``[H, n_phones]`` float32 on the CPU.

    One gather and one copy to the CPU for the whole batch: a copy per row would wait for the
    GPU once per text, and each wait hands the interpreter lock to the other formatting
    stage's thread for up to its switch interval. The values are the same rows as a
    ``repeat_interleave`` per text gives.
    """
    tokens = attention_mask.sum(dim=1).tolist()
    rows: list[int] = []
    positions: list[int] = []
    for row, (text, word2ph) in enumerate(zip(texts, word2phs, strict=True)):
        if tokens[row] - 2 != len(word2ph):
            raise TextError(
                f"BERT gave {tokens[row] - 2} tokens for {len(word2ph)} characters of "
                f"{text!r}.", "Normalise the text first (one token per Chinese character).")
        for char, count in enumerate(word2ph, start=1):   # position 0 is [CLS]
            rows += [row] * count
            positions += [char] * count
    index = torch.tensor([rows, positions], dtype=torch.long).to(hidden.device)
    picked = hidden[index[0], index[1]].float().cpu()   # [all phones, H]
    return [part.T.contiguous() for part in picked.split([sum(w) for w in word2phs])]
