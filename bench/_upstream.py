"""Upstream GPT-SoVITS, imported at run time from a checkout the user names, for side-by-side
benchmarks (never copied into this repository).

``load_upstream(folder)`` puts ``folder/GPT_SoVITS`` on ``sys.path`` (upstream's own scripts
run from there: its packages are ``AR``, ``module``, ``text``). Its ``module/models.py``
imports ``f5_tts`` for the v3 model; v2 never builds it, so when that package is absent a
placeholder module is registered for the import alone (a v3 model would fail loudly).

The models are built the way upstream's ``TTS_infer_pack/TTS.py`` builds them for inference
(48b1a01) and loaded *strictly* from the same files our engine reads: a missing or unexpected
key fails the benchmark instead of timing a half-loaded model.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from gsv_core.models.checkpoint import read_checkpoint_dict

GPT_PREFIX = "model."


@dataclass
class UpstreamModels:
    """Upstream's GPT (``Text2SemanticDecoder``) and SoVITS (``SynthesizerTrn``), in eval."""

    gpt: Any
    sovits: Any
    modules: types.SimpleNamespace  # the upstream modules used (for the CUDA-graph runner)


def load_upstream(folder: Path) -> types.SimpleNamespace:
    """Import upstream's model modules from the checkout ``folder`` (see the module doc)."""
    code = Path(folder) / "GPT_SoVITS"
    if not (code / "AR" / "models" / "t2s_model.py").is_file():
        raise SystemExit(f"--upstream {folder}: no GPT_SoVITS/AR/models/t2s_model.py there; "
                         "give the root of a GPT-SoVITS checkout.")
    models = load_upstream_sovits(folder)
    from AR.models import t2s_model, t2s_model_cudagraph
    from AR.models.structs_cudagraph import T2SRequest

    return types.SimpleNamespace(t2s_model=t2s_model, cudagraph=t2s_model_cudagraph,
                                 T2SRequest=T2SRequest, models=models)


def stand_in_module(name: str) -> types.ModuleType:
    """An empty module for a package upstream imports but the benchmark does not need.

    It carries a module spec: ``importlib.util.find_spec`` raises on a module in
    ``sys.modules`` whose ``__spec__`` is None, and upstream's imports (and ours) call it.
    """
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    return module


def load_upstream_sovits(folder: Path) -> types.ModuleType:
    """Upstream's ``module.models`` alone (SoVITS; no GPT, so no Lightning/torchmetrics)."""
    code = str(Path(folder) / "GPT_SoVITS")
    if code not in sys.path:
        sys.path.insert(0, code)
    if importlib.util.find_spec("f5_tts") is None:
        f5 = stand_in_module("f5_tts")
        f5_model = stand_in_module("f5_tts.model")

        class DiT:  # only v3 builds it
            def __init__(self, *args: object, **kwargs: object) -> None:
                raise RuntimeError("f5_tts placeholder: the v3 model is not benchmarked")

        f5_model.DiT = DiT
        f5.model = f5_model
        sys.modules.update({"f5_tts": f5, "f5_tts.model": f5_model})
    from module import models

    return models


def _strict(module: torch.nn.Module, weights: dict[str, torch.Tensor], what: str) -> None:
    result = module.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise SystemExit(f"upstream {what} does not match the weights: missing "
                         f"{result.missing_keys[:5]}, unexpected {result.unexpected_keys[:5]}")


def build_upstream(up: types.SimpleNamespace, gpt_path: Path, sovits_path: Path,
                   device: torch.device, dtype: torch.dtype) -> UpstreamModels:
    """Upstream's two models from our files, as ``TTS.py`` builds them, strictly loaded."""
    gpt_data = read_checkpoint_dict(gpt_path)
    gpt = up.t2s_model.Text2SemanticDecoder(config=gpt_data["config"], top_k=15)
    _strict(gpt, {k[len(GPT_PREFIX):]: v for k, v in gpt_data["weight"].items()}, "GPT")

    sovits_data = read_checkpoint_dict(sovits_path)
    hps = sovits_data["config"]
    sovits = up.models.SynthesizerTrn(
        hps["data"]["filter_length"] // 2 + 1,
        hps["train"]["segment_size"] // hps["data"]["hop_length"],
        n_speakers=hps["data"]["n_speakers"], **hps["model"])
    if hasattr(sovits, "enc_q"):
        del sovits.enc_q  # upstream drops the posterior encoder for inference (TTS.py)
    _strict(sovits, sovits_data["weight"], "SoVITS")
    gpt = gpt.to(device=device, dtype=dtype).eval()
    sovits = sovits.to(device=device, dtype=dtype).eval()
    return UpstreamModels(gpt=gpt, sovits=sovits, modules=up)


