"""UI text translation: the English text is the key, a language file maps it.

As in Applio, the key of every string is its English text, so the code reads
naturally and a missing translation falls back to readable English.
``gsv_core/assets/i18n/<lang>.json`` holds one flat object per language;
``tests/unit/test_i18n.py`` checks that every key the code uses exists in each
file.

The language files are package data, read through ``importlib.resources``, so an
installed wheel (``pip install .``) finds them as a checkout does; they used to sit
in ``assets/i18n/`` at the top of the repository, outside the package, and a wheel
had none.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_core.errors import ConfigError

if TYPE_CHECKING:  # importlib.resources.abc is 3.11+; only the annotations need it
    from importlib.resources.abc import Traversable

__all__ = [
    "DEFAULT_LANGUAGE",
    "I18N_DIR",
    "SOURCE_ROOT",
    "Translator",
    "available_languages",
    "load_language",
    "mark",
    "scan_keys",
    "used_keys",
    "write_english",
]

I18N_DIR: Traversable = resources.files("gsv_core") / "assets" / "i18n"
# The folder holding webui.py, tabs/ and gsv_core/: the checkout, or site-packages once
# installed. The key scanner reads the sources below it.
SOURCE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LANGUAGE = "en_US"
_SUFFIX = ".json"


def available_languages(directory: Traversable = I18N_DIR) -> list[str]:
    return sorted(entry.name.removesuffix(_SUFFIX) for entry in directory.iterdir()
                  if entry.name.endswith(_SUFFIX) and entry.is_file())


@lru_cache(maxsize=8)
def load_language(language: str, directory: Traversable = I18N_DIR) -> Mapping[str, str]:
    """Read one language file; an unknown language is a ConfigError listing the known ones."""
    path = directory / f"{language}{_SUFFIX}"
    if not path.is_file():
        known = ", ".join(available_languages(directory)) or "none"
        raise ConfigError(f"There is no UI language '{language}' (looked for {path}).",
                          f"Use one of: {known}.")
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} line {exc.lineno}: not valid JSON ({exc.msg}).",
                          "Fix the file or restore it from the repository.") from exc
    return table


class Translator:
    """``t("English text")`` → the text in the chosen language, English when untranslated."""

    def __init__(self, language: str = DEFAULT_LANGUAGE,
                 directory: Traversable = I18N_DIR) -> None:
        self.language = language
        self._table = load_language(language, directory)

    def __call__(self, key: str, **params: object) -> str:
        text = self._table.get(key) or key
        return text.format(**params) if params else text


def mark(text: str) -> str:
    """Mark a literal as UI text that is translated later (the scanner collects it)."""
    return text


# Calls whose string argument is a UI text key, with its position: mark("...") and
# Reason(rule, "...") anywhere; t("...") only in the UI code, where t is the translator
# (in the library a name like t may be anything, e.g. a time).
_LIBRARY_KEY_CALLS = {"mark": 0, "Reason": 1}
_UI_KEY_CALLS = {**_LIBRARY_KEY_CALLS, "t": 0}


def _literals(node: ast.expr) -> list[str]:
    """String constants of an argument, following ``a if c else b`` and implicit concatenation."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def scan_keys(paths: Iterable[Path], *, ui: bool = True) -> set[str]:
    """Every i18n key used in the given Python files (what the language files must hold).

    ``ui=False`` scans library code, where only ``mark`` and ``Reason`` carry keys.
    """
    calls = _UI_KEY_CALLS if ui else _LIBRARY_KEY_CALLS
    keys: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else (
                node.func.attr if isinstance(node.func, ast.Attribute) else None)
            position = calls.get(name or "")
            if position is not None and len(node.args) > position:
                keys.update(_literals(node.args[position]))
    return keys


def source_files(root: Path = SOURCE_ROOT) -> tuple[list[Path], list[Path]]:
    """(UI files, library files) whose text reaches the UI."""
    ui = sorted([root / "webui.py", *(root / "tabs").rglob("*.py")])
    return ui, sorted((root / "gsv_core").rglob("*.py"))


def used_keys(root: Path = SOURCE_ROOT) -> set[str]:
    """Every key the code uses: the set each language file must cover."""
    ui, library = source_files(root)
    return scan_keys(ui) | scan_keys(library, ui=False)


def write_english(directory: Path | None = None) -> int:
    """Regenerate en_US.json (key → itself) from the sources; returns the number of keys.

    Run ``python -m gsv_core.i18n`` in a checkout after adding UI text; then translate
    the new keys in the other language files (the test lists what is missing).
    ``directory`` defaults to the package's own language folder.
    """
    directory = Path(str(I18N_DIR)) if directory is None else directory
    keys = sorted(used_keys())
    path = directory / f"{DEFAULT_LANGUAGE}{_SUFFIX}"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({key: key for key in keys}, ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    tmp.replace(path)
    return len(keys)


if __name__ == "__main__":
    print(f"{write_english()} keys written to {I18N_DIR / (DEFAULT_LANGUAGE + _SUFFIX)}")
