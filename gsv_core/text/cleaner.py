"""One entry point for every language: text → normalised text, phones, word2ph.

``clean_text`` dispatches to the language module and applies the rules that
upstream's ``GPT_SoVITS/text/cleaner.py`` applies around them: the pause
symbols ``￥`` (SP2) and ``^`` (SP3) in Mandarin, padding of very short
English phone lists with a leading comma, and ``UNK`` for any phone outside the
v2 table. ``word2ph`` exists only for Mandarin and Cantonese, where BERT
features are aligned per character.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from gsv_core.errors import TextError
from gsv_core.text.g2pw import G2pw
from gsv_core.text.polyphones import PolyphoneBackend
from gsv_core.text.readings import check_readings, read_spans
from gsv_core.text.readings.zh import read as read_mandarin
from gsv_core.text.symbols import phones_to_ids, replace_unknown

__all__ = ["SUPPORTED_LANGUAGES", "CleanedText", "clean_text", "normalize_language"]

# Language code → module in this package.
_MODULES = {
    "zh": "chinese",
    "ja": "japanese",
    "en": "english",
    "ko": "korean",
    "yue": "cantonese",
}
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(_MODULES)
# Codes as they appear in .list files and upstream's UI, mapped to ours.
_ALIASES = {"jp": "ja", "all_zh": "zh", "all_ja": "ja", "all_ko": "ko", "all_yue": "yue"}
# Mandarin pause marks: the character is read as a comma, then the comma phone
# is replaced by the pause symbol.
_PAUSE_MARKS = (("￥", "SP2"), ("^", "SP3"))
_MIN_ENGLISH_PHONES = 4


@dataclass(frozen=True)
class CleanedText:
    """The front end's output for one run of text in one language.

    norm_text: the normalised text the phones were made from.
    phones: v2 symbols; anything outside the table is already ``UNK``.
    word2ph: phones per character of ``norm_text`` (zh, yue), else ``None``.
    """

    norm_text: str
    phones: tuple[str, ...]
    word2ph: tuple[int, ...] | None

    @property
    def phone_ids(self) -> list[int]:
        """Embedding indices of ``phones``."""
        return phones_to_ids(self.phones)


def normalize_language(language: str) -> str:
    """Map a language code (any case, ``JP``, ``all_zh``…) to one of ``SUPPORTED_LANGUAGES``.

    Raises:
        TextError: the code is not a supported language (rule Q-5).
    """
    code = language.strip().lower()
    code = _ALIASES.get(code, code)
    if code not in _MODULES:
        raise TextError(
            f"Unsupported language code {language!r}.",
            f"Use one of: {', '.join(SUPPORTED_LANGUAGES)} (JP and all_* forms are accepted too).",
            rule="Q-5",
        )
    return code


def _module(language: str) -> ModuleType:
    return importlib.import_module(f"gsv_core.text.{_MODULES[language]}")


def clean_text(text: str, language: str, *,
               polyphones: PolyphoneBackend | None = None,
               readings: str = "upstream") -> CleanedText:
    """Normalise ``text`` and convert it to v2 phones.

    Args:
        text: raw text in one language (use ``language_split`` for mixed text).
        language: ``zh``, ``ja``, ``en``, ``ko`` or ``yue`` (case-insensitive;
            ``jp`` and ``all_*`` forms accepted).
        polyphones: the Mandarin polyphone reader (``polyphones.load_polyphone_backend``);
            None reads with pypinyin. Other languages ignore it.
        readings: ``"upstream"`` (default) reads exactly as upstream's cleaner;
            ``"improved"`` first rewrites URLs, units, times, model numbers… into words
            (``readings.read_spans``). One language only: Latin words in Mandarin text
            are dropped here (``readings.zh``); ``bert_align`` splits them out and reads
            them in English.

    Raises:
        TextError: unsupported language code (Q-5).
        ConfigError: ``readings`` is not a readings mode.
    """
    language = normalize_language(language)
    if check_readings(readings) == "improved":
        if not text.strip():  # nothing to read: no phones (upstream pads "" with "," in en)
            return CleanedText("", (), () if language in ("zh", "yue") else None)
        # Mandarin alone has no English reader for Latin words: they are dropped here.
        text = read_mandarin(text, keep_latin=False) if language == "zh" else read_spans(
            text, language)
    module = _module(language)
    g2pw = polyphones.model if polyphones is not None else None
    if language == "zh":
        for mark, symbol in _PAUSE_MARKS:
            if mark in text:
                return _clean_with_pause(text.replace(mark, ","), symbol, module, g2pw)
    norm_text = module.text_normalize(text)
    word2ph: tuple[int, ...] | None = None
    if language in ("zh", "yue"):
        phones, counts = module.g2p(norm_text, g2pw) if language == "zh" else module.g2p(norm_text)
        word2ph = tuple(counts)
        _check_alignment(norm_text, phones, word2ph)
    else:
        phones = module.g2p(norm_text)
        if language == "en" and len(phones) < _MIN_ENGLISH_PHONES:
            phones = [",", *phones]
    return CleanedText(norm_text, tuple(replace_unknown(phones)), word2ph)


def _clean_with_pause(text: str, symbol: str, module: ModuleType,
                      g2pw: G2pw | None) -> CleanedText:
    norm_text = module.text_normalize(text)
    phones, counts = module.g2p(norm_text, g2pw)
    phones = [symbol if phone == "," else phone for phone in phones]
    return CleanedText(norm_text, tuple(phones), tuple(counts))


def _check_alignment(norm_text: str, phones: list[str], word2ph: tuple[int, ...]) -> None:
    # A mismatch would misalign BERT features with phones; fail loudly instead.
    if len(phones) != sum(word2ph) or len(norm_text) != len(word2ph):
        raise TextError(
            "The text front end produced phones that do not line up with the text.",
            "Report this sentence as a bug; rephrasing it may avoid the problem.",
            details=f"text={norm_text!r} phones={len(phones)} word2ph={word2ph}",
        )


