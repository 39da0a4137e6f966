"""Fine-tune the SoVITS v2 generator and discriminator on a formatted experiment.

``train_sovits(config, reporter)`` reads ``logs/<exp>/`` (see :mod:`gsv_core.train.sovits_data`),
starts from the pretrained generator and discriminator (or continues from the newest intact
resume checkpoint), trains ``config.epochs`` rounds and writes
``SoVITS_weights_v2/<exp>_e<E>_s<S>.pth`` in upstream's format.

The recipe. Facts about upstream are from ``GPT_SoVITS/s2_train.py``, ``configs/s2.json``,
``module/models.py`` and ``module/losses.py`` at 48b1a01.

Same as upstream:

- generator: AdamW, lr 1e-4, betas (0.8, 0.99), eps 1e-9, torch's default weight decay 0.01
  (upstream never sets it); ``enc_p.text_embedding``, ``enc_p.encoder_text`` and ``enc_p.mrte``
  at lr × the LR weight (``text_low_lr_rate``, 0.4 by default, R-4); discriminator: AdamW with
  the same settings at lr;
- learning rate × 0.999875 per epoch. Upstream steps its ExponentialLR once before the first
  epoch, so round 1 already runs at lr·γ and round ``e`` at lr·γ^e; we set lr·γ^e at the start
  of round ``e``, the same numbers without a scheduler object to save and restore;
- per step the discriminator first (LSGAN over the multi-period discriminator, periods 2, 3,
  5, 7, 11), then the generator: ``adversarial + 2·feature matching + 45·L1(log-mel) + 1·KL``
  (``kl_ssl`` is 0 with the frozen quantizer and is left out); no gradient clipping; one grad
  scaler for both, updated once per step;
- random 20480-sample (32-frame) segments of each item, cut by the model's forward;
- the pretrained generator is loaded with only ``enc_q`` allowed to be missing (upstream
  loads with ``strict=False``; the official ``s2G2333k.pth`` has ``enc_q``, user files do not);
  a missing discriminator file trains the discriminator from scratch with a warning;
- exported weights: fp16, no ``enc_q``, ``info`` "<E>epoch_<S>iteration", named
  ``<exp>_e<E>_s<S>.pth``; TensorBoard scalars under ``logs/<exp>/logs_s2_v2`` (upstream's
  ``loss/g/total``, ``loss/d/total``, ``loss/g/mel``, ``loss/g/kl``, ``loss/g/fm``,
  ``learning_rate``, plus ``loss/g/gen``), when the ``tensorboard`` package is installed;
  upstream's per-sub-discriminator scalars and gradient norms are not written (they cost a
  host sync per value).

Different, and why:

- ``ssl_proj`` and the quantizer are frozen with ``eval()`` and ``requires_grad_(False)`` and
  left out of the optimizer. Upstream only calls ``eval()`` and runs them under ``no_grad``, so
  their parameters never get a gradient, and AdamW skips a parameter without a gradient
  (weight decay included): the weights evolve exactly the same, and DDP needs no
  ``find_unused_parameters``;
- precision: bf16 autocast where the card supports it (no grad scaler needed), else fp16 with
  a grad scaler (upstream: always fp16); fp32 on CPU. The log-mels of the loss are computed
  in fp32 outside autocast (upstream's mel of the generated audio runs under fp16 autocast);
- the discriminator's pass over the real audio in the generator step runs without gradients,
  and the discriminator's weights take no gradient there: upstream computes both and throws
  them away (its feature-matching targets are detached, and ``zero_grad`` clears them);
- losses are read back from the GPU only when reported (every 2 s), never per parameter
  (upstream's ``clip_grad_value_(…, None)`` reads one norm per parameter every step); fused
  AdamW on CUDA;
- one GPU never runs a DDP wrapper (upstream wraps a single process in DDP); with
  ``torch.distributed`` initialised (torchrun) and more than one process, both networks are
  wrapped in DDP, each rank gets its share of every bucket, only rank 0 reports and saves,
  and a stop request on rank 0 stops every rank at the same step;
- every save epoch *and always the final epoch* is exported (upstream loses the final epoch
  when ``epochs`` is not a multiple of save-every), and a run ended by ``max_steps`` exports
  where it ended;
- each finished epoch's mean generator loss is appended to ``logs/<exp>/train-losses.jsonl``
  (:mod:`gsv_core.train.epoch_log`), which A/B listening shows beside each export (R-5);
- resume: a checkpoint in ``logs/<exp>/resume/`` (models, optimizers, scaler, sampler
  position, epoch, step) at every save epoch, at the end and on stop; starting again
  continues at the same epoch, step and batch order (upstream restarts its epoch and counts
  steps as ``(epoch − 1) · len(loader)``). The random numbers of a step (dropout, posterior
  noise, segment positions) come from a seed made of the run's seed, the step and the rank,
  so a resumed run draws what the uninterrupted one would have;
- an out-of-memory error on CUDA becomes :class:`~gsv_core.errors.OutOfMemory` naming the batch
  that failed and the one to try (B-6).

``config.extra["min_items"]`` replaces upstream's repeat-to-100 target (tests use it to keep a
six-clip epoch at six items); nothing else reads ``extra``.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from gsv_core.errors import (
    CheckpointError,
    ConfigError,
    DatasetError,
    HardwareError,
    ModelMissing,
    OutOfMemory,
)
from gsv_core.models.checkpoint import (
    POSTERIOR_KEY,
    load_strict,
    read_checkpoint_dict,
    read_discriminator_weights,
    save_sovits_weights,
    sovits_info,
    sovits_symbol_version,
)
from gsv_core.models.commons import slice_segments
from gsv_core.models.discriminator import MultiPeriodDiscriminator, channel_divisor_of
from gsv_core.models.losses import C_KL, C_MEL, discriminator_loss, generator_losses
from gsv_core.models.registry import require_pretrained
from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator
from gsv_core.models.spectrogram import mel_spectrogram, spec_to_mel
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train import sovits_data
from gsv_core.train.compiled import (
    COMPILE_MODE,
    compile_blocker,
    compile_fixed_shape_parts,
    uncompile,
)
from gsv_core.train.config import TrainConfig
from gsv_core.train.epoch_log import append_epoch_loss
from gsv_core.train.reporting import METRIC_PREFIX, SilentReporter, TrainReporter, TrainResult
from gsv_core.train.resume import (
    load_newest,
    load_optimizer_state,
    remove_interrupted_writes,
    save_resume,
)
from gsv_core.train.sovits_data import (
    BucketBatchSampler,
    SamplerState,
    SovitsBatch,
    SovitsDataset,
    ensure_spectrograms,
    make_loader,
    read_clips,
    repeated_indices,
)
from gsv_core.train.tensorboard import TENSORBOARD_FOLDERS, scalar_writer

__all__ = [
    "BETAS",
    "EPS",
    "LEARNING_RATE",
    "LOSS_NAMES",
    "LR_DECAY",
    "SovitsStep",
    "TrainPrecision",
    "build_optimizers",
    "choose_precision",
    "export_name",
    "load_discriminator",
    "load_generator",
    "train_sovits",
]

logger = logging.getLogger(__name__)

KIND = "sovits"
LEARNING_RATE = 1e-4  # s2.json train.learning_rate
BETAS = (0.8, 0.99)
EPS = 1e-9
WEIGHT_DECAY = 0.01  # torch's AdamW default; upstream does not set it
LR_DECAY = 0.999875  # per epoch
TEXT_MODULES = ("text_embedding", "encoder_text", "mrte")  # under enc_p, at lr × lr_weight
REPORT_INTERVAL_S = 2.0  # losses are read back from the device at most this often
TENSORBOARD_FOLDER = TENSORBOARD_FOLDERS["sovits"]  # see train.tensorboard
LOSS_NAMES = ("loss_total", "loss_mel", "loss_kl", "loss_gen", "loss_fm", "loss_disc")
_TENSORBOARD_NAMES = {"loss_total": "loss/g/total", "loss_mel": "loss/g/mel",
                      "loss_kl": "loss/g/kl", "loss_gen": "loss/g/gen", "loss_fm": "loss/g/fm",
                      "loss_disc": "loss/d/total"}


# --- setup: processes, device, precision ----------------------------------------------------

@dataclass(frozen=True)
class _Ranks:
    """This process's place in a torchrun group (rank 0 of 1 without one)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _ranks() -> _Ranks:
    if dist.is_available() and dist.is_initialized():
        return _Ranks(dist.get_rank(), dist.get_world_size(),
                      int(os.environ.get("LOCAL_RANK", "0")))
    return _Ranks()


