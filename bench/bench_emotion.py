"""Emotion classification throughput: clips/s of 10 s clips at the E-1 batch (issue 12:
>= 100 clips/s on an H200-class card).

Builds an emotion2vec_plus folder of the large model's shape (1024-d, 24 layers, 16 heads,
the real feature encoder) with random weights, in the layout funasr loads
(tests/emotion_fixtures.py), writes ``--clips`` generated 10 s clips and their ``.list``,
and times ``classify_list`` through funasr on ``--device`` at the batch the E-1 rule allows
for that card (``--batch`` overrides). One untimed pass over a few clips first (funasr's
import, cuDNN). Labels are random; only the speed is measured.

Usage: python bench/bench_emotion.py [--device cuda] [--clips 400] [--shape large|tiny]
       [--batch N] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import soundfile
import torch
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gsv_core.dataset.annotations import Clip, write_list
from gsv_core.emotion.classify import Emotion2vec, classify_list
from gsv_core.emotion.job import classification_plan
from gsv_core.hardware import detect_machine
from tests.emotion_fixtures import REAL_ENCODER, build_tiny_emotion2vec
from tests.infer_fixtures import write_voiced_wav

TARGET = 100.0   # clips/s
SHAPES = {"large": {"dim": 1024, "depth": 24, "heads": 16}, "tiny": {}}


def write_clips(root: Path, count: int, seconds: float = 10.0) -> Path:
    first = write_voiced_wav(root / "clips" / "clip_00000.wav", seconds, 16_000, seed=0)
    audio, rate = soundfile.read(first, dtype="int16")
    clips = [Clip(str(first), "bench", "zh", "你好。", first)]
    for index in range(1, count):   # the same signal: reading is not what is measured
        path = root / "clips" / f"clip_{index:05d}.wav"
        soundfile.write(path, audio, rate, subtype="PCM_16")
        clips.append(Clip(str(path), "bench", "zh", "你好。", path))
    list_path = root / "bench.list"
    write_list(list_path, clips)
    return list_path


def build_model(folder: Path, shape: str) -> Path:
    if shape == "tiny":
        return build_tiny_emotion2vec(folder)
    return build_tiny_emotion2vec(folder, **SHAPES["large"], encoder=REAL_ENCODER)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--shape", choices=tuple(SHAPES), default="large")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    profile = detect_machine()
    plan = classification_plan(profile, args.device if args.device != "cuda" else "auto",
                               args.batch)
    batch = int(plan.batch.value)
    device = plan.device
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = build_model(root / "model", args.shape)
        model = Emotion2vec(folder, device)
        warm = write_clips(root / "warm", min(batch, 8))
        classify_list(warm, model, batch_size=batch)
        list_path = write_clips(root / "data", args.clips)
        sync(torch.device(device))
        start = time.perf_counter()
        result = classify_list(list_path, model, batch_size=batch)
        sync(torch.device(device))
        seconds = time.perf_counter() - start
    assert result.classified == args.clips, result.problems
    rate = args.clips / seconds
    verdict = "meets" if rate >= TARGET else "below"
    print(f"{args.clips} clips of 10 s in {seconds:.2f} s: {rate:.1f} clips/s at batch {batch} "
          f"on {device} ({verdict} the {TARGET:g} clips/s target)")
    row = table_row("emotion2vec classification (funasr)", device_name(torch.device(device)),
                    f"{args.clips} clips x 10 s, {args.shape} shape (random weights), batch "
                    f"{batch} ({plan.batch.binding.rule if plan.batch.binding else 'given'}), "
                    "reading the files included",
                    f"{rate:.1f} clips/s ({seconds:.2f} s); target {TARGET:g}: {verdict}")
    print(row)
    if not args.no_write:
        append_row(row, BENCHMARKS_MD)


if __name__ == "__main__":
    main()
