"""The GPT-SoVITS v2 text-to-semantic decoder (the "GPT" model) and its training losses.

One decoder-only transformer reads the phones of a sentence (plus their BERT features) and
continues with 25 Hz semantic tokens. Text positions attend to all text; audio positions
attend to all text and to earlier audio. Parameter names equal upstream's
``AR/models/t2s_model.py::Text2SemanticDecoder`` (commit 48b1a01), so official weights load
strictly; ``.ckpt`` files add the prefix ``model.`` (see ``checkpoint.py``).

Differences from upstream, documented in ``docs/compatibility.md`` ("GPT"):
- the training mask treats right-padded phones as right-padded (upstream masks the wrong
  side), and padded targets are ignored instead of trained towards EOS;
- the DPO loss (``gpt_dpo.py``) masks padding the same way.
Autoregressive decoding lives in ``gpt_decode.py``; the sampling rules in ``gpt_sampling.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gsv_core.errors import ConfigError

__all__ = [
    "BERT_DIM",
    "IGNORE_TARGET",
    "GPTConfig",
    "GPTLoss",
    "Text2SemanticDecoder",
    "joint_attention_mask",
    "left_align",
    "text_key_mask",
    "top_k_accuracy",
]

BERT_DIM = 1024  # chinese-roberta-wwm-ext-large hidden size; bert_proj's input
LAYER_DROPOUT = 0.1  # upstream hard-wires 0.1 in every layer and positional encoding
ACCURACY_TOP_K = 3  # upstream logs top-3 accuracy (t2s_lightning_module.top_k)
IGNORE_TARGET = -100  # cross-entropy ignore_index for padded target positions
_PE_START_LEN = 4000  # positions precomputed at build time; grown on demand

# s1longer-v2.yaml sections that are not model shape; written back so upstream's loaders
# (which read config["data"]["max_sec"]) and its trainer find what they expect.
_UPSTREAM_DEFAULTS: dict[str, dict[str, Any]] = {
    "train": {"seed": 1234, "epochs": 20, "batch_size": 8, "save_every_n_epoch": 1,
              "precision": "16-mixed", "gradient_clip": 1.0},
    "optimizer": {"lr": 0.01, "lr_init": 0.00001, "lr_end": 0.0001, "warmup_steps": 2000,
                  "decay_steps": 40000},
    "data": {"max_eval_sample": 8, "max_sec": 54, "num_workers": 4, "pad_val": 1024},
    "inference": {"top_k": 15},
}


@dataclass(frozen=True)
class GPTConfig:
    """Shape of the decoder; the ``model`` section of upstream's ``s1longer-v2.yaml``.

    Defaults are the full-size v2 model (the official pretrained GPT).
    """

    vocab_size: int = 1025  # 1024 semantic tokens + EOS
    phoneme_vocab_size: int = 732  # v2 symbol table
    embedding_dim: int = 512
    hidden_dim: int = 512
    num_heads: int = 16  # upstream "head"
    num_layers: int = 24  # upstream "n_layer"
    dropout: float = 0.0  # token-embedding dropout only (upstream "dropout")
    eos_id: int = 1024  # upstream "EOS"; must be vocab_size - 1
    linear_units: int = 2048  # stored but unused upstream: the FFN is 4 x hidden_dim
    random_bert: int = 0  # stored, unused upstream
    max_sec: int = 54  # data.max_sec: longest clip in training; decode stops at 25 x this
    # The rest of the upstream tree (train, optimizer, run paths), written back unchanged.
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.eos_id != self.vocab_size - 1:
            raise ConfigError(f"GPT EOS id {self.eos_id} must be vocab_size - 1 "
                              f"({self.vocab_size - 1}).")
        if self.embedding_dim != self.hidden_dim:
            # Upstream adds embeddings straight into the residual stream, so they must agree.
            raise ConfigError(f"GPT embedding_dim {self.embedding_dim} must equal hidden_dim "
                              f"{self.hidden_dim}.")
        if self.hidden_dim % self.num_heads:
            raise ConfigError(f"GPT hidden_dim {self.hidden_dim} is not divisible by "
                              f"{self.num_heads} heads.")

    @classmethod
    def from_upstream(cls, config: dict[str, Any]) -> GPTConfig:
        """Build from an upstream config tree (``{"model": {...}, "data": {...}, ...}``).

        Sections other than ``model`` and ``data.max_sec`` are kept in ``extra`` so that
        :meth:`to_upstream` writes them back unchanged.
        """
        try:
            model = config["model"]
            values = {
                "vocab_size": int(model["vocab_size"]),
                "phoneme_vocab_size": int(model["phoneme_vocab_size"]),
                "embedding_dim": int(model["embedding_dim"]),
                "hidden_dim": int(model["hidden_dim"]),
                "num_heads": int(model["head"]),
                "num_layers": int(model["n_layer"]),
                "dropout": float(model.get("dropout", 0.0)),
                "eos_id": int(model["EOS"]),
                "linear_units": int(model.get("linear_units", 4 * int(model["hidden_dim"]))),
                "random_bert": int(model.get("random_bert", 0)),
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"GPT config is missing or has a bad model field: {exc}") from exc
        max_sec = config.get("data", {}).get("max_sec", cls.max_sec)
        extra = {k: v for k, v in config.items() if k != "model"}
        return cls(**values, max_sec=int(max_sec), extra=extra)

    def to_upstream(self) -> dict[str, Any]:
        """The upstream config tree: s1longer-v2 defaults, then ``extra``, then our fields."""
        tree: dict[str, Any] = {k: dict(v) for k, v in _UPSTREAM_DEFAULTS.items()}
        for key, value in self.extra.items():
            if isinstance(value, dict) and isinstance(tree.get(key), dict):
                tree[key] = {**tree[key], **value}
            else:
                tree[key] = value
        tree["data"]["max_sec"] = self.max_sec
        tree["model"] = {
            "vocab_size": self.vocab_size, "phoneme_vocab_size": self.phoneme_vocab_size,
            "embedding_dim": self.embedding_dim, "hidden_dim": self.hidden_dim,
            "head": self.num_heads, "linear_units": self.linear_units,
            "n_layer": self.num_layers, "dropout": self.dropout, "EOS": self.eos_id,
            "random_bert": self.random_bert,
        }
        return tree


@dataclass(frozen=True)
class GPTLoss:
    """Result of a training forward.

    ``loss`` is the summed cross-entropy over every real target (upstream sums: longer clips
    weigh more), plus the DPO term when one was asked for (``dpo_loss``, else None).
    ``logits`` is ``[B, Ty+1, vocab]``: row t predicts semantic token t, row ``len`` EOS.
    """

    loss: torch.Tensor
    accuracy: float
    logits: torch.Tensor
    targets: torch.Tensor  # [B, Ty+1], IGNORE_TARGET where padded
    dpo_loss: torch.Tensor | None = None


class TokenEmbedding(nn.Module):
    """``nn.Embedding`` under upstream's name (``word_embeddings``) with optional dropout."""

    def __init__(self, dim: int, vocab: int, dropout: float) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.word_embeddings(ids))


