"""Mandarin tone sandhi over a jieba POS segmentation.

Two steps, as upstream's ``ToneSandhi`` (``GPT_SoVITS/text/tone_sandhi.py``,
from PaddleSpeech): ``merge_for_sandhi`` joins words whose tones interact
(不/一 with their neighbour, reduplications, runs of third tones, 儿), then
``apply_sandhi`` rewrites the finals of one word: 不 and 一 changes, neutral
tones, and third-tone sandhi. Finals are pypinyin ``FINALS_TONE3`` strings
whose last character is the tone digit (5 = neutral).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from gsv_core.text.third_party import quiet_import

__all__ = ["apply_sandhi", "merge_for_sandhi"]

Segment = list[list[str]]  # [[word, pos], ...]

_PUNCTUATION = "：，；。？！“”‘’':,;.?!"


@lru_cache(maxsize=2)
def _word_set(name: str) -> frozenset[str]:
    text = resources.files("gsv_core.text").joinpath(f"data/{name}").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line)


def _neutral_words() -> frozenset[str]:
    return _word_set("zh_neutral_tone_words.txt")


def _not_neutral_words() -> frozenset[str]:
    return _word_set("zh_not_neutral_tone_words.txt")


def _with_tone(final: str, tone: str) -> str:
    return final[:-1] + tone


def _finals(word: str) -> list[str]:
    """The word's finals with tones (a new list: the sandhi rules change it in place)."""
    return list(_word_finals(word))


@lru_cache(maxsize=1 << 16)
def _word_finals(word: str) -> tuple[str, ...]:
    # pypinyin's answer for a word never changes (no custom dictionary is loaded), and the
    # words of a dataset repeat: a cache halves the cost of a Mandarin label.
    pypinyin = quiet_import("pypinyin")
    style = pypinyin.Style.FINALS_TONE3
    return tuple(pypinyin.lazy_pinyin(word, neutral_tone_with_five=True, style=style))


def _all_third(finals: list[str]) -> bool:
    return all(final[-1] == "3" for final in finals)


def _split_word(word: str) -> list[str]:
    """Split a word in two around its shortest search-mode sub-word."""
    return list(_word_halves(word))


@lru_cache(maxsize=1 << 14)
def _word_halves(word: str) -> tuple[str, ...]:
    shortest = sorted(quiet_import("jieba").cut_for_search(word), key=len)[0]
    if word.find(shortest) == 0:
        return (shortest, word[len(shortest) :])
    return (word[: -len(shortest)], shortest)


# --- per-word rules ----------------------------------------------------------


def _bu_sandhi(word: str, finals: list[str]) -> list[str]:
    if len(word) == 3 and word[1] == "不":  # 看不懂
        finals[1] = _with_tone(finals[1], "5")
        return finals
    for i, char in enumerate(word):
        if char == "不" and i + 1 < len(word) and finals[i + 1][-1] == "4":  # 不怕
            finals[i] = _with_tone(finals[i], "2")
    return finals


def _yi_sandhi(word: str, finals: list[str]) -> list[str]:
    if "一" in word and all(c.isnumeric() for c in word if c != "一"):  # 一零零
        return finals
    if len(word) == 3 and word[1] == "一" and word[0] == word[-1]:  # 看一看
        finals[1] = _with_tone(finals[1], "5")
    elif word.startswith("第一"):
        finals[1] = _with_tone(finals[1], "1")
    else:
        for i, char in enumerate(word):
            if char == "一" and i + 1 < len(word):
                if finals[i + 1][-1] == "4":  # 一段
                    finals[i] = _with_tone(finals[i], "2")
                elif word[i + 1] not in _PUNCTUATION:  # 一天
                    finals[i] = _with_tone(finals[i], "4")
    return finals


def _last_is_neutral(
    word: str, pos: str, neutral: frozenset[str], not_neutral: frozenset[str]
) -> bool:
    """The first rules of upstream's neutral-tone chain, which all neutralise the last syllable."""
    last, long_word = word[-1], len(word) > 1
    return (
        last in "吧呢哈啊呐噻嘛吖嗨呐哦哒额滴哩哟喽啰耶喔诶的地得"  # particles
        or (len(word) == 1 and word in "了着过" and pos in {"ul", "uz", "ug"})  # 走了, 看着
        or (long_word and last in "们子" and pos in {"r", "n"} and word not in not_neutral)
        or (long_word and last in "上下里" and pos in {"s", "l", "f"})  # 桌上, 家里
        or (long_word and last in "来去" and word[-2] in "上下进出回过起开")  # 上来, 下去
    )


def _neutral_sandhi(word: str, pos: str, finals: list[str]) -> list[str]:
    neutral, not_neutral = _neutral_words(), _not_neutral_words()
    for j in range(1, len(word)):  # reduplicated nouns, verbs, adjectives: 奶奶, 试试
        if word[j] == word[j - 1] and pos[0] in "nva" and word not in not_neutral:
            finals[j] = _with_tone(finals[j], "5")
    ge = word.find("个")
    if _last_is_neutral(word, pos, neutral, not_neutral):
        finals[-1] = _with_tone(finals[-1], "5")
    elif (ge >= 1 and (word[ge - 1].isnumeric() or word[ge - 1] in "几有两半多各整每做是")) or (
        word == "个"
    ):  # 个 as a measure word
        finals[ge] = _with_tone(finals[ge], "5")
    elif word in neutral or word[-2:] in neutral:
        finals[-1] = _with_tone(finals[-1], "5")

    parts = _split_word(word)
    split_at = len(parts[0])
    halves = [finals[:split_at], finals[split_at:]]
    for i, part in enumerate(parts):
        if part in neutral or part[-2:] in neutral:
            halves[i][-1] = _with_tone(halves[i][-1], "5")
    return halves[0] + halves[1]


