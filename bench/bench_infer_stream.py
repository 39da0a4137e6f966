"""Streaming within a segment: SoVITS time to the first chunk and the cost of chunking,
full-size random v2 generator, tokens given (the GPT's share is in bench_gpt_decode.py).

    python bench/bench_infer_stream.py --device cuda --dtype fp16
    python bench/bench_infer_stream.py --device cpu --seconds 5

One segment of ``--seconds`` of tokens (25 Hz) and ``--phones`` phones, style precomputed
as the engine does. Reported, as medians of ``--repeats`` runs after a warm-up: the whole
``decode``, the first streamed chunk (``stream_segment_chunks``, ``--min-chunk`` tokens,
``--overlap`` overlap) and all chunks together. Every chunk re-encodes its prefix, so the
total grows faster than the whole decode with the segment's length; the first chunk does
not grow at all. Prints the row; ``--write`` appends it to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _report import append_row, device_name, sync, table_row
from bench_gpt_decode import DTYPES
from bench_sovits_decode import build

from gsv_core.audio import N_SPEC_BINS, SPEC_FRAME_RATE, TOKEN_RATE
from gsv_core.infer.stream import stream_segment_chunks


def run(device: torch.device, dtype: torch.dtype, seconds: float, phones: int, repeats: int,
        min_chunk: int, overlap: int) -> dict[str, float]:
    """Median wall seconds of the whole decode, the first chunk and all chunks."""
    model = build(device, dtype)
    tokens = torch.randint(0, 1024, (int(seconds * TOKEN_RATE),), device=device)
    phone_ids = torch.randint(0, model.config.n_symbols, (1, phones), device=device)
    refer = torch.rand(1, N_SPEC_BINS, 3 * SPEC_FRAME_RATE, device=device, dtype=dtype)
    with torch.inference_mode():
        ge = model.style_embedding([refer])

    def whole() -> None:
        model.decode(tokens.view(1, 1, -1), phone_ids, ge=ge, noise_scale=0.5)

    def streamed() -> tuple[float, float]:
        start = time.perf_counter()
        first = None
        with torch.inference_mode():
            for _ in stream_segment_chunks(model, tokens, phone_ids, ge=ge, noise_scale=0.5,
                                           min_chunk_length=min_chunk, overlap_length=overlap):
                sync(device)
                first = time.perf_counter() - start if first is None else first
        sync(device)
        return first, time.perf_counter() - start

    whole()
    streamed()  # warm-up: kernels, allocator, every chunk length once
    results: dict[str, list[float]] = {"whole": [], "first": [], "all": []}
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        with torch.inference_mode():
            whole()
        sync(device)
        results["whole"].append(time.perf_counter() - start)
        first, total = streamed()
        results["first"].append(first)
        results["all"].append(total)
    return {key: statistics.median(values) for key, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--phones", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-chunk", type=int, default=16)
    parser.add_argument("--overlap", type=int, default=2)
    parser.add_argument("--write", action="store_true", help="append to docs/benchmarks.md")
    args = parser.parse_args()
    device = torch.device(args.device)
    medians = run(device, DTYPES[args.dtype], args.seconds, args.phones, args.repeats,
                  args.min_chunk, args.overlap)
    row = table_row(
        "SoVITS streaming (modes 2/3, tokens given)", device_name(device),
        f"{args.dtype}, {args.seconds:g} s, {args.phones} phones, chunks of {args.min_chunk} "
        f"tokens, overlap {args.overlap}, median of {args.repeats}",
        f"first chunk {medians['first'] * 1000:.0f} ms; all chunks "
        f"{medians['all'] * 1000:.0f} ms; whole decode {medians['whole'] * 1000:.0f} ms")
    append_row(row, write=args.write)


if __name__ == "__main__":
    main()
