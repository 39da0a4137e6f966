"""Text front end: normalisation and g2p to the GPT-SoVITS v2 phone set.

``clean_text(text, language)`` handles one language; ``split_by_language``
splits mixed text by upstream's language modes; ``phones_and_features`` does
both for an inference segment and aligns BERT features; ``cut_text`` cuts long
inference text. ``load_polyphone_backend`` picks the Mandarin polyphone reader
(the user's g2pW model, else pypinyin) to pass to them. Heavy resources
(dictionaries, segmenters, OpenJTalk, MeCab) load lazily on first use, once.
"""

from gsv_core.text.bert_align import BERT_DIM, PhoneFeatures, phones_and_features
from gsv_core.text.chinese import chinese_polyphone_backend
from gsv_core.text.cleaner import SUPPORTED_LANGUAGES, CleanedText, clean_text, normalize_language
from gsv_core.text.language_split import LANGUAGE_MODES, LanguageRun, split_by_language
from gsv_core.text.polyphones import PolyphoneBackend, load_polyphone_backend
from gsv_core.text.splitting import CUT_METHODS, cut_text
from gsv_core.text.symbols import UNK, phones_to_ids, symbols

__all__ = [
    "BERT_DIM",
    "CUT_METHODS",
    "LANGUAGE_MODES",
    "SUPPORTED_LANGUAGES",
    "UNK",
    "CleanedText",
    "LanguageRun",
    "PhoneFeatures",
    "PolyphoneBackend",
    "chinese_polyphone_backend",
    "clean_text",
    "cut_text",
    "load_polyphone_backend",
    "normalize_language",
    "phones_and_features",
    "phones_to_ids",
    "split_by_language",
    "symbols",
]
