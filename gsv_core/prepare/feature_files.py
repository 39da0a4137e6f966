"""Writing one feature file (``3-bert``/``4-cnhubert`` tensors, ``5-wav32k`` clips).

Each goes to a temporary name in the same folder and is renamed, so a crash leaves either the
old file or the new one. No fsync per file, unlike ``atomic_write`` (hundreds of files a
run; they can be recomputed): the manifest, written last and durably, is what is trusted.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import numpy as np
import soundfile
import torch

from gsv_core.audio import SAMPLE_RATE

__all__ = ["save_tensor", "save_wav"]


def save_tensor(tensor: torch.Tensor, path: Path) -> None:
    """``torch.save`` through a temporary file (own storage: a view would save its base)."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        torch.save(tensor.detach().cpu().clone().contiguous(), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_wav(samples: np.ndarray, path: Path) -> None:
    """int16 ``samples`` as a 32 kHz PCM-16 WAV through a temporary file."""
    tmp = path.parent / f".{secrets.token_hex(6)}.tmp.wav"
    try:
        soundfile.write(os.fspath(tmp), samples, SAMPLE_RATE, subtype="PCM_16")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