def _device(config: TrainConfig, ranks: _Ranks) -> torch.device:
    if config.device != "cuda":
        return torch.device(config.device)
    if not torch.cuda.is_available():
        raise HardwareError("Training on the GPU was asked for, but torch sees no CUDA GPU.",
                            "Check the NVIDIA driver, or train on the CPU (very slow).")
    index = ranks.local_rank if ranks.world > 1 else config.gpus[0]
    torch.cuda.set_device(index)
    return torch.device("cuda", index)


@dataclass(frozen=True)
class TrainPrecision:
    """``name`` bf16/fp16/fp32; ``dtype`` the autocast dtype (None: no autocast)."""

    name: str
    dtype: torch.dtype | None

    @property
    def scaled(self) -> bool:
        """fp16 needs a grad scaler; bf16 has fp32's range and does not."""
        return self.name == "fp16"


def choose_precision(requested: str, device: torch.device) -> TrainPrecision:
    """"auto" = bf16 where the card supports it, else fp16; fp32 off CUDA."""
    if device.type != "cuda":
        if requested not in ("auto", "fp32"):
            raise ConfigError(f"precision {requested} needs a CUDA GPU; on {device.type} "
                              "training runs in fp32.", "Choose precision auto or fp32.")
        return TrainPrecision("fp32", None)
    if requested == "auto":
        requested = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}
    return TrainPrecision(requested, dtypes[requested])


