"""Mandarin readings: shared spans and Latin text → words the zh cleaner reads."""

from __future__ import annotations

__all__ = ["read"]


def read(text: str) -> str:
    """Return ``text`` with matched spans read as Mandarin words (skeleton: identity)."""
    return text
