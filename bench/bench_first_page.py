"""Seconds from ``python webui.py`` to its first page, on this machine (target: 4 s).

    python bench/bench_first_page.py
    python bench/bench_first_page.py --repeats 9 --no-write

Each run starts a new server process (``webui.py --no-browser`` on a free loopback port,
with ``GSV_FAKE_GPU`` simulating an RTX 4090 so every machine builds the same UI) and
polls ``GET /`` until it answers 200 with the page; the clock runs from the start of the
process to that answer, which is what a user waits for after typing the command. One
warm-up run comes first (it fills the file cache and writes ``.pyc`` files), then the
median of ``--repeats`` timed runs is reported with the fastest and slowest. The 4 s
target is checked here, not in the tests: on a loaded 2-core machine a start took
4.4-7.5 s, which says nothing about whether the UI works. The row goes to
``docs/benchmarks.md`` through ``_report.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _report import BENCHMARKS_MD, REPO, append_row, table_row

TARGET_S = 4.0
FAKE_GPU = "NVIDIA GeForce RTX 4090:24"
GIVE_UP_S = 60.0  # a start that takes this long is broken, not slow
POLL_S = 0.05


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _page_is_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
            return reply.status == 200 and b"GSV Studio" in reply.read()
    except OSError:
        return False


def first_page_s(workspace: Path) -> float:
    """Seconds from starting one server process to its first complete page."""
    port = _free_port()
    env = {**os.environ, "GSV_FAKE_GPU": FAKE_GPU, "GRADIO_ANALYTICS_ENABLED": "False",
           "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(REPO / "webui.py"), "--port", str(port), "--no-browser",
         "--workspace", str(workspace)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        while time.perf_counter() - started < GIVE_UP_S:
            if _page_is_up(port):
                return time.perf_counter() - started
            if process.poll() is not None:
                break
            time.sleep(POLL_S)
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=30)
    raise SystemExit(f"the UI never served its page (exit {process.returncode}):\n"
                     f"{errors.decode(errors='replace')[-2000:]}")


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"CPU ({cpu}, {os.cpu_count()} cores), {platform.system()}, "
            f"Python {platform.python_version()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after the warm-up")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    with tempfile.TemporaryDirectory() as workspace:
        first_page_s(Path(workspace))  # warm-up, not counted
        times = [first_page_s(Path(workspace)) for _ in range(args.repeats)]
    median = statistics.median(times)
    print(f"{machine()}; load average {load:.2f}; runs: "
          + ", ".join(f"{t:.2f}" for t in times))
    verdict = "within" if median <= TARGET_S else "over"
    settings = (f"python webui.py → GET / 200, GSV_FAKE_GPU={FAKE_GPU}, 1 warm-up, median of "
                f"{args.repeats}, load average {load:.2f} at start")
    result = (f"{median:.2f} s (fastest {min(times):.2f}, slowest {max(times):.2f}): "
              f"{verdict} the {TARGET_S:g} s target")
    append_row(table_row("first page (UI start-up)", machine(), settings, result), args.out,
               write=not args.no_write)


if __name__ == "__main__":
    main()
