"""Transformer encoder with windowed relative positions (the SoVITS text/SSL encoders) and
the plain multi-head attention that MRTE uses for its cross attention.

Names follow upstream (``GPT_SoVITS/module/attentions.py``): ``attn_layers``,
``norm_layers_1/2``, ``ffn_layers``, ``conv_q/k/v/o``, ``emb_rel_k/v``.

Relative positions: each head adds ``q·E_k[j-i]`` to its scores and ``Σ_j p_ij E_v[j-i]`` to
its output, for offsets within ±``window_size`` (zero beyond). Upstream materialises these
as ``[B, H, T, 2T-1]`` tensors and shifts them with pad/reshape tricks; we compute the
``2·window+1`` offsets only (``[B, H, T, 9]``) and move them to and from absolute positions
with one gather each: the same numbers, with far less memory and work for long inputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gsv_core.models.modules import LayerNorm

__all__ = ["FFN", "Encoder", "MultiHeadAttention"]

_MASKED_SCORE = -1e4  # upstream's fill value (finite, so fp16 and fully masked rows stay sane)


def _relative_index(length: int, window: int, device: torch.device) -> torch.Tensor:
    """``[T, T]``: for query i and key j, the slot ``j - i + window`` of the relative
    embeddings, or ``2·window+1`` (an always-zero slot) when ``|j - i| > window``."""
    pos = torch.arange(length, device=device)
    offset = pos.unsqueeze(0) - pos.unsqueeze(1)  # [T_query, T_key]: j - i
    return torch.where(offset.abs() <= window, offset + window, 2 * window + 1)


def _absolute_index(length: int, window: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    """``[T, 2·window+1]``: for query i and slot k, the key ``i + k - window`` (clamped into
    range) and whether that key exists."""
    key = torch.arange(length, device=device).unsqueeze(1) + torch.arange(
        -window, window + 1, device=device
    )
    valid = (key >= 0) & (key < length)
    return key.clamp(0, length - 1), valid


class MultiHeadAttention(nn.Module):
    """Multi-head attention over channel-first tensors with 1×1 convolution projections.

    With ``window_size`` set it is self-attention with relative position embeddings shared
    across heads (``emb_rel_k``/``emb_rel_v`` ``[1, 2·window+1, channels/heads]``).
    """

    def __init__(
        self,
        channels: int,
        out_channels: int,
        n_heads: int,
        p_dropout: float = 0.0,
        window_size: int | None = None,
    ) -> None:
        super().__init__()
        assert channels % n_heads == 0, "channels must divide into heads"
        self.n_heads = n_heads
        self.k_channels = channels // n_heads
        self.window_size = window_size
        self.conv_q = nn.Conv1d(channels, channels, 1)
        self.conv_k = nn.Conv1d(channels, channels, 1)
        self.conv_v = nn.Conv1d(channels, channels, 1)
        self.conv_o = nn.Conv1d(channels, out_channels, 1)
        self.drop = nn.Dropout(p_dropout)
        if window_size is not None:
            n_rel = 2 * window_size + 1
            std = self.k_channels**-0.5
            self.emb_rel_k = nn.Parameter(torch.randn(1, n_rel, self.k_channels) * std)
            self.emb_rel_v = nn.Parameter(torch.randn(1, n_rel, self.k_channels) * std)
        for conv in (self.conv_q, self.conv_k, self.conv_v):
            nn.init.xavier_uniform_(conv.weight)

    def forward(
        self, x: torch.Tensor, c: torch.Tensor, attn_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Queries from ``x`` ``[B, C, T_t]``, keys/values from ``c`` ``[B, C, T_s]``;
        ``attn_mask`` ``[B, 1, T_t, T_s]`` is 0 where attention is not allowed."""
        b, _, t_t = x.shape
        t_s = c.shape[2]
        # [B, C, T] -> [B, H, T, d]
        q = self.conv_q(x).view(b, self.n_heads, self.k_channels, t_t).transpose(2, 3)
        k = self.conv_k(c).view(b, self.n_heads, self.k_channels, t_s).transpose(2, 3)
        v = self.conv_v(c).view(b, self.n_heads, self.k_channels, t_s).transpose(2, 3)

        q = q / math.sqrt(self.k_channels)
        scores = torch.matmul(q, k.transpose(-2, -1))  # [B, H, T_t, T_s]
        if self.window_size is not None:
            assert t_s == t_t, "relative attention is self-attention only"
            index = _relative_index(t_t, self.window_size, x.device).expand(b, self.n_heads, -1, -1)
            rel_logits = torch.matmul(q, self.emb_rel_k.unsqueeze(0).transpose(-2, -1))
            rel_logits = F.pad(rel_logits, (0, 1))  # [B, H, T, 2w+2]; the last slot is 0
            scores = scores + torch.gather(rel_logits, 3, index)
        if attn_mask is not None:
            scores = scores.masked_fill(attn_mask == 0, _MASKED_SCORE)
        p_attn = self.drop(F.softmax(scores, dim=-1))
        out = torch.matmul(p_attn, v)  # [B, H, T_t, d]
        if self.window_size is not None:
            # p_ij regrouped by offset j-i, then mixed with the value embeddings
            key, valid = _absolute_index(t_t, self.window_size, x.device)
            key = key.expand(b, self.n_heads, -1, -1)
            rel_weights = torch.gather(p_attn, 3, key) * valid  # [B, H, T, 2w+1]
            out = out + torch.matmul(rel_weights, self.emb_rel_v.unsqueeze(0))
        out = out.transpose(2, 3).reshape(b, self.n_heads * self.k_channels, t_t)
        return self.conv_o(out)