# --- models and optimizers ----------------------------------------------------------------

def load_generator(path: str | os.PathLike[str], warn: Any = None) -> SoVITSGenerator:
    """The generator from a pretrained or user SoVITS file (fp32, CPU, train mode, quantizer
    frozen). Only ``enc_q`` may be missing; it then starts from its initial values, and
    ``warn`` is told so (user files never hold it)."""
    path = Path(path)
    data = read_checkpoint_dict(path)
    weight = data.get("weight")
    if not isinstance(weight, dict):
        raise CheckpointError(f"{path.name} has no 'weight' dictionary.",
                              "Pick a SoVITS v2 generator file (s2G2333k.pth or a .pth from "
                              "SoVITS_weights_v2).")
    version = sovits_symbol_version(weight, path.name)
    tree = data.get("config")
    if tree is None:
        config = SoVITSConfig()
    else:  # as checkpoint.load_sovits: the version from the weights, tokens at 25 Hz
        model = {**tree.get("model", {}), "version": version, "semantic_frame_rate": "25hz"}
        config = SoVITSConfig.from_upstream({**tree, "model": model})
    generator = SoVITSGenerator(config)
    load_strict(generator, weight, path.name, may_lack=POSTERIOR_KEY)
    if warn is not None and not any(POSTERIOR_KEY in key for key in weight):
        warn(f"{path.name} has no posterior encoder (enc_q); it starts from random values. "
             "Fine-tuning from the official s2G2333k.pth keeps it.")
    return _train_mode(generator)


def _train_mode(generator: SoVITSGenerator) -> SoVITSGenerator:
    """Train mode with the quantizer and its projection frozen (see the module docstring)."""
    generator.train()
    for frozen in (generator.ssl_proj, generator.quantizer):
        frozen.eval()
        frozen.requires_grad_(False)
    return generator


def load_discriminator(path: str | os.PathLike[str] | None,
                       warn: Any = None) -> MultiPeriodDiscriminator:
    """The pretrained discriminator, or a new one (with a warning) when ``path`` is None or
    missing, as upstream trains D from scratch then. A file's discriminator takes the width
    its weights have (upstream's, unless a narrower one was saved for small test runs)."""
    if path is None or not Path(path).is_file():
        if warn is not None:
            where = "no file was given" if path is None else f"{path} does not exist"
            warn(f"No pretrained SoVITS discriminator ({where}): the discriminator trains from "
                 "scratch, which needs more rounds to sound as good. Put s2D2333k.pth into "
                 "GPT_SoVITS/pretrained_models/gsv-v2final-pretrained/.")
        return MultiPeriodDiscriminator().train()
    weights = read_discriminator_weights(path)
    discriminator = MultiPeriodDiscriminator(channel_divisor=channel_divisor_of(weights))
    load_strict(discriminator, weights, Path(path).name)
    return discriminator.train()


def build_optimizers(generator: SoVITSGenerator, discriminator: nn.Module, lr_weight: float,
                     *, fused: bool = False) -> tuple[torch.optim.AdamW, torch.optim.AdamW,
                                                      list[float]]:
    """AdamW for G (base group; text modules at lr × ``lr_weight``) and D; returns them and the
    base learning rate of each G group (the per-epoch decay multiplies these)."""
    text_ids = {id(p) for name in TEXT_MODULES
                for p in getattr(generator.enc_p, name).parameters()}
    trainable = [p for p in generator.parameters() if p.requires_grad]
    base_lrs = [LEARNING_RATE, LEARNING_RATE * lr_weight]
    groups = [{"params": [p for p in trainable if id(p) not in text_ids], "lr": base_lrs[0]},
              {"params": [p for p in trainable if id(p) in text_ids], "lr": base_lrs[1]}]
    options = {"betas": BETAS, "eps": EPS, "weight_decay": WEIGHT_DECAY}
    options["fused" if fused else "foreach"] = True if fused else None
    optim_g = torch.optim.AdamW(groups, LEARNING_RATE, **options)
    optim_d = torch.optim.AdamW(discriminator.parameters(), LEARNING_RATE, **options)
    return optim_g, optim_d, base_lrs


