"""Upstream GPT-SoVITS's training steps, driven from a benchmark (never copied here).

Upstream's training loops live in scripts (``s2_train.py``) and a Lightning module
(``AR/models/t2s_lightning_module.py``) that cannot be called one step at a time, so this
module calls upstream's own *pieces* from the checkout given with ``--upstream`` and
sequences them as those loops do for one batch (facts from 48b1a01 and
``research/upstream-pipeline.md`` §4–5):

SoVITS (:class:`UpstreamSovits`): ``module.models.SynthesizerTrn`` and
``MultiPeriodDiscriminator``, ``module.losses``, ``module.mel_processing`` and
``module.commons``; AdamW as ``s2.json`` (lr 1e-4, betas 0.8/0.99, eps 1e-9; text
embedding, text encoder and MRTE at lr × 0.4); one fp16 ``GradScaler``. Per step, as
``train_and_evaluate``: under fp16 autocast the generator forward, the mel of the whole
spectrogram and of the generated slice, the discriminator on real and detached fake; the
D loss with autocast off; ``zero_grad``, scaled backward, ``unscale_``,
``commons.clip_grad_value_(…, None)`` (it reads one norm per parameter to the host), step;
then the discriminator again on real and fake, the G losses (mel × 45, KL, feature
matching, adversarial, ``kl_ssl``), backward, unscale, the same norm reading, step, scaler
update. Not run: upstream's 1-rank ``DistributedDataParallel`` wrapper
(``find_unused_parameters=True``), its data loader, and its logging every 100 steps. All
three cost upstream time, so leaving them out favours upstream.

GPT (:class:`UpstreamGPT`): ``AR.models.t2s_model.Text2SemanticDecoder`` (``top_k=3`` as
the Lightning module builds it), ``AR.modules.optim.ScaledAdam`` (lr 0.01, betas 0.9/0.95,
clipping_scale 2, clipping_update_period 1000, the parameter names) and
``AR.modules.lr_schedulers.WarmupCosineLRSchedule`` with the config's optimizer section;
Lightning's ``16-mixed`` precision is fp16 autocast around ``training_step`` and a
``GradScaler`` (unscale, step, update on ``opt.step()``). Per batch, as
``training_step``: ``forward_old`` (or ``forward``, upstream's DPO path, which makes the
rejected sequences inside the step) under autocast, scaled backward, and when
``batch_idx > 0 and batch_idx % 4 == 0`` the optimizer step, ``zero_grad`` and the
scheduler step. Not run: Lightning itself (its loop, ``self.log`` with ``sync_dist`` and
the progress bar) and its 1-rank DDP strategy; again this favours upstream.

Imports. ``t2s_model`` imports ``torchmetrics`` (its ``MulticlassAccuracy`` is computed in
every training forward, so it IS measured code) and ``module.mel_processing`` imports
``librosa`` (only to build the mel filter matrix once, then cached by upstream: not in the
timed steps). ``pytorch_lightning`` is never imported: the Lightning module is not used.
When a package is missing, :func:`register_stand_ins` registers a small stand-in and
reports it: for ``librosa.filters.mel``, our own Slaney mel matrix (the same numbers); for
``torchmetrics``, a top-k micro accuracy with ``ignore_index`` returning a device tensor
(upstream then calls ``.item()`` on it, so its host sync stays). Upstream's side is only
comparable when no stand-in for measured code (torchmetrics) was used; the bench row says
which stand-ins were in place. ``f5_tts`` is stubbed by ``_upstream.load_upstream_sovits``.

Both sides load the same random weights strictly (a missing or unexpected key fails).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["UpstreamGPT", "UpstreamSovits", "import_upstream", "register_stand_ins"]

LEARNING_RATE = 1e-4  # s2.json
BETAS = (0.8, 0.99)
EPS = 1e-9
TEXT_LOW_LR_RATE = 0.4
C_MEL, C_KL = 45.0, 1.0
GPT_TOP_K = 3  # the Lightning module's accuracy top-k
ACCUMULATE_EVERY = 4  # training_step steps when batch_idx > 0 and batch_idx % 4 == 0


class _TopKAccuracy(nn.Module):
    """Stand-in for ``torchmetrics.classification.MulticlassAccuracy(num_classes, top_k,
    average="micro", multidim_average="global", ignore_index)``: ``preds`` [B, C, T] and
    ``target`` [B, T] → a 0-dim tensor, the share of non-ignored targets in the top k."""

    def __init__(self, num_classes: int, top_k: int = 1, average: str = "micro",
                 multidim_average: str = "global", ignore_index: int | None = None,
                 **_: Any) -> None:
        super().__init__()
        self.top_k = top_k
        self.ignore_index = ignore_index

    def forward(self, preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        top = preds.topk(self.top_k, dim=1).indices  # [B, k, T]
        hits = (top == target.unsqueeze(1)).any(1)
        counted = torch.ones_like(target, dtype=torch.bool) if self.ignore_index is None \
            else target != self.ignore_index
        return (hits & counted).sum() / counted.sum().clamp(min=1)


def _mel_stand_in(*, sr: int, n_fft: int, n_mels: int, fmin: float = 0.0,
                  fmax: float | None = None, **_: Any) -> Any:
    from gsv_core.models.spectrogram import mel_filterbank

    return mel_filterbank(sr, n_fft, n_mels, fmin, fmax).copy()


def register_stand_ins() -> list[str]:
    """Register stand-ins for the packages upstream imports that are not installed (see
    the module docstring); returns the names of those registered."""
    from _upstream import stand_in_module

    used = []
    if importlib.util.find_spec("torchmetrics") is None:
        metrics = stand_in_module("torchmetrics")
        classification = stand_in_module("torchmetrics.classification")
        classification.MulticlassAccuracy = _TopKAccuracy
        metrics.classification = classification
        sys.modules.update({"torchmetrics": metrics,
                            "torchmetrics.classification": classification})
        used.append("torchmetrics")
    if importlib.util.find_spec("librosa") is None:
        librosa = stand_in_module("librosa")
        filters = stand_in_module("librosa.filters")
        filters.mel = _mel_stand_in
        librosa.filters = filters
        sys.modules.update({"librosa": librosa, "librosa.filters": filters})
        used.append("librosa")
    return used


def import_upstream(folder: Path) -> types.SimpleNamespace:
    """Upstream's training pieces from the checkout ``folder`` (its ``GPT_SoVITS`` on
    ``sys.path``, as upstream's scripts run); ``stand_ins`` lists what was stubbed."""
    import _upstream

    if not (Path(folder) / "GPT_SoVITS" / "AR" / "models" / "t2s_model.py").is_file():
        raise SystemExit(f"--upstream {folder}: no GPT_SoVITS/AR/models/t2s_model.py there; "
                         "give the root of a GPT-SoVITS checkout.")
    stand_ins = register_stand_ins()
    models = _upstream.load_upstream_sovits(folder)  # puts GPT_SoVITS on sys.path
    from AR.models import t2s_model
    from AR.modules import lr_schedulers, optim
    from module import commons, losses, mel_processing

    return types.SimpleNamespace(models=models, commons=commons, losses=losses,
                                 mel=mel_processing, t2s_model=t2s_model, optim=optim,
                                 lr_schedulers=lr_schedulers, stand_ins=stand_ins)


