"""A/B listening (R-5): the same text, reference and seed rendered with several exported
SoVITS epochs of one experiment, so a user hears which epoch sounds best instead of
guessing from the loss (the lowest loss is often not the best-sounding epoch).

- :func:`experiment_checkpoints`: an experiment's exported SoVITS epochs, lowest epoch first
  (numerically: ``e10`` after ``e9``); names and order come from :mod:`gsv_core.infer.catalog`.
- :func:`epoch_losses`: the training loss per epoch from the experiment's log folder
  ``logs/<experiment>/``, when a log is there. Two layouts are read:

  * ours: JSON lines in ``logs/<experiment>/*.jsonl``. A line counts when it is an object
    with an integer ``"epoch"`` and a number ``"loss"``; a ``"model"`` key other than
    ``"sovits"`` (e.g. ``"gpt"``) skips it. The last line of an epoch wins (a resumed
    run rewrites the epochs it repeats).
  * upstream's ``logs/<experiment>/train.log`` (``s2_train.py`` at 48b1a01): a
    ``Train Epoch: <n> [<p>%]`` line, then a line with the list ``[loss_disc, loss_gen,
    loss_fm, loss_mel, kl_ssl, loss_kl, step, lr]``. The epoch's loss is the mean of the
    generator's total (``loss_gen + loss_fm + loss_mel + kl_ssl + loss_kl``, what
    upstream minimises) over its logged steps. Resuming appends to the same file and
    logs steps again from the last checkpoint: where the step goes back, a new run
    starts, and an epoch it trains again starts over.

  Ours wins where both name an epoch.
- :func:`render_epochs`: renders through ``InferenceEngine`` and puts back the weights
  that were loaded before, so the Inference tab's own picks are untouched afterwards.
"""

from __future__ import annotations

import ast
import json
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_core.errors import ConfigError
from gsv_core.infer.catalog import weight_catalog
from gsv_core.infer.options import InferenceOptions, Reference
from gsv_core.workspace import Workspace

if TYPE_CHECKING:
    from gsv_core.infer.engine import InferenceEngine, Synthesis

__all__ = [
    "EpochRender",
    "epoch_losses",
    "experiment_checkpoints",
    "render_epochs",
]

log = logging.getLogger(__name__)

UPSTREAM_TRAIN_LOG = "train.log"
_EPOCH_LINE = re.compile(r"Train Epoch: (\d+) \[")
_LOSS_LIST = re.compile(r"\t(\[[^\]]*\])\s*$")
_GENERATOR_TERMS = slice(1, 6)  # loss_gen, loss_fm, loss_mel, kl_ssl, loss_kl
_STEP_INDEX = 6
_UPSTREAM_LIST_LENGTH = 8


@dataclass(frozen=True)
class EpochRender:
    """One epoch's render, labelled for the A/B players."""

    checkpoint: Path
    epoch: int | None  # None when the file name carries no epoch
    loss: float | None  # training loss at that epoch, when the log has it
    synthesis: Synthesis


def experiment_checkpoints(workspace: Workspace, experiment: str) -> list[Path]:
    """The experiment's exported SoVITS weights, lowest epoch first (then lowest step)."""
    return [entry.path for entry in weight_catalog(workspace).sovits_epochs(experiment)]


def _our_losses(folder: Path) -> dict[int, float]:
    losses: dict[int, float] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line being written, or not ours
            if not isinstance(event, dict) or event.get("model", "sovits") != "sovits":
                continue
            epoch, loss = event.get("epoch"), event.get("loss")
            if (isinstance(epoch, int) and not isinstance(epoch, bool)
                    and isinstance(loss, int | float) and not isinstance(loss, bool)
                    and math.isfinite(loss)):
                losses[epoch] = float(loss)
    return losses


