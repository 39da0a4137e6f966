"""Fine-tune the GPT (text-to-semantic decoder) on a formatted experiment, with optional DPO.

``train_gpt(config, reporter)`` runs config → data → model → optimizer → loop, and returns a
:class:`TrainResult`. Facts about upstream (``s1_train.py``, ``AR/``, 48b1a01) are in
``research/upstream-pipeline.md`` §5; ``docs/training.md`` explains the choices to users.

Upstream's EFFECTIVE recipe, and what we run instead:

- Accumulation: upstream steps its optimizer every 4th batch (manual optimisation in its
  Lightning module), so an update sees ``4 × batch`` clips. We accumulate
  :data:`GRAD_ACCUMULATION` = 4 batches per step too: the batch that runs on the card is
  ``config.batch_size`` (B-8; the plan shows ``4 ×`` it as the clips per step).
- Learning rate: upstream's warm-up/decay schedule is overridden to a constant 0.002, after
  a first update at the configured 0.01. We do the same (:data:`FIRST_STEP_LR`, :data:`LR`).
- Optimizer: upstream's ScaledAdam (betas 0.9/0.95) scales each tensor's update by that
  tensor's RMS, so "lr 0.002" means "change each weight by about 0.2 % of its typical size".
  Plain Adam's lr is an absolute step: 0.002 would move a weight of RMS 0.02 by 10 % per
  step and wreck the pretrained model. We use ``torch.optim.AdamW`` (fused on CUDA; no weight
  decay, as ScaledAdam has none) with one parameter group per RMS level: each tensor's lr is
  ``LR × clamp(RMS(tensor at start), 1e-5, 3)`` (ScaledAdam's own RMS limits), 1-element
  tensors ``LR × 0.1`` (its scalar rate). Fine-tuning barely changes the RMS, so the relative
  step equals ScaledAdam's while the optimizer is one PyTorch maintains, fused, with its
  state in a standard ``state_dict``. ScaledAdam's slow learning of each tensor's overall
  scale is left out: over a fine-tune of a few hundred steps it is negligible.
- Clipping: ScaledAdam clips the gradient to ``2 ×`` the median gradient norm of recent
  steps. We do the same on the device (a ring of the last 1000 norms, ``nanmedian``; the
  first step, with no history, is not clipped): no host sync, adaptive like upstream's.
- Loss: upstream's cross-entropy is a SUM over every target token of the batch, so its
  scale grows with batch size and clip length (harmless only because ScaledAdam and its
  relative clipping are scale-free). We keep the token weighting (every token counts the
  same, long clips weigh more) but divide by the real target tokens of the whole
  accumulated step (known on the host, no sync): the gradient's scale no longer depends on
  the batch, so the clipping history and fp16 loss scaling stay meaningful. Reported
  ``gpt/loss_ce`` is therefore nats per token.
- DPO (``config.dpo``): rejected twins from ``gpt_dpo.make_rejected`` (made in the data
  loader, seeded per batch), upstream's reference-free loss with beta 0.2 on summed
  log-probabilities. Weight: ``loss = CE_per_token + DPO_WEIGHT × DPO_mean / (beta ×
  mean target tokens per clip)``. Why: the DPO loss of one clip has a slope of at most
  ``beta`` with respect to each token's log-probability, the CE per token a slope of
  ``1 / tokens``; with this weight a clip whose pair is still undecided pulls on each of its
  tokens as hard as the CE does (DPO_WEIGHT = 1), and the pull fades as the model learns to
  prefer the real sequence. Upstream adds the batch-mean DPO to the token SUM of the CE,
  which makes that pull about ``beta / batch`` = 1/40 of the CE's at batch 8: DPO barely
  trains there. A plain weight of 1 on our per-token CE would go the other way (about 50×
  the CE's pull at 10-second clips) and let the length bias of reference-free DPO (a
  shorter "dropped" twin has a higher summed log-probability) swamp the CE.
  ``config.extra["dpo_weight"]`` scales it. Reported ``gpt/loss_dpo`` is the raw DPO mean
  (log 2 = 0.69 when undecided); ``gpt/loss`` is the weighted total.
- Precision: "auto" = bf16 where the card supports it, else fp16 with a GradScaler; fp32
  on CPU. Weights and optimizer state stay fp32; exported files are fp16, as upstream's.

Events carry the model as ``model="gpt"``, not ``kind=``: ``JobContext.emit(kind, **data)``
takes the event's own kind as its first parameter, so a ``kind=`` keyword cannot reach it
(``watch_view`` reads ``model`` first for that reason).

No host sync in the hot loop except at report time (every :data:`REPORT_EVERY_STEPS` steps
and at the end of an epoch): losses, accuracy and token counts accumulate on the device.
The DPO twins and the normalising token counts come from the host-side batch.

DDP: when ``torch.distributed`` is initialised with more than one process (``torchrun``),
the model is DDP-wrapped, each global batch is split between the ranks, gradients are
synchronised on the last batch of a step only, and rank 0 alone reports and writes files.
One process never uses DDP (upstream's 1-process DDP costs time and fails on Windows).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gsv_core.errors import OutOfMemory
from gsv_core.models.checkpoint import gpt_info, load_gpt, save_gpt_weights
from gsv_core.models.gpt import ACCURACY_TOP_K, IGNORE_TARGET, Text2SemanticDecoder
from gsv_core.models.gpt_dpo import DPO_BETA, dpo_loss, sequence_logps
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.train.gpt_data import (
    BucketBatchSampler,
    GPTBatch,
    GPTDataset,
    collate_gpt,
    load_gpt_dataset,
)
from gsv_core.train.reporting import METRIC_PREFIX, SilentReporter, TrainReporter, TrainResult
from gsv_core.train.resume import (
    load_newest,
    load_optimizer_state,
    remove_interrupted_writes,
    save_resume,
)
from gsv_core.train.tensorboard import TENSORBOARD_FOLDERS, scalar_writer

__all__ = [
    "DPO_WEIGHT",
    "FIRST_STEP_LR",
    "GRAD_ACCUMULATION",
    "LR",
    "GPTStepper",
    "build_optimizer",
    "export_path",
    "train_gpt",
]

KIND = "gpt"
GRAD_ACCUMULATION = 4  # batches per optimizer step, as upstream's manual accumulation
FIRST_STEP_LR = 0.01  # upstream's configured lr, used by its first update only
LR = 0.002  # upstream's constant lr after that (its schedule is overridden)
ADAM_BETAS = (0.9, 0.95)
PARAM_RMS_LIMITS = (1e-5, 3.0)  # ScaledAdam's param_min_rms / param_max_rms
SCALAR_LR_SCALE = 0.1  # ScaledAdam's scalar_lr_scale
RMS_LEVELS_PER_OCTAVE = 4  # parameter groups: RMS rounded to 2^(1/4), a few dozen groups
CLIP_SCALE = 2.0  # ScaledAdam clipping_scale: clip to 2x the median recent norm
CLIP_HISTORY = 1000  # ScaledAdam clipping_update_period
DPO_WEIGHT = 1.0
REPORT_EVERY_STEPS = 5
HEARTBEAT_S = 5.0
TENSORBOARD_FOLDER = TENSORBOARD_FOLDERS["gpt"]  # see train.tensorboard
_TENSORBOARD_NAMES = {"loss": "total_loss", "top3_acc": "top_3_acc", "lr": "lr",
                      "loss_ce": "loss_ce", "loss_dpo": "loss_dpo"}


def export_path(config: TrainConfig, epoch: int) -> Path:
    """``GPT_weights_v2/<exp>-e<epoch>.ckpt``, upstream's name for the weights of an epoch."""
    return config.space.gpt_weights_dir / f"{config.experiment}-e{epoch}.ckpt"


