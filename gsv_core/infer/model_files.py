"""Loading the GPT and SoVITS weight files inference uses, and telling files apart.

Layouts read (``gsv_core.models.checkpoint`` does the safe unpickling):

- our files and upstream user weights: ``{"weight", "config", "info"}``;
- the official pretrained GPT ``s1bert25hz-…ckpt``: ``"weight"`` (``model.`` keys) and
  ``"config"``, possibly beside other keys Lightning wrote (``epoch``, ``global_step``, …),
  which are ignored;
- a Lightning training checkpoint (``logs/<exp>/logs_s1_v2/ckpt/*.ckpt``): the weights under
  ``"state_dict"`` and the config under ``"hyper_parameters"["config"]``. Files whose extra
  objects are not plain data are refused by the safe loader with a message naming them;
- the official SoVITS generator ``s2G2333k.pth`` (``{"weight"}`` with ``enc_q``, no config).

A file's identity is its resolved path, size and modification time: loading the same file
twice is a no-op, and a file rewritten in place (a new export) is loaded again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from gsv_core.errors import CheckpointError, ModelMissing
from gsv_core.models.checkpoint import (
    GPT_KEY_PREFIX,
    load_sovits,
    load_strict,
    read_checkpoint_dict,
)
from gsv_core.models.gpt import GPTConfig, Text2SemanticDecoder
from gsv_core.models.sovits import SoVITSGenerator

__all__ = ["FileIdentity", "file_identity", "load_gpt_file", "load_sovits_file"]

_LIGHTNING_WEIGHTS = "state_dict"
_LIGHTNING_HPARAMS = "hyper_parameters"


@dataclass(frozen=True)
class FileIdentity:
    """Which file a model came from, precisely enough to notice a rewrite."""

    path: Path
    size_bytes: int
    mtime_ns: int

    @property
    def token(self) -> str:
        """A short string for cache keys."""
        return f"{self.path}|{self.size_bytes}|{self.mtime_ns}"


def file_identity(path: Path | str) -> FileIdentity:
    """The identity of ``path``; ModelMissing when it is not a file."""
    resolved = Path(os.path.abspath(Path(path).expanduser())).resolve()
    if not resolved.is_file():
        raise ModelMissing(f"Weight file not found: {resolved}",
                           "Check the path, or pick the file again in the model list.",
                           expected_paths=(str(resolved),))
    stat = resolved.stat()
    return FileIdentity(resolved, stat.st_size, stat.st_mtime_ns)


def _gpt_parts(path: Path, data: Mapping[str, object]) -> tuple[Mapping, Mapping]:
    """(weights, config) of a GPT file in either layout; CheckpointError if it has neither."""
    if "weight" in data:
        weights, config = data["weight"], data.get("config")
    else:
        weights = data.get(_LIGHTNING_WEIGHTS)
        hparams = data.get(_LIGHTNING_HPARAMS)
        config = hparams.get("config") if isinstance(hparams, Mapping) else None
    if not isinstance(weights, Mapping) or not weights or not all(
            isinstance(k, str) and k.startswith(GPT_KEY_PREFIX) and isinstance(v, torch.Tensor)
            for k, v in weights.items()):
        raise CheckpointError(f"{path.name} is not a GPT weight file (no 'model.' weights).",
                              "Pick a .ckpt file from GPT_weights_v2 or the pretrained GPT.")
    if not isinstance(config, Mapping):
        raise CheckpointError(f"{path.name} has no GPT config.", "Re-export the GPT weights.")
    return weights, config


def load_gpt_file(path: Path, device: torch.device, dtype: torch.dtype) -> Text2SemanticDecoder:
    """The GPT of ``path`` in any layout of the module docstring, in eval mode."""
    weights, config = _gpt_parts(path, read_checkpoint_dict(path))
    model = Text2SemanticDecoder(GPTConfig.from_upstream(config))
    load_strict(model, {k.removeprefix(GPT_KEY_PREFIX): v for k, v in weights.items()},
                path.name)
    return model.to(device=device, dtype=dtype).eval()


def load_sovits_file(path: Path, device: torch.device, dtype: torch.dtype) -> SoVITSGenerator:
    """The SoVITS generator of ``path`` (user weights or the pretrained generator)."""
    return load_sovits(path, device, dtype)
