"""The bad-input corpus (tests/data/bad/corpus.py) through the product's entry points.

Every case must come back as its ``expect`` says: refused with a message that names the
file, line or field and says what to do, or accepted and processed; an exception that is
not ours, or an error that does not say where, fails the case. A checkpoint or feature file
carrying pickled code must be refused without the code running (a marker file it would
create must not exist). The inference entries use the tiny fixture models (skipped without
the shared fixtures). docs/reliability.md is this run's summary (scripts/reliability.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.data.bad.corpus import all_cases
from tests.data.bad.entries import Context, run_case

CASES = all_cases()


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    yield Context(tmp_path_factory.mktemp("bad-inputs"))


def test_the_corpus_has_at_least_80_cases_in_every_group() -> None:
    groups = {case.group for case in CASES}
    assert len(CASES) >= 80 and len({case.id for case in CASES}) == len(CASES)
    assert groups == {"audio", "list", "name", "features", "checkpoint", "text", "api"}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy on NaN audio, before the check
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_bad_input_is_refused_clearly_or_handled(case, context: Context,
                                                      tmp_path: Path) -> None:
    outcomes = run_case(context, case)
    wrong = [f"{o.entry}: {o.status} (expected {o.expected}): {o.detail}"
             for o in outcomes if not o.as_expected]
    assert not wrong, f"{case.id} ({case.description}):\n" + "\n".join(wrong)