def _upstream_losses(path: Path) -> dict[int, float]:
    totals: dict[int, tuple[int, list[float]]] = {}  # epoch → (run, generator totals)
    epoch: int | None = None
    run, last_step = 0, -1
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if (match := _EPOCH_LINE.search(line)) is not None:
            epoch = int(match[1])
            continue
        if epoch is None or (match := _LOSS_LIST.search(line)) is None:
            continue
        try:
            values = ast.literal_eval(match[1])
        except (ValueError, SyntaxError):
            continue
        if not (isinstance(values, list) and len(values) == _UPSTREAM_LIST_LENGTH
                and all(isinstance(v, int | float) for v in values)):
            continue
        step = int(values[_STEP_INDEX])
        if step <= last_step:  # the step went back: a resumed run logs from here on
            run += 1
        last_step = step
        epoch_run, epoch_totals = totals.get(epoch, (run, []))
        if epoch_run != run:
            epoch_totals = []  # the resumed run trains this epoch again
        epoch_totals.append(float(sum(values[_GENERATOR_TERMS])))
        totals[epoch] = (run, epoch_totals)
    return {e: sum(v) / len(v) for e, (_, v) in totals.items()}


def epoch_losses(workspace: Workspace, experiment: str) -> dict[int, float]:
    """Training loss per epoch of the experiment's SoVITS run; empty without a log."""
    folder = workspace.experiment_dir(experiment)
    if not folder.is_dir():
        return {}
    upstream = folder / UPSTREAM_TRAIN_LOG
    losses = _upstream_losses(upstream) if upstream.is_file() else {}
    return {**losses, **_our_losses(folder)}


def _labels(workspace: Workspace, checkpoints: Sequence[Path]
            ) -> list[tuple[int | None, float | None]]:
    """(epoch, loss) for each checkpoint, from the catalog's name parsing and the logs."""
    # by the path as named, not resolved: links under export names to one file are epochs
    entries = {os.path.abspath(entry.path): entry for entry in weight_catalog(workspace).sovits}
    losses: dict[str, dict[int, float]] = {}
    labels = []
    for path in checkpoints:
        entry = entries.get(os.path.abspath(path))
        if entry is None or entry.epoch is None or entry.experiment is None:
            labels.append((None, None))
            continue
        if entry.experiment not in losses:
            losses[entry.experiment] = epoch_losses(workspace, entry.experiment)
        labels.append((entry.epoch, losses[entry.experiment].get(entry.epoch)))
    return labels


def render_epochs(
    engine: InferenceEngine,
    sovits_checkpoints: Sequence[Path],
    reference: Reference,
    text: str,
    options: InferenceOptions,
    progress: Callable[[int, int], None] | None = None,
    *,
    gpt_checkpoint: Path | None = None,
) -> list[EpochRender]:
    """Render ``text`` once per SoVITS checkpoint with one seed, in the order given.

    A seed of -1 is drawn once, so every epoch hears the same GPT tokens' randomness and the
    renders differ only by the SoVITS weights. ``gpt_checkpoint`` loads a GPT first (else
    the engine's). ``progress(done, count)`` follows each render. The engine's previously
    loaded SoVITS (and GPT) are loaded back afterwards, also when a render fails.

    Epoch and loss come from the workspace (``engine.workspace``): a checkpoint outside its
    ``SoVITS_weights_v2`` folder, or named otherwise, gets ``epoch=None`` and no loss.
    """
    if not sovits_checkpoints:
        raise ConfigError("No epochs were picked to compare.",
                          "Pick at least one exported SoVITS epoch of the experiment.")
    options = options.validate().with_seed_drawn()  # one seed for every epoch
    labels = _labels(engine.workspace, sovits_checkpoints)
    previous_sovits, previous_gpt = engine.sovits_path, engine.gpt_path
    renders: list[EpochRender] = []
    try:
        if gpt_checkpoint is not None:
            engine.load_gpt(gpt_checkpoint)
        for done, (path, (epoch, loss)) in enumerate(zip(sovits_checkpoints, labels,
                                                         strict=True), start=1):
            engine.load_sovits(path)
            synthesis = engine.synthesize(reference, text, options)
            renders.append(EpochRender(Path(path), epoch, loss, synthesis))
            if progress is not None:
                progress(done, len(sovits_checkpoints))
    finally:
        if previous_sovits is not None:
            engine.load_sovits(previous_sovits)
        if previous_gpt is not None and gpt_checkpoint is not None:
            engine.load_gpt(previous_gpt)
    return renders
