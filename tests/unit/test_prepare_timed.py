"""``timed``: the phase times a formatting run reports (bench and UI read them)."""

from __future__ import annotations

import pytest

from gsv_core.prepare.outcome import PrepareResult, timed


def test_timed_adds_up_per_phase_and_counts_a_body_that_raised() -> None:
    seconds: dict[str, float] = {}
    with timed(seconds, "HuBERT"):
        pass
    first = seconds["HuBERT"]
    with pytest.raises(RuntimeError), timed(seconds, "HuBERT"):
        raise RuntimeError("boom")
    with timed(seconds, "write"):
        pass
    assert set(seconds) == {"HuBERT", "write"}
    assert seconds["HuBERT"] >= first >= 0.0


def test_the_phase_times_travel_in_the_result_json(tmp_path) -> None:
    result = PrepareResult(tmp_path, 3, seconds={"labels cleaned": 0.5})
    assert result.to_json()["seconds"] == {"labels cleaned": 0.5}
