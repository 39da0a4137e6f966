"""The SoVITS decoder (``dec``): a HiFi-GAN generator from latent frames to a waveform,
conditioned on the style vector. Names as upstream's ``Generator``
(``GPT_SoVITS/module/models.py``): ``conv_pre``, ``cond``, ``ups``, ``resblocks``,
``conv_post``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gsv_core.models.modules import LRELU_SLOPE, ResBlock1, ResBlock2
from gsv_core.models.weight_norm import WNConvTranspose1d

__all__ = ["HiFiGANGenerator"]


class HiFiGANGenerator(nn.Module):
    """Latent ``[B, C, T]`` (+ style ``[B, gin, 1]``) → waveform ``[B, 1, T · hop]``.

    ``hop`` is the product of ``upsample_rates`` (640).
    """

    def __init__(
        self,
        initial_channel: int,
        resblock: str,
        resblock_kernel_sizes: Sequence[int],
        resblock_dilation_sizes: Sequence[Sequence[int]],
        upsample_rates: Sequence[int],
        upsample_initial_channel: int,
        upsample_kernel_sizes: Sequence[int],
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.num_kernels = len(resblock_kernel_sizes)
        self.conv_pre = nn.Conv1d(initial_channel, upsample_initial_channel, 7, 1, padding=3)
        block = ResBlock1 if resblock == "1" else ResBlock2
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        channels = upsample_initial_channel
        for rate, kernel in zip(upsample_rates, upsample_kernel_sizes, strict=True):
            padding = (kernel - rate) // 2
            up = WNConvTranspose1d(channels, channels // 2, kernel, rate, padding=padding)
            self.ups.append(up)
            channels //= 2
            for k, d in zip(resblock_kernel_sizes, resblock_dilation_sizes, strict=True):
                self.resblocks.append(block(channels, k, d))
        self.conv_post = nn.Conv1d(channels, 1, 7, 1, padding=3, bias=False)
        self.cond = nn.Conv1d(gin_channels, upsample_initial_channel, 1) if gin_channels else None

    def forward(self, x: torch.Tensor, g: torch.Tensor | None = None) -> torch.Tensor:
        x = self.conv_pre(x)
        if g is not None:
            x = x + self.cond(g)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            blocks = self.resblocks[i * self.num_kernels : (i + 1) * self.num_kernels]
            x = sum(block(x) for block in blocks) / self.num_kernels  # multi-receptive-field fusion
        # upstream's last activation uses torch's default slope 0.01, not LRELU_SLOPE
        x = self.conv_post(F.leaky_relu(x))
        return torch.tanh(x)
