"""Text front end: normalisation and g2p to the GPT-SoVITS v2 phone set.

``clean_text(text, language)`` handles one language; ``split_by_language``
splits mixed text by upstream's language modes; ``phones_and_features`` does
both for an inference segment and aligns BERT features; ``cut_text`` cuts long
inference text. ``load_polyphone_backend`` picks the Mandarin polyphone reader
(the user's g2pW model, else pypinyin) to pass to them. ``readings="improved"``
(``READINGS``) reads URLs, units, times, model numbers… as a person would; the
low-level default ``"upstream"`` is upstream's reading, byte for byte. Heavy resources
(dictionaries, segmenters, OpenJTalk, MeCab) load lazily on first use, once.
"""

from gsv_core.text.bert_align import BERT_DIM, PhoneFeatures, phones_and_features
from gsv_core.text.chinese import chinese_polyphone_backend
from gsv_core.text.cleaner import SUPPORTED_LANGUAGES, CleanedText, clean_text, normalize_language
from gsv_core.text.language_split import LANGUAGE_MODES, LanguageRun, split_by_language
from gsv_core.text.polyphones import PolyphoneBackend, load_polyphone_backend
from gsv_core.text.readings import DEFAULT_READINGS, READINGS, check_readings, read_spans
from gsv_core.text.splitting import CUT_METHODS, cut_text
from gsv_core.text.symbols import UNK, phones_to_ids, symbols

__all__ = [
    "BERT_DIM",
    "CUT_METHODS",
    "DEFAULT_READINGS",
    "LANGUAGE_MODES",
    "READINGS",
    "SUPPORTED_LANGUAGES",
    "UNK",
    "CleanedText",
    "LanguageRun",
    "PhoneFeatures",
    "PolyphoneBackend",
    "check_readings",
    "chinese_polyphone_backend",
    "clean_text",
    "cut_text",
    "load_polyphone_backend",
    "normalize_language",
    "phones_and_features",
    "phones_to_ids",
    "read_spans",
    "split_by_language",
    "symbols",
]
