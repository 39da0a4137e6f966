"""docs/guide.md stays true: its rules section is the glossary the app shows, and every
picture it names is one the browser tests take and is in docs/guide/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scripts_loader import load_script

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "guide.md"


def _screenshots_script():
    return load_script("screenshots")


def test_the_rules_section_is_the_glossary_and_names_every_rule():
    from gsv_core.guidelines.glossary import rule_glossary

    script = _screenshots_script()
    text = GUIDE.read_text(encoding="utf-8")
    assert script.with_rules(text) == text, ("docs/guide.md's rules differ from the glossary: "
                                             "run python scripts/screenshots.py --rules-only")
    section = text.split(script.START, 1)[1].split(script.END, 1)[0]
    assert [m for m in re.findall(r"^- \*\*([A-Z]-\d+) ·", section, re.MULTILINE)] == [
        entry.rule for entry in rule_glossary()]


def test_a_guide_without_its_markers_is_refused_with_what_to_do():
    with pytest.raises(SystemExit, match="marker lines"):
        _screenshots_script().with_rules("# Guide\n\nno markers here\n")


def test_every_picture_is_committed_and_taken_by_a_browser_test():
    pictures = re.findall(r"!\[[^\]]*\]\(guide/([\w.-]+\.png)\)",
                          GUIDE.read_text(encoding="utf-8"))
    assert len(pictures) >= 8
    taken = set(re.findall(r'screenshot\(page, \w+, "([\w.-]+\.png)"\)',
                           "".join(p.read_text(encoding="utf-8")
                                   for p in (REPO / "tests" / "browser").glob("test_*.py"))))
    assert set(pictures) <= taken, set(pictures) - taken
    missing = [name for name in pictures if not (REPO / "docs" / "guide" / name).is_file()]
    assert not missing, f"run python scripts/screenshots.py to take {missing}"
