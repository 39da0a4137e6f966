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
    assert tuple(ours.shape) == tuple(ref.shape)
    error = relative_error(ours, ref)
    assert error <= rel, f"relative error {error:.2e} > {rel:.0e}"