class FFN(nn.Module):
    """Position-wise feed-forward made of two 'same'-padded convolutions with a ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        filter_channels: int,
        kernel_size: int,
        p_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.padding = ((kernel_size - 1) // 2, kernel_size // 2)
        self.conv_1 = nn.Conv1d(in_channels, filter_channels, kernel_size)
        self.conv_2 = nn.Conv1d(filter_channels, out_channels, kernel_size)
        self.drop = nn.Dropout(p_dropout)

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv_1(F.pad(x * x_mask, self.padding)))
        x = self.conv_2(F.pad(self.drop(x) * x_mask, self.padding))
        return x * x_mask


class Encoder(nn.Module):
    """Post-norm transformer encoder: ``x = norm(x + attn(x))``, ``x = norm(x + ffn(x))``."""

    def __init__(
        self,
        hidden_channels: int,
        filter_channels: int,
        n_heads: int,
        n_layers: int,
        kernel_size: int = 1,
        p_dropout: float = 0.0,
        window_size: int = 4,
    ) -> None:
        super().__init__()
        self.drop = nn.Dropout(p_dropout)
        self.attn_layers = nn.ModuleList()
        self.norm_layers_1 = nn.ModuleList()
        self.ffn_layers = nn.ModuleList()
        self.norm_layers_2 = nn.ModuleList()
        for _ in range(n_layers):
            self.attn_layers.append(
                MultiHeadAttention(
                    hidden_channels, hidden_channels, n_heads, p_dropout, window_size=window_size
                )
            )
            self.norm_layers_1.append(LayerNorm(hidden_channels))
            self.ffn_layers.append(
                FFN(hidden_channels, hidden_channels, filter_channels, kernel_size, p_dropout)
            )
            self.norm_layers_2.append(LayerNorm(hidden_channels))

    def forward(self, x: torch.Tensor, x_mask: torch.Tensor) -> torch.Tensor:
        """``x`` ``[B, C, T]``, ``x_mask`` ``[B, 1, T]`` → ``[B, C, T]`` (zero on padding)."""
        attn_mask = x_mask.unsqueeze(2) * x_mask.unsqueeze(-1)  # [B, 1, T, T]
        x = x * x_mask
        for attn, norm_1, ffn, norm_2 in zip(
            self.attn_layers, self.norm_layers_1, self.ffn_layers, self.norm_layers_2, strict=True
        ):
            x = norm_1(x + self.drop(attn(x, x, attn_mask)))
            x = norm_2(x + self.drop(ffn(x, x_mask)))
        return x * x_mask
