"""Issue 9 at the engine: ``InferenceOptions.readings`` reaches the target text and the
reference's prompt text, and text with nothing to read aloud is a clear error naming its lines.

The tiny models make noise, not speech; what is checked is which phones reach the GPT (a
recording wrapper around ``generate_batch``) and what the engine raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from gsv_core.errors import TextError
from gsv_core.infer import InferenceEngine, InferenceOptions
from gsv_core.infer import engine as engine_module
from gsv_core.infer.readable import SILENT_PHONES, is_spoken, nothing_readable
from gsv_core.text.symbols import phones_to_ids
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine

infer_setup = infer_fixtures.infer_setup

FAST = InferenceOptions(cut_method="cut5", max_new_tokens=8, seed=3)
UPSTREAM = replace(FAST, readings="upstream")
RULE_TEXTS = ["电池5000mAh。", "请访问https://www.example.com。"]  # a reading rule matches
PLAIN_TEXT = "今天天气很不错。我们一起去公园吧！"  # no rule matches


@pytest.fixture(scope="module")
def engine(infer_setup: InferSetup) -> InferenceEngine:
    return make_engine(infer_setup)


@pytest.fixture
def gpt_inputs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[int]]]:
    """The phone ids of every row the GPT is given, in order."""
    rows: list[list[int]] = []
    real = engine_module.generate_batch

    def recording(gpt, phones, *args, **kwargs):
        rows.extend(p.tolist() for p in phones)
        return real(gpt, phones, *args, **kwargs)

    monkeypatch.setattr(engine_module, "generate_batch", recording)
    yield rows


def _render(engine: InferenceEngine, setup: InferSetup, target: str, options: InferenceOptions,
            rows: list[list[int]], **reference: object) -> tuple[tuple[str, ...], list[list[int]]]:
    rows.clear()
    result = engine.synthesize(setup.reference(**reference), target, options)
    return result.segments, list(rows)


def test_default_readings_are_improved() -> None:
    assert InferenceOptions().readings == "improved"


@pytest.mark.parametrize("text", RULE_TEXTS)
def test_improved_readings_change_the_segments_and_phones_a_rule_matches(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_inputs: list[list[int]],
        text: str) -> None:
    up_segments, up_rows = _render(engine, infer_setup, text, UPSTREAM, gpt_inputs,
                                   prompt_free=True)
    im_segments, im_rows = _render(engine, infer_setup, text, FAST, gpt_inputs,
                                   prompt_free=True)
    assert up_rows and im_rows and up_rows != im_rows
    assert up_segments != im_segments
    if "mAh" in text:
        assert "五千毫安时" in "".join(im_segments)
        assert any(phones_to_ids(["q", "ian1", "h", "ao2", "AA", "an1"]) == row[i:i + 6]
                   for row in im_rows for i in range(len(row)))
    else:  # upstream cuts the address at its dots; improved reads it as one span
        assert len(im_segments) < len(up_segments)
        assert "example" in "".join(im_segments) and "https" not in "".join(im_segments)


def test_text_no_rule_matches_renders_the_same_in_both_readings(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_inputs: list[list[int]]) -> None:
    up_segments, up_rows = _render(engine, infer_setup, PLAIN_TEXT, UPSTREAM, gpt_inputs)
    up_audio = engine.synthesize(infer_setup.reference(), PLAIN_TEXT, UPSTREAM).audio
    im_segments, im_rows = _render(engine, infer_setup, PLAIN_TEXT, FAST, gpt_inputs)
    im_audio = engine.synthesize(infer_setup.reference(), PLAIN_TEXT, FAST).audio
    assert (up_segments, up_rows) == (im_segments, im_rows)
    assert np.array_equal(up_audio, im_audio)


def test_the_reference_prompt_text_is_read_with_the_options_readings(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_inputs: list[list[int]]) -> None:
    prompt = {"text": "电池5000mAh"}  # the prompt's phones come first in every GPT row
    _, up_rows = _render(engine, infer_setup, PLAIN_TEXT, UPSTREAM, gpt_inputs, **prompt)
    _, im_rows = _render(engine, infer_setup, PLAIN_TEXT, FAST, gpt_inputs, **prompt)
    _, free_rows = _render(engine, infer_setup, PLAIN_TEXT, FAST, gpt_inputs,
                           prompt_free=True)
    target = free_rows[0]  # the plain target reads the same in both modes
    assert up_rows[0][-len(target):] == im_rows[0][-len(target):] == target
    up_prompt, im_prompt = up_rows[0][:-len(target)], im_rows[0][:-len(target)]
    assert up_prompt != im_prompt
    assert phones_to_ids(["q", "ian1", "h", "ao2"]) == im_prompt[6:10]


def test_readings_are_part_of_the_prompt_cache_key(engine: InferenceEngine,
                                                   infer_setup: InferSetup) -> None:
    reference = infer_setup.reference(text="访问https://www.example.com。")
    engine.synthesize(reference, "你好。", FAST)
    misses = engine._prompts.misses
    engine.synthesize(reference, "世界。", FAST)
    assert engine._prompts.misses == misses  # same reference, same readings: cached
    engine.synthesize(reference, "你好。", UPSTREAM)
    assert engine._prompts.misses == misses + 1
    free = infer_setup.reference(prompt_free=True)
    engine.synthesize(free, "你好。", FAST)
    misses = engine._prompts.misses
    engine.synthesize(free, "你好。", UPSTREAM)  # no prompt text: readings change nothing
    assert engine._prompts.misses == misses


@pytest.mark.parametrize(("text", "lines"), [
    ("。。。！？\n……", [1, 2]),
    ("😀🎉", [1]),
    ("\n\n😀\n   \n！！", [3, 5]),
])
@pytest.mark.parametrize("options", [FAST, UPSTREAM])
def test_text_with_nothing_readable_is_an_error_naming_its_lines(
        engine: InferenceEngine, infer_setup: InferSetup, text: str, lines: list[int],
        options: InferenceOptions) -> None:
    with pytest.raises(TextError, match="Nothing in the text can be read aloud") as err:
        engine.synthesize(infer_setup.reference(), text, options)
    named = [int(n) for n in re.findall(r"line (\d+)", err.value.message)]
    assert named == lines
    assert "punctuation, emoji and symbols" in err.value.advice
    assert options.readings in err.value.details


def test_text_in_another_language_than_its_mode_is_unreadable(
        engine: InferenceEngine, infer_setup: InferSetup) -> None:
    with pytest.raises(TextError, match=r'line 1 \("こんにちは"\)') as err:
        engine.synthesize(infer_setup.reference(), "こんにちは",
                          replace(FAST, text_language="en"))
    assert "pick that language" in err.value.advice
    assert "(en)" in err.value.advice


@pytest.mark.parametrize("mode", [1, 2])
def test_streaming_an_unreadable_text_raises_before_any_chunk(
        engine: InferenceEngine, infer_setup: InferSetup, mode: int) -> None:
    chunks = engine.stream(infer_setup.reference(), "！！！\n😀",
                           replace(FAST, streaming_mode=mode))
    with pytest.raises(TextError, match=r"line 1 .*line 2"):
        next(chunks)


def test_unreadable_lines_are_left_out_and_the_rest_renders(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_inputs: list[list[int]]) -> None:
    text = "今天天气很不错。\n😀🎉😀🎉😀🎉\n！！！\n我们一起去公园吧。"
    segments, rows = _render(engine, infer_setup, text, FAST, gpt_inputs, prompt_free=True)
    assert segments == ("今天天气很不错。", "我们一起去公园吧。")
    assert len(rows) == 2 and all(is_spoken(row) for row in rows)


def test_silent_phones_are_not_spoken() -> None:
    assert not is_spoken(phones_to_ids([".", ",", "UNK", "停", "空", "SP"]))
    assert not is_spoken([])
    assert is_spoken(phones_to_ids([".", "n", "i3"]))
    assert {"!", "?", "…", ",", ".", "-", "UNK"} <= SILENT_PHONES


def test_the_error_names_at_most_five_lines_and_cuts_long_ones() -> None:
    text = "\n".join(["！" * 40, *["😀"] * 7])
    error = nothing_readable(text, "all_zh", "improved")
    assert error.message.count("line ") == 5 and "and 3 more lines" in error.message
    assert "！" * 29 + "…" in error.message and "！" * 31 not in error.message
