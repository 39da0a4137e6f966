"""Import the front end's third-party libraries lazily and without compile warnings.

Several of them (jieba, g2pk2, …) carry invalid escape sequences such as
``"\\d"`` in plain strings. When their ``.pyc`` is missing, Python warns while
compiling them (``DeprecationWarning`` on 3.11, ``SyntaxWarning`` from 3.12),
and under ``-W error`` — as in our test run — the warning becomes a
``SyntaxError`` and the import fails. The warnings are about their source, not
our use, so exactly those two categories are silenced for the import only.
"""

from __future__ import annotations

import importlib
import warnings
from types import ModuleType

__all__ = ["quiet_import"]


def quiet_import(name: str) -> ModuleType:
    """``importlib.import_module(name)`` with compile-time escape warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)
