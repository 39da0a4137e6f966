"""Front-end rules that are not covered by the golden rows: errors, numbers, modes."""

from __future__ import annotations

import random

import pytest
import torch

from gsv_core.errors import TextError
from gsv_core.text import SUPPORTED_LANGUAGES, clean_text, normalize_language
from gsv_core.text.bert_align import BERT_DIM, phones_and_features, phones_and_features_batch
from gsv_core.text.chinese import chinese_polyphone_backend
from gsv_core.text.en_numbers import cardinal, ordinal_suffix, ordinal_words, paired
from gsv_core.text.language_split import LANGUAGE_MODES, split_by_language
from gsv_core.text.zh_numbers import num2str, verbalize_cardinal


@pytest.mark.parametrize("code", ["fr", "", "zh-cn", "english"])
def test_q5_unsupported_language_names_code_and_supported_list(code: str) -> None:
    with pytest.raises(TextError) as info:
        clean_text("hello", code)
    error = info.value
    assert repr(code) in error.message
    assert all(lang in error.advice for lang in SUPPORTED_LANGUAGES)
    assert error.rule == "Q-5"


def test_q5_unknown_language_mode() -> None:
    with pytest.raises(TextError, match="klingon"):
        split_by_language("hello", "klingon")


@pytest.mark.parametrize(("code", "expected"), [("ZH", "zh"), ("JP", "ja"), ("all_yue", "yue"),
                                                ("Ko", "ko"), (" en ", "en")])
def test_language_codes_as_in_list_files(code: str, expected: str) -> None:
    assert normalize_language(code) == expected


@pytest.mark.parametrize(("digits", "words"), [
    ("0", "零"), ("10", "十"), ("15", "十五"), ("1205", "一千二百零五"),
    ("100000", "十万"), ("120000000", "一亿二千万"), ("1005", "一千零五"),
])
def test_zh_cardinals(digits: str, words: str) -> None:
    assert verbalize_cardinal(digits) == words


@pytest.mark.parametrize(("number", "words"), [
    ("3.20", "三点二零"), ("3.2", "三点二"), (".5", "零点五"), ("0.05", "零点零五"),
])
def test_zh_decimals(number: str, words: str) -> None:
    assert num2str(number) == words


def test_en_numbers_match_inflect() -> None:
    """Our speller stands in for inflect (slow import); they must agree."""
    inflect = pytest.importorskip("inflect")
    engine = inflect.engine()
    rng = random.Random(4)
    numbers = list(range(0, 2100)) + [rng.randrange(10**k) for k in range(4, 30) for _ in range(30)]
    for n in numbers:
        assert cardinal(n) == engine.number_to_words(n)
        assert cardinal(n, andword="") == engine.number_to_words(n, andword="")
        assert ordinal_suffix(str(n)) == engine.ordinal(str(n))
        assert ordinal_words(cardinal(n)) == engine.ordinal(engine.number_to_words(n))
    for n in range(1000, 10000, 7):
        expected = engine.number_to_words(n, andword="", zero="oh", group=2).replace(", ", " ")
        assert paired(n) == expected


def test_english_short_phone_lists_get_a_leading_comma() -> None:
    assert clean_text("Go", "en").phones[0] == ","
    assert clean_text("Hello there my friend", "en").phones[0] != ","


def test_unknown_english_word_uses_the_neural_fallback() -> None:
    phones = clean_text("Zorblax", "en").phones
    assert len(phones) >= 4
    assert all(p != "UNK" for p in phones)


def test_mandarin_pause_marks_become_pause_symbols() -> None:
    assert "SP2" in clean_text("我想￥休息", "zh").phones
    assert "SP3" in clean_text("今天^天气", "zh").phones


def test_word2ph_only_for_chinese_and_cantonese() -> None:
    for language, text in [("zh", "你好"), ("yue", "你好"), ("en", "hello"), ("ja", "こんにちは"),
                           ("ko", "안녕")]:
        cleaned = clean_text(text, language)
        if language in ("zh", "yue"):
            assert cleaned.word2ph is not None
            assert sum(cleaned.word2ph) == len(cleaned.phones)
            assert len(cleaned.word2ph) == len(cleaned.norm_text)
        else:
            assert cleaned.word2ph is None


