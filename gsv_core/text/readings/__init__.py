"""Readings beyond upstream: spans (URLs, units, dates, model numbers…) → words.

Upstream's cleaner drops or misreads many spans of real text: ``TED2024``,
``3:30 p.m.``, ``https://…``, ``50-80%``. ``read_spans(text, language)``
rewrites the spans a rule matches into plain words of ``language`` that the
existing cleaner then turns into phones, so the phone path itself stays
upstream's. The shared, language-independent finders live in ``shared``; each
language module (``zh``, ``en``, ``ja``, ``yue``, ``ko``) exports
``read(text) -> str`` and is imported lazily; a language without a module
reads as identity.

``readings="upstream"`` (the low-level default) leaves text untouched, byte
for byte; ``"improved"`` applies these rules.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from types import ModuleType

from gsv_core.errors import ConfigError

__all__ = ["DEFAULT_READINGS", "READINGS", "check_readings", "read_spans", "rules_matched"]

READINGS: tuple[str, ...] = ("improved", "upstream")
DEFAULT_READINGS = "improved"

# Language code → module of this package with ``read(text) -> str``.
_REGISTRY = {
    "zh": "gsv_core.text.readings.zh",
    "en": "gsv_core.text.readings.en",
    "ja": "gsv_core.text.readings.ja",
    "ko": "gsv_core.text.readings.ko",
    "yue": "gsv_core.text.readings.yue",
}


def check_readings(value: str) -> str:
    """Return ``value`` if it names a readings mode, so callers fail before any work.

    Raises:
        ConfigError: ``value`` is not one of ``READINGS``.
    """
    if value not in READINGS:
        raise ConfigError(
            f"readings: {value!r} is not a readings mode.",
            f"Use one of: {', '.join(READINGS)}.",
        )
    return value


def _identity(text: str) -> str:
    return text


def _no_rules(text: str) -> tuple[str, ...]:
    return ()


@cache
def _module(language: str) -> ModuleType | None:
    # Imported on first use: a module that does not exist (yet) reads as identity,
    # but an import error inside an existing module must surface.
    name = _REGISTRY.get(language)
    if name is None:
        return None
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def _reader(language: str) -> Callable[[str], str]:
    module = _module(language)
    return _identity if module is None else module.read


def read_spans(text: str, language: str) -> str:
    """Rewrite the spans of ``text`` that a reading rule matches into words of ``language``.

    Args:
        text: raw text of one run (or one segment in a single-language mode).
        language: ``zh``, ``en``, ``ja``, ``ko`` or ``yue`` (the cleaner's codes).

    Returns:
        The text with matched spans replaced; text no rule matches is unchanged.
    """
    if not text.strip():
        return text
    return _reader(language)(text)


def rules_matched(text: str, language: str) -> tuple[str, ...]:
    """Names of the rules that match ``text`` read in ``language``, in order, without repeats.

    The shared span kinds (``shared.find_spans``: "url", "unit"…) and, when the language
    module has a ``rules_matched(text)``, its own rule names. Why: the golden-corpus diff
    names the rule behind every changed row, and a user can see why a span was rewritten.
    """
    from gsv_core.text.readings.shared import find_spans

    module = _module(language)
    own = getattr(module, "rules_matched", _no_rules) if module is not None else _no_rules
    return tuple(dict.fromkeys([span.kind for span in find_spans(text)] + list(own(text))))
