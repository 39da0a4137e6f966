"""bench/_report.py puts a result row inside the results table, never below the notes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "bench" / "_report.py"


def load_report():
    # bench/ holds scripts, not a package: load the shared module from its file.
    spec = importlib.util.spec_from_file_location("bench_report", REPORT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_row_lands_after_the_last_row_of_the_first_table() -> None:
    report = load_report()
    text = "# B\n\n| a |\n|---|\n| 1 |\n\n## Notes\n\n- note\n\n| other |\n|---|\n"
    assert report.insert_row(text, "| 2 |\n") == (
        "# B\n\n| a |\n|---|\n| 1 |\n| 2 |\n\n## Notes\n\n- note\n\n| other |\n|---|\n")


def test_a_file_without_a_table_gets_the_row_at_its_end() -> None:
    assert load_report().insert_row("# B\n", "| 2 |\n") == "# B\n| 2 |\n"


def test_append_row_writes_into_the_table(tmp_path: Path, capsys) -> None:
    report = load_report()
    out = tmp_path / "benchmarks.md"
    out.write_text(report.HEADER + "\n## Notes\n\n- kept\n", encoding="utf-8")
    report.append_row("| row |\n", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines.index("| row |") == lines.index("## Notes") - 2
    assert capsys.readouterr().out == "| row |\n"
