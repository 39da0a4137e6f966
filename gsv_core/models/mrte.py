"""MRTE, the multi-reference timbre encoder of SoVITS v2: the SSL content attends to the
encoded phones, and the reference (style) vector is added.

Upstream (``GPT_SoVITS/module/mrte_model.py``) hard-wires the sizes: content 192 channels,
attention width 512 with 4 heads, output 192. So ``hidden_channels`` must be 192.
"""

from __future__ import annotations

import torch
from torch import nn

from gsv_core.models.attentions import MultiHeadAttention

__all__ = ["MRTE"]


class MRTE(nn.Module):
    """Cross attention from SSL frames to phones plus the style vector ``ge``."""

    def __init__(
        self,
        content_enc_channels: int = 192,
        hidden_size: int = 512,
        out_channels: int = 192,
        n_heads: int = 4,
    ) -> None:
        super().__init__()
        self.cross_attention = MultiHeadAttention(hidden_size, hidden_size, n_heads)
        self.c_pre = nn.Conv1d(content_enc_channels, hidden_size, 1)
        self.text_pre = nn.Conv1d(content_enc_channels, hidden_size, 1)
        self.c_post = nn.Conv1d(hidden_size, out_channels, 1)

    def forward(
        self,
        ssl_enc: torch.Tensor,
        ssl_mask: torch.Tensor,
        text: torch.Tensor,
        text_mask: torch.Tensor,
        ge: torch.Tensor,
    ) -> torch.Tensor:
        """``ssl_enc`` ``[B, 192, T]``, ``text`` ``[B, 192, T_text]``, ``ge`` ``[B, 512, 1]``
        → ``[B, 192, T]``."""
        attn_mask = text_mask.unsqueeze(2) * ssl_mask.unsqueeze(-1)  # [B, 1, T, T_text]
        ssl_enc = self.c_pre(ssl_enc * ssl_mask)
        text_enc = self.text_pre(text * text_mask)
        x = self.cross_attention(ssl_enc * ssl_mask, text_enc * text_mask, attn_mask)
        x = x + ssl_enc + ge
        return self.c_post(x * ssl_mask)