def _set_epoch_lr(optim_g: torch.optim.Optimizer, optim_d: torch.optim.Optimizer,
                  base_lrs: list[float], epoch: int) -> float:
    decay = LR_DECAY ** epoch  # round 1 at lr·γ, as upstream's pre-stepped scheduler
    for group, base in zip(optim_g.param_groups, base_lrs, strict=True):
        group["lr"] = base * decay
    for group in optim_d.param_groups:
        group["lr"] = LEARNING_RATE * decay
    return LEARNING_RATE * decay


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, DistributedDataParallel) else module


# --- one step -----------------------------------------------------------------------------

class SovitsStep:
    """One optimizer step of the discriminator and then the generator on a batch.

    Calling it returns the step's losses as one detached device tensor in the order of
    :data:`LOSS_NAMES`; nothing is read back to the host here.

    :meth:`compile` compiles the decoder and the discriminator (:mod:`.compiled`). A step
    whose compile fails is run again uncompiled, and so is the rest of the run; ``warn``
    says so once. Such a step may already have updated the discriminator (when the failure
    was in the generator's half), which then takes a second update on that batch.
    """

    def __init__(self, generator: nn.Module, discriminator: nn.Module,
                 optim_g: torch.optim.Optimizer, optim_d: torch.optim.Optimizer,
                 precision: TrainPrecision, device: torch.device) -> None:
        self.generator = generator
        self.discriminator = discriminator
        self.optim_g = optim_g
        self.optim_d = optim_d
        self.precision = precision
        self.device = device
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision.scaled)
        model_config = _unwrap(generator).config
        self.hop = model_config.hop_length
        self.segment_frames = model_config.segment_frames
        self.compiled = False
        self._warn: Callable[[str], None] = lambda message: None

    def compile(self, warn: Callable[[str], None], mode: str | None = COMPILE_MODE) -> None:
        """Compile the fixed-shape parts (the caller checked :func:`compile_blocker`)."""
        compile_fixed_shape_parts(_unwrap(self.generator).dec, _unwrap(self.discriminator),
                                  mode)
        self.compiled = True
        self._warn = warn

    def _autocast(self) -> Any:
        if self.precision.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.precision.dtype)

    def __call__(self, batch: SovitsBatch) -> torch.Tensor:
        if not self.compiled:
            return self._step(batch)
        torch.compiler.cudagraph_mark_step_begin()  # the last step's graph outputs are used
        try:
            return self._step(batch)
        except Exception as exc:
            from torch._dynamo.exc import TorchDynamoException  # only when compiling

            if not isinstance(exc, TorchDynamoException):
                raise
            self._fall_back(exc)
            return self._step(batch)

    def _fall_back(self, exc: BaseException) -> None:
        uncompile(_unwrap(self.generator).dec, _unwrap(self.discriminator))
        self.compiled = False
        cause = getattr(exc, "inner_exception", None) or exc.__cause__ or exc  # the backend's
        first = (f"{type(cause).__name__}: {cause}".strip().splitlines() or [""])[0][:300]
        self._warn(f"Compiling failed ({first}); training goes on uncompiled. Untick "
                   "'Compile' (or leave out --compile) to start without it.")
        # the failed step may have stepped an optimizer through the scaler: start it again
        self.scaler = torch.amp.GradScaler(self.device.type, init_scale=self.scaler.get_scale(),
                                           enabled=self.precision.scaled)

    def _step(self, batch: SovitsBatch) -> torch.Tensor:
        with self._autocast():
            out = self.generator(batch.ssl, batch.spec, batch.spec_lengths, batch.phone_ids,
                                 batch.phone_lengths)
        starts = out.slice_starts
        fake = out.wav_slice  # [B, 1, segment]
        real = slice_segments(batch.wav, starts * self.hop, self.segment_frames * self.hop)
        with torch.autocast(self.device.type, enabled=False):
            mel_real = spec_to_mel(slice_segments(batch.spec, starts, self.segment_frames))
            mel_fake = mel_spectrogram(fake.squeeze(1).float())

        # discriminator: real and generated audio in one call (one DDP forward)
        with self._autocast():
            scores = self.discriminator(torch.cat([real, fake.detach()])).scores
        size = real.shape[0]
        loss_d = discriminator_loss([s[:size] for s in scores], [s[size:] for s in scores])
        self.optim_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss_d).backward()
        self.scaler.step(self.optim_d)

        # generator: through the plain discriminator, whose weights take no gradient here
        discriminator = _unwrap(self.discriminator)
        discriminator.requires_grad_(False)
        try:
            with self._autocast():
                with torch.no_grad():
                    real_out = discriminator(real)
                fake_out = discriminator(fake)
            losses = generator_losses(
                mel_real, mel_fake, (out.z_p, out.logs_q, out.m_p, out.logs_p, out.y_mask),
                fake_out.scores, real_out.feature_maps, fake_out.feature_maps,
            )  # fmt: skip
            self.optim_g.zero_grad(set_to_none=True)
            self.scaler.scale(losses.total).backward()
        finally:
            discriminator.requires_grad_(True)
        self.scaler.step(self.optim_g)
        self.scaler.update()
        return torch.stack([losses.total, losses.mel, losses.kl, losses.adversarial,
                            losses.feature_matching, loss_d]).detach()


