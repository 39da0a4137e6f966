"""The fixture README's comparison rule, in one place.

Floats pass when max|ours - ref| <= 1e-4 * max|ref|, with an absolute floor of 1e-6
for all-small tensors (expressed here as a floor of 1e-2 on the scale).
"""

from __future__ import annotations

import torch

RELATIVE_TOLERANCE = 1e-4


def relative_error(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max|ours - ref| relative to the reference's largest magnitude (ours may be on a GPU)."""
    scale = max(ref.abs().max().item(), 1e-2)  # 1e-4 * 1e-2 = the README's 1e-6 floor
    return (ours.detach().float().cpu() - ref.float()).abs().max().item() / scale


def assert_close_to_reference(ours: torch.Tensor, ref: torch.Tensor,
                              rel: float = RELATIVE_TOLERANCE) -> None:
    """Same shape, then the README's rule. The shape comes first because the difference
    broadcasts: ``[3, 4]`` against a ``[1, 3, 4]`` reference (a lost batch axis) would pass."""
    assert tuple(ours.shape) == tuple(ref.shape), (
        f"shape {tuple(ours.shape)} differs from the reference's {tuple(ref.shape)}")
    error = relative_error(ours, ref)
    assert error <= rel, f"max error {error:.3g} of max|ref| (allowed {rel:g})"
