"""How fast the dataset quality report runs, as a multiple of real time (issue 10: >= 100x).

Writes ``--minutes`` of generated 10 s clips (32 kHz mono int16 WAV, what the slicer
writes: harmonic syllables with pauses, a quarter of them with noise or reverberation so
every measure does its full work) and a `.list` naming them, then times
``analyse_list`` on it, reading the files included. One untimed warm-up pass over a few
clips first (imports, pyloudnorm's filters); the figure is the best of ``--repeats``.

Usage: python bench/bench_quality.py [--minutes 60] [--workers 1] [--repeats 2] [--write]
Prints one row; ``--write`` appends it to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
from _report import append_row, table_row

RATE = 32000
CLIP_S = 10.0
TARGET = 100.0  # issue 10: quality analysis at least 100x real time on the CPU


def speech_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Harmonic syllables (tukey-shaped, 120-300 ms) with short gaps and a few pauses."""
    from scipy.signal.windows import tukey

    out = np.zeros(int(seconds * RATE))
    start = 0.15
    while start < seconds - 0.5:
        length = rng.uniform(0.12, 0.3)
        t = np.arange(int(length * RATE)) / RATE
        f0 = rng.uniform(100, 220)
        tone = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 12))
        first = int(start * RATE)
        out[first:first + len(t)] += 0.3 * tukey(len(t), 0.5) * tone / 3
        start += length + (rng.uniform(0.2, 0.4) if rng.random() < 0.2 else rng.uniform(.02, .06))
    return out + rng.normal(0, 10 ** (-70 / 20), len(out))


def make_dataset(folder: Path, minutes: float, seed: int = 0) -> Path:
    """``minutes`` of clips: 16 distinct ones (generation is slower than analysis), each
    written many times at a different gain, so no two files are the same."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    t = np.arange(int(0.6 * RATE)) / RATE
    tail = rng.normal(0, 1, len(t)) * 10 ** (-3 * t / 0.6)   # T60 0.6 s
    distinct = []
    for index in range(16):
        audio = speech_like(CLIP_S, rng)
        if index % 8 == 1:
            audio = audio + rng.normal(0, 0.02, len(audio))
        elif index % 8 == 2:
            audio = fftconvolve(audio, tail)[:len(audio)] * 0.2
        distinct.append(audio)
    lines = []
    for index in range(max(1, round(minutes * 60 / CLIP_S))):
        audio = distinct[index % 16] * rng.uniform(0.5, 1.5)
        name = f"clip_{index:05d}.wav"
        soundfile.write(folder / name, np.clip(audio, -1, 1).astype(np.float32), RATE,
                        subtype="PCM_16")
        lines.append(f"{name}|bench|ZH|一句话。")
    listed = folder / "bench.list"
    listed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="audio to generate")
    parser.add_argument("--workers", type=int, default=1, help="processes measuring clips")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes (best kept)")
    parser.add_argument("--write", action="store_true", help="append the row to the results")
    args = parser.parse_args()

    from gsv_core.dataset.quality import analyse_files, analyse_list

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        listed = make_dataset(folder, args.minutes)
        analyse_files(sorted(str(p) for p in folder.glob("*.wav"))[:3])  # warm-up
        times, report = [], None
        for _ in range(args.repeats):
            start = time.perf_counter()
            report = analyse_list(listed, workers=args.workers)
            times.append(time.perf_counter() - start)
    assert report is not None
    audio_s = report.summary.minutes * 60
    best = min(times)
    factor = audio_s / best
    print(f"{report.summary.clips} clips, {audio_s / 60:.1f} min in {best:.2f} s: "
          f"{factor:.0f}x real time (target >= {TARGET:g}x); problems: "
          f"{', '.join(p.check for p in report.problems) or 'none'}")
    cpu = f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    row = table_row("quality report (analyse_list)", cpu,
                    f"{audio_s / 60:.0f} min of {CLIP_S:g} s clips, 32 kHz int16 WAV, "
                    f"workers {args.workers}, best of {args.repeats}",
                    f"{factor:.0f}x real time ({best:.2f} s)")
    append_row(row, write=args.write)


if __name__ == "__main__":
    main()
