"""The fixed-shape GPT decode step in fewer kernels (Triton), for the CUDA graph.

Replayed as a graph, the step costs a few microseconds per kernel on an H200 whatever the
kernel does (the full-size model's work is tiny at batch 1-8), and
``gpt_cuda_graph.static_step`` launches ~370 kernels: ~1.4 ms a token. This step computes the
same layers in 5 kernels each (6 with the attention merge at batch 1), ~0.5 ms a token:

- one kernel per layer writes the new key/value into the cache *and* attends over the slots
  written so far (the position is read on the device, so shapes stay fixed and nothing past
  the true length is read); where batch x heads is small, each head's slots are split over
  several programs and a second kernel merges their partial softmaxes (flash-decoding);
- each LayerNorm (with its residual add) is computed inside the next linear's kernel, which
  every program redoes for its block of outputs (D values, cheap): norm1 inside linear1
  (with the ReLU), norm2 inside the next layer's q/k/v projection or the output layer;
- out_proj and linear2 run as a Triton matrix-vector kernel (cuBLAS's tile was slower at
  these sizes), except in fp32 at batch 1, where cuBLAS measured faster.

The maths is the model's, rounded where the model rounds (the residual sum is rounded to the
activation dtype before LayerNorm, as the eager add does); dot products and softmax
accumulate in fp32. It needs Triton and plain weights: under autocast the layers' dtypes
differ, and :func:`fused_step_supported` says no, so the caller keeps ``static_step``. The
constants below are the measured choices (H200; ``docs/benchmarks.md``, Notes).
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

__all__ = ["add_layer_norm", "decode_attention", "fused_step", "fused_step_supported",
           "norm_linear", "row_linear"]

# Attention: cache slots per loop iteration (one program per head; per split when split),
# and the split of each head's slots over several programs until about ATTENTION_PROGRAMS
# run. Measured on an H200 (bf16 step graph at cache position 435 / 1000, batch 1): one
# program per head 551 / 670 us, 16 splits of 64-slot blocks 525 / 529 us; at batch 8
# (128 heads in all) splitting lost (2 splits: 833 / 1034 us against 728 / 861).
ATTENTION_BLOCK_SLOTS = 256
ATTENTION_SPLIT_BLOCK_SLOTS = 64
ATTENTION_WARPS = 4
ATTENTION_PROGRAMS = 256
ATTENTION_MIN_SPLITS = 4
ATTENTION_MAX_SPLITS = 16
NORM_LINEAR_BLOCK_OUT = 16  # outputs per program of the norm+linear kernel
# LayerNorm inside the next linear's kernel up to this many rows (else its own kernel and
# cuBLAS). H200, bf16, cache position 435: 677 -> 525 us a step at batch 1.
NORM_IN_LINEAR_MAX_ROWS = 8
# There, the other two linears in Triton too, except fp32 at batch 1, where cuBLAS won.
# H200, step graph at cache position 435: bf16 batch 1 529 -> 495 us, batch 8 691 -> 667;
# fp32 batch 8 1567 -> 1193, but fp32 batch 1 509 -> 634.
ROW_LINEAR = True
ROW_LINEAR_BLOCK_K = 512


def fused_step_supported(model: Text2SemanticDecoder) -> bool:
    """True where :func:`fused_step` can run: Triton present, CUDA weights, no autocast."""
    param = next(model.parameters())
    return (triton is not None and param.device.type == "cuda"
            and not torch.is_autocast_enabled("cuda"))


if triton is not None:

    @triton.jit
    def _decode_attention_kernel(qkv, k_cache, v_cache, key_valid, positions, out, partial,
                                 stride_qkv, stride_cb, stride_ch, stride_cl, stride_valid,
                                 stride_out, scale, heads, DIM: tl.constexpr,
                                 HEAD_DIM: tl.constexpr, BLOCK_D: tl.constexpr,
                                 BLOCK_L: tl.constexpr, SPLITS: tl.constexpr):
        b = tl.program_id(0)
        h = tl.program_id(1)
        split = tl.program_id(2)
        pos = tl.load(positions)
        d = tl.arange(0, BLOCK_D)
        d_ok = d < HEAD_DIM
        row = qkv + b * stride_qkv + h * HEAD_DIM + d
        q = tl.load(row, mask=d_ok, other=0.0).to(tl.float32)
        k_new = tl.load(row + DIM, mask=d_ok, other=0.0)
        v_new = tl.load(row + 2 * DIM, mask=d_ok, other=0.0)
        k_head = k_cache + b * stride_cb + h * stride_ch
        v_head = v_cache + b * stride_cb + h * stride_ch
        mine = d_ok & (split == 0)  # one program of the head writes the new slot
        tl.store(k_head + pos * stride_cl + d, k_new.to(k_cache.dtype.element_ty), mask=mine)
        tl.store(v_head + pos * stride_cl + d, v_new.to(v_cache.dtype.element_ty), mask=mine)
        # the new slot is used from registers, so no read has to wait for the stores above
        k_now = k_new.to(k_cache.dtype.element_ty).to(tl.float32)
        v_now = v_new.to(v_cache.dtype.element_ty).to(tl.float32)
        slots_used = pos + 1
        chunk = tl.cdiv(slots_used, SPLITS)
        lo = split * chunk
        hi = tl.minimum(lo + chunk, slots_used)
        best = tl.zeros([], tl.float32) - 1e30
        total = tl.zeros([], tl.float32)
        acc = tl.zeros((BLOCK_D,), tl.float32)
        for start in range(lo, hi, BLOCK_L):
            slots = start + tl.arange(0, BLOCK_L)
            use = slots < hi
            use = use & (tl.load(key_valid + b * stride_valid + slots, mask=use, other=0) != 0)
            tile = slots[:, None] * stride_cl + d[None, :]
            tile_ok = use[:, None] & d_ok[None, :]
            k = tl.load(k_head + tile, mask=tile_ok, other=0.0).to(tl.float32)
            v = tl.load(v_head + tile, mask=tile_ok, other=0.0).to(tl.float32)
            new = (slots == pos)[:, None]
            k = tl.where(new, k_now[None, :], k)
            v = tl.where(new, v_now[None, :], v)
            scores = tl.sum(k * q[None, :], axis=1) * scale
            scores = tl.where(use, scores, float("-inf"))
            top = tl.maximum(best, tl.max(scores, axis=0))
            weights = tl.exp(scores - top)
            shrink = tl.exp(best - top)
            total = total * shrink + tl.sum(weights, axis=0)
            acc = acc * shrink + tl.sum(weights[:, None] * v, axis=0)
            best = top
        if SPLITS == 1:
            tl.store(out + b * stride_out + h * HEAD_DIM + d,
                     (acc / total).to(out.dtype.element_ty), mask=d_ok)
        else:  # partial softmax of this split: acc [BLOCK_D], running max, running sum
            base = partial + ((b * heads + h) * SPLITS + split) * (BLOCK_D + 2)
            tl.store(base + d, acc)
            tl.store(base + BLOCK_D, best)
            tl.store(base + BLOCK_D + 1, total)

    @triton.jit
    def _combine_splits_kernel(partial, out, stride_out, heads, HEAD_DIM: tl.constexpr,
                               BLOCK_D: tl.constexpr, SPLITS: tl.constexpr):
        b = tl.program_id(0)
        h = tl.program_id(1)
        parts = tl.arange(0, SPLITS)
        d = tl.arange(0, BLOCK_D)
        base = partial + ((b * heads + h) * SPLITS + parts) * (BLOCK_D + 2)
        acc = tl.load(base[:, None] + d[None, :])
        best = tl.load(base + BLOCK_D)
        total = tl.load(base + BLOCK_D + 1)
        scale = tl.exp(best - tl.max(best, axis=0))
        result = tl.sum(acc * scale[:, None], axis=0) / tl.sum(total * scale, axis=0)
        tl.store(out + b * stride_out + h * HEAD_DIM + d, result.to(out.dtype.element_ty),
                 mask=d < HEAD_DIM)

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

    @triton.jit
    def _row_linear_kernel(x, weight, bias, out, stride_x, stride_out, stride_w, n_out,
                           DIM: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr):
        block = tl.program_id(0)
        row = tl.program_id(1)
        outs = block * BLOCK_N + tl.arange(0, BLOCK_N)
        out_ok = outs < n_out
        acc = tl.zeros((BLOCK_N,), tl.float32)
        for k0 in tl.static_range(0, DIM, BLOCK_K):
            cols = k0 + tl.arange(0, BLOCK_K)
            ok = cols < DIM
            w = tl.load(weight + outs[:, None] * stride_w + cols[None, :],
                        mask=out_ok[:, None] & ok[None, :], other=0.0).to(tl.float32)
            v = tl.load(x + row * stride_x + cols, mask=ok, other=0.0).to(tl.float32)
            acc += tl.sum(w * v[None, :], axis=1)
        acc += tl.load(bias + outs, mask=out_ok, other=0.0).to(tl.float32)
        tl.store(out + row * stride_out + outs, acc.to(out.dtype.element_ty), mask=out_ok)

    @triton.jit
    def _norm_linear_kernel(x, y, norm_w, norm_b, weight, bias, normed, out, stride_x,
                            stride_y, stride_normed, stride_out, stride_w, eps, n_out,
                            DIM: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr,
                            HAS_BIAS: tl.constexpr, RELU: tl.constexpr):
        block = tl.program_id(0)
        row = tl.program_id(1)
        cols = tl.arange(0, BLOCK_K)
        ok = cols < DIM
        outs = block * BLOCK_N + tl.arange(0, BLOCK_N)
        out_ok = outs < n_out
        w = tl.load(weight + outs[:, None] * stride_w + cols[None, :],
                    mask=out_ok[:, None] & ok[None, :], other=0.0).to(tl.float32)
        gamma = tl.load(norm_w + cols, mask=ok, other=0.0).to(tl.float32)
        beta = tl.load(norm_b + cols, mask=ok, other=0.0).to(tl.float32)
        if HAS_BIAS:
            shift = tl.load(bias + outs, mask=out_ok, other=0.0).to(tl.float32)
        a = tl.load(x + row * stride_x + cols, mask=ok, other=0.0).to(tl.float32)
        r = tl.load(y + row * stride_y + cols, mask=ok, other=0.0).to(tl.float32)
        s = (a + r).to(normed.dtype.element_ty).to(tl.float32)  # the eager add rounds here
        mean = tl.sum(s, axis=0) / DIM
        centred = tl.where(ok, s - mean, 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(centred * centred, axis=0) / DIM + eps)
        h = (centred * rstd * gamma + beta).to(normed.dtype.element_ty)
        tl.store(normed + row * stride_normed + cols, h, mask=ok & (block == 0))
        acc = tl.sum(w * h.to(tl.float32)[None, :], axis=1)
        if HAS_BIAS:
            acc += shift
        if RELU:
            acc = tl.maximum(acc, 0.0)
        tl.store(out + row * stride_out + outs, acc.to(out.dtype.element_ty), mask=out_ok)


def row_linear(x: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:
    """``linear(x)`` for a few [B, K] rows: one program per (block of outputs, row).

    At batch 1-8 cuBLAS picks a GEMM tile that took ~4.5 us a call here (H200, bf16); this
    matrix-vector kernel reads the same weights in about half that.
    """
    rows, dim = x.shape
    n_out = linear.weight.shape[0]
    out = torch.empty(rows, n_out, dtype=x.dtype, device=x.device)
    _row_linear_kernel[(triton.cdiv(n_out, NORM_LINEAR_BLOCK_OUT), rows)](
        x, linear.weight, linear.bias, out, x.stride(0), out.stride(0), linear.weight.stride(0),
        n_out, DIM=dim, BLOCK_K=min(triton.next_power_of_2(dim), ROW_LINEAR_BLOCK_K),
        BLOCK_N=NORM_LINEAR_BLOCK_OUT, num_warps=4)
    return out


def attention_splits(batch: int, heads: int) -> int:
    """How many programs share one head's slots: enough that ~ATTENTION_PROGRAMS run."""
    wanted = ATTENTION_PROGRAMS // (batch * heads)
    if wanted < ATTENTION_MIN_SPLITS:
        return 1
    return min(triton.next_power_of_2(wanted), ATTENTION_MAX_SPLITS)


