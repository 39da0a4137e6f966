"""Weight-normalised convolutions that keep upstream's state-dict names.

GPT-SoVITS uses ``torch.nn.utils.weight_norm``, which stores each weight as a magnitude
``weight_g`` (shape ``[out, 1, …]``) and a direction ``weight_v``. That API is deprecated and
warns (warnings are errors in our tests), and its replacement,
``torch.nn.utils.parametrizations.weight_norm``, renames the tensors to
``parametrizations.weight.original0/1``, which would break strict loading of upstream files.

So these layers own ``weight_g`` and ``weight_v`` as plain parameters and compute
``weight = g · v / ‖v‖`` (norm over every dim but 0) in ``forward``. The state dict then has
exactly upstream's keys (``bias``, ``weight_g``, ``weight_v``, in that order), with no hooks
and no key remapping. Recomputing the weight costs one small reduction per layer and call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["WNConv1d", "WNConv2d", "WNConvTranspose1d"]


def _split_weight(module: nn.Module) -> None:
    """Replace ``module.weight`` by ``weight_g`` (its per-output-channel norm) and ``weight_v``."""
    weight = module.weight.detach()
    del module.weight
    module.weight_g = nn.Parameter(_norm_except_dim0(weight))
    module.weight_v = nn.Parameter(weight.clone())


def _norm_except_dim0(v: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(v, dim=tuple(range(1, v.dim())), keepdim=True)


def _weight(module: nn.Module) -> torch.Tensor:
    """``g · v / ‖v‖``; without autograd (inference), computed once per parameter state.

    A SoVITS decode runs ~130 of these layers, and recomputing each weight costs three
    kernel launches, about a tenth of a decode's launches on a GPU. With gradients enabled
    (training) it is always recomputed, so autograd sees the real graph. The cache key is
    the parameters' storage and version counters: ``load_state_dict``, an optimiser step or
    ``.to()`` all change one of them, so a stale weight is never used.
    """
    v, g = module.weight_v, module.weight_g
    if torch.is_grad_enabled() or torch.compiler.is_compiling():  # compiled: fused anyway
        return v * (g / _norm_except_dim0(v))
    key = (v.data_ptr(), v._version, g.data_ptr(), g._version, v.dtype, v.device)
    cached = module.__dict__.get("_inference_weight")
    if cached is None or cached[0] != key:
        cached = (key, v * (g / _norm_except_dim0(v)))
        module.__dict__["_inference_weight"] = cached
    return cached[1]


class WNConv1d(nn.Conv1d):
    """``nn.Conv1d`` with weight norm; parameters ``bias``, ``weight_g``, ``weight_v``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _split_weight(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, _weight(self), self.bias)


class WNConv2d(nn.Conv2d):
    """``nn.Conv2d`` with weight norm; parameters ``bias``, ``weight_g``, ``weight_v``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _split_weight(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, _weight(self), self.bias)


class WNConvTranspose1d(nn.ConvTranspose1d):
    """``nn.ConvTranspose1d`` with weight norm (norm over dim 0, the *input* channels, as
    upstream's ``weight_norm(dim=0)`` does for transposed convolutions)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _split_weight(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(
            x,
            _weight(self),
            self.bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
        )