def _load_exactly(module: nn.Module, weights: dict[str, torch.Tensor], what: str) -> None:
    result = module.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise SystemExit(f"upstream {what} does not match our weights: missing "
                         f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")


class UpstreamSovits:
    """Upstream's SoVITS generator + discriminator, optimizers and scaler; call with
    upstream's batch tensors to run one training step (see the module docstring)."""

    def __init__(self, up: types.SimpleNamespace, hps: dict[str, Any],
                 generator_weights: dict[str, torch.Tensor],
                 discriminator_weights: dict[str, torch.Tensor],
                 device: torch.device) -> None:
        self.up = up
        self.hps = hps
        self.device = device
        data = hps["data"]
        net_g = up.models.SynthesizerTrn(
            data["filter_length"] // 2 + 1, hps["train"]["segment_size"] // data["hop_length"],
            n_speakers=data["n_speakers"], **hps["model"])
        net_d = up.models.MultiPeriodDiscriminator(hps["model"]["use_spectral_norm"],
                                                   version=hps["model"]["version"])
        _load_exactly(net_g, generator_weights, "SynthesizerTrn")
        _load_exactly(net_d, discriminator_weights, "MultiPeriodDiscriminator")
        self.net_g = net_g.to(device).train()
        self.net_d = net_d.to(device).train()
        enc_p = self.net_g.enc_p
        text_ids = {id(p) for part in (enc_p.text_embedding, enc_p.encoder_text, enc_p.mrte)
                    for p in part.parameters()}
        base = [p for p in self.net_g.parameters() if id(p) not in text_ids and p.requires_grad]
        low = LEARNING_RATE * TEXT_LOW_LR_RATE
        self.optim_g = torch.optim.AdamW(
            [{"params": base, "lr": LEARNING_RATE},
             {"params": enc_p.text_embedding.parameters(), "lr": low},
             {"params": enc_p.encoder_text.parameters(), "lr": low},
             {"params": enc_p.mrte.parameters(), "lr": low}],
            LEARNING_RATE, betas=BETAS, eps=EPS)
        self.optim_d = torch.optim.AdamW(self.net_d.parameters(), LEARNING_RATE, betas=BETAS,
                                         eps=EPS)
        self.fp16 = device.type == "cuda"  # s2.json fp16_run; autocast is CUDA-only there
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.fp16)

    def _autocast(self, enabled: bool = True) -> Any:
        return torch.autocast(self.device.type, dtype=torch.float16,
                              enabled=enabled and self.fp16)

    def __call__(self, ssl: torch.Tensor, spec: torch.Tensor, spec_lengths: torch.Tensor,
                 y: torch.Tensor, text: torch.Tensor, text_lengths: torch.Tensor) -> None:
        up, data = self.up, self.hps["data"]
        segment = self.hps["train"]["segment_size"]
        with self._autocast():
            y_hat, kl_ssl, ids_slice, _x_mask, z_mask, (_z, z_p, m_p, logs_p, _m_q, logs_q), \
                _stats = self.net_g(ssl, spec, spec_lengths, text, text_lengths)
            mel = up.mel.spec_to_mel_torch(spec, data["filter_length"], data["n_mel_channels"],
                                           data["sampling_rate"], data["mel_fmin"],
                                           data["mel_fmax"])
            y_mel = up.commons.slice_segments(mel, ids_slice, segment // data["hop_length"])
            y_hat_mel = up.mel.mel_spectrogram_torch(
                y_hat.squeeze(1), data["filter_length"], data["n_mel_channels"],
                data["sampling_rate"], data["hop_length"], data["win_length"],
                data["mel_fmin"], data["mel_fmax"])
            y = up.commons.slice_segments(y, ids_slice * data["hop_length"], segment)
            y_d_hat_r, y_d_hat_g, _, _ = self.net_d(y, y_hat.detach())
            with self._autocast(False):
                loss_disc, _, _ = up.losses.discriminator_loss(y_d_hat_r, y_d_hat_g)
        self.optim_d.zero_grad()
        self.scaler.scale(loss_disc).backward()
        self.scaler.unscale_(self.optim_d)
        up.commons.clip_grad_value_(self.net_d.parameters(), None)
        self.scaler.step(self.optim_d)

        with self._autocast():
            y_d_hat_r, y_d_hat_g, fmap_r, fmap_g = self.net_d(y, y_hat)
            with self._autocast(False):
                loss_mel = torch.nn.functional.l1_loss(y_mel, y_hat_mel) * C_MEL
                loss_kl = up.losses.kl_loss(z_p, logs_q, m_p, logs_p, z_mask) * C_KL
                loss_fm = up.losses.feature_loss(fmap_r, fmap_g)
                loss_gen, _ = up.losses.generator_loss(y_d_hat_g)
                loss_gen_all = loss_gen + loss_fm + loss_mel + kl_ssl * 1 + loss_kl
        self.optim_g.zero_grad()
        self.scaler.scale(loss_gen_all).backward()
        self.scaler.unscale_(self.optim_g)
        up.commons.clip_grad_value_(self.net_g.parameters(), None)
        self.scaler.step(self.optim_g)
        self.scaler.update()


class UpstreamGPT:
    """Upstream's decoder, ScaledAdam, scheduler and scaler; :meth:`step` runs
    ``training_step`` on each batch given (see the module docstring)."""

    def __init__(self, up: types.SimpleNamespace, config: dict[str, Any],
                 weights: dict[str, torch.Tensor], device: torch.device, dpo: bool) -> None:
        model = up.t2s_model.Text2SemanticDecoder(config=config, top_k=GPT_TOP_K)
        _load_exactly(model, weights, "Text2SemanticDecoder")
        self.model = model.to(device).train()
        self.device = device
        self.forward = self.model.forward if dpo else self.model.forward_old
        names = [[name for name, _ in self.model.named_parameters()]]
        self.optimizer = up.optim.ScaledAdam(
            self.model.parameters(), lr=0.01, betas=(0.9, 0.95), clipping_scale=2.0,
            parameters_names=names, show_dominant_parameters=False,
            clipping_update_period=1000)
        opt = config["optimizer"]
        self.scheduler = up.lr_schedulers.WarmupCosineLRSchedule(
            self.optimizer, init_lr=opt["lr_init"], peak_lr=opt["lr"], end_lr=opt["lr_end"],
            warmup_steps=opt["warmup_steps"], total_steps=opt["decay_steps"])
        self.fp16 = device.type == "cuda"  # "16-mixed"
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.fp16)
        self.batch_idx = 0

    def training_step(self, batch: dict[str, torch.Tensor]) -> None:
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.fp16):
            loss, _acc = self.forward(batch["phoneme_ids"], batch["phoneme_ids_len"],
                                      batch["semantic_ids"], batch["semantic_ids_len"],
                                      batch["bert_feature"])
        self.scaler.scale(loss).backward()
        if self.batch_idx > 0 and self.batch_idx % ACCUMULATE_EVERY == 0:
            self.scaler.unscale_(self.optimizer)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad()
            self.scheduler.step()
        self.batch_idx += 1

    def step(self, batches: list[dict[str, torch.Tensor]]) -> None:
        for batch in batches:
            self.training_step(batch)
