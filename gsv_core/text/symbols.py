"""The v2 phone symbol table, and conversion of phones to ids.

The GPT and SoVITS models index an embedding by position in this table, so the
order is a compatibility contract: 732 symbols, exactly as upstream GPT-SoVITS
v2 orders them (``GPT_SoVITS/text/symbols2.py``: a code-point sort of the
Mandarin, Japanese, English and punctuation phones, then ``[``/``]``, then the
sorted Korean jamo, then the sorted Cantonese phones). The table is shipped as
data (``data/symbols_v2.txt``) and checked against its SHA-256 in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

__all__ = [
    "PUNCTUATION",
    "SYMBOLS_SHA256_PREFIX",
    "UNK",
    "phones_to_ids",
    "replace_unknown",
    "symbol_to_id",
    "symbols",
]

# Punctuation kept as phones; every language maps its marks onto these.
PUNCTUATION: tuple[str, ...] = ("!", "?", "…", ",", ".", "-")
UNK = "UNK"
# First 16 hex digits of sha256("\n".join(symbols)) for the v2 table.
SYMBOLS_SHA256_PREFIX = "0771f6cd6f6201e8"


@lru_cache(maxsize=1)
def symbols() -> tuple[str, ...]:
    """All 732 v2 symbols in model order."""
    text = resources.files("gsv_core.text").joinpath("data/symbols_v2.txt").read_text("utf-8")
    return tuple(text.splitlines())


@lru_cache(maxsize=1)
def symbol_to_id() -> dict[str, int]:
    """Map each symbol to its embedding index."""
    return {symbol: index for index, symbol in enumerate(symbols())}


def phones_to_ids(phones: Iterable[str]) -> list[int]:
    """Convert phones to ids; a phone outside the table becomes ``UNK``'s id.

    The cleaner already maps unknown phones to ``UNK``, so the fallback only
    matters for phone lists built by hand.
    """
    table = symbol_to_id()
    unk = table[UNK]
    return [table.get(phone, unk) for phone in phones]


def replace_unknown(phones: Sequence[str]) -> list[str]:
    """Replace every phone that is not in the table by ``UNK`` (as upstream's cleaner)."""
    table = symbol_to_id()
    return [phone if phone in table else UNK for phone in phones]
