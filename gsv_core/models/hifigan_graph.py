"""The SoVITS decoder (HiFi-GAN) as recorded CUDA graphs, one per length bucket.

Decoding 10 s on an H200 is ~10 ms of GPU work inside 25-45 ms: ~220 convolutions, ~400
cuDNN layout transposes around them and ~700 small elementwise kernels, each a launch from
Python. A CUDA graph replays all of them with one call. A graph has fixed shapes, so the
latent is zero-padded to the next of :data:`BUCKETS` (frames; at most half again as long,
the decode being launch-bound rather than compute-bound) and decoded with
``HiFiGANGenerator.padded(..., frames=...)``, which zeroes every conv input beyond the valid
frames: the first ``frames · hop`` samples are then those of the unpadded decode (equal up to
float rounding, as cuDNN may pick another algorithm for another length; tested on CPU for the
padding and on CUDA for the graph).

The graphs are kept on the decoder module (so they go with the model), at most
:data:`MAX_GRAPHS`, least recently used first out, for latents of at most :data:`MAX_FRAMES`
frames (longer ones decode eagerly). A bucket is recorded the second time it is decoded: a
one-off length decodes eagerly rather than pay for a recording it never replays. A graph is
tied to the weights it read: the key holds the first and last parameters' addresses and
version counters, so loading new weights into the module (or moving it) records anew.
Recording runs the decoder twice (a warm-up on the side stream, then the capture): the
second decode of a bucket costs about two eager decodes, every later one a replay.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["BUCKETS", "MAX_FRAMES", "MAX_GRAPHS", "graph_decode", "graph_usable"]

# Latent lengths (50 frames/s) a graph is recorded for: 1.28 s ... 30.7 s.
BUCKETS = (64, 128, 192, 256, 384, 512, 768, 1024, 1536)
MAX_FRAMES = BUCKETS[-1]  # the engine's longest joined decode is 30 s
MAX_GRAPHS = 4  # a 30 s bucket holds ~0.4 GB of bf16 activations in its graph's pool
_ATTR = "_hifigan_graphs"


@dataclass(eq=False)
class _Recorded:
    latent: torch.Tensor  # [B, C, T_bucket], zero beyond the valid frames
    style: torch.Tensor  # [B, gin, 1]
    frames: torch.Tensor  # [B] int64 valid frames
    wav: torch.Tensor  # [B, 1, T_bucket · hop], the graph's output
    graph: torch.cuda.CUDAGraph


class _Graphs:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[tuple, _Recorded] = OrderedDict()
        self.busy: set[tuple] = set()
        self.seen: OrderedDict[tuple, None] = OrderedDict()  # decoded once, not recorded


def graph_usable(dec: nn.Module, x: torch.Tensor) -> bool:
    """Whether ``dec(x, g)`` may replay a graph: CUDA, inference (no autograd, eval), not
    inside another capture or a torch.compile trace, and not longer than MAX_FRAMES."""
    return (x.is_cuda and not dec.training and not torch.is_grad_enabled()
            and x.shape[2] <= MAX_FRAMES and not torch.cuda.is_current_stream_capturing()
            and not torch.compiler.is_compiling())


def _weights_key(dec: nn.Module) -> tuple:
    params = list(dec.parameters())
    return tuple((p.device, p.dtype, p.data_ptr(), p._version) for p in (params[0], params[-1]))


def _record(dec: nn.Module, latent: torch.Tensor, style: torch.Tensor,
            frames: torch.Tensor) -> _Recorded:
    graph = torch.cuda.CUDAGraph()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        dec.padded(latent, style, frames)  # warm-up: weight-norm caches, cuDNN plans
        graph.capture_begin(capture_error_mode="thread_local")
        try:
            wav = dec.padded(latent, style, frames)
        finally:
            graph.capture_end()
    torch.cuda.current_stream().wait_stream(stream)
    return _Recorded(latent, style, frames, wav, graph)


def graph_decode(dec: nn.Module, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``dec(x, g)`` through a kept (or newly recorded) graph of ``x``'s length bucket.

    Returns a new tensor (the graph's output buffer is reused by the next replay). A bucket
    in use by another thread decodes eagerly meanwhile.
    """
    batch, channels, length = x.shape
    bucket = next(b for b in BUCKETS if b >= length)
    autocast = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") else None
    key = (batch, channels, bucket, tuple(g.shape), x.dtype, g.dtype, autocast,
           _weights_key(dec))
    graphs = dec.__dict__.get(_ATTR)
    if graphs is None:
        graphs = _Graphs()
        object.__setattr__(dec, _ATTR, graphs)
    with graphs.lock:
        recorded = graphs.kept.get(key)
        first_time = recorded is None and key not in graphs.seen
        if first_time:
            graphs.seen[key] = None
            while len(graphs.seen) > 4 * MAX_GRAPHS:
                graphs.seen.popitem(last=False)
        if first_time or key in graphs.busy:
            return dec.padded(x, g)
        graphs.busy.add(key)
        if recorded is not None:
            graphs.kept.move_to_end(key)
    try:
        if recorded is None:
            with torch.inference_mode(False):  # buffers any later decode may write
                latent = torch.zeros(batch, channels, bucket, dtype=x.dtype, device=x.device)
                style = torch.zeros(g.shape, dtype=g.dtype, device=g.device)
                frames = torch.zeros(batch, dtype=torch.long, device=x.device)
        else:
            latent, style, frames = recorded.latent, recorded.style, recorded.frames
        latent[:, :, length:].zero_()
        latent[:, :, :length].copy_(x)
        style.copy_(g)
        frames.fill_(length)
        if recorded is None:
            recorded = _record(dec, latent, style, frames)  # records; computes nothing yet
            with graphs.lock:
                graphs.kept[key] = recorded
                while len(graphs.kept) > MAX_GRAPHS:
                    graphs.kept.popitem(last=False)
        recorded.graph.replay()
        hop = recorded.wav.shape[2] // bucket
        return recorded.wav[:, :, :length * hop].clone()
    finally:
        with graphs.lock:
            graphs.busy.discard(key)
