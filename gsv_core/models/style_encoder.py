"""The SoVITS reference (style) encoder, upstream's ``MelStyleEncoder`` (``ref_enc``): a
linear spectrogram of the reference becomes one global style vector ``ge`` ``[B, gin, 1]``.

Layout (names as upstream, ``GPT_SoVITS/module/modules.py``): ``spectral`` (two linear layers
with Mish), ``temporal`` (two gated 1-D convolutions), ``slf_attn`` (multi-head self
attention), ``fc``, then a masked average over time. In v2 it reads only the lowest 704
frequency bins.

One upstream detail is kept because trained weights depend on it: the attention divides its
scores by ``sqrt(hidden)`` (√128), not by the usual ``sqrt(hidden / heads)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["MelStyleEncoder"]


class _Linear(nn.Module):
    """``nn.Linear`` one level down (``.fc``), to keep upstream's ``LinearNorm`` keys."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class _Conv(nn.Module):
    """'Same'-padded ``nn.Conv1d`` one level down (``.conv``), as upstream's ``ConvNorm``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _Conv1dGLU(nn.Module):
    """Residual gated convolution: ``x + dropout(a · sigmoid(b))`` with ``[a, b] = conv(x)``."""

    def __init__(self, channels: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = _Conv(channels, 2 * channels, kernel_size)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.conv1(x).chunk(2, dim=1)
        return x + self.dropout(a * torch.sigmoid(b))


class _SelfAttention(nn.Module):
    """Multi-head self attention over ``[B, T, C]`` with a residual connection."""

    def __init__(self, n_heads: int, channels: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.w_qs = nn.Linear(channels, channels)
        self.w_ks = nn.Linear(channels, channels)
        self.w_vs = nn.Linear(channels, channels)
        self.fc = nn.Linear(channels, channels)
        self.temperature = math.sqrt(channels)  # upstream's √d_model (see module docstring)
        self.attn_dropout = nn.Dropout(dropout)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None) -> torch.Tensor:
        b, t, c = x.shape
        d = c // self.n_heads

        def heads(proj: nn.Linear) -> torch.Tensor:
            return proj(x).view(b, t, self.n_heads, d).transpose(1, 2)  # [B, H, T, d]

        scores = torch.matmul(heads(self.w_qs), heads(self.w_ks).transpose(-2, -1))
        scores = scores / self.temperature  # [B, H, T, T]
        if key_padding is not None:
            scores = scores.masked_fill(key_padding[:, None, None, :], float("-inf"))
        p_attn = self.attn_dropout(F.softmax(scores, dim=-1))
        out = torch.matmul(p_attn, heads(self.w_vs)).transpose(1, 2).reshape(b, t, c)
        return self.dropout(self.fc(out)) + x


class MelStyleEncoder(nn.Module):
    """Spectrogram ``[B, n_bins, T]`` (+ mask ``[B, 1, T]``) → style vector ``[B, out, 1]``."""

    def __init__(
        self,
        n_mel_channels: int = 704,
        style_hidden: int = 128,
        style_vector_dim: int = 512,
        style_kernel_size: int = 5,
        style_head: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.spectral = nn.Sequential(
            _Linear(n_mel_channels, style_hidden),
            nn.Mish(),
            nn.Dropout(dropout),
            _Linear(style_hidden, style_hidden),
            nn.Mish(),
            nn.Dropout(dropout),
        )
        self.temporal = nn.Sequential(
            _Conv1dGLU(style_hidden, style_kernel_size, dropout),
            _Conv1dGLU(style_hidden, style_kernel_size, dropout),
        )
        self.slf_attn = _SelfAttention(style_head, style_hidden, dropout)
        self.fc = _Linear(style_hidden, style_vector_dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        padding = (mask == 0).squeeze(1) if mask is not None else None  # [B, T], True = pad
        x = self.spectral(x.transpose(1, 2))  # [B, T, hidden]
        x = self.temporal(x.transpose(1, 2)).transpose(1, 2)
        if padding is not None:
            x = x.masked_fill(padding.unsqueeze(-1), 0)
        x = self.fc(self.slf_attn(x, padding))  # [B, T, out]
        return self._average_over_time(x, padding).unsqueeze(-1)

    @staticmethod
    def _average_over_time(x: torch.Tensor, padding: torch.Tensor | None) -> torch.Tensor:
        if padding is None:
            return x.mean(dim=1)
        # in fp32, dividing before summing, as upstream does (the order matters for fp16)
        dtype = x.dtype
        lengths = (~padding).sum(dim=1, keepdim=True).unsqueeze(1)  # [B, 1, 1]
        x = x.masked_fill(padding.unsqueeze(-1), 0).float()
        return (x / lengths).sum(dim=1).to(dtype)
