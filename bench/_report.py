"""What every bench script shares: the results table, its rows, and honest clocks.

Run the scripts as ``python bench/<name>.py``; this module sits beside them.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Rows are appended by the scripts in `bench/` (never by tests). Each row names the device,\n"
    "torch version and git commit it was measured with.\n\n"
    "| date | benchmark | device | torch | commit | settings | result |\n"
    "|---|---|---|---|---|---|---|\n"
)


def commit() -> str:
    """The short commit measured: ``GSV_BENCH_COMMIT`` when set (a tree copied without its
    git folder, e.g. to a GPU machine, says what it was copied from), else git's; 'unknown'
    outside a git checkout."""
    if os.environ.get("GSV_BENCH_COMMIT"):
        return os.environ["GSV_BENCH_COMMIT"]
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def device_name(device) -> str:
    import torch

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


def sync(device) -> None:
    """Wait for queued GPU work before reading the clock (a CPU-GPU sync point)."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def wall_times(fn, device, repeats: int) -> list[float]:
    """Wall seconds of each of ``repeats`` calls of ``fn``, the device synchronised around
    each (warm up before calling this)."""
    import time

    times = []
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def table_row(benchmark: str, device: str, settings: str, result: str) -> str:
    import torch

    return (f"| {dt.date.today().isoformat()} | {benchmark} | {device} | {torch.__version__} | "
            f"{commit()} | {settings} | {result} |\n")


def insert_row(text: str, row: str) -> str:
    """``text`` with ``row`` added after the last row of its first table.

    The results file has prose (notes) after the table; appending at the end of the file
    would put a row below the notes, outside the table.
    """
    lines = text.splitlines(keepends=True)
    in_table, last_row = False, None
    for number, line in enumerate(lines):
        if line.startswith("|"):
            in_table, last_row = True, number
        elif in_table:
            break
    if last_row is None:
        return text + row
    if not lines[last_row].endswith("\n"):
        lines[last_row] += "\n"
    lines.insert(last_row + 1, row)
    return "".join(lines)


def append_row(row: str, out: Path = BENCHMARKS_MD, *, write: bool = True) -> None:
    """Print the row and, unless ``write`` is False, add it to the results table (the file
    is created with its header if absent)."""
    print(row, end="")
    if not write:
        return
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(HEADER, encoding="utf-8")
    out.write_text(insert_row(out.read_text(encoding="utf-8"), row), encoding="utf-8")
