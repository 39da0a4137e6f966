"""Which device and number format inference runs in.

Half precision only where it is fast and safe: CUDA cards that compute fp16 natively
(compute capability 7.0 and later, i.e. tensor cores), with bf16 where the card supports it
(8.0 and later), because bf16 keeps fp32's exponent range and cannot overflow in the GPT's
attention. The CPU and Apple MPS always run fp32: half-precision matmuls on the CPU are slow
and lose accuracy, and MPS fp16 differs from the CUDA kernels the models were checked with.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gsv_core.errors import ConfigError

__all__ = ["PRECISIONS", "ModelDtypes", "choose_dtype", "model_dtypes", "parse_precision"]

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_FP16_MIN_CAPABILITY = (7, 0)
_BF16_MIN_CAPABILITY = (8, 0)


def parse_precision(name: str) -> torch.dtype:
    """``"fp32"``/``"fp16"``/``"bf16"`` → the torch dtype; ConfigError otherwise."""
    key = name.strip().lower()
    if key not in PRECISIONS:
        raise ConfigError(f"precision: unknown value {name!r}.",
                          f"Use one of: {', '.join(PRECISIONS)}.")
    return PRECISIONS[key]


def choose_dtype(device: torch.device, precision: str | None = None,
                 capability: tuple[int, int] | None = None) -> torch.dtype:
    """The dtype for ``device``: the requested one if allowed, else the best safe one.

    Args:
        precision: None picks; a name forces it, but half on the CPU or MPS is refused.
        capability: the CUDA compute capability (read from the device when None).

    Raises:
        ConfigError: half precision asked for on the CPU or MPS.
    """
    if precision is not None:
        dtype = parse_precision(precision)
        if dtype != torch.float32 and device.type != "cuda":
            raise ConfigError(f"precision {precision} is not used on {device.type}: half "
                              "precision there is slow and inaccurate.",
                              "Leave precision unset (fp32 on this device).")
        return dtype
    if device.type != "cuda":
        return torch.float32
    if capability is None:
        capability = torch.cuda.get_device_capability(device)
    if capability >= _BF16_MIN_CAPABILITY:
        return torch.bfloat16
    if capability >= _FP16_MIN_CAPABILITY:
        return torch.float16
    return torch.float32


@dataclass(frozen=True)
class ModelDtypes:
    """The dtype of each model: the GPT may run bf16, the rest stays in upstream's fp16.

    SoVITS, HuBERT and BERT are run in fp16 whenever the GPT runs in half precision: that is
    what upstream ships and checks (``is_half``); bf16's 8-bit mantissa is meant for the
    GPT's long attention, not for the vocoder's waveform.
    """

    gpt: torch.dtype
    sovits: torch.dtype
    features: torch.dtype


def model_dtypes(device: torch.device, precision: str | None = None,
                 capability: tuple[int, int] | None = None) -> ModelDtypes:
    """The dtypes for ``device`` (see :func:`choose_dtype` and :class:`ModelDtypes`)."""
    gpt = choose_dtype(device, precision, capability)
    other = torch.float32 if gpt == torch.float32 else torch.float16
    return ModelDtypes(gpt=gpt, sovits=other, features=other)
