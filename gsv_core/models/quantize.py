"""Residual vector quantizer of SoVITS: HuBERT features (projected to 25 Hz) ↔ semantic tokens.

The codebook of each layer is stored as buffers (``embed`` ``[bins, dim]`` plus upstream's EMA
bookkeeping ``inited``, ``cluster_size``, ``embed_avg``) under
``quantizer.vq.layers.<i>._codebook``, as upstream's ``core_vq.py`` names them.

GPT-SoVITS v2 ships the codebook trained and keeps it frozen (s2.json
``freeze_quantizer: true``; its training forward puts the quantizer in eval mode, so no EMA
update and no straight-through gradient happen). We implement only that frozen behaviour:
nearest codeword by squared L2, and lookup. The EMA buffers are kept so checkpoints load and
save unchanged, but nothing here updates them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["EuclideanCodebook", "ResidualVectorQuantizer"]


class EuclideanCodebook(nn.Module):
    """One codebook: ``encode`` finds the nearest codeword, ``decode`` looks it up."""

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self.register_buffer("inited", torch.zeros(1))
        self.register_buffer("cluster_size", torch.zeros(bins))
        self.register_buffer("embed", torch.zeros(bins, dim))
        self.register_buffer("embed_avg", torch.zeros(bins, dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, dim]`` → codeword ids ``[N]`` (int64)."""
        embed = self.embed
        # ‖x - e‖² = ‖x‖² - 2·x·e + ‖e‖², in the order upstream sums it (ties and near-ties
        # then resolve the same way)
        dist = x.pow(2).sum(1, keepdim=True) - 2 * x @ embed.t() + embed.pow(2).sum(1)
        return dist.argmin(dim=1)

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        """ids ``[...]`` → codewords ``[..., dim]``."""
        return F.embedding(ids, self.embed)


class _QuantizerLayer(nn.Module):
    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        self._codebook = EuclideanCodebook(dim, bins)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        b, d, t = x.shape
        return self._codebook.encode(x.transpose(1, 2).reshape(b * t, d)).view(b, t)

    def decode(self, ids: torch.Tensor) -> torch.Tensor:
        return self._codebook.decode(ids).transpose(1, 2)  # [B, T, D] -> [B, D, T]


class ResidualVectorQuantizer(nn.Module):
    """``n_q`` codebooks applied to successive residuals (SoVITS v2 uses ``n_q = 1``)."""

    def __init__(self, dimension: int = 768, n_q: int = 1, bins: int = 1024) -> None:
        super().__init__()
        layers = nn.ModuleList(_QuantizerLayer(dimension, bins) for _ in range(n_q))
        self.vq = nn.ModuleDict({"layers": layers})  # keys: vq.layers.<i>._codebook.*

    @property
    def layers(self) -> nn.ModuleList:
        return self.vq["layers"]

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``[B, D, T]`` → codes ``[n_q, B, T]``."""
        codes = []
        residual = x
        for layer in self.layers:
            ids = layer.encode(residual)
            codes.append(ids)
            if len(codes) < len(self.layers):
                residual = residual - layer.decode(ids)
        return torch.stack(codes)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes ``[n_q, B, T]`` (``n_q`` up to the number of layers) → features ``[B, D, T]``."""
        quantized = self.layers[0].decode(codes[0])
        # codes may cover fewer layers than the quantizer has
        for layer, ids in zip(self.layers[1:], codes[1:], strict=False):
            quantized = quantized + layer.decode(ids)
        return quantized
