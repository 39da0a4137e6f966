"""The auto batch probe: the largest batch that really fits this card for this dataset.

The batch tables (B-1, B-2) are for 10-second slices on a typical card; the probe measures
instead. It builds the real trainer (the same models, optimizers and precision as a run) on
the experiment's longest items, runs :data:`STEPS_PER_TRY` optimizer steps at growing batch
sizes until the GPU runs out of memory, then halves the gap between the last batch that fit
and the first that did not. The first step of a try allocates the optimizer's state, so the
second shows the memory a run keeps; the longest items are the worst batch the length
buckets can form. A failed try frees its memory before the next one. A time limit ends the
search with what is known so far ("at least N fits").

Nothing is written but the result (``logs/<exp>/batch-probe-<kind>.json``, see
``probe_results``), keyed by the card and by the data it was measured on. Runs as a
background job (:func:`run_probes` for the Training tab, :func:`run_probe` for one model) or
from ``gsv-studio train KIND --probe``.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import ConfigError, HardwareError
from gsv_core.prepare import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.train.probe_results import (
    DEFAULT_TIME_LIMIT_S,
    ProbeResult,
    data_fingerprint,
    probe_path,
)
from gsv_core.train.reporting import TrainReporter
from gsv_core.workspace import Workspace

__all__ = ["STEPS_PER_TRY", "Search", "probe_batch", "run_probe", "run_probes",
           "search_largest_batch"]

STEPS_PER_TRY = 2
GROWTH = 1.5            # each larger try is this much larger (at least one more)


@dataclass(frozen=True)
class Search:
    """What the search found. ``largest_fit`` None: even the smallest try ran out of memory;
    ``first_failure`` None: nothing did. ``limited_by``: ``"memory"`` (the exact edge),
    ``"ceiling"`` (every size up to the ceiling fit), ``"time"`` (the limit came first) or
    ``"stopped"`` (the user's Stop)."""

    largest_fit: int | None
    first_failure: int | None
    limited_by: str
    tried: tuple[tuple[int, bool], ...]


def search_largest_batch(fits: Callable[[int], bool], start: int, ceiling: int,
                         give_up: Callable[[], str | None] = lambda: None) -> Search:
    """The largest batch in ``1..ceiling`` for which ``fits`` holds, assuming every smaller
    batch fits too: grow from ``start`` by :data:`GROWTH` while it fits, then bisect the gap
    between the largest fit and the smallest failure.

    ``give_up`` is asked before each try; a reason (``"time"``, ``"stopped"``) ends the
    search there, with what is known.
    """
    if ceiling < 1:
        raise ConfigError(f"The batch probe's ceiling is {ceiling}.",
                          "Use a ceiling of 1 or more.")
    low, high = 0, None            # low fits (0: none yet); high is the smallest failure
    tried: list[tuple[int, bool]] = []
    size = min(max(start, 1), ceiling)
    while (high - low > 1) if high is not None else low < ceiling:
        reason = give_up()
        if reason is not None:
            return Search(low or None, high, reason, tuple(tried))
        fitted = fits(size)
        tried.append((size, fitted))
        if fitted:
            low = size
        else:
            high = size
        if high is None:
            size = min(ceiling, max(low + 1, math.ceil(low * GROWTH)))
        else:
            size = (low + high) // 2
    return Search(low or None, high, "memory" if high is not None else "ceiling",
                  tuple(tried))


# --- trying one batch size ----------------------------------------------------------------

# At the memory edge cuBLAS and cuDNN can fail to allocate their workspace instead of torch.
_OOM_MARKS = ("out of memory", "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_NOT_ENOUGH_WORKSPACE",
              "CUDNN_STATUS_ALLOC_FAILED")


def _out_of_memory(exc: RuntimeError) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or any(m in str(exc) for m in _OOM_MARKS)


class _Trial:
    """Runs :data:`STEPS_PER_TRY` real steps at a batch size; False when memory ran out."""

    def __init__(self, config: TrainConfig, reporter: TrainReporter) -> None:
        self.config, self.reporter = config, reporter
        self.device = (torch.device("cuda", config.gpus[0]) if config.device == "cuda"
                       else torch.device(config.device))
        self.peaks: dict[int, float | None] = {}

    @property
    def items(self) -> int:
        raise NotImplementedError

    def _steps(self, size: int) -> None:
        raise NotImplementedError

    def _reset(self) -> None:
        """After an out-of-memory error: a fresh step (its grad scaler may be mid-step)."""

    def __call__(self, size: int) -> bool:
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.reset_peak_memory_stats(self.device)
        try:
            self._steps(size)
            if cuda:
                torch.cuda.synchronize(self.device)
            fitted = True
        except RuntimeError as exc:   # torch.OutOfMemoryError is one
            if not _out_of_memory(exc):
                raise
            fitted = False
        gc.collect()
        if cuda:
            self.peaks[size] = torch.cuda.max_memory_reserved(self.device) / 2**30
            torch.cuda.empty_cache()
        else:
            self.peaks[size] = None
        if not fitted:
            self._reset()
        word = "fits" if fitted else "ran out of memory"
        peak = self.peaks[size]
        self.reporter.log(f"Batch {size} {word}"
                          + (f" (peak {peak:.1f} GiB reserved)." if peak is not None else "."))
        return fitted


class _SovitsTrial(_Trial):
    def __init__(self, config: TrainConfig, reporter: TrainReporter) -> None:
        super().__init__(config, reporter)
        from gsv_core.train import sovits
        from gsv_core.train.sovits_data import (
            SovitsDataset,
            collate,
            ensure_spectrograms,
            read_clips,
        )

        files = ExperimentFiles.of(config.space, config.experiment)
        clips, _ = read_clips(files, warn=lambda m: reporter.log(m, "warning"), min_items=1)
        ensure_spectrograms(files, clips)
        dataset = SovitsDataset(files, clips, range(len(clips)))
        self._dataset, self._collate = dataset, collate
        self._longest = sorted(range(len(dataset)), key=lambda i: -dataset.frames[i])
        self.precision = sovits.choose_precision(config.precision, self.device)
        warn = lambda message: reporter.log(message, "warning")  # noqa: E731
        self.generator = sovits.load_generator(sovits._pretrained_generator(config), warn).to(
            self.device)
        self.discriminator = sovits.load_discriminator(
            sovits._pretrained_discriminator(config), warn).to(self.device)
        self.optim_g, self.optim_d, _ = sovits.build_optimizers(
            self.generator, self.discriminator, config.lr_weight,
            fused=self.device.type == "cuda")
        self._sovits = sovits
        self._reset()

    @property
    def items(self) -> int:
        return len(self._dataset)

    def _reset(self) -> None:
        self.step = self._sovits.SovitsStep(self.generator, self.discriminator, self.optim_g,
                                            self.optim_d, self.precision, self.device)

    def _steps(self, size: int) -> None:
        batch = self._collate([self._dataset[i] for i in self._longest[:size]]).to(self.device)
        for _ in range(STEPS_PER_TRY):
            self.step(batch)


class _GptTrial(_Trial):
    def __init__(self, config: TrainConfig, reporter: TrainReporter) -> None:
        super().__init__(config, reporter)
        from gsv_core.models.checkpoint import load_gpt
        from gsv_core.train import gpt
        from gsv_core.train.gpt_data import collate_gpt, load_gpt_dataset

        files = ExperimentFiles.of(config.space, config.experiment)
        dataset = load_gpt_dataset(files)
        durations = [clip.duration_s for clip in dataset.clips]
        self._dataset, self._collate = dataset, collate_gpt
        longest = sorted(range(len(dataset.clips)), key=lambda i: -durations[i])
        self._longest_items = [dataset.items.index(clip) for clip in longest]  # an item each
        self.model = load_gpt(gpt._pretrained(config), device=self.device).train()
        self._gpt = gpt
        self._precision = gpt._precision(config, self.device)
        self._reset()

    @property
    def items(self) -> int:
        return len(self._dataset.clips)

    def _reset(self) -> None:
        self.stepper = None   # the old optimizer's state goes before the new one is made
        gc.collect()
        self.stepper = self._gpt.GPTStepper(self.model, self.device, self._precision,
                                            self.config.dpo)

    def _steps(self, size: int) -> None:
        rows = [self._dataset[(item, self.config.seed)] for item in self._longest_items[:size]]
        batch = self._collate(rows, dpo=self.config.dpo).to(self.device)
        for _ in range(STEPS_PER_TRY):
            self.stepper.step([batch])


# --- the probe ------------------------------------------------------------------------------

def _card(device: torch.device) -> tuple[str, float | None]:
    if device.type != "cuda":
        return device.type.upper(), None
    props = torch.cuda.get_device_properties(device)
    return props.name, round(props.total_memory / 10**9)


def probe_batch(config: TrainConfig, reporter: TrainReporter, *, start: int,
                ceiling: int | None = None, time_limit_s: float = DEFAULT_TIME_LIMIT_S,
                card: tuple[str, float | None] | None = None) -> ProbeResult:
    """Measure the largest batch of ``config.kind`` (with ``config.dpo``) on its device and
    save it beside the experiment; ``start`` is the first size tried (the table's value),
    ``ceiling`` the largest (default: 4 × start, and never more items than the data has).
    ``card`` is the (name, GB) the result is saved for, as the guidelines name the card
    (``GpuInfo.name``, ``vram_gb``); default: as torch names the device."""
    began = time.monotonic()
    if config.device == "cuda" and not torch.cuda.is_available():   # say so before any work
        raise HardwareError(f"The batch probe runs on a CUDA GPU, and this torch "
                            f"({torch.__version__}) cannot use one here.",
                            "Run it where the NVIDIA driver and the CUDA build of torch are "
                            "installed (the set-up scripts install it with an NVIDIA GPU).")
    trial: _Trial = (_SovitsTrial if config.kind == "sovits" else _GptTrial)(config, reporter)
    top = min(ceiling or 4 * max(start, 1), trial.items)
    reporter.log(f"Probing {config.kind} batches from {min(start, top)} up to {top} "
                 f"({STEPS_PER_TRY} steps each, at most {time_limit_s:.0f} s).")
    done = [0]

    def fits(size: int) -> bool:
        fitted = trial(size)
        done[0] += 1
        reporter.progress(done[0], None, f"batch {size} {'fits' if fitted else 'does not fit'}")
        return fitted

    def give_up() -> str | None:
        if reporter.should_stop():
            return "stopped"
        return "time" if time.monotonic() - began > time_limit_s else None

    found = search_largest_batch(fits, start, top, give_up)
    card_name, memory_gb = card if card is not None else _card(trial.device)
    files = ExperimentFiles.of(config.space, config.experiment)
    result = ProbeResult(
        kind=config.kind, dpo=config.dpo and config.kind == "gpt", card=card_name,
        memory_gb=memory_gb, data=data_fingerprint(files, config.kind),
        largest_fit=found.largest_fit, first_failure=found.first_failure,
        limited_by=found.limited_by if not (found.limited_by == "ceiling"
                                            and top == trial.items) else "clips",
        tried=tuple((size, fitted, trial.peaks.get(size)) for size, fitted in found.tried),
        seconds=round(time.monotonic() - began, 1),
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    text = result.to_json().encode("utf-8")
    write_atomically(probe_path(files, config.kind, result.dpo), lambda out: out.write(text))
    reporter.emit("batch_probe", probe=dataclasses.asdict(result))
    reporter.log(_summary(result))
    return result


def _summary(result: ProbeResult) -> str:
    if result.largest_fit is None:
        return "Even batch 1 ran out of memory on this card."
    tail = {"memory": f"; {result.first_failure} ran out of memory",
            "ceiling": " (every size tried fit)", "clips": " (the data has no more items)",
            "time": " at least (the time limit ended the search)",
            "stopped": " at least (stopped)"}[result.limited_by]
    return f"Largest {result.kind} batch that fits: {result.largest_fit}{tail}."


def run_probe(ctx: Any, config: dict[str, Any], start: int, ceiling: int | None = None,
              time_limit_s: float = DEFAULT_TIME_LIMIT_S, card_name: str | None = None,
              card_gb: float | None = None) -> dict[str, Any]:
    """Job target (``gsv_core.jobs``): :func:`probe_batch` on ``config`` (a TrainConfig as a
    dict), saved for ``card_name``/``card_gb`` when given; the result is the probe as a dict."""
    parsed = TrainConfig.from_json(json.dumps(config, ensure_ascii=False), "the probe's run")
    card = (card_name, card_gb) if card_name is not None else None
    result = probe_batch(parsed, ctx, start=start, ceiling=ceiling, time_limit_s=time_limit_s,
                         card=card)
    return dataclasses.asdict(result)


def run_probes(ctx: Any, configs: list[dict[str, Any]], starts: list[int],
               time_limit_s: float = DEFAULT_TIME_LIMIT_S, card_name: str | None = None,
               card_gb: float | None = None) -> dict[str, Any]:
    """Job target of the Training tab's probe (``gsv_core.train.probe_launch``): each config
    in turn, then the card's lock released; the result is ``{"probes": [probe dicts]}``
    (fewer when stopped)."""
    from gsv_core.train.launch import release_gpu_locks

    results = []
    try:
        for config, start in zip(configs, starts, strict=True):
            if ctx.should_stop():
                break
            results.append(run_probe(ctx, config, start, time_limit_s=time_limit_s,
                                     card_name=card_name, card_gb=card_gb))
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()   # the next model starts with the card empty
    finally:
        if configs:
            release_gpu_locks(Workspace(Path(str(configs[0]["workspace"]))), ctx.job_dir)
    return {"probes": results}

