"""BERT batch times in a fresh process, with the padded length rounded up to a multiple or not.

    python bench/bench_bert_shapes.py --device cuda --multiples 0,8,16,64

Why: the first formatting run of a process spent ~2.3 s more in BERT than later runs (H200,
2026-12-04: its first two batches took 1380 and 968 ms, later ones ~20-150 ms), most likely
kernels chosen and loaded for each new padded length. ``phone_features_batch(...,
pad_to_multiple_of=N)`` makes fewer distinct lengths; this measures whether that pays, in
fresh processes as the product's formatting child is. A random full-size BERT (bench/
_random_models.py), 16 texts a batch at the lengths of bench_prepare's labels; each variant
runs in its own process, ``--repeat`` times, alternating. Prints only (nothing recorded).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LENGTHS = [59, 58, 60, 60, 56, 67, 60, 59, 60, 63, 64, 60, 61, 58, 61, 59, 62, 58, 56, 60, 60,
           62]  # the longest label of each of bench_prepare's BERT batches (one hour, zh)
BATCH = 16


def child(folder: str, multiple: int, device: str) -> None:
    import torch

    from gsv_core.features import BertFeatures

    start = time.perf_counter()
    bert = BertFeatures.load(folder, device, torch.float16 if device != "cpu" else torch.float32)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    load_s = time.perf_counter() - start
    chars = list((Path(folder) / "chars.txt").read_text(encoding="utf-8"))
    rng = np.random.default_rng(0)
    times = []
    for longest in LENGTHS:
        texts = ["".join(rng.choice(chars, size=int(longest - rng.integers(0, 6))))
                 for _ in range(BATCH - 1)] + ["".join(rng.choice(chars, size=longest))]
        start = time.perf_counter()
        bert.phone_features_batch(texts, [[1] * len(t) for t in texts], max_batch=BATCH,
                                  pad_to_multiple_of=multiple or None)
        sync()
        times.append(time.perf_counter() - start)
    print(json.dumps({"load_s": load_s, "times": times}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--multiples", default="0,16,64",
                        help="pad_to_multiple_of values, 0 = no rounding")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.device)
        return
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_prepare
    from _random_models import write_bert

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bert"
        text = "".join(bench_prepare.CLAUSES)
        write_bert(folder, text)
        (folder / "chars.txt").write_text("".join(dict.fromkeys(text)), encoding="utf-8")
        for _ in range(args.repeat):
            for multiple in (int(m) for m in args.multiples.split(",")):
                done = subprocess.run([sys.executable, __file__, "--device", args.device,
                                       "--child", str(folder), str(multiple)],
                                      capture_output=True, text=True)
                lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                if done.returncode or not lines:
                    raise SystemExit(f"the child failed:\n{done.stderr[-3000:]}")
                result = json.loads(lines[0])
                times = result["times"]
                print(f"pad to multiple {multiple or 'none'}: load {result['load_s']:.2f} s, "
                      f"{len(times)} batches {sum(times):.2f} s; first five ms "
                      + " ".join(f"{t * 1000:.0f}" for t in times[:5])
                      + f"; the rest median {1000 * float(np.median(times[5:])):.0f} ms, "
                        f"max {1000 * max(times[5:]):.0f} ms")


if __name__ == "__main__":
    main()
