"""The per-epoch loss log A/B listening labels its epochs with (R-5).

``gsv_core.infer.ab.epoch_losses`` reads JSON lines ``{"model", "epoch", "loss"}`` from
``logs/<exp>/*.jsonl``; the trainers append one line per finished epoch here, in
``logs/<exp>/train-losses.jsonl``, so "epoch 8 (loss 21.4)" can stand beside each player. The
loss is the epoch's mean of the quantity the model minimises (SoVITS: the generator's total;
GPT: its cross-entropy), the same number the Training tab plots. One ``write`` of one line per
call, so a reader never sees half a line; a resumed run appends the epochs it repeats again and
the reader keeps the last line of an epoch.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

__all__ = ["EPOCH_LOG", "append_epoch_loss"]

EPOCH_LOG = "train-losses.jsonl"


def append_epoch_loss(experiment_dir: str | os.PathLike[str], model: str, epoch: int,
                      loss: float, step: int | None = None) -> Path | None:
    """Append ``epoch``'s mean ``loss`` of ``model`` ("sovits" or "gpt"); a loss that is
    not finite is not written (the UI shows the NaN from the job's events instead)."""
    if not math.isfinite(loss):
        return None
    path = Path(experiment_dir) / EPOCH_LOG
    line = {"model": model, "epoch": int(epoch), "loss": float(loss), "time": time.time()}
    if step is not None:
        line["step"] = int(step)
    data = (json.dumps(line) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0),
                 0o666)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return path
