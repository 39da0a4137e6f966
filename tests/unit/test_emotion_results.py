"""The emotion results file: round trip, corrections surviving re-classification, balance."""

from __future__ import annotations

from pathlib import Path

from gsv_core.emotion.results import (
    LABELS,
    EmotionRow,
    balance,
    merge,
    read_results,
    results_path,
    write_results,
)


def row(path: str, label: str, **kwargs) -> EmotionRow:
    scores = tuple(0.9 if name == label else 0.0125 for name in LABELS)
    return EmotionRow(path, label, 0.9, scores, **kwargs)


def test_results_sit_beside_the_list_and_round_trip(tmp_path: Path) -> None:
    path = results_path(tmp_path / "voice.list")
    assert path == tmp_path / "voice.list.emotion.tsv"
    rows = [row("a.wav", "happy"), row("b.wav", "sad", reviewed=True, corrected="angry")]
    write_results(path, rows)
    assert read_results(path) == rows
    assert path.read_text(encoding="utf-8").splitlines()[0].split("\t")[3:12] == list(LABELS)
    assert read_results(tmp_path / "none.tsv") == []


def test_corrections_and_review_marks_survive_reclassification() -> None:
    old = [row("a.wav", "happy", reviewed=True, corrected="neutral"), row("b.wav", "sad")]
    new = merge(old, [row("a.wav", "angry"), row("c.wav", "happy")])
    assert [(r.label, r.reviewed, r.final_label) for r in new] == [
        ("angry", True, "neutral"), ("happy", False, "happy")]


def test_balance_shares_minutes_and_flags_rare_emotions() -> None:
    rows = [row("a.wav", "happy"), row("b.wav", "neutral"), row("c.wav", "sad")]
    result = balance(rows, {"a.wav": 60.0, "b.wav": 1140.0, "c.wav": 30.0})
    assert abs(sum(result.shares.values()) - 1.0) < 1e-9
    assert result.minutes["neutral"] == 19.0
    assert "sad" in result.rare and "neutral" not in result.rare and "happy" not in result.rare
