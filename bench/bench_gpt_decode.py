"""GPT decode speed: new semantic tokens per second, full-size random v2 model.

    python bench/bench_gpt_decode.py --device cuda --dtype fp16
    python bench/bench_gpt_decode.py --device cuda --dtype fp16 --batch 8
    python bench/bench_gpt_decode.py --device cuda --dtype fp16 --step compare
    python bench/bench_gpt_decode.py --device cpu --new-tokens 100 --no-write

Random weights are enough: speed does not depend on the values. EOS is disabled for the
whole run so every run decodes exactly ``--new-tokens`` tokens. A short warm-up run comes
first (CUDA kernels, allocator); CUDA is synchronised before each clock read. The row goes
to ``docs/benchmarks.md`` with device, torch version, git commit and date.

``--step`` picks the decode step: ``auto`` (what ``generate`` does by default: the CUDA
graph on CUDA), ``eager``, ``graph``, or ``compare``: eager and graph on the same model in
one run, alternating ``--repeats`` times, best of each, their ratio, and how far both gave
the same tokens (the timed graph runs include recording the graph). ``--batch N`` decodes N
copies of the sentence in one ``generate_batch`` call; the rate is then their total.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row

from gsv_core.models.gpt import BERT_DIM, GPTConfig, Text2SemanticDecoder
from gsv_core.models.gpt_decode import generate_batch
from gsv_core.models.gpt_sampling import SamplingOptions

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


GRAPH_CHOICE = {"auto": None, "eager": False, "graph": True}  # generate's cuda_graph


@dataclass(frozen=True)
class Timing:
    """One timed decode."""

    tokens: torch.Tensor  # [batch, n_new] on the CPU
    seconds: float

    @property
    def rate(self) -> float:
        return self.tokens.numel() / self.seconds  # new tokens per second, whole batch


def _decode(model: Text2SemanticDecoder, phones: torch.Tensor, bert: torch.Tensor,
            prompt: torch.Tensor, new_tokens: int, cuda_graph: bool | None,
            batch: int) -> Timing:
    options = SamplingOptions(top_k=15, early_stop_tokens=None, max_steps=new_tokens,
                              min_steps_before_eos=new_tokens)  # EOS never allowed
    sync(phones.device)
    start = time.perf_counter()
    results = generate_batch(model, [phones] * batch, [bert] * batch, prompt, options,
                             generator=torch.Generator(phones.device).manual_seed(0),
                             cuda_graph=cuda_graph)
    sync(phones.device)
    seconds = time.perf_counter() - start
    return Timing(torch.stack([r.tokens for r in results]).cpu(), seconds)


def run(device: torch.device, dtype: torch.dtype, new_tokens: int, text_len: int,
        prompt_len: int, warmup_tokens: int, steps: list[bool | None],
        repeats: int, batch: int = 1) -> list[Timing]:
    """The best (fastest) of ``repeats`` timed decodes per entry of ``steps`` (interleaved)."""
    torch.manual_seed(0)
    model = Text2SemanticDecoder(GPTConfig()).to(device=device, dtype=dtype).eval()
    phones = torch.randint(0, model.config.phoneme_vocab_size, (text_len,), device=device)
    bert = torch.randn(BERT_DIM, text_len, device=device)
    prompt = torch.randint(0, model.config.eos_id, (prompt_len,), device=device)
    for step in steps:
        _decode(model, phones, bert, prompt, warmup_tokens, step, batch)
    best: list[Timing | None] = [None] * len(steps)
    for _ in range(repeats):
        for i, step in enumerate(steps):
            timing = _decode(model, phones, bert, prompt, new_tokens, step, batch)
            if best[i] is None or timing.seconds < best[i].seconds:
                best[i] = timing
    return [t for t in best if t is not None]


def _result(step: str, timings: list[Timing]) -> str:
    if step != "compare":
        return f"{timings[0].rate:.1f} tokens/s ({timings[0].seconds:.2f} s)"
    eager, graph = timings
    differ = (eager.tokens != graph.tokens).any(dim=0).nonzero()
    # fp16/bf16: the graph's attention rounds differently, so a near-tie may flip a draw.
    same = "same tokens" if not len(differ) else \
        f"tokens agree up to step {int(differ[0, 0])} of {eager.tokens.shape[1]}"
    return (f"eager {eager.rate:.1f} tokens/s ({eager.seconds:.2f} s), graph {graph.rate:.1f} "
            f"tokens/s ({graph.seconds:.2f} s): {graph.rate / eager.rate:.2f}x, {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--new-tokens", type=int, default=500)
    parser.add_argument("--text-len", type=int, default=60, help="phones of the sentence")
    parser.add_argument("--prompt-len", type=int, default=75, help="reference tokens (3 s)")
    parser.add_argument("--batch", type=int, default=1, help="copies of the sentence")
    parser.add_argument("--warmup-tokens", type=int, default=50)
    parser.add_argument("--step", choices=[*GRAPH_CHOICE, "compare"], default="auto",
                        help="decode step: auto (generate's default), eager, graph, compare")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs each; best kept")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False  # report plain fp32 when fp32 is asked
    device = torch.device(args.device)
    if args.step in ("graph", "compare") and device.type != "cuda":
        parser.error(f"--step {args.step} needs --device cuda (CUDA graphs)")
    steps = [False, True] if args.step == "compare" else [GRAPH_CHOICE[args.step]]
    timings = run(device, DTYPES[args.dtype], args.new_tokens, args.text_len,
                  args.prompt_len, args.warmup_tokens, steps, args.repeats, args.batch)
    settings = (f"{args.dtype}, batch {args.batch}, {args.new_tokens} new tokens, "
                f"text {args.text_len}, reference {args.prompt_len}, top_k 15, step {args.step}")
    if args.repeats > 1:
        settings += f", best of {args.repeats}"
    row = table_row("GPT decode (full-size v2, random)", device_name(device), settings,
                    _result(args.step, timings))
    append_row(row, args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