class SinePositions(nn.Module):
    """Sine/cosine positions scaled by a learnable ``alpha`` (x + alpha * pe[pos]).

    ``pe`` is a non-persistent buffer: upstream never saves it, so state dicts match.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.alpha = nn.Parameter(torch.ones(1))
        self.dropout = nn.Dropout(LAYER_DROPOUT)
        self.register_buffer("pe", self._table(_PE_START_LEN), persistent=False)

    def _table(self, length: int) -> torch.Tensor:
        position = torch.arange(length, dtype=torch.float32).unsqueeze(1)  # [L, 1]
        freq = torch.exp(torch.arange(0, self.dim, 2, dtype=torch.float32)
                         * -(math.log(10000.0) / self.dim))  # [D/2]
        table = torch.zeros(length, self.dim)
        table[:, 0::2] = torch.sin(position * freq)
        table[:, 1::2] = torch.cos(position * freq)
        return table  # [L, D], float32 like upstream; cast at use

    def table(self, length: int) -> torch.Tensor:
        """Positions ``0..length-1`` as ``[length, D]``, extending the table when needed."""
        if length > self.pe.shape[0]:
            self.pe = self._table(max(length, 2 * self.pe.shape[0])).to(self.pe.device)
        return self.pe[:length]

    def forward(self, x: torch.Tensor, start: int | torch.Tensor = 0) -> torch.Tensor:
        """x: [B, T, D] -> x + alpha * pe[start : start+T].

        ``start`` may instead be a device tensor holding the T positions ([T] int64), so the
        position can change without changing the shapes (CUDA graphs). The table is not grown
        then: call :meth:`table` with the longest length first.
        """
        if isinstance(start, torch.Tensor):
            pe = self.pe.index_select(0, start).to(x.dtype)  # [T, D]
        else:
            pe = self.table(start + x.shape[1])[start:].to(x.dtype)
        return self.dropout(x + self.alpha * pe)


class SelfAttention(nn.Module):
    """Multi-head self-attention with upstream's packed ``in_proj_weight`` layout (q, k, v).

    With ``cache`` the new keys/values are written into the preallocated cache at
    ``[start, start+T)`` and attention runs over ``[0, start+T)``: no per-step concatenation.
    When ``start`` is a device tensor of the T write positions ([T] int64), the shapes never
    change (what a CUDA graph needs): the keys/values are copied in at those positions and
    attention runs over the whole cache. ``mask`` is then an additive bias [B, H, T, L_max]
    (0 = may attend, -inf = hidden) that must hide every slot not yet written; see
    :func:`attend_all_slots` for why it is not the boolean mask.
    """

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * dim, dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * dim))
        self.out_proj = nn.Linear(dim, dim)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None,
                cache: tuple[torch.Tensor, torch.Tensor] | None = None,
                start: int | torch.Tensor = 0) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        heads = (batch, length, self.num_heads, dim // self.num_heads)
        q, k, v = (t.view(heads).transpose(1, 2) for t in (q, k, v))  # [B, H, T, Dh]
        if cache is not None:
            k_cache, v_cache = cache  # [B, H, L_max, Dh]
            if isinstance(start, torch.Tensor):
                # .to: under autocast k is fp16 while the cache has the weights' dtype (the
                # slice assignment below casts implicitly, index_copy_ does not).
                k = k_cache.index_copy_(2, start, k.to(k_cache.dtype))
                v = v_cache.index_copy_(2, start, v.to(v_cache.dtype))
                if mask is None:
                    raise ConfigError("The fixed-shape attention step needs its slot bias.")
                out = attend_all_slots(q, k, v, mask)  # [B, H, T, Dh]
                return self.out_proj(out.transpose(1, 2).reshape(batch, length, dim))
            else:
                k_cache[:, :, start:start + length] = k
                v_cache[:, :, start:start + length] = v
                k, v = k_cache[:, :, :start + length], v_cache[:, :, :start + length]
        drop = LAYER_DROPOUT if self.training else 0.0
        # mask: bool, True = may attend; [B, 1, T, S] or None
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        out = out.transpose(1, 2).reshape(batch, length, dim)  # [B, T, D]
        return self.out_proj(out)


def attend_all_slots(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                     bias: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(Dh) + bias) v over every cache slot, in three kernels.

    q [B, H, T, Dh], k/v [B, H, L, Dh], bias [B, H, T, L] additive -> [B, H, T, Dh].
    For the fixed-shape decode step (CUDA graphs). Not ``scaled_dot_product_attention``:
    with a mask it picks the memory-efficient kernel, which runs one thread block per head
    through all L slots, and at batch 1 that dominates the step (H100, full-size model,
    L = 1486, fp32: 4.9 ms per graphed step with masked SDPA, 1.4 ms with this). The bias is
    shared by every layer, so it is built once per step, not converted in each layer.
    """
    batch, heads, length, head_dim = q.shape
    flat = (batch * heads, -1, head_dim)
    scores = torch.baddbmm(bias.reshape(batch * heads, length, k.shape[2]), q.reshape(flat),
                           k.reshape(flat).transpose(1, 2), alpha=head_dim ** -0.5)  # [B*H, T, L]
    out = torch.bmm(scores.softmax(dim=-1), v.reshape(flat))  # [B*H, T, Dh]
    return out.view(batch, heads, length, head_dim)