def test_polyphone_backend_is_reported() -> None:
    assert chinese_polyphone_backend() == "pypinyin"


@pytest.mark.parametrize("mode", LANGUAGE_MODES)
def test_every_mode_covers_the_text(mode: str) -> None:
    text = "我用Python写代码，今日はいい天気、안녕하세요 OK."
    runs = split_by_language(text, mode)
    assert "".join(run.text for run in runs) == text
    assert all(run.language in SUPPORTED_LANGUAGES for run in runs)


def test_chosen_language_keeps_english_runs_english() -> None:
    runs = split_by_language("我喜欢用iPhone拍照。", "ja")
    expected = [("ja", "我喜欢用"), ("en", "iPhone"), ("ja", "拍照。")]
    assert [(r.language, r.text) for r in runs] == expected
    assert [r.language for r in split_by_language("你好 world", "en")] == ["en"]


def test_auto_mode_detects_scripts() -> None:
    runs = split_by_language("这是中文，これは日本語です。안녕!", "auto")
    assert [r.language for r in runs] == ["zh", "ja", "ko"]
    assert [r.language for r in split_by_language("我好鍾意飲茶。", "auto_yue")] == ["yue"]


def test_features_are_zeros_without_bert() -> None:
    result = phones_and_features("我喜欢用iPhone拍照。", "zh")
    assert result.features.shape == (BERT_DIM, len(result.phones))
    assert not result.bert_used
    assert torch.count_nonzero(result.features) == 0


class _FakeBert:
    """Stands in for gsv_core.features.BertFeatures: one distinct vector per character."""

    def phone_features(self, text: str, word2ph: list[int]) -> torch.Tensor:
        per_char = torch.arange(1, len(text) + 1, dtype=torch.float32)[:, None].repeat(1, BERT_DIM)
        return per_char.repeat_interleave(torch.tensor(list(word2ph)), dim=0).T


def test_chinese_runs_get_bert_features_aligned_by_word2ph() -> None:
    result = phones_and_features("你好，世界！Hello there.", "zh", bert=_FakeBert())
    assert result.bert_used
    zh = clean_text("你好，世界！", "zh")
    n_zh = len(zh.phones)
    assert result.features.shape == (BERT_DIM, len(result.phones))
    expected = torch.tensor([i + 1 for i, n in enumerate(zh.word2ph) for _ in range(n)],
                            dtype=torch.float32)
    assert torch.equal(result.features[0, :n_zh], expected)
    assert torch.count_nonzero(result.features[:, n_zh:]) == 0


class _FakeBatchBert(_FakeBert):
    """Also batched, and counts its calls."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def phone_features_batch(self, texts: list[str], word2phs: list[list[int]]
                             ) -> list[torch.Tensor]:
        self.batches.append(list(texts))
        return [self.phone_features(t, w) for t, w in zip(texts, word2phs, strict=True)]


def test_batched_segments_equal_one_at_a_time_with_one_bert_call() -> None:
    texts = ["你好，世界！Hello there.", "好", "我们一起去公园吧。", "Just English."]
    bert = _FakeBatchBert()
    batched = phones_and_features_batch(texts, "zh", bert)
    assert len(bert.batches) == 1 and len(bert.batches[0]) == 3  # the three Chinese runs
    for text, got in zip(texts, batched, strict=True):
        alone = phones_and_features(text, "zh", bert=_FakeBert())
        assert got.phones == alone.phones and got.phone_ids == alone.phone_ids
        assert got.norm_text == alone.norm_text and got.bert_used == alone.bert_used
        assert torch.equal(got.features, alone.features)
    assert phones_and_features_batch(["Only English."], "zh", _FakeBatchBert())[0].bert_used \
        is False


def test_short_segment_is_retried_with_a_leading_full_stop() -> None:
    result = phones_and_features("好", "zh")
    assert result.phones[0] == "."
    assert len(result.phones) == 3
