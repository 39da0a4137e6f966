"""Fuzzing the parsers users type into (issue 14 item 5), with bounded examples for CI.

Each parser gets arbitrary input and must answer in one of its documented ways: a result,
or our own error (a ``GsvError`` naming what is wrong and what to do). Any other exception
is a crash a user could trigger by typing. Seeds are derandomized so CI sees the same
examples each run (a failure found once stays found); ``GSV_FUZZ_EXAMPLES`` and
``GSV_FUZZ_RANDOM`` search wider locally. Found so far: ``GSV_FAKE_GPU="0:1E-10"`` made a
card of 0 bytes (now refused).
"""

from __future__ import annotations

import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsv_core.api.params import parse_tts_request
from gsv_core.dataset.annotations import parse_list
from gsv_core.errors import GsvError
from gsv_core.hardware import parse_fake_gpu
from gsv_core.infer.segments import clean_segments, split_segments
from gsv_core.text import LANGUAGE_MODES

# GSV_FUZZ_EXAMPLES=1000 (and GSV_FUZZ_RANDOM=1 for new examples each run) searches wider.
FUZZ = settings(max_examples=int(os.environ.get("GSV_FUZZ_EXAMPLES", "60")), deadline=None,
                derandomize=not os.environ.get("GSV_FUZZ_RANDOM"),
                suppress_health_check=[HealthCheck.too_slow])

# Lines that look like a .list: fields from a mix of plausible and hostile pieces.
_FIELD = st.one_of(st.text(max_size=12), st.sampled_from(
    ["a.wav", "sub/b.wav", r"D:\x\c.wav", "ZH", "EN", "JA", "de", "", " ", "|", "你好。"]))
_LINE = st.lists(_FIELD, min_size=0, max_size=6).map("|".join)
_LIST_TEXT = st.one_of(st.text(max_size=200),
                       st.lists(_LINE, max_size=8).map("\n".join),
                       st.lists(_LINE, max_size=8).map("\r\n".join).map(lambda t: "\ufeff" + t))


@FUZZ
@given(_LIST_TEXT)
def test_the_list_parser_answers_every_text(text: str) -> None:
    parsed = parse_list(text)
    lines = text.lstrip("\ufeff").splitlines()
    for issue in parsed.issues:
        assert 1 <= issue.line_number <= len(lines), issue
        assert f"Line {issue.line_number}" in issue.message
    for clip in parsed.clips:
        assert "\n" not in clip.text and 1 <= clip.line_number <= len(lines)
    try:
        parsed.raise_for_issues()
    except GsvError as error:
        assert parsed.issues and error.advice
    else:
        assert not parsed.issues


# Inference text: any Unicode, plus the characters that broke front ends before.
_TEXT = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from(list("你好世界。，！？…—%$3.14 \n\tabcAB日本語한국어😀")),
            max_size=60))


@FUZZ
@given(_TEXT, st.sampled_from(sorted(LANGUAGE_MODES)), st.sampled_from(
    ["cut0", "cut1", "cut2", "cut3", "cut4", "cut5"]), st.sampled_from(["upstream",
                                                                      "improved"]))
def test_the_text_front_end_answers_every_text(text: str, mode: str, cut: str,
                                               readings: str) -> None:
    try:
        segments = split_segments(text, mode, cut, readings=readings)
        cleaned = clean_segments(segments, mode, readings=readings)
    except GsvError as error:
        assert error.message and error.advice
        return
    assert all(segment.strip() for segment in segments)
    assert len(cleaned) == len(segments)
    for segment in cleaned:
        assert all(isinstance(i, int) and i >= 0 for i in segment.phone_ids)


# /tts requests: known fields with values of every JSON type, and unknown fields.
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(
    max_size=10), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=5), inner, max_size=3), max_leaves=5)
_FIELDS = ["text", "text_lang", "ref_audio_path", "prompt_lang", "prompt_text", "top_k",
           "top_p", "temperature", "text_split_method", "batch_size", "speed_factor",
           "streaming_mode", "media_type", "seed", "repetition_penalty", "fragment_interval",
           "aux_ref_audio_paths", "parallel_infer", "split_bucket", "sample_steps"]


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(_FIELDS), st.text(max_size=8)), _JSON,
                       max_size=8))
def test_the_tts_parser_answers_every_request(raw: dict) -> None:
    request = {"text": "你好。", "text_lang": "zh", "ref_audio_path": "ref.wav",
               "prompt_lang": "zh", **raw}
    try:
        parse_tts_request(request)
    except GsvError as error:
        assert error.message and error.advice


_GPU_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.tuples(st.text(alphabet=string.ascii_letters + " -", max_size=20),
                       st.one_of(st.floats(allow_nan=True), st.integers(-5, 200),
                                 st.text(max_size=4))),
             max_size=4).map(lambda cards: ";".join(f"{n}:{gb}" for n, gb in cards)),
    st.sampled_from(["cpu", "mps", "cpu:16", "cpu:-1", "mps:abc", "cpu;NVIDIA X:8"]))


@FUZZ
@given(_GPU_TEXT)
def test_the_fake_gpu_parser_answers_every_value(spec: str) -> None:
    try:
        hardware = parse_fake_gpu(spec)
    except GsvError as error:
        assert "GSV_FAKE_GPU" in error.message and error.advice
        return
    assert all(gpu.total_memory_bytes > 0 for gpu in hardware.gpus)
