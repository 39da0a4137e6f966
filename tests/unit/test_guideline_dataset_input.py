"""Item 6: unknown dataset values stay unknown, impossible ones are refused with a message."""

from __future__ import annotations

import math

import pytest

from gsv_core import guidelines as g

FIELDS = ("minutes", "p95_slice_s", "clip_count", "quality", "reviewed_pct")


def only(field: str, value: object) -> g.DatasetInput:
    values = dict.fromkeys(FIELDS) | {field: value}
    return g.dataset_from_fields(**values)


def test_empty_fields_mean_not_measured_not_zero() -> None:
    for empty in (None, "", "  "):
        result = g.dataset_from_fields(empty, empty, empty, empty, empty)
        assert result.problems == ()
        summary = result.summary
        assert (summary.total_duration_s, summary.p95_slice_s, summary.clip_count) == (None,) * 3
        assert (summary.quality, summary.reviewed_fraction) == ("unknown", 0.0)


def test_valid_fields_become_the_summary() -> None:
    result = g.dataset_from_fields(90, "12.5", 400.0, "good", "50%")
    assert result.problems == ()
    assert result.summary == g.DatasetSummary(total_duration_s=5400, p95_slice_s=12.5,
                                              clip_count=400, quality="good",
                                              reviewed_fraction=0.5)


@pytest.mark.parametrize(("field", "value", "rule"), [
    ("minutes", -5, "Q-3"), ("minutes", 0, "Q-3"), ("minutes", 1e9, "Q-3"),
    ("minutes", math.nan, "Q-3"), ("minutes", math.inf, "Q-3"), ("minutes", "abc", "Q-3"),
    ("p95_slice_s", -1, "Q-4"), ("p95_slice_s", 0, "Q-4"), ("p95_slice_s", 1e7, "Q-4"),
    ("clip_count", 2.5, "B-8"), ("clip_count", -3, "B-8"), ("clip_count", 0, "B-8"),
    ("clip_count", math.inf, "B-8"),
    ("quality", "great", "Q-1"),
    ("reviewed_pct", 150, "Q-1"), ("reviewed_pct", -1, "Q-1"),
    ("reviewed_pct", math.nan, "Q-1"),
])
def test_impossible_values_are_refused_with_a_message(field: str, value: object,
                                                      rule: str) -> None:
    result = only(field, value)
    (problem,) = result.problems
    assert problem.rule == rule and str(problem.params["value"]) == str(value)  # NaN != NaN
    assert str(value) in problem.text() and "not" in problem.text()
    summary = result.summary
    assert summary == g.DatasetSummary()  # the refused field is unknown, nothing else changed


def test_refused_clip_count_does_not_cap_the_batch_but_a_valid_one_does() -> None:
    """'Number of clips' affects a rule (B-8) only when it is a possible count."""
    budget = g.memory_budget(*_profile_and_decision())
    assert g.sovits_batch_limit(budget, only("clip_count", 2.5).summary).max == 14
    assert g.sovits_batch_limit(budget, only("clip_count", "2").summary).max == 2


def _profile_and_decision():
    from tests.unit.test_guidelines import machine

    profile = machine("NVIDIA GeForce RTX 4090:24")
    return profile, g.decide_device(profile)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"total_duration_s": -1.0}, "total_duration_s"),
    ({"total_duration_s": math.nan}, "total_duration_s"),
    ({"p95_slice_s": math.inf}, "p95_slice_s"),
    ({"clip_count": 2.5}, "clip_count"), ({"clip_count": -1}, "clip_count"),
    ({"clip_count": True}, "clip_count"),
])
def test_dataset_summary_refuses_impossible_values(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        g.DatasetSummary(**kwargs)