@torch.inference_mode()
def upstream_gpt_batch(models: UpstreamModels, phones: list[torch.Tensor],
                       bert: list[torch.Tensor], prompt: torch.Tensor,
                       new_tokens: int) -> list[torch.Tensor]:
    """``infer_panel_batch_infer`` (api_v2's path with ``parallel_infer``): tokens per row."""
    device = prompt.device
    lens = torch.tensor([p.shape[0] for p in phones], device=device)
    prompts = prompt.unsqueeze(0).expand(len(phones), -1)
    dtype = next(models.gpt.parameters()).dtype
    rows, idx = models.gpt.infer_panel_batch_infer(
        [p.to(device) for p in phones], lens, prompts, [b.to(device, dtype) for b in bert],
        top_k=15, top_p=1.0, temperature=1.0, early_stop_num=new_tokens - 1,
        repetition_penalty=1.35, max_len=int(lens.max()))
    return [row[-i:] if i else row for row, i in zip(rows, idx, strict=True)]


class UpstreamGraphDecoder:
    """Upstream's CUDA-graph decoder (``t2s_model_cudagraph.CUDAGraphRunner``), batch 1."""

    def __init__(self, models: UpstreamModels, gpt_path: Path, device: torch.device,
                 dtype: torch.dtype) -> None:
        cg = models.modules.cudagraph
        data = read_checkpoint_dict(gpt_path)
        decoder = cg.T2SDecoder(data["config"], max_batch_size=1)
        decoder.load_state_dict(data["weight"])
        self.runner = cg.CUDAGraphRunner(decoder.eval(), device=device, dtype=dtype)
        self.request_type = models.modules.T2SRequest
        self.dtype = dtype

    @torch.inference_mode()
    def decode(self, phones: torch.Tensor, bert: torch.Tensor, prompt: torch.Tensor,
               new_tokens: int) -> torch.Tensor:
        device = prompt.device
        request = self.request_type(
            x=[phones.to(device)], x_lens=torch.tensor([phones.shape[0]], device=device),
            prompts=prompt.unsqueeze(0), bert_feature=[bert.to(device, self.dtype)],
            valid_length=1, top_k=15, top_p=1.0, early_stop_num=new_tokens - 1,
            temperature=1.0, repetition_penalty=1.35, use_cuda_graph=True)
        result = self.runner.generate(request)
        if result.status != "Success":
            raise RuntimeError(f"upstream CUDA-graph decoder failed:\n{result.traceback}")
        return result.result[0]


@torch.inference_mode()
def upstream_sovits_batched(models: UpstreamModels, tokens: list[torch.Tensor],
                            phones: list[torch.Tensor], refer_spec: torch.Tensor) -> torch.Tensor:
    """TTS.run's batched v2 decode at speed 1: every segment's tokens in one ``decode``."""
    device = refer_spec.device
    dtype = next(models.sovits.parameters()).dtype
    codes = torch.cat(tokens).to(device).view(1, 1, -1)
    text = torch.cat(phones).to(device).unsqueeze(0)
    return models.sovits.decode(codes, text, [refer_spec.to(dtype)], speed=1.0)[0, 0]


@torch.inference_mode()
def upstream_sovits(models: UpstreamModels, tokens: torch.Tensor, phones: torch.Tensor,
                    refer_spec: torch.Tensor) -> torch.Tensor:
    """One ``SynthesizerTrn.decode`` (upstream's per-segment path)."""
    return upstream_sovits_batched(models, [tokens], [phones], refer_spec)
