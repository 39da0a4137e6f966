"""How many times faster than real time the slicer runs, end to end, on speech-like audio.

Generates ``--minutes`` of speech-like recordings (voiced syllables: a few harmonics of a
gliding 90-260 Hz pitch under a Hann envelope, grouped into words and phrases separated by
gaps of 40-150 ms and pauses of 0.3-1.5 s, over a -60 dBFS noise floor) as 16-bit WAV files
at ``--rate``, then times ``slice_audio`` on the folder: decoding, resampling to 32 kHz,
cutting, normalising and writing every slice, with the worker processes' start-up. A small
warm-up job runs first (imports, disk cache). The cutting alone (``find_slices`` on one
decoded file) is timed too, to show where the time goes. Issue 10 asks >= 200x real time on
the 2-core CPU (an hour in under 18 s).

Usage: python bench/bench_slicer.py [--minutes 60] [--file-minutes 5] [--rate 44100]
       [--workers N] [--write]
Prints one row; ``--write`` adds it to docs/benchmarks.md. Never run under pytest.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _report import append_row, table_row

TARGET_RTF = 200.0  # issue 10: slicing >= 200x real time on this 2-core CPU


def speech_like(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Mono float32 ``[samples]`` that the slicer sees as speech: phrases of syllables."""
    out = np.zeros(round(seconds * rate), dtype=np.float32)
    position = 0
    while True:
        phrase_s = rng.uniform(2.0, 9.0)
        end = min(out.shape[0], position + round(phrase_s * rate))
        while position < end:
            length = round(rng.uniform(0.08, 0.30) * rate)
            if position + length > end:
                break
            t = np.arange(length) / rate
            f0 = rng.uniform(90, 260) * (1 + 0.1 * t / t[-1])  # a gliding pitch
            phase = 2 * np.pi * np.cumsum(f0) / rate
            voice = sum(np.sin(k * phase) / k for k in (1, 2, 3, 5))
            envelope = np.hanning(length) * rng.uniform(0.1, 0.6)
            out[position:position + length] = voice * envelope
            position += length + round(rng.uniform(0.04, 0.15) * rate)  # gap between words
        position = end + round(rng.uniform(0.3, 1.5) * rate)             # pause between phrases
        if position >= out.shape[0]:
            break
    out += rng.normal(0, 0.001, out.shape[0]).astype(np.float32)  # -60 dBFS noise floor
    return np.clip(out, -1, 1)


def make_recordings(folder: Path, minutes: float, file_minutes: float, rate: int) -> float:
    """Write the test files; returns their total length in seconds."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    total_s, number = 0.0, 0
    while total_s < minutes * 60 - 1e-6:
        seconds = min(file_minutes * 60, minutes * 60 - total_s)
        sf.write(folder / f"take {number:03d}.wav", speech_like(seconds, rate, rng), rate,
                 subtype="PCM_16")
        total_s += seconds
        number += 1
    return total_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="audio to slice")
    parser.add_argument("--file-minutes", type=float, default=5.0, help="length of each file")
    parser.add_argument("--rate", type=int, default=44100, help="sample rate of the files")
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--write", action="store_true", help="append the row to the table")
    args = parser.parse_args()

    from gsv_core.audio import SAMPLE_RATE
    from gsv_core.dataset.audio_read import read_mono
    from gsv_core.dataset.slice_job import slice_audio
    from gsv_core.dataset.slicer import SlicerOptions, find_slices

    work = Path(tempfile.mkdtemp(prefix="bench_slicer_"))
    try:
        print(f"generating {args.minutes:g} min of speech-like audio at {args.rate} Hz ...")
        audio_s = make_recordings(work / "in", args.minutes, args.file_minutes, args.rate)
        make_recordings(work / "warm", 0.5, 0.5, args.rate)
        slice_audio(work / "warm", work / "warm_out", workers=args.workers)

        start = time.perf_counter()
        result = slice_audio(work / "in", work / "out", workers=args.workers)
        wall_s = time.perf_counter() - start
        assert result.ok, result.failures
        rtf = audio_s / wall_s

        decoded = read_mono(next((work / "in").iterdir()), SAMPLE_RATE)
        find_slices(decoded[: SAMPLE_RATE * 10], SAMPLE_RATE, SlicerOptions())  # warm-up
        start = time.perf_counter()
        find_slices(decoded, SAMPLE_RATE, SlicerOptions())
        cut_rtf = decoded.shape[0] / SAMPLE_RATE / (time.perf_counter() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    files = math.ceil(args.minutes / args.file_minutes)
    workers = args.workers or min(os.cpu_count() or 1, files)
    lengths = [s.duration_s for s in result.slices]
    verdict = "meets" if rtf >= TARGET_RTF else "BELOW"
    print(f"{audio_s / 60:.1f} min in {wall_s:.2f} s: {rtf:.0f}x real time ({verdict} the "
          f"{TARGET_RTF:.0f}x target); {len(lengths)} slices, median {np.median(lengths):.1f} s, "
          f"max {max(lengths):.1f} s; cutting alone {cut_rtf:.0f}x")
    device = (f"CPU ({platform.machine()}, {os.cpu_count()} cores), "
              f"Python {platform.python_version()}")
    settings = (f"{audio_s / 60:.0f} min speech-like {args.rate} Hz mono 16-bit WAV in "
                f"{args.file_minutes:g}-min files, {workers} worker(s), default settings, "
                f"end to end (decode, resample, cut, write)")
    row = table_row("slicer (gsv-studio slice)", device, settings,
                    f"{rtf:.0f}× real time ({wall_s:.2f} s, {len(lengths)} slices, max "
                    f"{max(lengths):.1f} s); find_slices alone {cut_rtf:.0f}×")
    append_row(row, write=args.write)


if __name__ == "__main__":
    main()
