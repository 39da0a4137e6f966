"""Formatting a labelled dataset into GPT-SoVITS's ``logs/<experiment>/`` training files.

    from gsv_core.prepare import PrepareRequest, prepare_dataset
    result = prepare_dataset(PrepareRequest(list_path, "my voice", workspace))

Modules, one job each: ``validate`` (refuse a bad list, every line named), ``text_step``
(3-bert), ``audio_step`` (upstream's loudness mix, 5-wav32k, HuBERT
input), ``hubert_batch`` (several clips per forward pass, equal to one at a time),
``audio_stage`` (one device's HuBERT + semantic work), ``feature_files`` (writing them),
``labels`` (cleaning one label), ``label_pool`` (many, in worker processes),
``sharding`` (several devices), ``manifest`` (what each output was made from), ``run`` (the
whole run), ``cli`` (``gsv-studio prepare``). Importing this package loads no model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gsv_core.prepare.layout import ExperimentFiles
    from gsv_core.prepare.outcome import ClipFailure, PrepareResult
    from gsv_core.prepare.run import PrepareRequest, prepare_dataset, resolve_devices

__all__ = ["ClipFailure", "ExperimentFiles", "PrepareRequest", "PrepareResult",
           "prepare_dataset", "resolve_devices"]

# The exports load on first use, so that importing one light submodule (the label worker
# processes import ``labels`` only) does not pull torch in through ``run``.
_HOMES = {"ExperimentFiles": "layout", "ClipFailure": "outcome", "PrepareResult": "outcome",
          "PrepareRequest": "run", "prepare_dataset": "run", "resolve_devices": "run"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