def _step_seed(seed: int, step: int, rank: int) -> int:
    """The seed of optimizer step ``step`` (0-based) on ``rank``: dropout, posterior noise and
    segment positions repeat exactly after a resume."""
    return ((seed * 1_000_003 + step) * 65_537 + rank) % 2**63  # distinct below 65537 ranks


# --- reporting ----------------------------------------------------------------------------

class _Meter:
    """Sums the step losses on the device; reads them back once per report."""

    def __init__(self) -> None:
        self.total: torch.Tensor | None = None
        self.steps = 0
        self.samples = 0
        self.since = time.monotonic()

    def add(self, losses: torch.Tensor, samples: int) -> None:
        self.total = losses if self.total is None else self.total + losses
        self.steps += 1
        self.samples += samples

    def due(self) -> bool:
        return time.monotonic() - self.since >= REPORT_INTERVAL_S

    def take(self) -> tuple[dict[str, float], float, float]:
        """Mean losses since the last take, samples/s and steps/s over that time."""
        elapsed = max(time.monotonic() - self.since, 1e-9)
        means = {} if self.total is None else dict(
            zip(LOSS_NAMES, (self.total / self.steps).tolist(), strict=True))  # one sync
        rates = self.samples / elapsed, self.steps / elapsed
        self.total, self.steps, self.samples, self.since = None, 0, 0, time.monotonic()
        return means, *rates


@dataclass
class _Progress:
    epochs: int
    epoch_steps: int
    total_steps: int


def _report(reporter: TrainReporter, meter: _Meter, progress: _Progress, epoch: int,
            epoch_step: int, step: int, lr: float, device: torch.device, writer: Any
            ) -> dict[str, float]:
    """Report the losses since the last report (the one host sync), progress and speed;
    returns the mean losses ({} when no step ran since)."""
    if meter.steps == 0:
        return {}
    means, samples_per_s, steps_per_s = meter.take()
    prefix = METRIC_PREFIX[KIND]
    for name, value in means.items():
        reporter.metric(prefix + name, value, step)
        if writer is not None:
            writer.add_scalar(_TENSORBOARD_NAMES[name], value, step)
    reporter.metric(prefix + "lr", lr, step)
    if writer is not None:
        writer.add_scalar("learning_rate", lr, step)
    total = progress.total_steps
    reporter.progress(step, total, f"round {epoch} of {progress.epochs}, step {step} of {total}")
    memory = (torch.cuda.max_memory_reserved(device) / 2**30 if device.type == "cuda" else None)
    reporter.emit("train_step", epoch=epoch, epochs=progress.epochs, step=step, steps=total,
                  epoch_step=epoch_step, epoch_steps=progress.epoch_steps,
                  samples_per_s=round(samples_per_s, 3),
                  eta_s=round((total - step) / steps_per_s, 1) if steps_per_s > 0 else None,
                  lr=lr, gpu_memory_gb=None if memory is None else round(memory, 3))
    return means


def _tensorboard(config: TrainConfig) -> Any:
    """A SummaryWriter in ``logs/<exp>/logs_s2_v2`` (``train.tensorboard``), or None when turned
    off or when the ``tensorboard`` package is not installed."""
    return scalar_writer(config.experiment_dir, KIND) if config.tensorboard else None


# --- saving -------------------------------------------------------------------------------

def export_name(experiment: str, epoch: int, step: int) -> str:
    """Upstream's file name of exported SoVITS weights."""
    return f"{experiment}_e{epoch}_s{step}.pth"


