"""Small tensor helpers shared by the SoVITS networks: masks, padding, slicing, gating."""

from __future__ import annotations

import torch

__all__ = [
    "gated_activation",
    "get_padding",
    "length_mask",
    "rand_slice_segments",
    "slice_segments",
]


def get_padding(kernel_size: int, dilation: int = 1) -> int:
    """'Same' padding of an odd kernel with the given dilation."""
    return (kernel_size * dilation - dilation) // 2


def length_mask(lengths: torch.Tensor, max_length: int, dtype: torch.dtype) -> torch.Tensor:
    """``[B]`` lengths → ``[B, 1, max_length]`` mask of ones on valid frames, zeros on padding."""
    frames = torch.arange(max_length, device=lengths.device)
    return (frames.unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(1).to(dtype)


def gated_activation(x: torch.Tensor, cond: torch.Tensor | None, channels: int) -> torch.Tensor:
    """WaveNet gate: ``tanh(a) * sigmoid(b)``, ``a``/``b`` the two halves of ``x + cond``."""
    if cond is not None:
        x = x + cond
    return torch.tanh(x[:, :channels]) * torch.sigmoid(x[:, channels:])


def slice_segments(x: torch.Tensor, starts: torch.Tensor, segment_size: int) -> torch.Tensor:
    """Cut ``segment_size`` frames from each item of ``x`` ``[B, C, T]`` at ``starts`` ``[B]``."""
    offsets = starts.to(x.device).view(-1, 1) + torch.arange(segment_size, device=x.device)
    index = offsets.unsqueeze(1).expand(-1, x.shape[1], -1)  # [B, C, segment]
    return torch.gather(x, 2, index)


def rand_slice_segments(
    x: torch.Tensor,
    lengths: torch.Tensor,
    segment_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A random window of ``segment_size`` frames inside each item's valid length.

    Returns the slices ``[B, C, segment_size]`` and their start frames ``[B]`` (int64), which
    the trainer multiplies by the hop to cut the matching waveform.
    """
    max_start = (lengths - segment_size + 1).clamp(min=1).to(x.device)
    uniform = torch.rand(x.shape[0], generator=generator, device=x.device)
    starts = (uniform * max_start).long()
    return slice_segments(x, starts, segment_size), starts
