"""The v2 symbol table and phone-id conversion."""

from __future__ import annotations

import hashlib

from gsv_core.text import UNK, phones_to_ids, symbols
from gsv_core.text.symbols import PUNCTUATION, SYMBOLS_SHA256_PREFIX, replace_unknown


def test_symbol_table_has_732_symbols_in_upstream_order() -> None:
    table = symbols()
    assert len(table) == 732
    assert len(set(table)) == 732
    digest = hashlib.sha256("\n".join(table).encode("utf-8")).hexdigest()
    assert digest[:16] == SYMBOLS_SHA256_PREFIX


def test_punctuation_and_pauses_are_symbols() -> None:
    table = set(symbols())
    assert set(PUNCTUATION) <= table
    assert {"SP", "SP2", "SP3", UNK, "_", "[", "]", "空", "停"} <= table


def test_unknown_phone_maps_to_unk_id() -> None:
    unk_id = symbols().index(UNK)
    assert phones_to_ids(["a1", "no-such-phone"]) == [symbols().index("a1"), unk_id]
    assert replace_unknown(["AA1", "#", "「"]) == ["AA1", UNK, UNK]