def _export_tree(model_config: SoVITSConfig, config: TrainConfig) -> dict[str, Any]:
    """The ``config`` stored in an exported file: the model's s2.json tree with this run's
    training settings, laid out as upstream's hps (readers index ``["model"]``, ``["data"]``)."""
    tree = model_config.to_upstream()
    tree["train"].update({
        "seed": config.seed, "epochs": config.epochs, "learning_rate": LEARNING_RATE,
        "betas": list(BETAS), "eps": EPS, "batch_size": config.batch_size,
        "fp16_run": config.device == "cuda", "lr_decay": LR_DECAY, "c_mel": C_MEL,
        "c_kl": C_KL, "text_low_lr_rate": config.lr_weight,
        "save_every_epoch": config.save_every,
    })
    exp_dir = f"logs/{config.experiment}"
    tree["data"]["exp_dir"] = exp_dir
    tree.update({"s2_ckpt_dir": exp_dir, "content_module": "cnhubert",
                 "save_weight_dir": "SoVITS_weights_v2", "name": config.experiment,
                 "version": model_config.version, "pretrain": None, "resume_step": None})
    return tree


@dataclass
class _Parts:
    generator: nn.Module
    discriminator: nn.Module
    step: SovitsStep
    sampler: BucketBatchSampler
    model_json: str


def _export(config: TrainConfig, parts: _Parts, model_config: SoVITSConfig, epoch: int,
            step: int, reporter: TrainReporter) -> str:
    path = config.space.sovits_weights_dir / export_name(config.experiment, epoch, step)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_sovits_weights(path, _unwrap(parts.generator), _export_tree(model_config, config),
                        sovits_info(epoch, step))
    # the vocabulary says kind=, but emit(kind, **data) cannot take a second "kind"
    reporter.emit("exported", model=KIND, path=str(path), epoch=epoch, step=step)
    reporter.log(f"Exported {path.name}.")
    return str(path)


def _save_resume(config: TrainConfig, parts: _Parts, epoch: int, step: int,
                 sampler: SamplerState, reporter: TrainReporter) -> Path:
    state = {
        "generator": _unwrap(parts.generator).state_dict(),
        "discriminator": _unwrap(parts.discriminator).state_dict(),
        "optim_g": parts.step.optim_g.state_dict(),
        "optim_d": parts.step.optim_d.state_dict(),
        "scaler": parts.step.scaler.state_dict(),
        "sampler": sampler.to_dict(),
        "batch_size": config.batch_size,
        "world_size": parts.sampler.replicas,
        "model_config": parts.model_json,
    }
    path = save_resume(config.experiment_dir, KIND, epoch, step, state)
    reporter.emit("checkpoint", path=str(path), epoch=epoch, step=step)
    return path


def _resume(config: TrainConfig, parts: _Parts, reporter: TrainReporter
            ) -> tuple[SamplerState, int, str] | None:
    """Load the newest intact resume checkpoint into ``parts``; its sampler state, step and
    path, or None to start fresh."""
    found = load_newest(config.experiment_dir, KIND,
                        warn=lambda message: reporter.log(message, "warning"))
    if found is None:
        return None
    point, state = found
    if state.get("model_config") != parts.model_json:
        raise CheckpointError(
            f"The resume checkpoint {point.path.name} is of a different SoVITS model than the "
            "pretrained generator of this run.",
            "Pick the same pretrained generator as before, or train under a new experiment "
            f"name (or delete {point.path.parent} to start this one again).")
    _unwrap(parts.generator).load_state_dict(state["generator"])
    _unwrap(parts.discriminator).load_state_dict(state["discriminator"])
    load_optimizer_state(parts.step.optim_g, state["optim_g"])
    load_optimizer_state(parts.step.optim_d, state["optim_d"])
    parts.step.scaler.load_state_dict(state["scaler"])
    sampler = SamplerState.from_dict(state["sampler"])
    if (state.get("batch_size"), state.get("world_size"), sampler.seed) != (
            config.batch_size, parts.sampler.replicas, config.seed) and sampler.position:
        reporter.log(f"The batch size, GPU count or seed changed since {point.path.name}; "
                     f"round {sampler.epoch} starts again from its first batch.", "warning")
        sampler = SamplerState(config.seed, sampler.epoch, 0)
    reporter.emit("resumed", path=str(point.path), epoch=point.epoch, step=point.step)
    reporter.log(f"Continuing from {point.path.name}: round {sampler.epoch}, step {point.step}.")
    return sampler, point.step, str(point.path)


