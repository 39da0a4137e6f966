"""How many rows of the readings corpus the front end reads as a person would.

Each row of ``tests/data/readings_corpus.jsonl`` holds a sentence (``text``) and
how a person reads it, written out by hand in plain words (``expected``). A row
matches when the phones of ``text`` read with ``readings="improved"`` equal the
phones of ``expected`` read with ``readings="upstream"`` (plain words need no
reading rule), both through ``bert_align.phones_and_features`` in the row's
language mode. Phones are compared, not strings, so "twenty-one" and
"twenty one" or "三点半" written either way count the same; punctuation and
Korean word spaces (``空``) are left out of the comparison: the corpus judges
words, not pauses.

The same comparison with ``readings="upstream"`` on ``text`` is printed as the
baseline: how many rows upstream's cleaner already read right. Rows of ``round`` 2
were written after the rules and are also counted on their own: the fairer figure,
as the round-1 rows were written beside the rules they test.

Usage: python bench/report_readings.py [--lang zh] [--show-misses]
Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from any folder
    sys.path.insert(0, str(REPO))

from gsv_core.text.bert_align import phones_and_features  # noqa: E402
from gsv_core.text.symbols import PUNCTUATION  # noqa: E402

CORPUS = REPO / "tests" / "data" / "readings_corpus.jsonl"
# The language mode each corpus language is read in: the all_* modes, as the
# inference options default to all_zh (upstream's "中文").
MODES = {"zh": "all_zh", "en": "en", "ja": "all_ja", "yue": "all_yue", "ko": "all_ko"}
_IGNORED = frozenset(PUNCTUATION) | {"空", "SP", "SP2", "SP3"}


@dataclass(frozen=True)
class RowResult:
    """One corpus row: whether it matched, and both phone strings for a miss."""

    row: dict
    matched: bool
    got: str
    wanted: str


def load_corpus(path: Path = CORPUS) -> list[dict]:
    """The corpus rows (JSON lines: lang, source, topic, text, expected, round)."""
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def _key(text: str, mode: str, readings: str) -> str:
    phones = phones_and_features(text, mode, readings=readings).phones
    return " ".join(p for p in phones if p not in _IGNORED)


def check_rows(rows: Iterable[dict], readings: str = "improved") -> list[RowResult]:
    """Compare each row's reading of ``text`` with the upstream reading of ``expected``."""
    results = []
    for row in rows:
        mode = MODES[row["lang"]]
        got = _key(row["text"], mode, readings)
        wanted = _key(row["expected"], mode, "upstream")
        results.append(RowResult(row, got == wanted, got, wanted))
    return results


def _table(improved: list[RowResult], baseline: list[RowResult]) -> str:
    lines = ["| lang | rows | improved | upstream |", "|---|---|---|---|"]
    for lang in [*MODES, "all"]:
        pairs = [(i, b) for i, b in zip(improved, baseline, strict=True)
                 if lang == "all" or i.row["lang"] == lang]
        if not pairs:
            continue
        hits = sum(i.matched for i, _ in pairs)
        base = sum(b.matched for _, b in pairs)
        lines.append(f"| {lang} | {len(pairs)} | {hits} | {base} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=sorted(MODES), help="only this language's rows")
    parser.add_argument("--show-misses", action="store_true", help="print every row missed")
    args = parser.parse_args()
    rows = [r for r in load_corpus() if args.lang in (None, r["lang"])]
    improved = check_rows(rows, "improved")
    baseline = check_rows(rows, "upstream")
    print(_table(improved, baseline))
    later = [i for i, r in enumerate(rows) if r["round"] > 1]
    if later:
        print("\nOnly the rows written after the rules (round 2):\n")
        print(_table([improved[i] for i in later], [baseline[i] for i in later]))
    if args.show_misses:
        for result in improved:
            if not result.matched:
                print(f"\n[{result.row['lang']}/{result.row['topic']}] {result.row['text']}")
                print(f"  expected: {result.row['expected']}")
                print(f"  got:    {result.got}")
                print(f"  wanted: {result.wanted}")


if __name__ == "__main__":
    main()