class DecoderLayer(nn.Module):
    """Post-norm transformer layer: x = norm1(x + attn(x)); x = norm2(x + ffn(x)), ReLU FFN."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        self.self_attn = SelfAttention(dim, num_heads)
        self.linear1 = nn.Linear(dim, 4 * dim)
        self.linear2 = nn.Linear(4 * dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.dropout = nn.Dropout(LAYER_DROPOUT)
        self.dropout1 = nn.Dropout(LAYER_DROPOUT)
        self.dropout2 = nn.Dropout(LAYER_DROPOUT)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None,
                cache: tuple[torch.Tensor, torch.Tensor] | None = None,
                start: int | torch.Tensor = 0) -> torch.Tensor:
        x = self.norm1(x + self.dropout1(self.self_attn(x, mask, cache, start)))
        ffn = self.linear2(self.dropout(F.relu(self.linear1(x))))
        return self.norm2(x + self.dropout2(ffn))


class LayerStack(nn.Module):
    """Holds the layers under upstream's name ``h.layers``."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            DecoderLayer(config.hidden_dim, config.num_heads) for _ in range(config.num_layers)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None,
                caches: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
                start: int | torch.Tensor = 0) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, None if caches is None else caches[i], start)
        return x


def text_key_mask(phone_lens: torch.Tensor, text_len: int) -> torch.Tensor:
    """[B, text_len] True where a left-padded text position holds a real phone."""
    pos = torch.arange(text_len, device=phone_lens.device)
    return pos.unsqueeze(0) >= (text_len - phone_lens).unsqueeze(1)


