"""Inference: text to speech with user-trained or official GPT-SoVITS v2 models.

``InferenceEngine`` (``engine.py``) holds the models and renders; ``InferenceOptions`` and
``Reference`` (``options.py``) describe a request. One job per module:

    options        the request's settings and their validation
    reference      reference clip -> prompt tokens, spectrograms, timbre, prompt phones
    prompt_cache   reference features kept across calls, keyed by content
    segments       target text -> segments -> phones and BERT
    model_files    GPT/SoVITS weight files in every layout, and their identity
    precision      which dtype on which device
    engine         the whole request, whole or streamed
    stream         chunked SoVITS decoding within a segment (streaming modes 2/3)
    lazy           an engine made on first use (the UI and the API share one)
"""


from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gsv_core.infer.engine import AudioChunk, InferenceEngine, Synthesis
    from gsv_core.infer.options import InferenceOptions, Reference

__all__ = ["AudioChunk", "InferenceEngine", "InferenceOptions", "Reference", "Synthesis"]

# The exports load on first use: the UI imports light submodules (catalog, history, ffmpeg)
# while it builds, and importing the engine here would pull torch into every start-up.
_EXPORTS = {"AudioChunk": "engine", "InferenceEngine": "engine", "Synthesis": "engine",
            "InferenceOptions": "options", "Reference": "options"}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
