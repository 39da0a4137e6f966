"""Optional ``torch.compile`` of the SoVITS step's fixed-shape parts, with CUDA graphs.

The SoVITS step is host-bound: about 15,000 kernel launches a step, the GPU busy about a
third of the time (docs/benchmarks.md). The HiFi-GAN decoder and the discriminator see the
same shapes at every step of a run (the random 20480-sample segments of a full batch, the
sampler never yields a short one), so ``torch.compile(mode="reduce-overhead")`` can fuse
their kernels and replay them as CUDA graphs. Measured on an H200 in one run (batch 14,
10 s clips): 49.0 → 68.2 samples/s, peak memory a little lower, after about two minutes
of compiling during the first steps. The text encoder, posterior encoder and flow see new
lengths at every batch and stay eager.

Off by default: compiling needs a CUDA GPU, Triton (not shipped for Windows) and a C
compiler, costs minutes at the start and only pays off on runs longer than that. A run
asked to compile where it cannot says why and trains uncompiled; a compile that fails at
a step falls back to the uncompiled step for the rest of the run, with a warning
(:class:`gsv_core.train.sovits.SovitsStep`). ``module.compile()`` compiles in place, so
state-dict keys (resume files, exports) are exactly those of the uncompiled modules.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from typing import TYPE_CHECKING

from gsv_core.i18n import mark

if TYPE_CHECKING:  # the UI reads compile_blocker without importing torch
    from torch import nn

__all__ = ["COMPILE_MODE", "compile_blocker", "compile_fixed_shape_parts", "uncompile"]

COMPILE_MODE = "reduce-overhead"  # inductor kernels replayed as CUDA graphs


def compile_blocker(device_type: str, processes: int = 1) -> str | None:
    """Why a SoVITS run on ``device_type`` with ``processes`` processes cannot compile (an
    English sentence, marked for translation), or None when it can."""
    if device_type != "cuda":
        return mark("compiling needs an NVIDIA GPU (CUDA)")
    if processes > 1:
        return mark("compiling is not used with several training processes (DDP)")
    if importlib.util.find_spec("triton") is None:
        return (mark("compiling needs Triton, which PyTorch does not ship for Windows")
                if sys.platform == "win32" else
                mark("compiling needs Triton, which is not installed"))
    if not any(shutil.which(name) for name in ("cc", "gcc", "clang")):
        return mark("compiling needs a C compiler (gcc or clang) for Triton")
    return None


def compile_fixed_shape_parts(decoder: nn.Module, discriminator: nn.Module,
                              mode: str | None = COMPILE_MODE) -> None:
    """Compile the decoder and the discriminator in place (the first calls compile);
    ``mode`` is torch.compile's (None: its default; the benchmark compares them)."""
    decoder.compile(mode=mode)
    discriminator.compile(mode=mode)


def uncompile(*modules: nn.Module) -> None:
    """Undo :func:`compile_fixed_shape_parts`: the modules run eagerly again."""
    for module in modules:
        module._compiled_call_impl = None  # what nn.Module.compile sets
