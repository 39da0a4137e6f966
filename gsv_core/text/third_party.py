"""Import the front end's third-party libraries lazily and without compile warnings.

Several of them (jieba, g2pk2, …) carry invalid escape sequences such as
``"\\d"`` in plain strings. When their ``.pyc`` is missing, Python warns while
compiling them (``DeprecationWarning`` on 3.11, ``SyntaxWarning`` from 3.12),
and under ``-W error`` — as in our test run — the warning becomes a
``SyntaxError`` and the import fails. The warnings are about their source, not
our use, so exactly those two categories are silenced for the import only.

jieba also imports ``pkg_resources``, which setuptools 80.x deprecates with a
``UserWarning`` at import (seen on a GPU machine's Python 3.12; setuptools 81+ drops the
module and jieba falls back to plain file reads): that one warning is silenced too.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType

__all__ = ["quiet_import"]


def quiet_import(name: str) -> ModuleType:
    """``importlib.import_module(name)`` with compile-time escape warnings silenced.

    An imported module is returned at once: the front end asks for pypinyin once per word,
    and the warning filters cost more than the lookup (14 % of a Mandarin label's cleaning).
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        return importlib.import_module(name)
