"""Formatting a labelled dataset into GPT-SoVITS's ``logs/<experiment>/`` training files.

    from gsv_core.prepare import PrepareRequest, prepare_dataset
    result = prepare_dataset(PrepareRequest(list_path, "my voice", workspace))

Modules, one job each: ``validate`` (refuse a bad list, every line named), ``text_step``
(2-name2text rows, 3-bert), ``audio_step`` (upstream's loudness mix, 5-wav32k, HuBERT
input), ``hubert_batch`` (several clips per forward pass, equal to one at a time),
``audio_stage`` (one device's HuBERT + semantic work), ``feature_files`` (writing them),
``sharding`` (several devices), ``manifest`` (what each output was made from), ``run`` (the
whole run), ``cli`` (``gsv-studio prepare``). Importing this package loads no model.
"""

from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.prepare.outcome import ClipFailure, PrepareResult
from gsv_core.prepare.run import PrepareRequest, prepare_dataset, resolve_devices

__all__ = ["ClipFailure", "ExperimentFiles", "PrepareRequest", "PrepareResult",
           "prepare_dataset", "resolve_devices"]
