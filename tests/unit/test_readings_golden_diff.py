"""The golden corpus read with ``readings="improved"``: every changed row, and the rule behind it.

The golden rows are upstream's cleaner output (``tests/data/README.md``). In upstream mode
they must stay byte-identical; in improved mode only rows a reading rule matched may
change, and each changed row is listed in ``EXPECTED_CHANGES`` with the rules that
changed it. Rule names without a ":" are checked against ``readings.rules_matched``
(the shared span kinds and the language module's own names); "en: …" names describe an
English-only rule of ``readings.en``, which names no rules. A failure prints every
difference, so updating the table after a deliberate change is mechanical.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from gsv_core.text import clean_text
from gsv_core.text.bert_align import clean_runs, reading_language
from gsv_core.text.readings import rules_matched
from tests.fixture_paths import TEXT_DIR

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

# row id → rules that changed it. Ids: <file>:<lang or mode><index within that key>.
EXPECTED_CHANGES: dict[str, tuple[str, ...]] = {
    # Mandarin (readings.zh)
    "shared:zh9": ("unit",),  # 120km/h: 千米每 → 公里每小时
    "shared:zh37": ("cardinal_year",),  # 公元前221年: 二二一年 → 二百二十一年
    "shared:zh41": ("measure_word",),  # 6300公里: 六三零零 → 六千三百
    "own:zh4": ("ordinal",),  # 第2名: 第两名 → 第二名
    "own:zh8": ("score",),  # 比分是3:2: 三二 → 三比二
    "own:zh10": ("range",),  # 10-20元: 十减二十元 → 十到二十元
    "own:zh16": ("grouped_number",),  # 12,800人: 十二,八百 → 一万二千八百
    "own:zh30": ("phone",),  # 400-123-4567: 减 → pauses between digit groups
    "own:zh31": ("phone",),  # 010-62345678
    "own:zh37": ("latin_words",),  # meeting: 米 → dropped (Mandarin-only clean_text)
    "own:zh84": ("unit",),  # 60km每小时: 千米 → 公里 (the spoken word)
    "mixed:zh9": ("unit",),  # 100MB每秒: 幺零零 → 一百 (MB stays English)
    # English (readings.en, helper D's)
    "shared:en2": ("en: digit groups",),  # 2,500,000: no comma pause in the number
    "shared:en5": ("time",),  # 9:30: no invented "a.m."
    "shared:en14": ("en: abbreviation",),  # Dr. → Doctor
    "shared:en15": ("en: abbreviation",),  # etc. → et cetera
    "shared:en16": ("en: acronym said as a word",),  # NASA
    "own:en4": ("en: digit groups",),  # 1,234: twelve thirty-four → one thousand…
    "own:en5": ("time",),  # 7:45
    "own:en6": ("time",),  # 13:00: thirteen hundred, not "one o'clock p.m."
    "own:en11": ("unit",),  # 2.5 kg → kilograms
    "own:en24": ("en: acronym said as a word",),  # NASA
    "own:en30": ("en: abbreviation",),  # Mr. → Mister
    "own:en33": ("en: acronym said as a word",),  # OK → okay
    # Japanese and Korean (readings.ja, readings.ko, helper D's)
    "shared:ja7": ("ja_phone",),  # 03-1234-5678 in kana digits
    "shared:ja13": ("ja_quotes",),  # 「」 dropped instead of UNK phones
    "own:ja16": ("unit",),  # 100％ → パーセント
    "own:ja20": ("ja_quotes",),
    "own:ko14": ("ko_phone",),  # 010-1234-5678 in Sino-Korean digits
}


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]


def _keyed(source: str, rows: list[dict]) -> list[tuple[str, dict]]:
    counts: dict[str, int] = {}
    keyed = []
    for row in rows:
        key = row.get("lang") or row["mode"]
        keyed.append((f"{source}:{key}{counts.get(key, 0)}", row))
        counts[key] = counts.get(key, 0) + 1
    return keyed


def _all_rows() -> list[tuple[str, dict]]:
    return (_keyed("shared", _rows(TEXT_DIR / "golden.jsonl"))
            + _keyed("own", _rows(DATA_DIR / "text_golden.jsonl"))
            + _keyed("mixed", _rows(DATA_DIR / "text_mixed_golden.jsonl")))


def _read(row: dict, readings: str) -> tuple[str, list[str]]:
    """(norm_text, phones) of a row: single-language rows through ``clean_text``, mixed rows
    through the run split that inference uses."""
    if "lang" in row:
        cleaned = clean_text(row["text"], row["lang"], readings=readings)
        return cleaned.norm_text, list(cleaned.phones)
    runs = clean_runs(row["text"], row["mode"], readings=readings)
    return "".join(c.norm_text for c, _ in runs), [p for c, _ in runs for p in c.phones]


def _reading_language(row: dict) -> str:
    if "lang" in row:
        return row["lang"]
    return reading_language(row["text"], row["mode"])


def _has_module(language: str) -> bool:
    # A language whose readings module is not there yet reads as upstream: no changes.
    return importlib.util.find_spec(f"gsv_core.text.readings.{language}") is not None


@pytest.fixture(scope="module")
def improved() -> dict[str, tuple[dict, tuple[str, list[str]]]]:
    rows = [(row_id, row) for row_id, row in _all_rows() if _has_module(_reading_language(row))]
    if not rows:
        pytest.skip("no golden rows on this machine")
    return {row_id: (row, _read(row, "improved")) for row_id, row in rows}


def test_upstream_mode_is_byte_identical_for_every_row() -> None:
    rows = _all_rows()
    assert len(rows) >= 350  # 141 shared + 209 own + 30 mixed when the fixtures are present
    changed = [row_id for row_id, row in rows
               if _read(row, "upstream") != (row["norm_text"], row["phones"])]
    assert changed == []


def test_improved_mode_changes_exactly_the_listed_rows(improved: dict) -> None:
    changed = {row_id: (row, result) for row_id, (row, result) in improved.items()
               if result != (row["norm_text"], row["phones"])}
    unexpected = [f"{row_id}: {row['text']!r}: {row['norm_text']!r} -> {result[0]!r} "
                  f"(rules {rules_matched(row['text'], _reading_language(row))})"
                  for row_id, (row, result) in sorted(changed.items())
                  if row_id not in EXPECTED_CHANGES]
    unchanged = sorted(set(EXPECTED_CHANGES) & set(improved) - set(changed))
    assert unexpected == [], "rows changed without an entry:\n" + "\n".join(unexpected)
    assert unchanged == [], f"rows listed as changed that read as upstream now: {unchanged}"


@pytest.mark.parametrize("row_id", sorted(EXPECTED_CHANGES))
def test_each_change_names_a_rule_that_matched(row_id: str, improved: dict) -> None:
    if row_id not in improved:
        pytest.skip(f"{row_id}: its language has no readings module here")
    row, _ = improved[row_id]
    rules = EXPECTED_CHANGES[row_id]
    assert rules
    checked = [rule for rule in rules if ":" not in rule]
    matched = rules_matched(row["text"], _reading_language(row))
    assert set(checked) <= set(matched), f"{row['text']!r}: rules {matched}"


def test_zh_changes_are_all_checked_rules() -> None:
    # Mandarin is this module's own reading: each change must name a checkable rule.
    zh_rules = [rule for row_id, rules in EXPECTED_CHANGES.items() if ":zh" in row_id
                for rule in rules]
    assert zh_rules and all(":" not in rule for rule in zh_rules)
