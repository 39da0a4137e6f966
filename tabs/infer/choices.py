"""The Inference tab's fixed choice lists: language modes and cut methods, with their labels.

The values are what ``gsv_core.text`` and ``InferenceOptions`` take (GPT-SoVITS v2's names);
the labels are UI text, translated where the dropdowns are built.
"""

from __future__ import annotations

from gsv_core.i18n import mark

# (label, language mode) as GPT-SoVITS v2 names them; the mode is what the text front end takes.
TEXT_LANGUAGES = (
    (mark("Chinese"), "all_zh"),
    (mark("English"), "en"),
    (mark("Japanese"), "all_ja"),
    (mark("Cantonese"), "all_yue"),
    (mark("Korean"), "all_ko"),
    (mark("Chinese-English mix"), "zh"),
    (mark("Japanese-English mix"), "ja"),
    (mark("Cantonese-English mix"), "yue"),
    (mark("Korean-English mix"), "ko"),
    (mark("Multilingual mix"), "auto"),
    (mark("Multilingual mix (Cantonese)"), "auto_yue"),
)
SPLIT_METHODS = (
    (mark("No split"), "cut0"),
    (mark("Every 4 sentences"), "cut1"),
    (mark("Every 50 characters"), "cut2"),
    (mark("At Chinese full stops"), "cut3"),
    (mark("At English full stops"), "cut4"),
    (mark("At every punctuation mark"), "cut5"),
)
