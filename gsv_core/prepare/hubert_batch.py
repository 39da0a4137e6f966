"""HuBERT features and semantic codes of several clips per forward pass, equal to one at a time.

Upstream runs one clip per forward pass (2-get-hubert-wav32k.py, 3-get-semantic.py): on a
GPU that is a few hundred small kernel launches per clip. Batching padded clips is only
correct if padding cannot leak into a clip's frames, and in chinese-hubert-base it would, in
two places:

- the first convolution's GroupNorm (one group per channel) normalises over *time*, so its
  statistics would include the padding: here they are taken over each clip's own frames;
- the positional convolution reads neighbouring frames: the encoder zeroes padded frames
  first when given the frame mask (transformers' ``HubertEncoder``), as a lone clip is
  zero-padded by the convolution itself; the mask also keeps attention off the padding.

The other convolutions are "valid" and stride forward, so a clip's frames read only its own
samples. The result equals the one-clip forward up to float rounding (checked in
tests/integration/test_prepare_features.py). A batch of one runs the model unchanged.

Semantic codes (``SoVITSGenerator.extract_latent``: a stride-2 convolution, then a
nearest-codeword search per frame) batch the same way: a clip's first ``T50 // 2`` codes
read only its own frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

__all__ = ["hubert_hidden_batch", "length_batches", "semantic_codes_batch"]


def length_batches(lengths: Sequence[int], max_padded: int) -> list[list[int]]:
    """Indices grouped longest first so that ``len(batch) × longest ≤ max_padded``.

    Sorting by length keeps padding small; a clip longer than ``max_padded`` gets a batch
    of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for index in order:
        if batches and (len(batches[-1]) + 1) * lengths[batches[-1][0]] <= max_padded:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def _masked_group_norm(hidden: torch.Tensor, frames: torch.Tensor, norm: nn.GroupNorm
                       ) -> torch.Tensor:
    """GroupNorm with one group per channel, statistics over each clip's ``frames`` only."""
    mask = (torch.arange(hidden.shape[-1], device=hidden.device)[None, :]
            < frames[:, None]).to(torch.float32)[:, None, :]            # [B, 1, T]
    count = frames.to(torch.float32)[:, None, None]
    x = hidden.float()
    mean = (x * mask).sum(-1, keepdim=True) / count
    var = (((x - mean) * mask) ** 2).sum(-1, keepdim=True) / count
    out = (x - mean) / torch.sqrt(var + norm.eps)
    out = out * norm.weight.float()[None, :, None] + norm.bias.float()[None, :, None]
    return out.to(hidden.dtype)


@torch.no_grad()
def hubert_hidden_batch(model: nn.Module, waves: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Last hidden states ``[1, hidden, frames]`` of each 16 kHz wave (raw ``HubertModel``).

    ``model`` is a transformers ``HubertModel`` in eval mode; the waves are fed as they are
    (upstream's formatting skips the feature extractor's normalisation).
    """
    param = next(model.parameters())
    if len(waves) == 1:
        x = waves[0].to(param.device, param.dtype)[None]
        return [model(x).last_hidden_state.transpose(1, 2)]
    lengths = torch.tensor([len(w) for w in waves], device=param.device)
    x = pad_sequence([w.to(param.device, param.dtype) for w in waves], batch_first=True)
    hidden = x[:, None]
    layers = list(model.feature_extractor.conv_layers)
    first = layers[0]
    if isinstance(getattr(first, "layer_norm", None), nn.GroupNorm):
        conv = first.conv
        frames0 = (lengths - conv.kernel_size[0]) // conv.stride[0] + 1
        hidden = first.activation(_masked_group_norm(conv(hidden), frames0, first.layer_norm))
        layers = layers[1:]
    for layer in layers:
        hidden = layer(hidden)
    features = hidden.transpose(1, 2)
    frames = model._get_feat_extract_output_lengths(lengths).to(torch.long)
    mask = torch.arange(features.shape[1], device=param.device)[None, :] < frames[:, None]
    projected = model.feature_projection(features)
    if isinstance(projected, tuple):  # some transformers versions also return the norm input
        projected = projected[0]
    out = model.encoder(projected, attention_mask=mask).last_hidden_state
    return [out[i, :int(frames[i])].T[None] for i in range(len(waves))]


@torch.no_grad()
def semantic_codes_batch(sovits: nn.Module, ssl: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Semantic codes (int64 ``[T50 // 2]``) of each HuBERT feature ``[1, 768, T50]``."""
    param = next(sovits.parameters())
    frames = [s.shape[-1] for s in ssl]
    padded = pad_sequence([s[0].T.to(param.device) for s in ssl], batch_first=True)
    codes = sovits.extract_latent(padded.transpose(1, 2))    # [B, n_q, T25]
    return [codes[i, 0, :n // 2].cpu() for i, n in enumerate(frames)]