# --- the optimizer ------------------------------------------------------------------------

def _lr_scale(param: torch.Tensor) -> float:
    if param.numel() == 1:
        return SCALAR_LR_SCALE
    low, high = PARAM_RMS_LIMITS
    rms = float(param.detach().float().pow(2).mean().sqrt().clamp(low, high))
    level = round(RMS_LEVELS_PER_OCTAVE * math.log2(rms))
    return 2.0 ** (level / RMS_LEVELS_PER_OCTAVE)


def build_optimizer(model: nn.Module, fused: bool | None = None) -> torch.optim.AdamW:
    """AdamW whose groups give each tensor ScaledAdam's relative step (module docstring).

    Each group carries ``lr_scale``; :func:`set_lr` sets ``lr = base × lr_scale``. The
    groups are built from the parameters' RMS at the start (the pretrained weights), in the
    order of ``model.parameters()``, so a resumed run builds the same groups again."""
    groups: dict[float, list[nn.Parameter]] = {}
    for param in model.parameters():
        if param.requires_grad:
            groups.setdefault(_lr_scale(param), []).append(param)
    if fused is None:
        fused = next(model.parameters()).device.type == "cuda"
    param_groups = [{"params": params, "lr": LR * scale, "lr_scale": scale}
                    for scale, params in groups.items()]
    return torch.optim.AdamW(param_groups, lr=LR, betas=ADAM_BETAS, eps=1e-8,
                             weight_decay=0.0, fused=fused)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group["lr_scale"]


