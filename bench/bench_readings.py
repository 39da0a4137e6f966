"""What the improved readings layer costs next to the cleaner it runs before.

Per language, over the golden corpus sentences (``tests/data/text_golden.jsonl``, plus
``tests/data/readings_corpus.jsonl`` when present): the time of ``read_spans`` alone and
of ``clean_text(..., readings="upstream")``, each the best of several passes after a
warm-up (so dictionary loading is not counted). The ratio read/clean is what issue 9
bounds at 20 %. The same ratio in language mode ``auto`` (every sentence, read stretch by
stretch: ``bert_align.read_improved``) is printed and recorded too. Timing lives here, never
in tests.

Usage: python bench/bench_readings.py [--repeats 5] [--no-append]
Appends one row to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from functools import partial

from _report import REPO, append_row, table_row

CORPORA = (REPO / "tests" / "data" / "text_golden.jsonl",
           REPO / "tests" / "data" / "readings_corpus.jsonl")
LIMIT = 0.20  # issue 9: the layer costs at most 20 % of the cleaner's time


def _sentences() -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    for path in CORPORA:
        if not path.exists():
            continue
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                language = row.get("lang") or row.get("language")
                if language and row.get("text"):
                    by_language.setdefault(language, []).append(row["text"])
    return by_language


def best_s(work: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` timed calls (after one warm-up call)."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _auto_ratio(texts: list[str], repeats: int) -> float:
    """In language mode ``auto`` the layer also cuts the text into stretches read in their
    own language (``readings.mixed``): its read time against the upstream split + cleaner."""
    from gsv_core.text.bert_align import clean_runs, read_improved

    read_s = best_s(lambda: [read_improved(text, "auto") for text in texts], repeats)
    clean_s = best_s(lambda: [clean_runs(text, "auto") for text in texts], repeats)
    return read_s / clean_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per measurement")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()

    from gsv_core.text import clean_text
    from gsv_core.text.readings import read_spans

    def over(texts: list[str], step: Callable[[str], object]) -> Callable[[], object]:
        return lambda: [step(text) for text in texts]

    results = []
    for language, texts in sorted(_sentences().items()):
        read_s = best_s(over(texts, partial(read_spans, language=language)), args.repeats)
        clean_s = best_s(over(texts, partial(clean_text, language=language)), args.repeats)
        improved_s = best_s(over(texts, partial(clean_text, language=language,
                                                readings="improved")), args.repeats)
        results.append((language, len(texts), read_s, clean_s, improved_s))
        print(f"{language:4} {len(texts):4} sentences  read {read_s * 1e3:8.2f} ms  "
              f"clean {clean_s * 1e3:8.2f} ms  ratio {read_s / clean_s:6.1%}  "
              f"improved/upstream clean {improved_s / clean_s:5.2f}x")
    total_read = sum(r[2] for r in results)
    total_clean = sum(r[3] for r in results)
    ratio = total_read / total_clean
    verdict = "within" if ratio <= LIMIT else "OVER"
    print(f"all  read/clean = {ratio:.1%} ({verdict} the {LIMIT:.0%} budget)")
    auto_ratio = _auto_ratio([t for texts in _sentences().values() for t in texts],
                             args.repeats)
    print(f"auto read/clean = {auto_ratio:.1%} (every sentence in language mode auto)")
    per_language = ", ".join(f"{lang} {read / clean:.1%}" for lang, _, read, clean, _ in results)
    row = table_row("readings layer vs cleaner", f"CPU ({platform.processor() or 'cpu'})",
                    f"golden + readings corpus, best of {args.repeats}",
                    f"read_spans/clean_text {ratio:.1%} ({per_language}); "
                    f"auto mode {auto_ratio:.1%}")
    append_row(row, write=not args.no_append)


if __name__ == "__main__":
    main()
