"""SoVITS decode time for 10 s of audio, full-size random v2 generator.

    python bench/bench_sovits_decode.py --device cuda --dtype fp16
    python bench/bench_sovits_decode.py --device cpu --no-write

Random weights are enough: the work does not depend on the values. One decode is 250
semantic tokens (10 s at 25 Hz) + ``--phones`` target phones + one 3 s reference
spectrogram → 320,000 samples, including the reference's style vector as upstream's
``decode`` computes it each call. The model is cast to ``--dtype`` as upstream's inference
does with ``is_half``. A warm-up decode comes first; CUDA is synchronised before each clock
read; the median of ``--repeats`` timed decodes is reported. The row goes to
``docs/benchmarks.md`` through ``_report.py``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row, wall_times
from bench_gpt_decode import DTYPES

from gsv_core.audio import N_SPEC_BINS, SAMPLE_RATE, SPEC_FRAME_RATE, TOKEN_RATE
from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator


def build(device: torch.device, dtype: torch.dtype) -> SoVITSGenerator:
    torch.manual_seed(0)
    model = SoVITSGenerator(SoVITSConfig())
    codebook = model.quantizer.vq["layers"][0]._codebook.embed
    codebook.copy_(torch.randn_like(codebook))  # a filled codebook, as in trained weights
    return model.to(device=device, dtype=dtype).eval()


def run(
    device: torch.device, dtype: torch.dtype, seconds: float, phones: int, repeats: int,
    *, profile: bool = False, compile_parts: str | None = None, graphs: bool = True,
) -> list[float]:
    """Wall seconds of each timed decode of ``seconds`` of audio (``graphs``: the prior
    encoder's CUDA graphs, ``gsv_core/models/prior_graph.py``, else always eager)."""
    model = build(device, dtype)
    model.enc_p.cuda_graphs = graphs
    if compile_parts:
        model.dec = torch.compile(model.dec, dynamic=True)
        if "flow" in compile_parts:
            model.flow = torch.compile(model.flow, dynamic=True)
    codes = torch.randint(0, 1024, (1, 1, int(seconds * TOKEN_RATE)), device=device)
    phone_ids = torch.randint(0, model.config.n_symbols, (1, phones), device=device)
    refer = torch.rand(1, N_SPEC_BINS, 3 * SPEC_FRAME_RATE, device=device, dtype=dtype)

    def decode() -> torch.Tensor:
        return model.decode(codes, phone_ids, [refer], noise_scale=0.5).wav

    start = time.perf_counter()
    wav = decode()  # warm-up: kernels, allocator, cuDNN algorithm choice
    if compile_parts:
        sync(device)
        print(f"first decode (compiling {compile_parts}): {time.perf_counter() - start:.1f} s")
        for other in (7.3, 12.1):  # other lengths: does dynamic=True recompile?
            other_codes = torch.randint(0, 1024, (1, 1, int(other * TOKEN_RATE)), device=device)
            sync(device)
            start = time.perf_counter()
            model.decode(other_codes, phone_ids, [refer], noise_scale=0.5)
            sync(device)
            print(f"first decode of {other} s: {time.perf_counter() - start:.3f} s")
    assert wav.shape[-1] == int(seconds * SAMPLE_RATE), wav.shape
    times = wall_times(decode, device, repeats)
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as profiler

        with profiler(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            decode()
            sync(device)
        print(prof.key_averages().table(sort_by="self_device_time_total", row_limit=20))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio to synthesise")
    parser.add_argument("--phones", type=int, default=120, help="target phones")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="let cuDNN time its algorithms per shape (torch.backends.cudnn)")
    parser.add_argument("--compile", choices=["dec", "dec+flow"],
                        help="torch.compile(dynamic=True) these parts first (an experiment: "
                             "prints the compile time and decodes at other lengths)")
    parser.add_argument("--profile", action="store_true",
                        help="print the CUDA kernels taking the most time in one decode")
    parser.add_argument("--graphs", choices=["on", "off", "compare"], default="on",
                        help="the prior encoder's CUDA graphs (compare: both, one row)")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False  # report plain fp32 when fp32 is asked
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = args.cudnn_benchmark
    device = torch.device(args.device)
    def median_of(graphs: bool) -> float:
        return statistics.median(run(device, DTYPES[args.dtype], args.seconds, args.phones,
                                     args.repeats, profile=args.profile,
                                     compile_parts=args.compile, graphs=graphs))

    settings = (
        f"{args.dtype}, batch 1, {args.seconds:g} s audio, {args.phones} phones, "
        f"3 s reference, median of {args.repeats}"
        + (", cudnn.benchmark" if args.cudnn_benchmark else "")
        + (f", torch.compile {args.compile} (dynamic)" if args.compile else "")
    )
    if args.graphs == "compare":
        eager, graphed = median_of(False), median_of(True)
        settings += ", prior encoder eager vs CUDA graphs in one run"
        result = (f"eager {eager * 1e3:.1f} ms, graphs {graphed * 1e3:.1f} ms "
                  f"({args.seconds / graphed:.0f}× real time): {eager / graphed:.2f}x")
    else:
        median = median_of(args.graphs == "on")
        settings += ", prior graphs " + args.graphs
        result = f"{median:.3f} s ({args.seconds / median:.1f}× real time)"
    row = table_row("SoVITS decode (full-size v2, random)", device_name(device), settings,
                    result)
    append_row(row, args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
