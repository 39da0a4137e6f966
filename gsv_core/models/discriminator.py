"""The SoVITS v2 discriminator: one scale discriminator plus period discriminators for
periods 2, 3, 5, 7, 11 (upstream ``MultiPeriodDiscriminator``; v2Pro adds 17 and 23).

Keys as upstream: ``discriminators.0`` is the scale (1-D) discriminator,
``discriminators.1…5`` the period ones, each with ``convs.<i>`` and ``conv_post``
(weight-normed, ``weight_g``/``weight_v``).

``channel_divisor`` (default 1, upstream's sizes) divides every layer's width and grouping:
a narrower discriminator with the same layers, strides and keys. Nothing official is that
size; it is for small test runs, and :func:`channel_divisor_of` reads it back from a file's
weights so a discriminator always takes the shape of the file it is loaded from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gsv_core.models.commons import get_padding
from gsv_core.models.modules import LRELU_SLOPE
from gsv_core.models.weight_norm import WNConv1d, WNConv2d

__all__ = ["V2_PERIODS", "DiscriminatorOutput", "MultiPeriodDiscriminator",
           "channel_divisor_of"]

V2_PERIODS = (2, 3, 5, 7, 11)
FULL_WIDTH = 1024  # the widest layer of every sub-discriminator at upstream's size


@dataclass(frozen=True)
class DiscriminatorOutput:
    """Per sub-discriminator: flattened scores ``[B, N]`` and the feature maps of each layer."""

    scores: list[torch.Tensor]
    feature_maps: list[list[torch.Tensor]]


def _narrow(width: int, divisor: int) -> int:
    """A channel count or group count at 1/``divisor`` of upstream's, never below one."""
    return max(width // divisor, 1)


def channel_divisor_of(state: dict[str, torch.Tensor]) -> int:
    """The ``channel_divisor`` a discriminator state dict was made with (1 for upstream's
    files), read from the scale discriminator's last layer."""
    key = next((k for k in ("discriminators.0.conv_post.weight_v",
                            "discriminators.0.conv_post.weight") if k in state), None)
    if key is None:
        return 1
    return max(FULL_WIDTH // int(state[key].shape[1]), 1)


def _run(
    convs: nn.ModuleList, conv_post: nn.Module, x: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    feature_maps = []
    for conv in convs:
        x = F.leaky_relu(conv(x), LRELU_SLOPE)
        feature_maps.append(x)
    x = conv_post(x)
    feature_maps.append(x)
    return torch.flatten(x, 1), feature_maps


class DiscriminatorS(nn.Module):
    """Scale discriminator on the raw waveform: grouped strided 1-D convolutions."""

    def __init__(self, channel_divisor: int = 1) -> None:
        super().__init__()
        # (in, out, kernel, stride, groups) at upstream's size
        layers = [
            (1, 16, 15, 1, 1),
            (16, 64, 41, 4, 4),
            (64, 256, 41, 4, 16),
            (256, 1024, 41, 4, 64),
            (1024, 1024, 41, 4, 256),
            (1024, 1024, 5, 1, 1),
        ]
        n = channel_divisor
        self.convs = nn.ModuleList(
            WNConv1d(_narrow(i, n), _narrow(o, n), k, s, groups=_narrow(g, n),
                     padding=get_padding(k))
            for i, o, k, s, g in layers
        )
        self.conv_post = WNConv1d(_narrow(1024, n), 1, 3, 1, padding=1)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        return _run(self.convs, self.conv_post, wav)


class DiscriminatorP(nn.Module):
    """Period discriminator: the waveform folded to ``[B, 1, T / period, period]`` and read by
    2-D convolutions along time only."""

    def __init__(self, period: int, kernel_size: int = 5, stride: int = 3,
                 channel_divisor: int = 1) -> None:
        super().__init__()
        self.period = period
        channels = [_narrow(c, channel_divisor) for c in (1, 32, 128, 512, 1024, 1024)]
        strides = [stride, stride, stride, stride, 1]
        padding = (get_padding(kernel_size), 0)
        self.convs = nn.ModuleList(
            WNConv2d(channels[i], channels[i + 1], (kernel_size, 1), (s, 1), padding=padding)
            for i, s in enumerate(strides)
        )
        self.conv_post = WNConv2d(channels[-1], 1, (3, 1), 1, padding=(1, 0))

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, t = wav.shape
        if t % self.period:
            pad = self.period - t % self.period
            wav = F.pad(wav, (0, pad), mode="reflect")
            t += pad
        return _run(self.convs, self.conv_post, wav.view(b, c, t // self.period, self.period))


class MultiPeriodDiscriminator(nn.Module):
    """Scale discriminator + one period discriminator per period; ``forward(wav [B, 1, T])``."""

    def __init__(self, periods: Sequence[int] = V2_PERIODS, channel_divisor: int = 1) -> None:
        super().__init__()
        if channel_divisor < 1 or FULL_WIDTH % channel_divisor:
            raise ValueError(f"channel_divisor must divide {FULL_WIDTH}, got {channel_divisor}")
        self.discriminators = nn.ModuleList(
            [DiscriminatorS(channel_divisor),
             *(DiscriminatorP(p, channel_divisor=channel_divisor) for p in periods)]
        )

    def forward(self, wav: torch.Tensor) -> DiscriminatorOutput:
        """Scores and feature maps of every sub-discriminator for one batch of waveforms.

        Call it once for the real and once for the generated audio (upstream's forward takes
        both at once; the numbers are the same).
        """
        results = [d(wav) for d in self.discriminators]
        return DiscriminatorOutput(
            scores=[scores for scores, _ in results], feature_maps=[fm for _, fm in results]
        )
