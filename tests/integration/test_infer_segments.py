"""Target text → segments → phones and BERT (upstream's TextPreprocessor rules, X-2..X-4)."""

from __future__ import annotations

import pytest
import torch

from gsv_core.errors import ConfigError, TextError
from gsv_core.infer.segments import BERT_MAX_CHARS, segment_features, split_segments
from gsv_core.text import CUT_METHODS
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine

infer_setup = infer_fixtures.infer_setup


def test_every_segment_ends_with_a_mark_in_its_language() -> None:
    assert split_segments("今天天气很不错\n我们一起去公园吧", "all_zh", "cut0") == [
        "今天天气很不错。", "我们一起去公园吧。"]
    assert split_segments("Hello there my friend", "en", "cut0") == ["Hello there my friend."]


def test_a_short_opening_gets_a_leading_full_stop() -> None:
    # upstream: a first clause under 4 characters is prefixed so it is not swallowed
    assert split_segments("好的，我们走吧", "all_zh", "cut0") == ["。好的，我们走吧。"]
    assert split_segments("今天天气很不错", "all_zh", "cut0") == ["今天天气很不错。"]


def test_blank_lines_decimals_and_punctuation_only_lines_hold() -> None:
    text = "第一句话在这里。\n\n\n\n圆周率是3.14，对吧。\n！！！？\n……\n最后一句话了。"
    for method in CUT_METHODS:
        segments = split_segments(text, "all_zh", method)
        joined = "".join(segments)
        assert "3.14" in joined, method
        assert all(s.strip("！？。，…") for s in segments), method  # none is only marks
        assert "\n" not in joined


def test_short_segments_are_merged() -> None:
    segments = split_segments("好。是。对的。我们走吧。", "all_zh", "cut5")
    assert all(len(s) >= 5 for s in segments[:-1])
    assert "".join(segments).endswith("我们走吧。")


def test_segments_longer_than_bert_s_window_are_split() -> None:
    text = "这是测试的句子，" * 100  # 800 characters, one cut0 segment
    segments = split_segments(text, "all_zh", "cut0")
    assert len(segments) >= 2 and all(len(s) <= BERT_MAX_CHARS for s in segments)
    assert "".join(segments) == text  # cut after marks, nothing lost
    assert all(s.endswith("，") for s in segments)


@pytest.mark.parametrize("text", ["", " ", "\n\n\n"])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(TextError, match="empty"):
        split_segments(text, "all_zh", "cut1")


def test_unknown_cut_method_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cut_method") as err:
        split_segments("你好世界。", "all_zh", "cut9")
    assert "cut5" in err.value.advice


def test_bert_is_real_for_chinese_and_zero_for_other_languages(infer_setup: InferSetup) -> None:
    bert = make_engine(infer_setup, load=False)._bert_model()
    (zh,) = segment_features(["今天天气很不错。"], "all_zh", bert)
    (en,) = segment_features(["Hello there my friend."], "en", bert)
    (mixed,) = segment_features(["今天天气 very good 很不错。"], "zh", bert)
    assert zh.bert.shape == (1024, zh.phone_ids.shape[0]) and zh.bert.abs().sum() > 0
    assert en.bert.shape == (1024, en.phone_ids.shape[0]) and not en.bert.any()
    zero_columns = (mixed.bert == 0).all(dim=0)
    assert zero_columns.any() and not zero_columns.all()  # English run zeros, Chinese real
    assert zh.phone_ids.dtype == torch.long
