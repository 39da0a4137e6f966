"""Our cleaner against upstream GPT-SoVITS v2's outputs, row by row.

Two sources: the shared reference file (``../shared/fixtures/text-v2/golden.jsonl``,
141 rows) and our own corpus (``tests/data/text_golden.jsonl``, see its README).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsv_core.text import clean_text
from gsv_core.text.language_split import split_by_language
from tests.fixture_paths import TEXT_DIR, text_fixture

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SHARED_GOLDEN = TEXT_DIR / "golden.jsonl"


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def _params(rows: list[dict]) -> list:
    counts: dict[str, int] = {}
    params = []
    for row in rows:
        key = row.get("lang") or row["mode"]
        params.append(pytest.param(row, id=f"{key}{counts.get(key, 0)}"))
        counts[key] = counts.get(key, 0) + 1
    return params


def _check(row: dict) -> None:
    cleaned = clean_text(row["text"], row["lang"])
    assert cleaned.norm_text == row["norm_text"]
    assert list(cleaned.phones) == row["phones"]
    assert cleaned.phone_ids == row["phone_ids"]
    expected_word2ph = row["word2ph"]
    assert (None if cleaned.word2ph is None else list(cleaned.word2ph)) == expected_word2ph


@pytest.mark.parametrize("row", _params(_rows(SHARED_GOLDEN)))
def test_shared_golden_row(row: dict) -> None:
    _check(row)


def test_shared_golden_file_present() -> None:
    assert len(_rows(text_fixture("golden.jsonl"))) == 141


@pytest.mark.parametrize("row", _params(_rows(DATA_DIR / "text_golden.jsonl")))
def test_own_golden_row(row: dict) -> None:
    _check(row)


@pytest.mark.parametrize("row", _params(_rows(DATA_DIR / "text_mixed_golden.jsonl")))
def test_mixed_golden_row(row: dict) -> None:
    runs = split_by_language(row["text"], row["mode"])
    assert [[run.language, run.text] for run in runs] == row["segments"]
    cleaned = [clean_text(run.text, run.language) for run in runs]
    assert "".join(c.norm_text for c in cleaned) == row["norm_text"]
    assert [phone for c in cleaned for phone in c.phones] == row["phones"]


def test_own_corpus_covers_every_language() -> None:
    rows = _rows(DATA_DIR / "text_golden.jsonl") + _rows(DATA_DIR / "text_mixed_golden.jsonl")
    assert len(rows) >= 150
    assert {row["lang"] for row in rows if "lang" in row} == {"zh", "en", "ja", "ko", "yue"}
