"""Item 7: every rule id a reason can carry has a plain-language glossary entry."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from gsv_core import guidelines as g
from gsv_core.i18n import scan_keys

GUIDELINES_DIR = Path(g.__file__).parent
RULE_BOOK = Path(__file__).resolve().parents[2].parent / "shared" / "guidelines.md"
RULE_ID = re.compile(r"^[A-Z]-\d+$")


def reason_rule_ids() -> set[str]:
    """The rule id of every Reason(...) call in the guideline package (literal first argument)."""
    ids = set()
    for path in GUIDELINES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Reason"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                ids.add(node.args[0].value)
    return ids


def sort_key(rule: str) -> tuple[str, int]:
    family, number = rule.split("-")
    return family, int(number)


def test_glossary_covers_every_rule_id_a_reason_can_carry() -> None:
    glossary = {entry.rule for entry in g.rule_glossary()}
    used = reason_rule_ids()
    assert {"B-1", "B-8", "D-3", "H-2", "R-3", "Q-4", "X-6"} <= used  # the scan works
    assert used <= glossary, sorted(used - glossary)


def test_glossary_is_sorted_by_rule_id_without_duplicates() -> None:
    ids = [entry.rule for entry in g.rule_glossary()]
    assert all(RULE_ID.match(rule) for rule in ids)
    assert ids == sorted(ids, key=sort_key) and len(ids) == len(set(ids))
    assert (ids[0], ids[-1]) == ("B-1", "X-6")


def test_glossary_has_every_rule_of_the_rule_book() -> None:
    if not RULE_BOOK.is_file():  # the rule book lives beside the repository, not in it
        ids_in_book = {"B-8", "T-6", "Q-5", "E-1"}
    else:
        ids_in_book = set(re.findall(r"^([A-Z]-\d+)\s", RULE_BOOK.read_text(encoding="utf-8"),
                                     re.MULTILINE))
    assert ids_in_book <= {entry.rule for entry in g.rule_glossary()}


def test_glossary_texts_are_marked_plain_language_keys() -> None:
    keys = scan_keys([GUIDELINES_DIR / "glossary.py"], ui=False)
    for entry in g.rule_glossary():
        assert entry.title in keys and entry.summary in keys, entry.rule
        assert entry.title.strip() and len(entry.summary) > 40
        assert "{" not in entry.summary  # shown as is: no placeholders to fill
        assert "row of the tables" not in entry.summary


def test_reasons_name_their_table_instead_of_row_of_the_tables_jargon() -> None:
    keys = scan_keys(sorted(GUIDELINES_DIR.glob("*.py")), ui=False)
    assert not [key for key in keys if "row of the tables" in key or "tables' " in key]
