"""How long formatting's model loads take, and whether loading straight onto the device helps.

    python bench/bench_model_load.py --device cuda --repeats 3

Formatting one hour of clips spends seconds loading BERT (large), HuBERT (base) and SoVITS
before any clip is computed (docs/benchmarks.md, issue 10). This times, on full-size random
models in the real on-disk formats (``_random_models.py``), each way of loading, alternated
``--repeats`` times in one process (the first round also pays the imports and is reported
apart):

- ``ours``: what the product does (``HubertFeatures.load``, ``BertFeatures.load``,
  ``load_sovits``): ``from_pretrained`` on the CPU in float32, then ``.to(device, dtype)``;
- ``direct`` (BERT and HuBERT only): ``from_pretrained(dtype=...)``, which casts each tensor
  while reading it, then ``.to(device)`` (half the bytes to copy in fp16; ``device_map`` would
  place them too but needs ``accelerate``, which we do not depend on); its parameters are
  checked equal to ours.

A measurement for deciding, not a test: no threshold.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def timed(load: Callable[[], object], device: object) -> tuple[float, object]:
    from _report import sync

    sync(device)
    start = time.perf_counter()
    model = load()
    sync(device)
    return time.perf_counter() - start, model


def same_parameters(a: object, b: object) -> bool:
    import torch

    pa, pb = dict(a.named_parameters()), dict(b.named_parameters())  # type: ignore[attr-defined]
    return pa.keys() == pb.keys() and all(torch.equal(pa[k], pb[k]) for k in pa)


def main() -> None:
    import torch
    from _random_models import build_random_voice
    from _report import BENCHMARKS_MD, append_row, device_name, table_row
    from transformers import AutoModelForMaskedLM, HubertModel

    from gsv_core.features import BertFeatures, HubertFeatures
    from gsv_core.infer.precision import model_dtypes
    from gsv_core.models.checkpoint import load_sovits

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not append to benchmarks.md")
    args = parser.parse_args()
    device = torch.device(args.device)
    dtype = model_dtypes(device, None).features
    with tempfile.TemporaryDirectory() as tmp:
        voice = build_random_voice(Path(tmp), "你好，。")
        ws = voice.workspace
        ways: dict[str, Callable[[], object]] = {
            "BERT ours": lambda: BertFeatures.load(ws.bert_dir, device, dtype).model,
            "BERT direct": lambda: AutoModelForMaskedLM.from_pretrained(
                ws.bert_dir, local_files_only=True, dtype=dtype).to(device).eval(),
            "HuBERT ours": lambda: HubertFeatures.load(ws.hubert_dir, device, dtype).model,
            "HuBERT direct": lambda: HubertModel.from_pretrained(
                ws.hubert_dir, local_files_only=True, dtype=dtype).to(device).eval(),
            "SoVITS ours": lambda: load_sovits(voice.sovits_path, device, dtype),
        }
        first: dict[str, float] = {}
        seconds: dict[str, list[float]] = {name: [] for name in ways}
        equal: dict[str, bool] = {}
        for round_index in range(args.repeats + 1):
            models = {}
            for name, load in ways.items():
                took, models[name] = timed(load, device)
                if round_index:
                    seconds[name].append(took)
                else:
                    first[name] = took
            for kind in ("BERT", "HuBERT"):
                equal[kind] = same_parameters(models[f"{kind} ours"], models[f"{kind} direct"])
            del models
            if device.type == "cuda":
                torch.cuda.empty_cache()
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name in ways:
        print(f"{name}: median {medians[name]:.2f} s over {args.repeats} "
              f"(first, with imports: {first[name]:.2f} s)")
    print("direct == ours: " + ", ".join(f"{k} {v}" for k, v in equal.items()))
    summary = "; ".join(f"{name} {medians[name]:.2f} s" for name in ways) + (
        "; direct parameters equal ours: " + ", ".join(f"{k} {v}" for k, v in equal.items()))
    settings = (f"full-size random BERT large / HuBERT base / SoVITS v2 (safetensors, .pth), "
                f"{str(dtype).removeprefix('torch.')}, median of {args.repeats} after a first "
                f"round with the imports")
    row = table_row("bench_model_load (formatting's model loads)", device_name(device),
                    settings, summary)
    print(row)
    if not args.no_write:
        append_row(row, BENCHMARKS_MD)


if __name__ == "__main__":
    main()