def lr_at(step: int) -> float:
    """The base lr of optimizer step ``step`` (0-based): upstream's 0.01 once, then 0.002."""
    return FIRST_STEP_LR if step == 0 else LR


# --- one training step --------------------------------------------------------------------

class _Losses(nn.Module):
    """The decoder's losses for one batch, as a module so that DDP's forward hooks see the
    whole computation (chosen and rejected passes)."""

    def __init__(self, model: Text2SemanticDecoder, dpo: bool) -> None:
        super().__init__()
        self.model = model
        self.dpo = dpo

    def forward(self, batch: GPTBatch) -> dict[str, torch.Tensor]:
        logits, targets = self.model.teacher_forced_logits(
            batch.phone_ids, batch.phone_lens, batch.semantic_ids, batch.semantic_lens,
            batch.bert)
        logits = logits.float()
        # The summed cross-entropy is minus the summed log-probabilities of the real targets:
        # one log-softmax serves both the CE and the DPO term.
        chosen_logps = sequence_logps(logits, targets)  # [B]
        out = {"ce_sum": -chosen_logps.sum()}
        with torch.no_grad():  # upstream's top-3 accuracy: EOS and padding never count
            counted = (targets != IGNORE_TARGET) & (targets != self.model.config.eos_id)
            top = logits.topk(ACCURACY_TOP_K, dim=-1).indices
            hits = (top == targets.unsqueeze(-1)).any(-1) & counted
            out["top3_hits"], out["top3_counted"] = hits.sum(), counted.sum()
        if self.dpo:
            rejected_logits, rejected_targets = self.model.teacher_forced_logits(
                batch.phone_ids, batch.phone_lens, batch.rejected_ids, batch.rejected_lens,
                batch.bert)
            out["dpo"] = dpo_loss(chosen_logps,
                                  sequence_logps(rejected_logits, rejected_targets), DPO_BETA)
        return out


