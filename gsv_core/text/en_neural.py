"""Pronounce an unknown English word with g2p_en's small GRU seq2seq model.

Upstream falls back to ``g2p_en.G2p.predict`` for words that are in neither
dictionary. Importing ``g2p_en`` calls ``nltk.download``, so we never import
it: we locate its installed package folder, read the shipped weights
(``checkpoint20.npz``: a one-layer GRU encoder over letters, a GRU decoder over
ARPAbet phones, greedy decoding) and run the same arithmetic in numpy.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from gsv_core.errors import ModelMissing

__all__ = ["predict_phones"]

_GRAPHEMES = ("<pad>", "<unk>", "</s>", *"abcdefghijklmnopqrstuvwxyz")
_PHONEMES = (
    "<pad>", "<unk>", "<s>", "</s>",
    "AA0", "AA1", "AA2", "AE0", "AE1", "AE2", "AH0", "AH1", "AH2", "AO0", "AO1", "AO2",
    "AW0", "AW1", "AW2", "AY0", "AY1", "AY2", "B", "CH", "D", "DH", "EH0", "EH1", "EH2",
    "ER0", "ER1", "ER2", "EY0", "EY1", "EY2", "F", "G", "HH", "IH0", "IH1", "IH2", "IY0",
    "IY1", "IY2", "JH", "K", "L", "M", "N", "NG", "OW0", "OW1", "OW2", "OY0", "OY1", "OY2",
    "P", "R", "S", "SH", "T", "TH", "UH0", "UH1", "UH2", "UW", "UW0", "UW1", "UW2", "V",
    "W", "Y", "Z", "ZH",
)  # fmt: skip
_GRAPHEME_INDEX = {g: i for i, g in enumerate(_GRAPHEMES)}
_START, _END = 2, 3  # decoder <s> and </s> indices
_MAX_PHONES = 20  # the model's decoding limit


@dataclass(frozen=True)
class _Gru:
    w_ih: np.ndarray  # [3h, e]
    w_hh: np.ndarray  # [3h, h]
    b_ih: np.ndarray  # [3h]
    b_hh: np.ndarray  # [3h]

    def step(self, x: np.ndarray, h: np.ndarray) -> np.ndarray:
        """One GRU step, gates in PyTorch order (reset, update, new). x [1, e], h [1, h]."""
        gates_x = x @ self.w_ih.T + self.b_ih
        gates_h = h @ self.w_hh.T + self.b_hh
        split = gates_x.shape[-1] * 2 // 3
        reset_update = 1 / (1 + np.exp(-(gates_x[:, :split] + gates_h[:, :split])))
        reset, update = np.split(reset_update, 2, -1)
        new = np.tanh(gates_x[:, split:] + reset * gates_h[:, split:])
        return (1 - update) * new + update * h


@dataclass(frozen=True)
class _Model:
    enc_emb: np.ndarray  # [29, e]
    encoder: _Gru
    dec_emb: np.ndarray  # [74, e]
    decoder: _Gru
    fc_w: np.ndarray  # [74, h]
    fc_b: np.ndarray  # [74]


def _weights_path() -> Path:
    spec = importlib.util.find_spec("g2p_en")  # finds the folder without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing(
            "The English fallback model (package g2p_en) is not installed.",
            "Reinstall GSV Studio's dependencies: pip install -e .",
            expected_paths=("site-packages/g2p_en/checkpoint20.npz",),
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "checkpoint20.npz"
    if not path.is_file():
        raise ModelMissing(
            f"The English fallback model is missing: {path}",
            "Reinstall the g2p_en package: pip install --force-reinstall g2p_en",
            expected_paths=(str(path),),
        )
    return path


@lru_cache(maxsize=1)
def _model() -> _Model:
    with np.load(_weights_path()) as w:

        def gru(prefix: str) -> _Gru:
            names = ("w_ih", "w_hh", "b_ih", "b_hh")
            return _Gru(*(w[f"{prefix}_{name}"] for name in names))

        return _Model(w["enc_emb"], gru("enc"), w["dec_emb"], gru("dec"), w["fc_w"], w["fc_b"])


def predict_phones(word: str) -> list[str]:
    """ARPAbet phones for a lower-case word (may include ``UW`` and ``<unk>``, as upstream)."""
    model = _model()
    letters = [_GRAPHEME_INDEX.get(c, _GRAPHEME_INDEX["<unk>"]) for c in word]
    letters.append(_GRAPHEME_INDEX["</s>"])
    h = np.zeros((1, model.encoder.w_hh.shape[-1]), np.float32)
    for index in letters:
        h = model.encoder.step(model.enc_emb[index][None, :], h)
    phones: list[str] = []
    previous = _START
    for _ in range(_MAX_PHONES):
        h = model.decoder.step(model.dec_emb[previous][None, :], h)
        logits = h @ model.fc_w.T + model.fc_b
        previous = int(logits.argmax())
        if previous == _END:
            break
        phones.append(_PHONEMES[previous])
    return phones
