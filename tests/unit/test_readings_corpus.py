"""The readings corpus (``tests/data/readings_corpus.jsonl``) and its report script.

The corpus's expected readings are written by hand; ``bench/report_readings.py``
counts the rows whose improved reading sounds like them (same phones). The floors
below are set a little under the figure measured when the corpus was written
(docs/compatibility.md, "Readings"), so a rule that stops working fails here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REPORT = REPO / "bench" / "report_readings.py"
CORPUS = REPO / "tests" / "data" / "readings_corpus.jsonl"
# Measured: zh 92, en 78, ja 29, yue 25, ko 20 of 93/78/30/25/21 rows; the floors leave
# two or three rows of slack per language (more for zh, whose module was still changing).
FLOORS = {"zh": 86, "en": 75, "ja": 27, "yue": 23, "ko": 18}


def _report():
    # bench/ holds scripts, not a package: load the report from its file.
    spec = importlib.util.spec_from_file_location("report_readings", REPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_corpus_shape() -> None:
    rows = [json.loads(line) for line in CORPUS.read_text("utf-8").splitlines() if line]
    counts = Counter(row["lang"] for row in rows)
    assert len(rows) >= 200
    assert set(counts) == {"zh", "en", "ja", "yue", "ko"}
    assert counts["zh"] / len(rows) >= 0.35 and counts["en"] / len(rows) >= 0.28
    for row in rows:
        assert set(row) == {"lang", "source", "topic", "text", "expected", "round"}
        assert row["round"] in (1, 2)
        assert row["text"].strip() and row["expected"].strip()
    assert len({row["text"] for row in rows}) == len(rows)


@pytest.mark.slow
def test_report_matches_at_least_the_floor() -> None:
    report = _report()
    results = report.check_rows(report.load_corpus(), "improved")
    matched = Counter(r.row["lang"] for r in results if r.matched)
    assert {lang: matched[lang] >= floor for lang, floor in FLOORS.items()} == {
        lang: True for lang in FLOORS}


@pytest.mark.slow
def test_upstream_readings_miss_most_rows() -> None:
    # The comparison can fail: upstream's own readings match far fewer rows.
    report = _report()
    rows = [r for r in report.load_corpus() if r["lang"] == "en"]
    assert sum(r.matched for r in report.check_rows(rows, "upstream")) < FLOORS["en"] // 2
