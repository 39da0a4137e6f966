"""English grapheme-to-phoneme to ARPAbet phones.

Follows upstream's ``en_G2p`` (``GPT_SoVITS/text/english.py``): tokenise with
nltk's ``TweetTokenizer``; per word, in order: homographs, upstream's merged
CMU dictionary (``data/cmudict_v2.txt.gz``), its name dictionary for
capitalised words, letter-by-letter for short unknown words, possessive 's,
compound splitting with ``wordsegment``, and finally g2p_en's neural model
(``en_neural``).

Difference from upstream: homographs are resolved without a part-of-speech
tagger (nltk's tagger data is a download). Every word is treated as tagged
``NN``, so a homograph gets its noun reading ("the record" and "to record"
both read as the noun). Sentences without homographs are unaffected.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from gsv_core.text.en_neural import predict_phones
from gsv_core.text.en_normalize import text_normalize
from gsv_core.text.symbols import symbol_to_id
from gsv_core.text.third_party import quiet_import

__all__ = ["g2p", "text_normalize"]

_ASSUMED_TAG = "NN"
_DROPPED = frozenset({" ", "<pad>", "UW", "</s>", "<s>"})
# The final sound of a word decides how a possessive 's is read.
_VOICELESS = frozenset({"P", "T", "K", "F", "TH", "HH"})
_SIBILANT = frozenset({"S", "Z", "SH", "ZH", "CH", "JH"})
_POSSESSIVE = re.compile(r"^([a-z]+)('s)$")
# Upstream's corrections to g2p_en's homograph table.
_HOMOGRAPH_FIXES = {
    "read": (("R", "IY1", "D"), ("R", "EH1", "D"), "VBP"),
    "complex": (
        ("K", "AH0", "M", "P", "L", "EH1", "K", "S"),
        ("K", "AA1", "M", "P", "L", "EH0", "K", "S"),
        "JJ",
    ),
}


def _read_dictionary(name: str) -> dict[str, list[str]]:
    data = resources.files("gsv_core.text").joinpath(f"data/{name}").read_bytes()
    entries = {}
    for line in gzip.decompress(data).decode("utf-8").splitlines():
        word, _, phones = line.partition("\t")
        entries[word] = phones.split(" ")
    return entries


@lru_cache(maxsize=1)
def _cmu() -> dict[str, list[str]]:
    return _read_dictionary("cmudict_v2.txt.gz")


@lru_cache(maxsize=1)
def _names() -> dict[str, list[str]]:
    return _read_dictionary("en_names.txt.gz")


@lru_cache(maxsize=1)
def _homographs() -> dict[str, tuple[tuple[str, ...], tuple[str, ...], str]]:
    """g2p_en's homograph table (shipped in its package), read without importing it."""
    spec = importlib.util.find_spec("g2p_en")
    table: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {}
    if spec is not None and spec.submodule_search_locations:
        path = Path(next(iter(spec.submodule_search_locations))) / "homographs.en"
        for line in path.read_text("utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            word, first, second, tag = line.strip().split("|")
            table[word.lower()] = (tuple(first.split()), tuple(second.split()), tag)
    table.update(_HOMOGRAPH_FIXES)
    return table


@lru_cache(maxsize=1)
def _tokenize() -> Callable[[str], list[str]]:
    return quiet_import("nltk.tokenize.casual").TweetTokenizer().tokenize


@lru_cache(maxsize=1)
def _segmenter() -> Callable[[str], list[str]]:
    wordsegment = quiet_import("wordsegment")
    wordsegment.load()
    return wordsegment.segment


def _homograph(word: str, tag: str) -> list[str]:
    first, second, first_tag = _homographs()[word]
    if tag.startswith(first_tag) or (len(tag) < len(first_tag) and first_tag.startswith(tag)):
        return list(first)
    return list(second)


def _spell(word: str) -> list[str]:
    phones: list[str] = []
    for letter in word:
        if letter == "a":  # the letter name, not the article
            phones.append("EY1")
        elif not letter.isalpha():
            phones.append(letter)
        else:
            phones += _cmu()[letter]
    return phones


def _possessive(word: str) -> list[str]:
    phones = list(_lookup(word[:-2]))
    if phones[-1] in _VOICELESS:
        return [*phones, "S"]
    if phones[-1] in _SIBILANT:
        return [*phones, "AH0", "Z"]
    return [*phones, "Z"]


def _lookup(original: str) -> list[str]:
    """Phones of one word that is not a homograph (upstream's ``qryword``)."""
    word = original.lower()
    if len(word) > 1 and word in _cmu():
        return _cmu()[word]
    if original.istitle() and word in _names():
        return _names()[word]
    if len(word) <= 3:
        return _spell(word)
    if _POSSESSIVE.match(word):
        return _possessive(word)
    parts = _segmenter()(word)
    if len(parts) == 1:
        return predict_phones(word)
    return [phone for part in parts for phone in _lookup(part)]


def _word_phones(token: str) -> list[str]:
    word = token.lower()
    if re.search("[a-z]", word) is None:
        return [word]
    if len(word) == 1:
        return ["EY1"] if token == "A" else list(_cmu()[word])
    if word in _homographs():
        return _homograph(word, _ASSUMED_TAG)
    return list(_lookup(token))


def g2p(norm_text: str) -> list[str]:
    """ARPAbet phones (with punctuation) of normalised English text."""
    table = symbol_to_id()
    phones: list[str] = []
    for token in _tokenize()(norm_text):
        for phone in _word_phones(token):
            if phone in _DROPPED:
                continue
            phone = "UNK" if phone == "<unk>" else phone
            if phone in table:
                phones.append(phone)
            elif phone == "'":
                phones.append("-")
            # anything else (empty fields of the dictionary) is dropped, as upstream
    return phones
