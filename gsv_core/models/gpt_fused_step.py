"""The fixed-shape GPT decode step in fewer kernels (Triton), for the CUDA graph.

Replayed as a graph, the step costs about 3.7 us per kernel on an H200 whatever the kernel
does (the full-size model's work is tiny at batch 1), and ``gpt_cuda_graph.static_step``
launches ~370 kernels: ~1.4 ms a token. This step computes the same layers with ~7 kernels
each instead of ~15:

- one Triton kernel per layer writes the new key/value into the cache *and* attends over
  the slots written so far (read from the device position, so the shapes stay fixed and
  nothing past the true length is read), instead of two cache copies, a masked score
  product over the whole cache, a softmax and a second product;
- one Triton kernel adds the residual and applies LayerNorm (twice per layer);
- the FFN's ReLU rides in the first linear's cuBLAS epilogue (``torch._addmm_activation``).

The maths is the model's, rounded where the model rounds (the residual sum is rounded to the
activation dtype before LayerNorm, as the eager add does); attention accumulates in fp32.
It needs Triton and plain weights: under autocast the dtypes of the layers differ, and
:func:`fused_step_supported` says no, so the caller keeps ``static_step``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gsv_core.models.gpt import Text2SemanticDecoder

try:  # optional: without Triton the graph records the plain fixed-shape step
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None

__all__ = ["add_layer_norm", "decode_attention", "fused_step", "fused_step_supported"]

ATTENTION_BLOCK_SLOTS = 128  # cache slots per loop iteration of the attention kernel


def fused_step_supported(model: Text2SemanticDecoder) -> bool:
    """True where :func:`fused_step` can run: Triton present, CUDA weights, no autocast."""
    param = next(model.parameters())
    return (triton is not None and param.device.type == "cuda"
            and not torch.is_autocast_enabled("cuda"))


if triton is not None:

    @triton.jit
    def _decode_attention_kernel(qkv, k_cache, v_cache, key_valid, positions, out,
                                 stride_qkv, stride_cb, stride_ch, stride_cl, stride_valid,
                                 stride_out, scale, DIM: tl.constexpr,
                                 HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr,
                                 BLOCK_L: tl.constexpr):
        b = tl.program_id(0)
        h = tl.program_id(1)
        pos = tl.load(positions)
        d = tl.arange(0, BLOCK_D)
        d_ok = d < HEAD_DIM
        row = qkv + b * stride_qkv + h * HEAD_DIM + d
        q = tl.load(row, mask=d_ok, other=0.0).to(tl.float32)
        k_new = tl.load(row + DIM, mask=d_ok, other=0.0)
        v_new = tl.load(row + 2 * DIM, mask=d_ok, other=0.0)
        k_head = k_cache + b * stride_cb + h * stride_ch
        v_head = v_cache + b * stride_cb + h * stride_ch
        tl.store(k_head + pos * stride_cl + d, k_new.to(k_cache.dtype.element_ty), mask=d_ok)
        tl.store(v_head + pos * stride_cl + d, v_new.to(v_cache.dtype.element_ty), mask=d_ok)
        # the new slot is used from registers, so no read has to wait for the stores above
        k_now = k_new.to(k_cache.dtype.element_ty).to(tl.float32)
        v_now = v_new.to(v_cache.dtype.element_ty).to(tl.float32)
        best = tl.zeros([], tl.float32) - 1e30
        total = tl.zeros([], tl.float32)
        acc = tl.zeros((BLOCK_D,), tl.float32)
        for start in range(0, pos + 1, BLOCK_L):
            slots = start + tl.arange(0, BLOCK_L)
            use = slots <= pos
            use = use & (tl.load(key_valid + b * stride_valid + slots, mask=use, other=0) != 0)
            tile = slots[:, None] * stride_cl + d[None, :]
            tile_ok = use[:, None] & d_ok[None, :]
            new = (slots == pos)[:, None]
            k = tl.load(k_head + tile, mask=tile_ok, other=0.0).to(tl.float32)
            k = tl.where(new, k_now[None, :], k)
            scores = tl.sum(k * q[None, :], axis=1) * scale
            scores = tl.where(use, scores, float("-inf"))
            top = tl.maximum(best, tl.max(scores, axis=0))
            weights = tl.exp(scores - top)
            shrink = tl.exp(best - top)
            v = tl.load(v_head + tile, mask=tile_ok, other=0.0).to(tl.float32)
            v = tl.where(new, v_now[None, :], v)
            total = total * shrink + tl.sum(weights, axis=0)
            acc = acc * shrink + tl.sum(weights[:, None] * v, axis=0)
            best = top
        result = acc / total
        tl.store(out + b * stride_out + h * HEAD_DIM + d, result.to(out.dtype.element_ty),
                 mask=d_ok)

    @triton.jit
    def _add_layer_norm_kernel(x, y, weight, bias, out, stride_x, stride_y, stride_out, eps,
                               DIM: tl.constexpr, BLOCK: tl.constexpr):
        row = tl.program_id(0)
        cols = tl.arange(0, BLOCK)
        ok = cols < DIM
        a = tl.load(x + row * stride_x + cols, mask=ok, other=0.0).to(tl.float32)
        r = tl.load(y + row * stride_y + cols, mask=ok, other=0.0).to(tl.float32)
        s = (a + r).to(out.dtype.element_ty).to(tl.float32)  # the eager add rounds here
        mean = tl.sum(s, axis=0) / DIM
        centred = tl.where(ok, s - mean, 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(centred * centred, axis=0) / DIM + eps)
        w = tl.load(weight + cols, mask=ok, other=0.0).to(tl.float32)
        c = tl.load(bias + cols, mask=ok, other=0.0).to(tl.float32)
        tl.store(out + row * stride_out + cols, (centred * rstd * w + c).to(
            out.dtype.element_ty), mask=ok)


def decode_attention(qkv: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                     key_valid: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Write k/v of ``qkv`` [B, 3D] at slot ``positions`` [1] of the caches [B, H, L, Dh],
    then attend with its q over slots ``0..positions`` where ``key_valid`` [B, L] (uint8)
    is set -> [B, D]. One kernel."""
    batch, heads, _, head_dim = k_cache.shape
    dim = heads * head_dim
    out = torch.empty(batch, dim, dtype=qkv.dtype, device=qkv.device)
    _decode_attention_kernel[(batch, heads)](
        qkv, k_cache, v_cache, key_valid, positions, out, qkv.stride(0), k_cache.stride(0),
        k_cache.stride(1), k_cache.stride(2), key_valid.stride(0), out.stride(0),
        head_dim ** -0.5, DIM=dim, HEAD_DIM=head_dim, BLOCK_D=triton.next_power_of_2(head_dim),
        BLOCK_L=ATTENTION_BLOCK_SLOTS, num_warps=4)
    return out


