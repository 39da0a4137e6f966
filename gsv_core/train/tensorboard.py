"""TensorBoard scalars where upstream's users look for them.

Upstream users open ``tensorboard --logdir logs/<exp>`` (it searches the folders below), so
each trainer writes under the experiment: SoVITS in ``logs/<exp>/logs_s2_v2`` (the folder
of upstream's SoVITS checkpoints; upstream's own SoVITS writer sits one level up, in
``logs/<exp>/`` itself, s2_train.py's ``SummaryWriter(log_dir=hps.s2_ckpt_dir)``), GPT in
``logs/<exp>/logs_s1_v2`` (upstream's GPT output folder; Lightning adds
``logs_s1_v2/version_N`` below it). Both show up from ``--logdir logs/<exp>``, each as its
own run. ``torch.utils.tensorboard`` needs the ``tensorboard`` package (a dependency); if it
is missing anyway, no scalars are written and training goes on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

__all__ = ["TENSORBOARD_FOLDERS", "scalar_writer"]

logger = logging.getLogger(__name__)

TENSORBOARD_FOLDERS = {"sovits": "logs_s2_v2", "gpt": "logs_s1_v2"}


def scalar_writer(experiment_dir: str | Path, kind: str) -> Any | None:
    """A ``torch.utils.tensorboard.SummaryWriter`` for ``kind`` ("sovits" or "gpt") in its
    folder of ``experiment_dir`` (see the module docstring), or None when the tensorboard
    package is not installed (said once in the log). Call ``add_scalar(tag, value, step)``
    and ``close()`` on it; only rank 0 of a DDP run should make one."""
    if kind not in TENSORBOARD_FOLDERS:
        raise ValueError(f"kind must be one of {', '.join(TENSORBOARD_FOLDERS)}, not {kind!r}")
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        logger.warning("no TensorBoard scalars: %s (pip install 'tensorboard>=2.14')", exc)
        return None
    return SummaryWriter(log_dir=str(Path(experiment_dir) / TENSORBOARD_FOLDERS[kind]))
