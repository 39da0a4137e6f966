"""The batch probe's search (gsv_core.train.batch_probe.search_largest_batch).

``fits`` stands in for "a few real steps at this batch size did not run out of GPU memory":
this machine has no GPU, so the memory edge is given; the probe's real steps are tested in
tests/integration/test_batch_probe.py.
"""

from __future__ import annotations

import pytest

from gsv_core.train.batch_probe import search_largest_batch


@pytest.mark.parametrize("edge", [1, 2, 5, 13, 14, 15, 47, 48])
@pytest.mark.parametrize("start", [1, 5, 14, 60])
def test_the_search_finds_the_edge_from_any_start(edge, start):
    tried = []
    found = search_largest_batch(lambda b: tried.append(b) or b <= edge, start, 48)
    assert found.largest_fit == edge
    assert found.first_failure == (edge + 1 if edge < 48 else None)
    assert found.limited_by == ("memory" if edge < 48 else "ceiling")
    assert len(tried) == len(set(tried)) <= 14          # no size is tried twice
    assert [b for b, _ in found.tried] == tried


def test_when_batch_one_does_not_fit_there_is_no_largest_fit():
    found = search_largest_batch(lambda b: False, 14, 48)
    assert found.largest_fit is None and found.first_failure == 1


def test_the_time_limit_keeps_what_is_known():
    calls = []

    def give_up():
        return "time" if len(calls) == 2 else None

    found = search_largest_batch(lambda b: calls.append(b) or True, 4, 48, give_up)
    assert calls == [4, 6]
    assert (found.largest_fit, found.first_failure, found.limited_by) == (6, None, "time")
