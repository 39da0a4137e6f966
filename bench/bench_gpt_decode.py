"""GPT decode speed: new semantic tokens per second at batch 1, full-size random v2 model.

    python bench/bench_gpt_decode.py --device cuda --dtype fp16
    python bench/bench_gpt_decode.py --device cpu --new-tokens 100 --no-write

Random weights are enough: speed does not depend on the values. EOS is disabled for the
whole run so every run decodes exactly ``--new-tokens`` tokens. A short warm-up run comes
first (CUDA kernels, allocator); CUDA is synchronised before each clock read. The row goes
to ``docs/benchmarks.md`` with device, torch version, git commit and date.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row

from gsv_core.models.gpt import BERT_DIM, GPTConfig, Text2SemanticDecoder
from gsv_core.models.gpt_decode import generate
from gsv_core.models.gpt_sampling import SamplingOptions

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _decode(model: Text2SemanticDecoder, phones: torch.Tensor, bert: torch.Tensor,
            prompt: torch.Tensor, new_tokens: int) -> int:
    options = SamplingOptions(top_k=15, early_stop_tokens=None, max_steps=new_tokens,
                              min_steps_before_eos=new_tokens)  # EOS never allowed
    result = generate(model, phones, bert, prompt, options,
                      generator=torch.Generator(phones.device).manual_seed(0))
    return int(result.tokens.shape[0])


def run(device: torch.device, dtype: torch.dtype, new_tokens: int, text_len: int,
        prompt_len: int, warmup_tokens: int) -> tuple[float, float]:
    """Returns (tokens per second, seconds) for one timed decode."""
    torch.manual_seed(0)
    model = Text2SemanticDecoder(GPTConfig()).to(device=device, dtype=dtype).eval()
    phones = torch.randint(0, model.config.phoneme_vocab_size, (text_len,), device=device)
    bert = torch.randn(BERT_DIM, text_len, device=device)
    prompt = torch.randint(0, model.config.eos_id, (prompt_len,), device=device)
    _decode(model, phones, bert, prompt, warmup_tokens)
    sync(device)
    start = time.perf_counter()
    made = _decode(model, phones, bert, prompt, new_tokens)
    sync(device)
    seconds = time.perf_counter() - start
    return made / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--new-tokens", type=int, default=500)
    parser.add_argument("--text-len", type=int, default=60, help="phones of the sentence")
    parser.add_argument("--prompt-len", type=int, default=75, help="reference tokens (3 s)")
    parser.add_argument("--warmup-tokens", type=int, default=50)
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()

    torch.backends.cuda.matmul.allow_tf32 = False  # report plain fp32 when fp32 is asked
    device = torch.device(args.device)
    rate, seconds = run(device, DTYPES[args.dtype], args.new_tokens, args.text_len,
                        args.prompt_len, args.warmup_tokens)
    settings = (f"{args.dtype}, batch 1, {args.new_tokens} new tokens, text {args.text_len}, "
                f"reference {args.prompt_len}, top_k 15")
    row = table_row("GPT decode (full-size v2, random)", device_name(device), settings,
                    f"{rate:.1f} tokens/s ({seconds:.2f} s)")
    if args.no_write:
        print(row, end="")
    else:
        append_row(row, args.out)

if __name__ == "__main__":
    main()
