"""Regenerate the user guide's pictures and its rules section (docs/guide.md).

    python scripts/screenshots.py              # the browser tests, then the rules section
    python scripts/screenshots.py --rules-only # only the rules section (no browser)

The pictures are the browser tests' own screenshots (tests/browser/conftest.py:screenshot):
the tests run with ``GSV_SCREENSHOTS=docs/guide`` and every screenshot they take is also
written there, so a picture in the guide always shows what a passing test saw. The rules
section, between the two marker lines in docs/guide.md, is written from the rule glossary
(gsv_core/guidelines/glossary.py), so the guide says what the app's System tab says; a test
(tests/unit/test_guide.py) fails when the two disagree.

Needs what the browser tests need (Debian's Chromium, Playwright; ./run-tests.sh installs
them), plus a colour emoji font for the status icons (Debian: fonts-noto-color-emoji) and a
CJK font for the Chinese and Japanese text (Debian: fonts-noto-cjk); without them those show
as boxes (the pictures taken before 2026-12-04's regeneration did). Exits with pytest's exit
code; the rules section is written either way.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "guide.md"
PICTURES = REPO / "docs" / "guide"
START = "<!-- rules: written by scripts/screenshots.py from gsv_core/guidelines/glossary.py -->"
END = "<!-- end of rules -->"


def rules_section() -> str:
    """Every rule id with its title and plain-language summary, as Markdown."""
    sys.path.insert(0, str(REPO))
    from gsv_core.guidelines.glossary import rule_glossary

    return "\n".join(f"- **{entry.rule} · {entry.title}.** {entry.summary}"
                     for entry in rule_glossary())


def with_rules(text: str) -> str:
    """``text`` (the guide) with the part between the markers replaced by the rules."""
    try:
        head, rest = text.split(START + "\n", 1)
        _, tail = rest.split(END, 1)
    except ValueError:
        raise SystemExit(f"{GUIDE}: the marker lines {START!r} and {END!r} are missing; "
                         "put them back where the rules belong.") from None
    return f"{head}{START}\n{rules_section()}\n{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-only", action="store_true",
                        help="only rewrite the rules section; take no screenshots")
    args = parser.parse_args()
    code = 0
    if not args.rules_only:
        env = {**os.environ, "GSV_SCREENSHOTS": str(PICTURES),
               "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
        code = subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                "tests/browser"], cwd=REPO, env=env)
    GUIDE.write_text(with_rules(GUIDE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{GUIDE.relative_to(REPO)}: rules section written; pictures in "
          f"{PICTURES.relative_to(REPO)}/", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
