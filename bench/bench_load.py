"""The UI's server under concurrent use on loopback (issue 14 item 3): API requests and UI sessions.

    python bench/bench_load.py                       # 32 /tts requests, 8 UI sessions
    python bench/bench_load.py --requests 64 --sessions 16 --no-write

The app as ``python webui.py`` serves it — the Gradio page with the API's routes and
guards on its port — on the tiny models (the shared fixtures' GPT and SoVITS, random tiny
BERT/HuBERT: tests/infer_fixtures.py), on the CPU. ``--requests`` clients send one ``/tts``
each, all at once; the service runs one synthesis at a time (one GPU job per card), so the
rest queue. Meanwhile ``--sessions`` browser-like clients load the page's ``/config`` and
``/gradio_api/info`` every ``--pause`` seconds, to see that the page stays responsive.
Bounded: every request has a timeout, the sessions stop when the last /tts answers, and
nothing leaves 127.0.0.1. Reported: statuses, p50/p99 latency of both, the wall time, and
the process's peak memory. The row goes to docs/reliability.md (``--no-write``: print only).
"""

from __future__ import annotations

import argparse
import resource
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PAGE = REPO / "docs" / "reliability.md"
MARK = "<!-- load rows: bench/bench_load.py appends here -->"
REQUEST = {"text": "今天天气很不错。", "text_lang": "zh", "ref_audio_path": "ref/voice_4s.wav",
           "prompt_text": "你好，今天天气很不错。", "prompt_lang": "zh",
           "text_split_method": "cut5", "media_type": "wav"}
PAUSE_S = 10.0  # a UI session's default pause between two page loads (a person working)
TIMEOUT_S = 600.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def start_app(root: Path) -> tuple[str, object]:
    """The UI app on a free loopback port with the API on the tiny engine (as webui.main)."""
    import webui
    from gsv_core.api import api_routes, make_service
    from tests.infer_fixtures import build_infer_setup, make_engine

    setup = build_infer_setup(root)
    service = make_service(make_engine(setup), setup.workspace,
                           model_folders=[setup.gpt_path.parent])
    built = webui.build_ui("en_US", setup.workspace.root)
    port = _free_port()
    built.app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                     quiet=True, **webui.served_with(api_routes(service)))
    return f"http://127.0.0.1:{port}", built.app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--pause", type=float, default=PAUSE_S,
                        help="seconds a UI session waits between two page loads")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, app = start_app(Path(tmp))
        tts: list[tuple[int, float]] = []
        page: list[tuple[int, float]] = []
        done = threading.Event()

        def ask(seed: int) -> None:
            start = time.perf_counter()
            try:
                status = httpx.post(f"{url}/tts", json={**REQUEST, "seed": seed},
                                    timeout=TIMEOUT_S).status_code
            except httpx.HTTPError:
                status = 0
            tts.append((status, time.perf_counter() - start))

        def browse() -> None:
            with httpx.Client(base_url=url, timeout=60) as client:
                while not done.is_set():
                    for path in ("/config", "/gradio_api/info"):
                        start = time.perf_counter()
                        try:
                            status = client.get(path).status_code
                        except httpx.HTTPError:
                            status = 0
                        page.append((status, time.perf_counter() - start))
                    done.wait(args.pause)

        httpx.post(f"{url}/tts", json={**REQUEST, "seed": 0}, timeout=TIMEOUT_S)  # warm-up
        start = time.perf_counter()
        sessions = [threading.Thread(target=browse) for _ in range(args.sessions)]
        clients = [threading.Thread(target=ask, args=(i + 1,)) for i in range(args.requests)]
        for thread in [*sessions, *clients]:
            thread.start()
        for thread in clients:
            thread.join(TIMEOUT_S)
        wall = time.perf_counter() - start
        done.set()
        for thread in sessions:
            thread.join(60)
        app.close()  # type: ignore[attr-defined]
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    tts_s = [s for _, s in tts]
    page_s = [s for _, s in page]
    tts_codes = dict(Counter(c for c, _ in tts))
    page_codes = dict(Counter(c for c, _ in page))
    row = (f"| {time.strftime('%Y-%m-%d')} | {args.requests} /tts at once, {args.sessions} UI "
           f"sessions (a page load each {args.pause:g} s) | /tts {tts_codes}, "
           f"p50 {statistics.median(tts_s):.1f} s, p99 {_percentile(tts_s, 0.99):.1f} s; "
           f"page {len(page)} loads {page_codes}, p50 {1000 * statistics.median(page_s):.0f} ms,"
           f" p99 {1000 * _percentile(page_s, 0.99):.0f} ms | {wall:.1f} s | "
           f"{peak_gib:.2f} GiB |")
    print(row)
    if not args.no_write:
        text = PAGE.read_text(encoding="utf-8")
        PAGE.write_text(text.replace(MARK, MARK + "\n" + row), encoding="utf-8")


if __name__ == "__main__":
    main()
