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

from gsv_core.errors import ConfigError

__all__ = ["DEFAULT_READINGS", "READINGS", "check_readings", "read_spans"]

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


@cache
def _reader(language: str) -> Callable[[str], str]:
    # Imported on first use: a module that does not exist (yet) reads as identity,
    # but an import error inside an existing module must surface.
    name = _REGISTRY.get(language)
    if name is None:
        return _identity
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return _identity
    return module.read


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
