"""Text front-end speed: first call per language (cold process) and warm sentences/s.

The first call is measured in a fresh Python process per language, so it
includes importing the language's libraries and loading its dictionaries —
what a user waits for the first time a language is used. The warm rate runs
the golden corpus sentences of that language (``tests/data/text_golden.jsonl``)
repeatedly in one process after a warm-up pass.

Usage: python bench/bench_text_frontend.py [--seconds 3] [--no-append]
Appends one row to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time

from _report import REPO, append_row, table_row

CORPUS = REPO / "tests" / "data" / "text_golden.jsonl"
# First-call sentences take each language's slowest path (numbers, and for
# English an unknown word, which loads wordsegment and the neural model).
FIRST_CALL_TEXT = {
    "zh": "这是2024年的第1次测试，价格是3.5元。",
    "en": "The blorptastic zindleworp paid $5 for 1/2 of it.",
    "ja": "今日は2024年、いい天気ですね。",
    "ko": "2024년에 TV를 봤어요.",
    "yue": "我哋2024年去飲茶。",
}

_FIRST_CALL = """
import json, sys, time
start = time.perf_counter()
from gsv_core.text import clean_text
clean_text(sys.argv[2], sys.argv[1])
print(json.dumps(time.perf_counter() - start))
"""


def first_call_s(language: str, sentence: str) -> float:
    """Seconds from import to the first result, in a new interpreter."""
    output = subprocess.run(
        [sys.executable, "-c", _FIRST_CALL, language, sentence],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout
    return float(json.loads(output.strip().splitlines()[-1]))


def warm_rate(sentences: list[tuple[str, str]], seconds: float) -> float:
    """Sentences per second after every sentence has been cleaned once."""
    from gsv_core.text import clean_text

    for text, language in sentences:
        clean_text(text, language)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for text, language in sentences:
            clean_text(text, language)
        done += len(sentences)
    return done / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="warm timing per language")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()

    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line]
    results = []
    for language, first_text in FIRST_CALL_TEXT.items():
        sentences = [(r["text"], r["lang"]) for r in rows if r["lang"] == language]
        first = first_call_s(language, first_text)
        rate = warm_rate(sentences, args.seconds)
        results.append((language, first, rate, len(sentences)))
        print(f"{language}: first call {first:.2f} s, warm {rate:.0f} sentences/s "
              f"({len(sentences)} sentences)")

    if args.no_append:
        return
    cpu = platform.processor() or platform.machine()
    device = f"CPU ({cpu}), Python {platform.python_version()}"
    result = "; ".join(f"{lang} first {first:.2f} s, {rate:.0f}/s" for lang, first, rate, _ in
                       results)
    settings = f"corpus tests/data/text_golden.jsonl, warm {args.seconds:g} s per language"
    append_row(table_row("text front end (clean_text)", device, settings, result))


if __name__ == "__main__":
    main()
