"""Building blocks of the SoVITS generator: channel LayerNorm, the WaveNet stack (WN),
HiFi-GAN residual blocks and the mean-only affine coupling flow.

Attribute names (``in_layers``, ``res_skip_layers``, ``cond_layer``, ``convs1``, ``flows`` …)
are upstream's (``GPT_SoVITS/module/modules.py``), so state-dict keys match its checkpoints.
Tensors are channel-first: ``[B, C, T]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gsv_core.models.commons import gated_activation, get_padding
from gsv_core.models.weight_norm import WNConv1d

__all__ = [
    "LRELU_SLOPE",
    "WN",
    "LayerNorm",
    "ResBlock1",
    "ResBlock2",
    "ResidualCouplingBlock",
    "ResidualCouplingLayer",
]

LRELU_SLOPE = 0.1  # HiFi-GAN's leaky-ReLU slope inside the generator and discriminators


class LayerNorm(nn.Module):
    """LayerNorm over the channel axis of ``[B, C, T]``; parameters ``gamma``/``beta``."""

    def __init__(self, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = channels
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.layer_norm(x.transpose(1, -1), (self.channels,), self.gamma, self.beta, self.eps)
        return x.transpose(1, -1)


class WN(nn.Module):
    """Non-causal WaveNet: gated dilated convolutions with residual and skip outputs.

    Optionally conditioned on a global vector ``g`` ``[B, gin, 1]`` through one 1×1
    ``cond_layer`` that yields the conditioning of every layer at once.
    """

    def __init__(
        self,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
        p_dropout: float = 0.0,
    ) -> None:
        super().__init__()
        assert kernel_size % 2 == 1, "WN needs an odd kernel"
        self.hidden_channels = hidden_channels
        self.n_layers = n_layers
        self.in_layers = nn.ModuleList()
        self.res_skip_layers = nn.ModuleList()
        self.drop = nn.Dropout(p_dropout)
        if gin_channels:
            self.cond_layer = WNConv1d(gin_channels, 2 * hidden_channels * n_layers, 1)
        else:
            self.cond_layer = None
        for i in range(n_layers):
            dilation = dilation_rate**i
            self.in_layers.append(
                WNConv1d(
                    hidden_channels,
                    2 * hidden_channels,
                    kernel_size,
                    dilation=dilation,
                    padding=get_padding(kernel_size, dilation),
                )
            )
            # the last layer only feeds the skip sum, so it has no residual half
            out_channels = 2 * hidden_channels if i < n_layers - 1 else hidden_channels
            self.res_skip_layers.append(WNConv1d(hidden_channels, out_channels, 1))

    def forward(
        self, x: torch.Tensor, x_mask: torch.Tensor, g: torch.Tensor | None = None
    ) -> torch.Tensor:
        h = self.hidden_channels
        output = torch.zeros_like(x)
        cond = self.cond_layer(g) if g is not None else None  # [B, 2h·n_layers, 1]
        layers = zip(self.in_layers, self.res_skip_layers, strict=True)
        for i, (in_layer, res_skip) in enumerate(layers):
            cond_i = cond[:, 2 * h * i : 2 * h * (i + 1)] if cond is not None else None
            acts = self.drop(gated_activation(in_layer(x), cond_i, h))
            res_skip_acts = res_skip(acts)
            if i < self.n_layers - 1:
                x = (x + res_skip_acts[:, :h]) * x_mask
                output = output + res_skip_acts[:, h:]
            else:
                output = output + res_skip_acts
        return output * x_mask


def _dilated_convs(channels: int, kernel_size: int, dilations: Sequence[int]) -> nn.ModuleList:
    return nn.ModuleList(
        WNConv1d(channels, channels, kernel_size, dilation=d, padding=get_padding(kernel_size, d))
        for d in dilations
    )


class ResBlock1(nn.Module):
    """HiFi-GAN V1 residual block: for each dilation, lrelu → dilated conv → lrelu → conv."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation: Sequence[int] = (1, 3, 5)):
        super().__init__()
        self.convs1 = _dilated_convs(channels, kernel_size, dilation)
        self.convs2 = _dilated_convs(channels, kernel_size, [1] * len(dilation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2, strict=True):
            xt = c1(F.leaky_relu(x, LRELU_SLOPE))
            x = x + c2(F.leaky_relu(xt, LRELU_SLOPE))
        return x


class ResBlock2(nn.Module):
    """HiFi-GAN V2/V3 residual block: lrelu → dilated conv, once per dilation."""

    def __init__(self, channels: int, kernel_size: int = 3, dilation: Sequence[int] = (1, 3)):
        super().__init__()
        self.convs = _dilated_convs(channels, kernel_size, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self.convs:
            x = x + conv(F.leaky_relu(x, LRELU_SLOPE))
        return x


class ResidualCouplingLayer(nn.Module):
    """Mean-only affine coupling: the second half of the channels is shifted by a WN
    prediction from the first half. Volume-preserving, so no log-determinant is needed."""

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        assert channels % 2 == 0, "coupling needs an even channel count"
        self.half_channels = channels // 2
        self.pre = nn.Conv1d(self.half_channels, hidden_channels, 1)
        self.enc = WN(hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels)
        self.post = nn.Conv1d(hidden_channels, self.half_channels, 1)
        # zero init: a fresh flow is the identity
        nn.init.zeros_(self.post.weight)
        nn.init.zeros_(self.post.bias)

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> torch.Tensor:
        x0, x1 = torch.split(x, [self.half_channels] * 2, dim=1)
        h = self.enc(self.pre(x0) * x_mask, x_mask, g=g)
        shift = self.post(h) * x_mask
        x1 = (x1 - shift) * x_mask if reverse else shift + x1 * x_mask
        return torch.cat([x0, x1], dim=1)


class _Flip(nn.Module):
    """Reverse the channel order between couplings (no parameters)."""

    def forward(self, x: torch.Tensor, *_, **__) -> torch.Tensor:
        return torch.flip(x, [1])


class ResidualCouplingBlock(nn.Module):
    """The SoVITS flow: ``n_flows`` couplings, each followed by a flip.

    Couplings sit at ``flows.0``, ``flows.2``, …; the flips have no parameters.
    """

    def __init__(
        self,
        channels: int,
        hidden_channels: int,
        kernel_size: int,
        dilation_rate: int,
        n_layers: int,
        n_flows: int = 4,
        gin_channels: int = 0,
    ) -> None:
        super().__init__()
        self.flows = nn.ModuleList()
        for _ in range(n_flows):
            self.flows.append(
                ResidualCouplingLayer(
                    channels, hidden_channels, kernel_size, dilation_rate, n_layers, gin_channels
                )
            )
            self.flows.append(_Flip())

    def forward(
        self,
        x: torch.Tensor,
        x_mask: torch.Tensor,
        g: torch.Tensor | None = None,
        reverse: bool = False,
    ) -> torch.Tensor:
        for flow in reversed(self.flows) if reverse else self.flows:
            x = flow(x, x_mask, g=g, reverse=reverse)
        return x