# --- the run ------------------------------------------------------------------------------


def _stop_requested(reporter: TrainReporter, ranks: _Ranks, device: torch.device) -> bool:
    wanted = reporter.should_stop()
    if ranks.world == 1:
        return wanted
    flag = torch.tensor([1.0 if wanted else 0.0], device=device)
    dist.all_reduce(flag)  # rank 0 decides; the others follow at the same step
    return bool(flag.item())


def _out_of_memory(batch_size: int, exc: BaseException) -> OutOfMemory:
    smaller = max(batch_size // 2, 1)
    if batch_size > 1:
        advice = f"Try batch size {smaller}."
    else:
        advice = ("Remove the longest clips (or cut them shorter) and format the dataset "
                  "again, or close other programs using the GPU.")
    return OutOfMemory(f"SoVITS training batch {batch_size} failed on this card: the GPU ran "
                       "out of memory.", advice, next_batch_size=smaller, details=str(exc))


@contextmanager
def _oom_as_error(batch_size: int) -> Iterator[None]:
    try:
        yield
    except torch.OutOfMemoryError as exc:  # B-6
        raise _out_of_memory(batch_size, exc) from exc


def _pretrained_generator(config: TrainConfig) -> Path:
    if config.pretrained_s2g is not None:
        return Path(config.pretrained_s2g)
    return require_pretrained(config.space, "sovits_generator")


def _pretrained_discriminator(config: TrainConfig) -> Path | None:
    if config.pretrained_s2d is not None:
        return Path(config.pretrained_s2d)
    try:
        return require_pretrained(config.space, "sovits_discriminator")
    except ModelMissing:
        return None


def _data(config: TrainConfig, ranks: _Ranks, reporter: TrainReporter
          ) -> tuple[SovitsDataset, BucketBatchSampler]:
    files = ExperimentFiles.of(config.space, config.experiment)
    min_items = int(config.extra.get("min_items", sovits_data.MIN_ITEMS))
    clips, repeats = read_clips(files, warn=lambda m: reporter.log(m, "warning"),
                                min_items=min_items)
    if ranks.main:
        computed = ensure_spectrograms(files, clips)
        if computed:
            reporter.log(f"Computed {computed} spectrogram(s) into "
                         f"{files.folder / sovits_data.SPEC_CACHE_FOLDER}.")
    if ranks.world > 1:
        dist.barrier()  # the other ranks read the cache rank 0 wrote
    dataset = SovitsDataset(files, clips, repeated_indices(len(clips), repeats))
    sampler = BucketBatchSampler(dataset.frames, config.batch_size, config.seed,
                                 replicas=ranks.world, rank=ranks.rank)
    if sampler.left_out:
        reporter.log(f"{sampler.left_out} item(s) are 0.64 s or shorter, or longer than 38 s, "
                     "and are left out (as upstream).", "warning")
    if len(sampler) == 0:
        raise DatasetError(
            f"No clip of {files.folder} is between 0.64 and 38 seconds long.",
            "Add clips of 1 to 20 seconds and format the dataset again.")
    return dataset, sampler


def train_sovits(config: TrainConfig, reporter: TrainReporter) -> TrainResult:
    """Train SoVITS as ``config`` says, reporting through ``reporter``; see the module
    docstring for the recipe.

    Raises:
        DatasetError: the experiment lacks a file or has no usable clip.
        ModelMissing: the pretrained generator is missing.
        CheckpointError: a weight or resume file does not fit.
        OutOfMemory: the GPU ran out of memory (names the batch to try next, B-6).
    """
    ranks = _ranks()
    out: TrainReporter = reporter if ranks.main else SilentReporter()
    device = _device(config, ranks)
    precision = choose_precision(config.precision, device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # as upstream
        torch.backends.cudnn.allow_tf32 = True
    dataset, sampler = _data(config, ranks, out)

    def warn(message: str) -> None:
        out.log(message, "warning")

    torch.manual_seed(config.seed)  # the initial values of what the files lack
    generator = load_generator(_pretrained_generator(config), warn).to(device)
    discriminator = load_discriminator(_pretrained_discriminator(config), warn).to(device)
    optim_g, optim_d, base_lrs = build_optimizers(generator, discriminator, config.lr_weight,
                                                  fused=device.type == "cuda")
    model_config = generator.config
    if ranks.world > 1:
        ids = [device.index] if device.type == "cuda" else None
        generator = DistributedDataParallel(generator, device_ids=ids)
        discriminator = DistributedDataParallel(discriminator, device_ids=ids)
    step_fn = SovitsStep(generator, discriminator, optim_g, optim_d, precision, device)
    if config.compile:
        blocker = compile_blocker(device.type, ranks.world)
        if blocker is not None:
            warn(f"Not compiled: {blocker}. Training runs uncompiled.")
        else:
            step_fn.compile(warn)
            out.log("Compiling the decoder and the discriminator (torch.compile with CUDA "
                    "graphs): the first steps take a few minutes longer, the rest run "
                    "faster.")
    parts = _Parts(generator, discriminator, step_fn, sampler,
                   json.dumps(model_config.to_upstream()["model"], sort_keys=True))

    if ranks.main:
        remove_interrupted_writes(config.experiment_dir, KIND, config.space.sovits_weights_dir,
                                  f"{config.experiment}_e", ".pth", log=out.log)
    resumed = _resume(config, parts, out)
    state, step, resumed_from = (resumed if resumed is not None
                                 else (SamplerState(config.seed, 1, 0), 0, None))
    epoch_steps = len(sampler)
    total = config.epochs * epoch_steps
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    progress = _Progress(config.epochs, epoch_steps, total)
    out.log(f"SoVITS: {len(dataset)} items, {epoch_steps} steps a round, batch "
            f"{config.batch_size}{f' × {ranks.world} processes' if ranks.world > 1 else ''}, "
            f"{precision.name}, on {device}.")
    if state.epoch > config.epochs or step >= total:
        out.log(f"Nothing left to train: the checkpoint is at round {state.epoch - 1}, step "
                f"{step}. Raise the number of rounds to train further.")
        return TrainResult(KIND, config.experiment, min(state.epoch, config.epochs), step,
                           stopped=False, resumed_from=resumed_from)

    writer = _tensorboard(config) if ranks.main else None
    loader = make_loader(dataset, sampler, device_type=device.type,
                         num_workers=config.num_workers)
    exported: list[str] = []
    meter = _Meter()
    last_losses: dict[str, float] = {}
    epoch = state.epoch
    try:
        with _oom_as_error(config.batch_size):
            for epoch in range(state.epoch, config.epochs + 1):
                lr = _set_epoch_lr(optim_g, optim_d, base_lrs, epoch)
                epoch_step = state.position if epoch == state.epoch else 0
                epoch_loss: list[torch.Tensor] = []  # G totals on the device, read at the end
                sampler.set_epoch(epoch, start=epoch_step)
                for batch in loader:
                    torch.manual_seed(_step_seed(config.seed, step, ranks.rank))
                    losses = step_fn(batch.to(device, non_blocking=True))
                    meter.add(losses, batch.size)
                    epoch_loss.append(losses[0])
                    step += 1
                    epoch_step += 1
                    if meter.due():
                        last_losses = _report(out, meter, progress, epoch, epoch_step, step,
                                              lr, device, writer) or last_losses
                    if step >= total:
                        break
                    if _stop_requested(out, ranks, device):
                        _report(out, meter, progress, epoch, epoch_step, step, lr, device,
                                writer)
                        if ranks.main:
                            _save_resume(config, parts, epoch, step,
                                         SamplerState(config.seed, epoch, epoch_step), out)
                        out.log(f"Stopped at round {epoch}, step {step}; starting again "
                                "continues from here.")
                        return TrainResult(KIND, config.experiment, epoch, step, stopped=True,
                                           exported=tuple(exported),
                                           resumed_from=resumed_from)
                last_losses = _report(out, meter, progress, epoch, epoch_step, step, lr, device,
                                      writer) or last_losses
                ended_early = step >= total and epoch_step < epoch_steps
                if ranks.main and epoch_loss and not ended_early:  # A/B listening's labels
                    append_epoch_loss(config.experiment_dir, KIND, epoch,
                                      float(torch.stack(epoch_loss).mean()), step)
                saving = ended_early or epoch % config.save_every == 0 or epoch == config.epochs
                if saving and ranks.main:
                    exported.append(_export(config, parts, model_config, epoch, step, out))
                    after = (SamplerState(config.seed, epoch, epoch_step) if ended_early
                             else SamplerState(config.seed, epoch + 1, 0))
                    _save_resume(config, parts, epoch, step, after, out)
                if step >= total:
                    break
    finally:
        if writer is not None:
            writer.close()
    out.progress(step, total, f"round {epoch} of {config.epochs}, step {step} of {total}")
    out.log(f"SoVITS training finished: round {epoch} of {config.epochs}, step {step}.")
    return TrainResult(KIND, config.experiment, epoch, step, stopped=False,
                       exported=tuple(exported), resumed_from=resumed_from,
                       final_losses=last_losses)