@dataclass
class _Meter:
    """Sums on the device since the last report; read with one sync in :meth:`take`."""

    device: torch.device
    sums: torch.Tensor | None = None  # [ce_sum, top-3 hits, counted, dpo_sum, dpo_in_loss]
    tokens: int = 0  # host-side counts: no copy to the device needed
    batches: int = 0
    steps: int = 0
    samples: int = 0
    since: float = dataclasses.field(default_factory=time.monotonic)

    def add(self, out: dict[str, torch.Tensor], tokens: int,
            dpo_in_loss: torch.Tensor | None) -> None:
        zero = torch.zeros((), device=self.device)
        row = torch.stack([out["ce_sum"].detach().float(), out["top3_hits"].float(),
                           out["top3_counted"].float(),
                           out["dpo"].detach().float() if "dpo" in out else zero,
                           zero if dpo_in_loss is None else dpo_in_loss.detach().float()])
        self.sums = row if self.sums is None else self.sums + row
        self.tokens += tokens
        self.batches += 1

    def take(self, dpo: bool) -> dict[str, float]:
        if self.sums is None:
            return {}
        ce, hits, counted, dpo_sum, dpo_in_loss = self.sums.tolist()  # the one sync
        tokens, batches, steps = self.tokens, self.batches, self.steps
        self.sums, self.tokens, self.batches, self.steps, self.samples = None, 0, 0, 0, 0
        self.since = time.monotonic()
        means = {"loss_ce": ce / max(tokens, 1), "top3_acc": hits / max(counted, 1.0)}
        means["loss"] = means["loss_ce"]
        if dpo:
            means["loss_dpo"] = dpo_sum / max(batches, 1)
            means["loss"] += dpo_in_loss / max(steps, 1)
        return means