def left_align(seq: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    """Move right-padded rows [B, T, ...] to the right end (left padding), pads zeroed.

    The text block must end at the same index for every item, because the first audio
    prediction is read from the last text position.
    """
    length = seq.shape[1]
    shift = (length - lens).unsqueeze(1)  # [B, 1]
    src = torch.arange(length, device=seq.device).unsqueeze(0) - shift  # [B, T]
    valid = src >= 0
    index = src.clamp(min=0)
    index = index.view(*index.shape, *([1] * (seq.dim() - 2))).expand_as(seq)
    out = seq.gather(1, index)
    return out * valid.view(*valid.shape, *([1] * (seq.dim() - 2))).to(out.dtype)


def top_k_accuracy(logits: torch.Tensor, targets: torch.Tensor, k: int,
                   ignore: tuple[int, ...]) -> float:
    """Micro top-k accuracy over targets not in ``ignore`` (0.0 when none count).

    logits: [..., V]; targets: [...]. Upstream uses torchmetrics' MulticlassAccuracy with
    ignore_index=EOS, so EOS targets never count; padded targets are ignored here too.
    """
    keep = torch.ones_like(targets, dtype=torch.bool)
    for value in ignore:
        keep &= targets != value
    if not bool(keep.any()):
        return 0.0
    top = logits[keep].topk(min(k, logits.shape[-1]), dim=-1).indices  # [N, k]
    hits = (top == targets[keep].unsqueeze(-1)).any(dim=-1)
    return float(hits.float().mean())


class Text2SemanticDecoder(nn.Module):
    """The v2 GPT. Upstream names: ``bert_proj``, ``ar_text_embedding``, ``ar_text_position``,
    ``ar_audio_embedding``, ``ar_audio_position``, ``h.layers.<i>``, ``ar_predict_layer``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.config = config
        dim = config.hidden_dim
        self.bert_proj = nn.Linear(BERT_DIM, dim)
        self.ar_text_embedding = TokenEmbedding(dim, config.phoneme_vocab_size, config.dropout)
        self.ar_text_position = SinePositions(dim)
        self.ar_audio_embedding = TokenEmbedding(dim, config.vocab_size, config.dropout)
        self.ar_audio_position = SinePositions(dim)
        self.h = LayerStack(config)
        self.ar_predict_layer = nn.Linear(dim, config.vocab_size, bias=False)

    def embed_text(self, phone_ids: torch.Tensor, bert: torch.Tensor) -> torch.Tensor:
        """phone_ids [B, Tx], bert [B, 1024, Tx] -> [B, Tx, D] with positions 0..Tx-1."""
        x = self.ar_text_embedding(phone_ids)
        x = x + self.bert_proj(bert.transpose(1, 2).to(x.dtype))
        return self.ar_text_position(x)

    def embed_audio(self, semantic_ids: torch.Tensor,
                    start: int | torch.Tensor = 0) -> torch.Tensor:
        """semantic_ids [B, T] -> [B, T, D] with positions start..start+T-1.

        ``start`` may be a device tensor of the T positions (see ``SinePositions.forward``).
        """
        return self.ar_audio_position(self.ar_audio_embedding(semantic_ids), start)

    def forward(self, phone_ids: torch.Tensor, phone_lens: torch.Tensor,
                semantic_ids: torch.Tensor, semantic_lens: torch.Tensor,
                bert: torch.Tensor) -> GPTLoss:
        """Teacher-forced training loss (upstream ``forward_old``, with a correct mask).

        Args:
            phone_ids: [B, Tx] right-padded (as upstream's collate pads), ``phone_lens`` [B].
            semantic_ids: [B, Ty] right-padded, ``semantic_lens`` [B].
            bert: [B, 1024, Tx] phone-level BERT features (zeros for non-Chinese text).
        """
        logits, targets = self.teacher_forced_logits(phone_ids, phone_lens, semantic_ids,
                                                     semantic_lens, bert)
        loss = F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE_TARGET,
                               reduction="sum")
        with torch.no_grad():
            acc = top_k_accuracy(logits.detach(), targets, ACCURACY_TOP_K,
                                 (IGNORE_TARGET, self.config.eos_id))
        return GPTLoss(loss=loss, accuracy=acc, logits=logits, targets=targets)

    def teacher_forced_logits(self, phone_ids: torch.Tensor, phone_lens: torch.Tensor,
                              semantic_ids: torch.Tensor, semantic_lens: torch.Tensor,
                              bert: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits [B, Ty+1, V] and targets [B, Ty+1] (IGNORE_TARGET past each item's EOS)."""
        eos = self.config.eos_id
        text_len, audio_len = phone_ids.shape[1], semantic_ids.shape[1]
        text = left_align(self.embed_text(phone_ids, bert), phone_lens)  # [B, Tx, D]

        audio_pos = torch.arange(audio_len + 1, device=semantic_ids.device).unsqueeze(0)
        lens = semantic_lens.unsqueeze(1)
        padded = F.pad(semantic_ids, (0, 1), value=eos)
        targets = torch.where(audio_pos < lens, padded, torch.full_like(padded, eos))
        targets = targets.masked_fill(audio_pos > lens, IGNORE_TARGET)  # [B, Ty+1]
        audio_in = targets[:, :-1].masked_fill(targets[:, :-1] == IGNORE_TARGET, eos)
        audio = self.embed_audio(audio_in)  # [B, Ty, D]

        mask = joint_attention_mask(text_key_mask(phone_lens, text_len),
                                    audio_pos[:, :-1] < lens)
        hidden = self.h(torch.cat([text, audio], dim=1), mask)  # [B, Tx+Ty, D]
        logits = self.ar_predict_layer(hidden[:, text_len - 1:])  # [B, Ty+1, V]
        return logits, targets


def joint_attention_mask(text_valid: torch.Tensor, audio_valid: torch.Tensor) -> torch.Tensor:
    """[B, 1, S, S] bool (True = may attend) for the sequence [text | audio], S = Tx + Ty.

    Text queries see all real text; audio queries see all real text and audio up to
    themselves. Padded keys are hidden from every query; padded query rows still see the
    real text, so no row is empty (an empty row would give NaN in softmax).
    """
    text_len, audio_len = text_valid.shape[1], audio_valid.shape[1]
    total = text_len + audio_len
    device = text_valid.device
    structure = torch.zeros(total, total, dtype=torch.bool, device=device)
    structure[:, :text_len] = True
    structure[text_len:, text_len:] = torch.ones(
        audio_len, audio_len, dtype=torch.bool, device=device).tril()
    keys = torch.cat([text_valid, audio_valid], dim=1)  # [B, S]
    return (structure.unsqueeze(0) & keys.unsqueeze(1)).unsqueeze(1)
