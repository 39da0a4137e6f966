"""The SoVITS prior encoder (``enc_p``) at inference as recorded CUDA graphs, per length bucket.

Profiled on an H200 (bf16, 10 s): of a 22.8 ms decode, ``enc_p`` took 11.4 ms — about twelve
attention layers (SSL encoder, text encoder, MRTE, second encoder) of small kernels, each a
launch from Python — while the HiFi-GAN decoder's 7.2 ms were GPU work (docs/benchmarks.md).
A CUDA graph replays ``enc_p``'s launches with one call. A graph has fixed shapes, so the
content frames are zero-padded to the next of :data:`FRAME_BUCKETS` and the phones to the next
of :data:`PHONE_BUCKETS`, and the true lengths are passed as device tensors: ``enc_p`` masks
padding everywhere (training runs it on padded batches), so the valid frames come out as
unpadded ones do, up to float rounding (tested on CPU against the unpadded encoder).

A bucket is recorded the first time it is used, so every later call of it replays the same
graph: a seed renders the same audio on every call. Graphs are kept on the encoder module
(they go with the model), at most :data:`MAX_GRAPHS`, least recently used first out; a bucket
busy in another thread runs the same padded encoder eagerly. The key holds the first and last
parameters' addresses and version counters: new weights loaded into the module record anew.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["FRAME_BUCKETS", "MAX_GRAPHS", "PHONE_BUCKETS", "graph_usable", "padded_prior",
           "prior_through_graph"]

FRAME_BUCKETS = (64, 128, 192, 256, 384, 512, 768, 1024, 1536)  # 50 frames/s: up to 30.7 s
PHONE_BUCKETS = (32, 64, 96, 128, 192, 256, 384, 512)
MAX_GRAPHS = 16  # a few MB each (192 channels)
_ATTR = "_prior_graphs"


def graph_usable(enc: nn.Module, quantized: torch.Tensor, phone_ids: torch.Tensor) -> bool:
    """CUDA, inference (eval, no autograd), one row, within the buckets, not capturing or
    compiling, and the module's ``cuda_graphs`` switch on."""
    return (getattr(enc, "cuda_graphs", False) and quantized.is_cuda and not enc.training
            and not torch.is_grad_enabled() and quantized.shape[0] == 1
            and quantized.shape[2] <= FRAME_BUCKETS[-1]
            and phone_ids.shape[1] <= PHONE_BUCKETS[-1]
            and not torch.cuda.is_current_stream_capturing()
            and not torch.compiler.is_compiling())


def padded_prior(enc: nn.Module, quantized: torch.Tensor, phone_ids: torch.Tensor,
                 ge: torch.Tensor, frames: int, phones: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``enc_p`` on inputs padded to (``frames``, ``phones``), cut back to the true frames."""
    length, count = quantized.shape[2], phone_ids.shape[1]
    y_lengths = torch.full((1,), length, device=quantized.device)
    phone_lengths = torch.full((1,), count, device=phone_ids.device)
    m, logs, y_mask = enc(F.pad(quantized, (0, frames - length)), y_lengths,
                          F.pad(phone_ids, (0, phones - count)), phone_lengths, ge)
    return m[:, :, :length], logs[:, :, :length], y_mask[:, :, :length]


@dataclass(eq=False)
class _Recorded:
    quantized: torch.Tensor  # [1, 768, F], zero beyond the valid frames
    phone_ids: torch.Tensor  # [1, P], zero beyond the valid phones
    y_lengths: torch.Tensor  # [1]
    phone_lengths: torch.Tensor  # [1]
    ge: torch.Tensor  # [1, gin, 1]
    outputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    graph: torch.cuda.CUDAGraph


class _Graphs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[tuple, _Recorded] = OrderedDict()
        self.busy: set[tuple] = set()


def _weights_key(enc: nn.Module) -> tuple:
    params = list(enc.parameters())
    return tuple((p.device, p.dtype, p.data_ptr(), p._version) for p in (params[0], params[-1]))


def _buffers(quantized: torch.Tensor, phone_ids: torch.Tensor, ge: torch.Tensor, frames: int,
             phones: int) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode(False):  # plain tensors: any later call may write them
        device = quantized.device
        return (torch.zeros(1, quantized.shape[1], frames, dtype=quantized.dtype, device=device),
                torch.zeros(1, phones, dtype=phone_ids.dtype, device=device),
                torch.zeros(1, dtype=torch.long, device=device),
                torch.zeros(1, dtype=torch.long, device=device),
                torch.zeros(ge.shape, dtype=ge.dtype, device=device))


def _record(enc: nn.Module, buffers: tuple[torch.Tensor, ...]) -> _Recorded:
    quantized, phone_ids, y_lengths, phone_lengths, ge = buffers
    graph = torch.cuda.CUDAGraph()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        enc(quantized, y_lengths, phone_ids, phone_lengths, ge)  # warm-up: lazy kernels
        graph.capture_begin(capture_error_mode="thread_local")
        try:
            outputs = enc(quantized, y_lengths, phone_ids, phone_lengths, ge)
        finally:
            graph.capture_end()
    torch.cuda.current_stream().wait_stream(stream)
    return _Recorded(quantized, phone_ids, y_lengths, phone_lengths, ge, outputs, graph)


def prior_through_graph(enc: nn.Module, quantized: torch.Tensor, phone_ids: torch.Tensor,
                        ge: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``enc(quantized, full lengths, phone_ids, full lengths, ge)`` at speed 1 through the
    graph of its bucket (recorded now if new). Returns new tensors (m, logs, y_mask)."""
    length, count = quantized.shape[2], phone_ids.shape[1]
    frames = next(b for b in FRAME_BUCKETS if b >= length)
    phones = next(b for b in PHONE_BUCKETS if b >= count)
    autocast = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") else None
    key = (frames, phones, quantized.shape[1], tuple(ge.shape), quantized.dtype, ge.dtype,
           phone_ids.dtype, autocast, _weights_key(enc))
    graphs = enc.__dict__.get(_ATTR)
    if graphs is None:
        graphs = _Graphs()
        object.__setattr__(enc, _ATTR, graphs)
    with graphs.lock:
        if key in graphs.busy:
            busy = True
        else:
            busy = False
            graphs.busy.add(key)
            recorded = graphs.kept.get(key)
            if recorded is not None:
                graphs.kept.move_to_end(key)
    if busy:
        return padded_prior(enc, quantized, phone_ids, ge, frames, phones)
    try:
        buffers = (recorded.quantized, recorded.phone_ids, recorded.y_lengths,
                   recorded.phone_lengths, recorded.ge) if recorded is not None else _buffers(
            quantized, phone_ids, ge, frames, phones)
        padded_q, padded_ids, y_lengths, phone_lengths, style = buffers
        padded_q[:, :, length:].zero_()
        padded_q[:, :, :length].copy_(quantized)
        padded_ids[:, count:].zero_()
        padded_ids[:, :count].copy_(phone_ids)
        y_lengths.fill_(length)
        phone_lengths.fill_(count)
        style.copy_(ge)
        if recorded is None:
            recorded = _record(enc, buffers)  # records only: computes nothing yet
            with graphs.lock:
                graphs.kept[key] = recorded
                while len(graphs.kept) > MAX_GRAPHS:
                    graphs.kept.popitem(last=False)
        recorded.graph.replay()
        return tuple(out[:, :, :length].clone() for out in recorded.outputs)  # type: ignore[return-value]
    finally:
        with graphs.lock:
            graphs.busy.discard(key)