def decode_attention(qkv: torch.Tensor, k_cache: torch.Tensor, v_cache: torch.Tensor,
                     key_valid: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Write k/v of ``qkv`` [B, 3D] at slot ``positions`` [1] of the caches [B, H, L, Dh],
    then attend with its q over slots ``0..positions`` where ``key_valid`` [B, L] (uint8)
    is set -> [B, D].

    One kernel; where batch x heads programs would leave most of the GPU idle (batch 1),
    each head's slots are split over several programs and a second kernel merges their
    partial softmaxes (flash-decoding).
    """
    batch, heads, _, head_dim = k_cache.shape
    dim = heads * head_dim
    block_d = triton.next_power_of_2(head_dim)
    splits = attention_splits(batch, heads)
    out = torch.empty(batch, dim, dtype=qkv.dtype, device=qkv.device)
    partial = out if splits == 1 else torch.empty(
        batch * heads * splits * (block_d + 2), dtype=torch.float32, device=qkv.device)
    _decode_attention_kernel[(batch, heads, splits)](
        qkv, k_cache, v_cache, key_valid, positions, out, partial, qkv.stride(0),
        k_cache.stride(0), k_cache.stride(1), k_cache.stride(2), key_valid.stride(0),
        out.stride(0), head_dim ** -0.5, heads, DIM=dim, HEAD_DIM=head_dim, BLOCK_D=block_d,
        BLOCK_L=ATTENTION_SPLIT_BLOCK_SLOTS if splits > 1 else ATTENTION_BLOCK_SLOTS,
        SPLITS=splits, num_warps=ATTENTION_WARPS)
    if splits > 1:
        _combine_splits_kernel[(batch, heads)](partial, out, out.stride(0), heads,
                                               HEAD_DIM=head_dim, BLOCK_D=block_d,
                                               SPLITS=splits, num_warps=1)
    return out


def add_layer_norm(x: torch.Tensor, y: torch.Tensor, norm: torch.nn.LayerNorm) -> torch.Tensor:
    """``norm(x + y)`` for [B, D] rows in one kernel."""
    out = torch.empty_like(x)
    dim = x.shape[-1]
    _add_layer_norm_kernel[(x.shape[0],)](
        x, y, norm.weight, norm.bias, out, x.stride(0), y.stride(0), out.stride(0), norm.eps,
        DIM=dim, BLOCK=triton.next_power_of_2(dim), num_warps=4)
    return out


def norm_linear(x: torch.Tensor, y: torch.Tensor, norm: torch.nn.LayerNorm,
                linear: torch.nn.Linear | _InProjection,
                relu: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """``h = norm(x + y)`` and ``linear(h)`` (ReLU'd if asked) for [B, D] rows, one kernel.

    One program per (block of outputs, row); each recomputes its row's LayerNorm (D values,
    cheap), so the norm needs no kernel of its own; the first block also writes ``h``, the
    next residual.
    """
    rows, dim = x.shape
    n_out = linear.weight.shape[0]
    normed = torch.empty_like(x)
    out = torch.empty(rows, n_out, dtype=x.dtype, device=x.device)
    bias = linear.bias if linear.bias is not None else linear.weight  # unread when absent
    _norm_linear_kernel[(triton.cdiv(n_out, NORM_LINEAR_BLOCK_OUT), rows)](
        x, y, norm.weight, norm.bias, linear.weight, bias, normed, out, x.stride(0),
        y.stride(0), normed.stride(0), out.stride(0), linear.weight.stride(0), norm.eps, n_out,
        DIM=dim, BLOCK_K=triton.next_power_of_2(dim), BLOCK_N=NORM_LINEAR_BLOCK_OUT,
        HAS_BIAS=linear.bias is not None, RELU=relu, num_warps=4)
    return normed, out


def fused_step(model: Text2SemanticDecoder, caches: list[tuple[torch.Tensor, torch.Tensor]],
               history: torch.Tensor, key_valid: torch.Tensor, positions: torch.Tensor,
               text_len: int | torch.Tensor) -> torch.Tensor:
    """``gpt_cuda_graph.static_step`` in fewer kernels; ``key_valid`` [B, L] uint8.

    Writes the keys/values of the token ``history[:, positions - text_len]`` at cache slot
    ``positions`` and returns the next-token logits [B, V].
    """
    audio_pos = positions - text_len  # [1]; the history column equals the audio position
    x = model.embed_audio(history.index_select(1, audio_pos), audio_pos)[:, 0]  # [B, D]
    if x.shape[0] <= NORM_IN_LINEAR_MAX_ROWS:
        return _step_norm_in_linear(model, caches, x, key_valid, positions)
    for layer, (k_cache, v_cache) in zip(model.h.layers, caches, strict=True):
        attn = layer.self_attn
        qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)  # [B, 3D]
        context = decode_attention(qkv, k_cache, v_cache, key_valid, positions)
        x = add_layer_norm(x, attn.out_proj(context), layer.norm1)
        hidden = torch._addmm_activation(layer.linear1.bias, x, layer.linear1.weight.t())
        x = add_layer_norm(x, layer.linear2(hidden), layer.norm2)
    return model.ar_predict_layer(x)


def _linear(x: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:
    cublas_wins = x.dtype == torch.float32 and x.shape[0] == 1
    if ROW_LINEAR and linear.bias is not None and not cublas_wins:
        return row_linear(x, linear)
    return linear(x)


def _step_norm_in_linear(model: Text2SemanticDecoder,
                         caches: list[tuple[torch.Tensor, torch.Tensor]], x: torch.Tensor,
                         key_valid: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The layers with each LayerNorm inside the next linear: 5 kernels a layer."""
    layers = list(model.h.layers)
    first = layers[0].self_attn
    qkv = F.linear(x, first.in_proj_weight, first.in_proj_bias)  # [B, 3D]
    for i, (layer, (k_cache, v_cache)) in enumerate(zip(layers, caches, strict=True)):
        attn = layer.self_attn
        context = decode_attention(qkv, k_cache, v_cache, key_valid, positions)
        x, hidden = norm_linear(x, _linear(context, attn.out_proj), layer.norm1, layer.linear1,
                                relu=True)
        if i + 1 < len(layers):
            following = layers[i + 1].self_attn
            projection = _InProjection(following.in_proj_weight, following.in_proj_bias)
        else:
            projection = model.ar_predict_layer
        x, qkv = norm_linear(x, _linear(hidden, layer.linear2), layer.norm2, projection)
    return qkv  # the last "projection" is the output layer: logits [B, V]


class _InProjection:
    """The packed q/k/v projection seen as a ``Linear`` (weight, bias) for norm_linear."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        self.weight = weight
        self.bias = bias