class GPTStepper:
    """Model, optimizer, grad scaler and clipping history: :meth:`step` runs one optimizer
    step over a group of batches (the accumulation). Used by :func:`train_gpt` and tests."""

    def __init__(self, model: Text2SemanticDecoder, device: torch.device, precision: str,
                 dpo: bool, dpo_weight: float = DPO_WEIGHT, ddp: bool = False) -> None:
        self.model = model
        self.device = device
        self.dpo = dpo
        self.dpo_weight = dpo_weight
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.losses: nn.Module = _Losses(model, dpo)
        if ddp:
            from torch.nn.parallel import DistributedDataParallel

            self.losses = DistributedDataParallel(
                self.losses, device_ids=[device.index] if device.type == "cuda" else None)
        self.optimizer = build_optimizer(model)
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
        self.clip_history = torch.full((CLIP_HISTORY,), float("nan"), device=device)
        self.steps_done = 0
        self.meter = _Meter(device)
        self.cuda_graphs = False

    def compile(self, mode: str | None = None, backend: str = "inductor") -> None:
        """``torch.compile`` the loss module (``bench_train.py --compile``; not in the UI yet:
        new batch lengths recompile or re-record, see docs/benchmarks.md).

        With ``mode="reduce-overhead"`` (CUDA graphs) each micro-batch's backward would write
        the parameters' gradients into the graphs' own memory, which the next micro-batch's
        replay overwrites while the accumulation still needs them. So the gradient buffers
        are made here, outside any graph, and are zeroed instead of freed between steps.
        """
        self.losses.compile(mode=mode, backend=backend)
        self.cuda_graphs = mode == "reduce-overhead"
        if self.cuda_graphs:
            for param in self.model.parameters():
                if param.requires_grad and param.grad is None:
                    param.grad = torch.zeros_like(param)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, batches: list[GPTBatch]) -> None:
        """One optimizer update from ``batches`` (already on the device)."""
        self.model.train()
        set_lr(self.optimizer, lr_at(self.steps_done))
        self.optimizer.zero_grad(set_to_none=not self.cuda_graphs)
        tokens = sum(b.target_tokens for b in batches)
        for index, batch in enumerate(batches):
            last = index == len(batches) - 1
            sync = contextlib.nullcontext() if last or not hasattr(self.losses, "no_sync") \
                else self.losses.no_sync()
            if self.cuda_graphs:  # the last micro-batch's graph outputs have been read
                torch.compiler.cudagraph_mark_step_begin()
            with sync:
                with self._autocast():
                    out = self.losses(batch)
                loss = out["ce_sum"] / tokens
                dpo_in_loss = None
                if self.dpo:  # weight: see the module docstring
                    dpo_in_loss = out["dpo"] * (self.dpo_weight * len(batch)
                                                / (DPO_BETA * tokens))
                    loss = loss + dpo_in_loss
                self.scaler.scale(loss).backward()
            self.meter.add(out, batch.target_tokens, dpo_in_loss)
            self.meter.samples += len(batch)
        self.scaler.unscale_(self.optimizer)
        self._clip()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.steps_done += 1
        self.meter.steps += 1

    def _clip(self) -> None:
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        norm = torch.nn.utils.get_total_norm(grads)
        threshold = CLIP_SCALE * torch.nan_to_num(torch.nanmedian(self.clip_history),
                                                  nan=float("inf"))
        torch.nn.utils.clip_grads_with_norm_(grads, threshold, norm)  # type: ignore[arg-type]
        slot = self.steps_done % CLIP_HISTORY
        self.clip_history[slot] = torch.where(torch.isfinite(norm), norm,
                                              self.clip_history[slot])

    @torch.no_grad()
    def measure(self, batch: GPTBatch) -> float:
        """CE per token of ``batch`` in eval mode (tests: the loss goes down)."""
        self.model.eval()
        out = _Losses(self.model, False)(batch)
        return float(out["ce_sum"]) / batch.target_tokens

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict(), "clip_history": self.clip_history.cpu(),
                "steps_done": self.steps_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        load_optimizer_state(self.optimizer, state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.clip_history.copy_(state["clip_history"].to(self.device))
        self.steps_done = int(state["steps_done"])


# --- run set-up ---------------------------------------------------------------------------

@dataclass(frozen=True)
class _World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @classmethod
    def detect(cls) -> _World:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            return cls(dist.get_rank(), dist.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", dist.get_rank())))
        return cls()


def _device(config: TrainConfig, world: _World) -> torch.device:
    """One process per GPU: under torchrun the rank's ``LOCAL_RANK`` card (the launcher
    limits the visible cards to ``config.gpus``), else ``config.gpus[0]``. More ranks than
    cards share them round-robin (a 2-process gloo run on one GPU, to exercise DDP)."""
    if config.device == "cuda" and torch.cuda.is_available():
        index = (world.local_rank % torch.cuda.device_count() if world.size > 1
                 else config.gpus[0])
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    if config.device == "mps" and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _precision(config: TrainConfig, device: torch.device) -> str:
    """"auto": bf16 where the card supports it, else fp16 (with a grad scaler); fp32 off
    CUDA. An explicit choice is honoured (fp16 off CUDA falls back to fp32)."""
    if device.type != "cuda":
        return "bf16" if config.precision == "bf16" and device.type == "cpu" else "fp32"
    if config.precision == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return config.precision


def _pretrained(config: TrainConfig) -> Path:
    if config.pretrained_s1:
        return Path(config.pretrained_s1)
    from gsv_core.models.registry import require_pretrained

    return require_pretrained(config.space, "gpt")


def _export_config(model: Text2SemanticDecoder, config: TrainConfig, files: ExperimentFiles,
                   pretrained: Path, precision: str) -> Any:
    """The model's GPTConfig with the run tree upstream's webui writes into its files."""
    tree = {
        "train": {"seed": config.seed, "epochs": config.epochs,
                  "batch_size": config.batch_size, "save_every_n_epoch": config.save_every,
                  "precision": {"fp16": "16-mixed", "bf16": "bf16-mixed"}.get(precision, "32"),
                  "gradient_clip": 1.0, "if_save_every_weights": True,
                  "if_save_latest": True, "if_dpo": config.dpo,
                  "half_weights_save_dir": "GPT_weights_v2", "exp_name": config.experiment},
        "pretrained_s1": str(pretrained),
        "train_semantic_path": str(files.name2semantic),
        "train_phoneme_path": str(files.name2text),
        "output_dir": str(files.folder / TENSORBOARD_FOLDER),
    }
    return dataclasses.replace(model.config, extra=tree)


def _tensorboard(config: TrainConfig) -> Any:
    """A SummaryWriter in ``logs/<exp>/logs_s1_v2`` (``train.tensorboard``), or None when turned
    off or when the ``tensorboard`` package is not installed."""
    return scalar_writer(config.experiment_dir, KIND) if config.tensorboard else None


def _out_of_memory(batch_size: int, dpo: bool, exc: BaseException) -> OutOfMemory:
    smaller = max(batch_size // 2, 1)
    what = "GPT training with DPO" if dpo else "GPT training"
    advice = (f"Set the batch size to {smaller}." if batch_size > 1 else
              "Remove overlong clips (re-slice to about 10 s) and format the experiment "
              "again, close other programs using the GPU" + (", or turn DPO off." if dpo
                                                             else "."))
    return OutOfMemory(f"Batch {batch_size} failed on this card: the GPU ran out of memory "
                       f"in {what}.", advice, next_batch_size=smaller, details=str(exc))


# --- the run ------------------------------------------------------------------------------

@dataclass
class _Position:
    epoch: int = 0  # 0-based epoch in progress (== epochs done at an epoch boundary)
    epoch_step: int = 0  # optimizer steps done inside it


def _groups(loader: Any, size: int) -> Iterator[list[GPTBatch]]:
    group: list[GPTBatch] = []
    for batch in loader:
        group.append(batch)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def train_gpt(config: TrainConfig, reporter: TrainReporter) -> TrainResult:
    """Fine-tune the GPT of ``config.experiment``; see the module docstring for the recipe.

    Raises:
        DatasetError: a bad row or BERT file (named), or no clip left to train.
        ModelMissing / CheckpointError: the pretrained GPT is missing or unreadable.
        OutOfMemory: the batch does not fit this card; names the batch to try (B-6).
    """
    world = _World.detect()
    if not world.main:
        reporter = SilentReporter(reporter)
    device = _device(config, world)
    precision = _precision(config, device)
    torch.manual_seed(config.seed + world.rank)
    files = ExperimentFiles.of(config.space, config.experiment)
    dataset = load_gpt_dataset(files)
    _log_dataset(dataset, reporter)
    pretrained = _pretrained(config)
    model = load_gpt(pretrained, device=device).train()
    dpo_weight = float(config.extra.get("dpo_weight", DPO_WEIGHT))
    accumulation = int(config.extra.get("grad_accumulation", GRAD_ACCUMULATION))
    stepper = GPTStepper(model, device, precision, config.dpo, dpo_weight, ddp=world.size > 1)
    sampler = BucketBatchSampler(dataset.durations_s(), config.batch_size, config.seed,
                                 world.rank, world.size)
    epoch_steps = math.ceil(len(sampler) / accumulation)
    total_steps = epoch_steps * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    position, resumed_from = _Position(), None
    if world.main:
        remove_interrupted_writes(config.experiment_dir, KIND, config.space.gpt_weights_dir,
                                  f"{config.experiment}-e", ".ckpt", log=reporter.log)
    resumed = load_newest(config.experiment_dir, KIND, warn=lambda m: reporter.log(m, "warning"))
    if resumed is not None:
        point, state = resumed
        _warn_if_changed(state.get("config"), config, reporter)
        stepper.load_state_dict(state["trainer"])
        position = _Position(int(state["position"]["epoch"]),
                             int(state["position"]["epoch_step"]))
        _restore_rng(state.get("rng"), device)
        resumed_from = str(point.path)
        reporter.emit("resumed", model=KIND, path=resumed_from, epoch=position.epoch + 1,
                      step=stepper.steps_done)
        reporter.log(f"Continuing from {point.path.name}: round {position.epoch + 1}, "
                     f"step {stepper.steps_done}.")
    export_config = _export_config(model, config, files, pretrained, precision)
    writer = _tensorboard(config) if world.main else None
    workers = config.num_workers if config.num_workers is not None else (
        min(4, max((os.cpu_count() or 2) // 2, 1)) if device.type == "cuda" else 0)
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sampler, num_workers=workers,
        collate_fn=functools.partial(collate_gpt, dpo=config.dpo),  # picklable for spawn
        pin_memory=device.type == "cuda", persistent_workers=workers > 0,
        generator=torch.Generator())  # its own: starting an epoch never moves the global RNG
    run = _Run(config, reporter, stepper, world, files, export_config, writer,
               epoch_steps, total_steps, accumulation)
    try:
        stopped = run.loop(loader, sampler, position)
    except torch.OutOfMemoryError as exc:
        raise _out_of_memory(config.batch_size, config.dpo, exc) from exc
    finally:
        if writer is not None:
            writer.close()
    return TrainResult(kind=KIND, experiment=config.experiment, epoch=run.position.epoch,
                       step=stepper.steps_done, stopped=stopped, exported=tuple(run.exported),
                       resumed_from=resumed_from, final_losses=run.last_losses)


def _warn_if_changed(saved: str | None, config: TrainConfig, reporter: TrainReporter) -> None:
    """A resumed run with another batch size or DPO setting continues, but not in the data
    order (or with the loss) the first run would have had: say so."""
    if not saved:
        return
    before = TrainConfig.from_json(saved)
    changed = [name for name in ("batch_size", "dpo", "seed")
               if getattr(before, name) != getattr(config, name)]
    if changed:
        reporter.log(f"Continuing a run that had other settings ({', '.join(changed)}); "
                     "the rest of the round is drawn with the new ones.", "warning")


def _log_dataset(dataset: GPTDataset, reporter: TrainReporter) -> None:
    for message in dataset.warnings:
        reporter.log(message, "warning")
    if dataset.skipped:
        listed = "; ".join(f"{name}: {reason}" for name, reason in dataset.skipped[:20])
        more = f" (and {len(dataset.skipped) - 20} more)" if len(dataset.skipped) > 20 else ""
        reporter.log(f"{len(dataset.skipped)} clip(s) left out of GPT training: "
                     f"{listed}{more}", "warning")
    with_bert = sum(c.bert_file is not None for c in dataset.clips)
    reporter.log(f"GPT training on {len(dataset.clips)} clips ({with_bert} with BERT "
                 f"features), {len(dataset)} items per round.")


def _rng_state(device: torch.device) -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _restore_rng(state: dict[str, Any] | None, device: torch.device) -> None:
    if not state:
        return
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


class _Run:
    """The epoch loop's state and its side effects (reports, resume files, exports)."""

    def __init__(self, config: TrainConfig, reporter: TrainReporter, stepper: GPTStepper,
                 world: _World, files: ExperimentFiles, export_config: Any, writer: Any,
                 epoch_steps: int, total_steps: int, accumulation: int) -> None:
        self.config, self.reporter, self.stepper, self.world = config, reporter, stepper, world
        self.files, self.export_config, self.writer = files, export_config, writer
        self.epoch_steps, self.total_steps, self.accumulation = (epoch_steps, total_steps,
                                                                 accumulation)
        self.position = _Position()
        self.exported: list[str] = []
        self.last_losses: dict[str, float] = {}
        self.last_heartbeat = time.monotonic()
        self.run_start = (time.monotonic(), 0)

    def loop(self, loader: Any, sampler: BucketBatchSampler, start: _Position) -> bool:
        """Train from ``start`` to the end; True when stopped on request."""
        config, stepper = self.config, self.stepper
        self.position = start
        self.run_start = (time.monotonic(), stepper.steps_done)
        for epoch in range(start.epoch, config.epochs):
            first = start.epoch_step if epoch == start.epoch else 0
            self.position = _Position(epoch, first)
            sampler.set_epoch(epoch, first * self.accumulation)
            for group in _groups(loader, self.accumulation):
                if self._stop_requested():
                    self._save_resume()
                    self.reporter.log(f"Stopped at round {epoch + 1}, step "
                                      f"{stepper.steps_done}; starting again continues here.")
                    return True
                stepper.step([b.to(stepper.device) for b in group])
                self.position.epoch_step += 1
                if stepper.steps_done % REPORT_EVERY_STEPS == 0:
                    self._report()
                else:
                    self._heartbeat()
                if config.max_steps is not None and stepper.steps_done >= config.max_steps:
                    self._report()
                    self._export(epoch + 1)
                    self._save_resume()
                    return False
            self._report()
            self.position = _Position(epoch + 1, 0)
            if (epoch + 1) % config.save_every == 0 or epoch + 1 == config.epochs:
                self._export(epoch + 1)  # always the final epoch, unlike upstream
                self._save_resume()
        return False

    def _stop_requested(self) -> bool:
        stop = bool(self.reporter.should_stop())
        if self.world.size > 1:
            import torch.distributed as dist

            flag = torch.tensor([1.0 if stop else 0.0], device=self.stepper.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # every rank stops at the same step
            stop = bool(flag.item())
        return stop

    def _progress_fields(self) -> dict[str, Any]:
        stepper, step = self.stepper, self.stepper.steps_done
        started, steps_then = self.run_start
        elapsed = time.monotonic() - started
        rate = (step - steps_then) / elapsed if elapsed > 0 else 0.0
        memory = (torch.cuda.max_memory_reserved(stepper.device) / 2**30
                  if stepper.device.type == "cuda" else None)
        return dict(model=KIND, epoch=self.position.epoch + 1, epochs=self.config.epochs, step=step,
                    steps=self.total_steps, epoch_step=self.position.epoch_step,
                    epoch_steps=self.epoch_steps,
                    eta_s=round((self.total_steps - step) / rate, 1) if rate > 0 else None,
                    lr=lr_at(max(step - 1, 0)),
                    gpu_memory_gb=None if memory is None else round(memory, 3))

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now - self.last_heartbeat < HEARTBEAT_S:
            return
        meter = self.stepper.meter
        fields = self._progress_fields()
        elapsed = now - meter.since
        self.reporter.emit("train_step", **fields, samples_per_s=round(
            meter.samples * self.world.size / elapsed, 3) if elapsed > 0 else None)
        self.last_heartbeat = now

    def _report(self) -> None:
        """Losses since the last report (the one host sync), progress, heartbeat."""
        meter = self.stepper.meter
        elapsed = time.monotonic() - meter.since
        samples = meter.samples * self.world.size
        means = meter.take(self.stepper.dpo)
        if not means:
            return
        step = self.stepper.steps_done
        fields = self._progress_fields()
        means["lr"] = fields["lr"]
        for name, value in means.items():
            self.reporter.metric(METRIC_PREFIX[KIND] + name, value, step)
            if self.writer is not None:
                self.writer.add_scalar(_TENSORBOARD_NAMES[name], value, step)
        if not math.isfinite(means["loss"]):
            self.reporter.log(f"The GPT loss is {means['loss']} at step {step}.", "warning")
        self.last_losses = means
        self.reporter.progress(step, self.total_steps,
                               f"round {fields['epoch']} of {self.config.epochs}, step {step} "
                               f"of {self.total_steps}")
        self.reporter.emit("train_step", **fields, samples_per_s=round(
            samples / elapsed, 3) if elapsed > 0 else None)
        self.last_heartbeat = time.monotonic()

    def _export(self, epoch: int) -> None:
        if not self.world.main:
            return
        path = export_path(self.config, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_gpt_weights(path, self.stepper.model, self.export_config, gpt_info(epoch))
        self.exported.append(str(path))
        self.reporter.emit("exported", model=KIND, path=str(path), epoch=epoch,
                           step=self.stepper.steps_done)

    def _save_resume(self) -> None:
        if self.world.main:
            position = {"epoch": self.position.epoch, "epoch_step": self.position.epoch_step}
            # File name: the last finished epoch, or the one in progress (1-based) mid-epoch.
            named = self.position.epoch + (1 if self.position.epoch_step else 0)
            path = save_resume(self.config.experiment_dir, KIND, named,
                               self.stepper.steps_done,
                               {"trainer": self.stepper.state_dict(), "position": position,
                                "rng": _rng_state(self.stepper.device),
                                "config": self.config.to_json()})
            self.reporter.emit("checkpoint", model=KIND, path=str(path), epoch=named,
                               step=self.stepper.steps_done)
        if self.world.size > 1:
            import torch.distributed as dist

            dist.barrier()