def add_layer_norm(x: torch.Tensor, y: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    """``norm(x + y)`` for [B, D] rows in one kernel."""
    out = torch.empty_like(x)
    dim = x.shape[-1]
    _add_layer_norm_kernel[(x.shape[0],)](
        x, y, norm.weight, norm.bias, out, x.stride(0), y.stride(0), out.stride(0), norm.eps,
        DIM=dim, BLOCK=triton.next_power_of_2(dim), num_warps=4)
    return out


def fused_step(model: Text2SemanticDecoder, caches: list[tuple[torch.Tensor, torch.Tensor]],
               history: torch.Tensor, key_valid: torch.Tensor, positions: torch.Tensor,
               text_len: int) -> torch.Tensor:
    """``gpt_cuda_graph.static_step`` in fewer kernels; ``key_valid`` [B, L] uint8.

    Writes the keys/values of the token ``history[:, positions - text_len]`` at cache slot
    ``positions`` and returns the next-token logits [B, V].
    """
    audio_pos = positions - text_len  # [1]; the history column equals the audio position
    x = model.embed_audio(history.index_select(1, audio_pos), audio_pos)[:, 0]  # [B, D]
    for layer, (k_cache, v_cache) in zip(model.h.layers, caches, strict=True):
        attn = layer.self_attn
        qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)  # [B, 3D]
        context = decode_attention(qkv, k_cache, v_cache, key_valid, positions)
        x = add_layer_norm(x, attn.out_proj(context), layer.norm1)
        hidden = torch._addmm_activation(layer.linear1.bias, x, layer.linear1.weight.t())
        x = add_layer_norm(x, layer.linear2(hidden), layer.norm2)
    return model.ar_predict_layer(x)
