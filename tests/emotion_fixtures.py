"""A tiny random emotion2vec_plus folder in the layout funasr's AutoModel loads (issue 12).

``config.yaml`` (model Emotion2vec, CharTokenizer), ``model.pt`` (a state dict of a 32-d,
2-layer model with the nine-class head) and ``tokens.txt`` (the nine labels in funasr's
order). Random weights: tests check structure, never which emotion comes out. Nothing is
downloaded (recipe: shared/research/wave2-deps.md §3).
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import pytest

from gsv_core.dataset.annotations import Clip, write_list
from tests.infer_fixtures import write_voiced_wav

TOKENS = ["生气/angry", "厌恶/disgusted", "恐惧/fearful", "开心/happy", "中立/neutral",
          "其他/other", "难过/sad", "吃惊/surprised", "<unk>"]


TINY_ENCODER = "[(32,10,5)] + [(32,3,2)]*4 + [(32,2,2)] + [(32,2,2)]"
REAL_ENCODER = "[(512,10,5)] + [(512,3,2)]*4 + [(512,2,2)] + [(512,2,2)]"  # emotion2vec_plus


def model_conf(dim: int = 32, depth: int = 2, heads: int = 2,
               encoder: str = TINY_ENCODER) -> dict:
    audio = {"type": "AUDIO", "prenet_depth": 1, "prenet_layerdrop": 0.0,
             "prenet_dropout": 0.0, "start_drop_path_rate": 0.0, "end_drop_path_rate": 0.0,
             "num_extra_tokens": 2, "init_extra_token_zero": False, "mask_noise_std": 0.01,
             "mask_prob_min": None, "mask_prob": 0.5, "inverse_mask": False,
             "mask_prob_adjust": 0.05, "keep_masked_pct": 0.0, "mask_length": 5,
             "add_masks": False, "remove_masks": False, "mask_dropout": 0.0,
             "encoder_zero_mask": True, "mask_channel_prob": 0.0, "mask_channel_length": 64,
             "ema_local_encoder": False, "local_grad_mult": 1.0, "use_alibi_encoder": True,
             "alibi_scale": 1.0, "learned_alibi": False, "alibi_max_pos": None,
             "learned_alibi_scale": True, "learned_alibi_scale_per_head": True,
             "learned_alibi_scale_per_layer": False, "num_alibi_heads": heads,
             "model_depth": depth, "decoder": None, "extractor_mode": "layer_norm",
             "feature_encoder_spec": encoder,
             "conv_pos_width": 15, "conv_pos_groups": 4, "conv_pos_depth": 1,
             "conv_pos_pre_ln": False}
    return {"loss_beta": 0.0, "loss_scale": None, "depth": depth, "start_drop_path_rate": 0.0,
            "end_drop_path_rate": 0.0, "num_heads": heads, "norm_eps": 1e-5,
            "norm_affine": True, "encoder_dropout": 0.0, "post_mlp_drop": 0.0,
            "attention_dropout": 0.0, "activation_dropout": 0.0, "dropout_input": 0.0,
            "layerdrop": 0.0, "embed_dim": dim, "mlp_ratio": 2.0, "layer_norm_first": False,
            "average_top_k_layers": depth, "end_of_block_targets": False, "clone_batch": 1,
            "layer_norm_target_layer": False, "batch_norm_target_layer": False,
            "instance_norm_target_layer": False, "instance_norm_targets": False,
            "layer_norm_targets": False, "ema_decay": 0.999, "ema_same_dtype": True,
            "log_norms": True, "ema_end_decay": 0.9999, "ema_anneal_end_step": 1,
            "ema_encoder_only": True, "max_update": 1, "extractor_mode": "layer_norm",
            "shared_decoder": None, "min_target_var": 0.1, "min_pred_var": 0.01,
            "supported_modality": "AUDIO", "mae_init": False, "seed": 1,
            "skip_ema": False, "cls_loss": 0.0, "recon_loss": 0.0, "d2v_loss": 1.0,
            "decoder_group": False, "adversarial_training": False,
            "adversarial_hidden_dim": 128, "adversarial_weight": 0.1, "cls_type": "chunk",
            "normalize": True, "modalities": {"audio": audio}}


def build_tiny_emotion2vec(folder: Path, **shape: int | str) -> Path:
    """Write the folder; ``shape`` (dim, depth, heads, encoder) gives larger models for
    benchmarks (``bench/bench_emotion.py`` builds the large model's shape)."""
    import torch
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    conf = model_conf(**shape)  # type: ignore[arg-type]
    config = {"model": "Emotion2vec", "model_conf": conf, "tokenizer": "CharTokenizer",
              "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                        encoding="utf-8")
    (folder / "tokens.txt").write_text("\n".join(TOKENS) + "\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # funasr's imports warn about their own deprecations
        from funasr.models.emotion2vec.model import Emotion2vec

        torch.manual_seed(0)
        model = Emotion2vec(model_conf=conf, vocab_size=len(TOKENS))
    torch.save(model.state_dict(), folder / "model.pt")
    return folder


@pytest.fixture
def offline(monkeypatch):
    """Refuse every connection that leaves this machine (and record the attempts)."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") \
                and not host.startswith("/"):
            attempts.append(address)
            raise OSError(f"network access in a test: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"the test tried to go online: {attempts}"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_emotion2vec(tmp_path_factory.mktemp("emotion2vec") / "tiny")


def make_list(root: Path, seconds=(1.2, 2.0, 0.8, 1.5)) -> Path:
    clips = []
    for index, length in enumerate(seconds):
        path = write_voiced_wav(root / "clips" / f"clip_{index}.wav", length, 32_000, seed=index)
        clips.append(Clip(str(path), "spk", "zh", "你好。", path))
    list_path = root / "voice.list"
    write_list(list_path, clips)
    return list_path
