"""Regenerate docs/reliability.md from a run of the bad-input corpus (issue 14).

    python scripts/reliability.py          # run the corpus, rewrite the figures
    python scripts/reliability.py --check  # run it, exit 1 if any case is not as expected

The corpus (tests/data/bad/corpus.py) goes through the product's entry points exactly as
tests/integration/test_bad_inputs.py sends it; this script counts the outcomes per group and
entry point and rewrites the part of docs/reliability.md between its two marker lines, with
the date, the commit and the command. The rest of the page is written by hand. Needs the
shared tiny fixtures (../shared/fixtures) for the inference entries, as the tests do.
"""

from __future__ import annotations

import argparse
import datetime
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reliability.md"
START = "<!-- corpus: written by scripts/reliability.py -->"
END = "<!-- end of corpus -->"


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                          capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def run_corpus() -> list:
    sys.path.insert(0, str(REPO))
    from tests.data.bad.corpus import all_cases
    from tests.data.bad.entries import Context, run_case

    outcomes = []
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        context = Context(Path(tmp))
        for case in all_cases():
            outcomes += [(case, outcome) for outcome in run_case(context, case)]
    return outcomes


def section(outcomes: list) -> str:
    cases = {case.id for case, _ in outcomes}
    status = Counter(outcome.status for _, outcome in outcomes)
    wrong = [(case, o) for case, o in outcomes if not o.as_expected]
    by_group: dict[str, Counter] = {}
    for case, outcome in outcomes:
        by_group.setdefault(case.group, Counter())[outcome.status] += 1
    lines = [
        START,
        f"Last run: {datetime.date.today().isoformat()}, commit {_commit()}, "
        "`python scripts/reliability.py` (the same cases as `pytest "
        "tests/integration/test_bad_inputs.py`).",
        "",
        f"- **cases tried: {len(cases)}**, through {len(outcomes)} entry-point calls;",
        f"- **handled cleanly: {len(outcomes) - len(wrong)} of {len(outcomes)}** "
        f"({status['refused']} refused with the file, line or field named and what to do; "
        f"{status['accepted']} accepted and processed);",
        f"- **crashes (an exception not ours, or an error that does not say where): "
        f"{status['crash']}**; outcomes other than the case expects: {len(wrong)}.",
        "",
        "| group | calls | refused | accepted | crash |",
        "|---|---|---|---|---|",
    ]
    for group, counts in by_group.items():
        lines.append(f"| {group} | {sum(counts.values())} | {counts['refused']} | "
                     f"{counts['accepted']} | {counts['crash']} |")
    if wrong:
        lines += ["", "Not as expected:", ""]
        lines += [f"- {case.id} / {o.entry}: {o.status} (expected {o.expected}): {o.detail}"
                  for case, o in wrong]
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 when a case is not as expected")
    args = parser.parse_args()
    outcomes = run_corpus()
    text = section(outcomes)
    print(text)
    if not args.check:
        page = PAGE.read_text(encoding="utf-8")
        start, end = page.index(START), page.index(END) + len(END)
        PAGE.write_text(page[:start] + text + page[end:], encoding="utf-8")
    return int(any(not outcome.as_expected for _, outcome in outcomes))


if __name__ == "__main__":
    sys.exit(main())