def _third_sandhi(word: str, finals: list[str]) -> list[str]:
    if len(word) == 2 and _all_third(finals):
        finals[0] = _with_tone(finals[0], "2")
    elif len(word) == 3:
        parts = _split_word(word)
        if _all_third(finals):
            if len(parts[0]) == 2:  # 蒙古/包
                finals[0] = _with_tone(finals[0], "2")
                finals[1] = _with_tone(finals[1], "2")
            elif len(parts[0]) == 1:  # 纸/老虎
                finals[1] = _with_tone(finals[1], "2")
        else:
            split_at = len(parts[0])
            halves = [finals[:split_at], finals[split_at:]]
            for i, half in enumerate(halves):
                if _all_third(half) and len(half) == 2:  # 所有/人
                    half[0] = _with_tone(half[0], "2")
                elif (
                    i == 1 and not _all_third(half) and half[0][-1] == "3"
                    and halves[0][-1][-1] == "3"
                ):  # 好/喜欢
                    halves[0][-1] = _with_tone(halves[0][-1], "2")
                finals = halves[0] + halves[1]
    elif len(word) == 4:  # idioms: two words of two
        halves = [finals[:2], finals[2:]]
        finals = []
        for half in halves:
            if _all_third(half):
                half[0] = _with_tone(half[0], "2")
            finals += half
    return finals


def apply_sandhi(word: str, pos: str, finals: list[str]) -> list[str]:
    """Return the finals of ``word`` after the 不, 一, neutral-tone and third-tone rules."""
    finals = _bu_sandhi(word, finals)
    finals = _yi_sandhi(word, finals)
    finals = _neutral_sandhi(word, pos, finals)
    return _third_sandhi(word, finals)


# --- merging words before the per-word rules ---------------------------------


def _merge_bu(segment: Segment) -> Segment:
    merged: Segment = []
    last = ""
    for word, pos in segment:
        if last == "不":
            word = last + word
        if word != "不":
            merged.append([word, pos])
        last = word
    if last == "不":
        merged.append([last, "d"])
    return merged


def _merge_yi(segment: Segment) -> Segment:
    # 1) verb 一 verb (听 一 听 → 听一听)
    merged: Segment = []
    i = 0
    while i < len(segment):
        word, pos = segment[i]
        if i >= 1 and word == "一" and i + 1 < len(segment):
            previous = merged[-1] if merged else segment[i - 1]
            following = segment[i + 1]
            if previous[0] == following[0] and previous[1] == "v" and following[1] == "v":
                merged[-1] = [previous[0] + "一" + following[0], previous[1]]
                i += 2
                continue
        merged.append([word, pos])
        i += 1
    # 2) a lone 一 joins the next word
    result: Segment = []
    for word, pos in merged:
        if result and result[-1][0] == "一":
            result[-1][0] += word
        else:
            result.append([word, pos])
    return result


def _is_reduplication(word: str) -> bool:
    return len(word) == 2 and word[0] == word[1]


def _merge_third_tones(segment: Segment, whole_words: bool) -> Segment:
    """Join neighbours in third tone (whole words, or last and first syllable)."""
    finals = [_finals(word) for word, _ in segment]
    merged: Segment = []
    merged_last = [False] * len(segment)
    for i, (word, pos) in enumerate(segment):
        if whole_words:
            both_third = i >= 1 and _all_third(finals[i - 1]) and _all_third(finals[i])
        else:
            both_third = i >= 1 and finals[i - 1][-1][-1] == "3" and finals[i][0][-1] == "3"
        if (
            both_third
            and not merged_last[i - 1]
            and not _is_reduplication(segment[i - 1][0])
            and len(segment[i - 1][0]) + len(word) <= 3
        ):
            merged[-1][0] += word
            merged_last[i] = True
        else:
            merged.append([word, pos])
    return merged


def _merge_er(segment: Segment) -> Segment:
    merged: Segment = []
    for i, (word, pos) in enumerate(segment):
        if i >= 1 and word == "儿" and segment[i - 1][0] != "#":
            merged[-1][0] += word
        else:
            merged.append([word, pos])
    return merged


def _merge_reduplication(segment: Segment) -> Segment:
    merged: Segment = []
    for word, pos in segment:
        if merged and word == merged[-1][0]:
            merged[-1][0] += word
        else:
            merged.append([word, pos])
    return merged


def merge_for_sandhi(segment: list[tuple[str, str]]) -> Segment:
    """Merge jieba ``(word, pos)`` pairs so that the sandhi rules see whole units."""
    merged = _merge_bu([[word, pos] for word, pos in segment])
    merged = _merge_yi(merged)
    merged = _merge_reduplication(merged)
    merged = _merge_third_tones(merged, whole_words=True)
    merged = _merge_third_tones(merged, whole_words=False)
    return _merge_er(merged)
