"""Text front end: normalisation and g2p to the GPT-SoVITS v2 phone set.

``clean_text(text, language)`` is the entry point for one language;
``language_split`` handles mixed text and ``splitting`` cuts long inference
text. Heavy resources (dictionaries, segmenters, OpenJTalk, MeCab) load lazily
on first use, once.
"""

from gsv_core.text.cleaner import SUPPORTED_LANGUAGES, CleanedText, clean_text, normalize_language
from gsv_core.text.symbols import UNK, phones_to_ids, symbols

__all__ = [
    "SUPPORTED_LANGUAGES",
    "UNK",
    "CleanedText",
    "clean_text",
    "normalize_language",
    "phones_to_ids",
    "symbols",
]
