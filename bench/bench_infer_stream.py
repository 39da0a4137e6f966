"""Streaming within a segment: time to the first chunk and the cost of chunking, full-size
random v2 models, batch 1.

    python bench/bench_infer_stream.py --device cuda --dtype fp16
    python bench/bench_infer_stream.py --device cpu --seconds 2

One segment of ``--seconds`` of tokens (25 Hz) and ``--phones`` phones, style precomputed
as the engine does. Two rows, each of medians of ``--repeats`` runs after a warm-up:

- SoVITS alone, tokens given: the whole ``decode``, the first streamed chunk
  (``stream_segment_chunks``, ``--min-chunk`` tokens, ``--overlap`` overlap) and all chunks
  together. Every chunk re-encodes its prefix, so the total grows faster than the whole
  decode with the segment's length; the first chunk does not grow at all.
- With the GPT in the loop, as the engine's modes 2/3 run a segment: from the request (the
  GPT's prefill of ``--prompt-phones`` + ``--phones`` phones and a ``--prompt-tokens``
  reference) to the first chunk, the GPT's tokens fed to the chunk decoder as they are made
  (``gpt_decode.stream_tokens``); against it, the GPT decoding the whole segment first (what
  modes 2/3 waited for before). EOS is disabled, so every run decodes ``--seconds`` of tokens.
  The text front end, BERT and the reference (cached by the engine) are not in it. On CUDA
  the GPT's graphs are recorded per request, as the engine does, and count.

Prints the rows; ``--write`` appends them to ``docs/benchmarks.md``.
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
from gsv_core.models.gpt import BERT_DIM, GPTConfig, Text2SemanticDecoder
from gsv_core.models.gpt_decode import generate, stream_tokens
from gsv_core.models.gpt_sampling import SamplingOptions


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


def run_with_gpt(device: torch.device, dtype: torch.dtype, seconds: float, phones: int,
                 prompt_phones: int, prompt_tokens: int, repeats: int, min_chunk: int,
                 overlap: int) -> dict[str, float]:
    """Median wall seconds from the request to the first chunk with the GPT's tokens fed as
    made, to the end of that stream, and of the GPT decoding the whole segment alone."""
    sovits = build(device, dtype)
    torch.manual_seed(0)
    gpt = Text2SemanticDecoder(GPTConfig()).to(device=device, dtype=dtype).eval()
    steps = int(seconds * TOKEN_RATE)
    options = SamplingOptions(top_k=15, early_stop_tokens=None, max_steps=steps,
                              min_steps_before_eos=steps)  # EOS never: a fixed length
    text_len = prompt_phones + phones
    gpt_phones = torch.randint(0, gpt.config.phoneme_vocab_size, (text_len,), device=device)
    bert = torch.randn(BERT_DIM, text_len, device=device, dtype=dtype)
    prompt = torch.randint(0, gpt.config.eos_id, (prompt_tokens,), device=device)
    phone_ids = torch.randint(0, sovits.config.n_symbols, (1, phones), device=device)
    refer = torch.rand(1, N_SPEC_BINS, 3 * SPEC_FRAME_RATE, device=device, dtype=dtype)
    with torch.inference_mode():
        ge = sovits.style_embedding([refer])

    def streamed() -> tuple[float, float]:
        sync(device)
        start = time.perf_counter()
        first = None
        with torch.inference_mode():
            tokens = stream_tokens(gpt, gpt_phones, bert, prompt, options,
                                   torch.Generator(device).manual_seed(0))
            for _ in stream_segment_chunks(sovits, tokens, phone_ids, ge=ge, noise_scale=0.5,
                                           min_chunk_length=min_chunk, overlap_length=overlap,
                                           generator=torch.Generator(device).manual_seed(1)):
                sync(device)
                first = time.perf_counter() - start if first is None else first
        sync(device)
        return first, time.perf_counter() - start

    def gpt_whole() -> float:
        sync(device)
        start = time.perf_counter()
        with torch.inference_mode():
            generate(gpt, gpt_phones, bert, prompt, options,
                     torch.Generator(device).manual_seed(0))
        sync(device)
        return time.perf_counter() - start

    streamed()
    gpt_whole()  # warm-up: kernels, allocator, graph pools, every chunk length once
    results: dict[str, list[float]] = {"first": [], "all": [], "gpt": []}
    for _ in range(repeats):
        first, total = streamed()
        results["first"].append(first)
        results["all"].append(total)
        results["gpt"].append(gpt_whole())
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
    parser.add_argument("--prompt-phones", type=int, default=30,
                        help="reference phones before the segment's in the GPT's text")
    parser.add_argument("--prompt-tokens", type=int, default=75, help="reference tokens (3 s)")
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
    with_gpt = run_with_gpt(device, DTYPES[args.dtype], args.seconds, args.phones,
                            args.prompt_phones, args.prompt_tokens, args.repeats,
                            args.min_chunk, args.overlap)
    row = table_row(
        "Streaming with the GPT (modes 2/3, batch 1)", device_name(device),
        f"{args.dtype}, {args.seconds:g} s, {args.prompt_phones}+{args.phones} phones, "
        f"{args.prompt_tokens} reference tokens, chunks of {args.min_chunk} tokens, overlap "
        f"{args.overlap}, median of {args.repeats}",
        f"request to first chunk {with_gpt['first'] * 1000:.0f} ms; whole stream "
        f"{with_gpt['all'] * 1000:.0f} ms; GPT alone for the whole segment (what the first "
        f"chunk waited for before) {with_gpt['gpt'] * 1000:.0f} ms")
    append_row(row, write=args.write)


if __name__ == "__main__":
    main()
