"""/tts parameters: upstream api_v2's names, defaults and tolerance (issue 8 item 4)."""

from __future__ import annotations

import pytest

from gsv_core.api.params import EXTENSION_FIELDS, TtsRequest, parse_tts_request
from gsv_core.errors import ConfigError

# Upstream TTS_Request at 48b1a01, field by field (the facts the issue names).
UPSTREAM_DEFAULTS = {
    "text": None, "text_lang": None, "ref_audio_path": None, "aux_ref_audio_paths": None,
    "prompt_lang": None, "prompt_text": "", "top_k": 15, "top_p": 1, "temperature": 1,
    "text_split_method": "cut5", "batch_size": 1, "batch_threshold": 0.75,
    "split_bucket": True, "speed_factor": 1.0, "fragment_interval": 0.3, "seed": -1,
    "media_type": "wav", "streaming_mode": False, "parallel_infer": True,
    "repetition_penalty": 1.35, "sample_steps": 32, "super_sampling": False,
    "overlap_length": 2, "min_chunk_length": 16,
}
MINIMAL = {"text": "你好。", "text_lang": "zh", "ref_audio_path": "ref.wav",
           "prompt_lang": "zh"}


def _parse(**changes: object):
    return parse_tts_request({**MINIMAL, **changes})


OUR_DEFAULTS = {"readings": "improved"}  # fields upstream does not have (docs/api.md)


def test_every_upstream_field_with_its_default() -> None:
    assert TtsRequest().model_dump() == {**UPSTREAM_DEFAULTS, **OUR_DEFAULTS}
    assert set(OUR_DEFAULTS) == set(EXTENSION_FIELDS)
    assert not set(OUR_DEFAULTS) & set(UPSTREAM_DEFAULTS)


def test_readings_default_to_improved_and_upstream_can_be_asked_for() -> None:
    assert parse_tts_request(MINIMAL).options.readings == "improved"  # upstream clients
    assert _parse(readings=None).options.readings == "improved"
    assert _parse(readings="upstream").options.readings == "upstream"
    assert _parse(readings=" Upstream ").options.readings == "upstream"  # like text_lang


@pytest.mark.parametrize("given", ["fancy", "", 3, ["improved"]])
def test_other_readings_are_refused_naming_the_field(given: object) -> None:
    with pytest.raises(ConfigError, match="readings") as caught:
        _parse(readings=given)
    assert caught.value.advice


def test_a_minimal_request_gets_upstreams_defaults() -> None:
    params = parse_tts_request(MINIMAL)
    options = params.options
    assert (options.cut_method, options.batch_size, options.speed, options.fragment_interval_s,
            options.seed, options.top_k, options.top_p, options.temperature,
            options.repetition_penalty, options.streaming_mode, options.overlap_length,
            options.min_chunk_length) == ("cut5", 1, 1.0, 0.3, -1, 15, 1.0, 1.0, 1.35, 0, 2, 16)
    assert params.media_type == "wav"
    assert params.prompt_text == "" and params.extra_reference_paths == ()
    assert not params.streaming


def test_values_map_to_the_options() -> None:
    params = _parse(top_k="5", top_p=0.8, temperature=0.7, text_split_method="cut1",
                    batch_size=4, speed_factor=1.25, fragment_interval=0.5, seed=42,
                    repetition_penalty=1.2, overlap_length=3, min_chunk_length=20,
                    aux_ref_audio_paths=["a.wav", "b.wav"], prompt_text=" 我是景元。 ")
    options = params.options
    assert (options.top_k, options.top_p, options.temperature, options.cut_method,
            options.batch_size, options.speed, options.fragment_interval_s, options.seed,
            options.repetition_penalty, options.overlap_length, options.min_chunk_length) == (
        5, 0.8, 0.7, "cut1", 4, 1.25, 0.5, 42, 1.2, 3, 20)
    assert params.extra_reference_paths == ("a.wav", "b.wav")
    assert params.prompt_text == "我是景元。"


def test_the_get_example_of_upstreams_docstring() -> None:
    """Query values arrive as strings: streaming_mode=true, batch_size=1."""
    query = {"text": "先帝创业未半而中道崩殂，今天下三分，益州疲弊，此诚危急存亡之秋也。",
             "text_lang": "zh", "ref_audio_path": "archive_jingyuan_1.wav", "prompt_lang": "zh",
             "prompt_text": "我是「罗浮」云骑将军景元。不必拘谨，「将军」只是一时的身份，"
                            "你称呼我景元便可",
             "text_split_method": "cut5", "batch_size": "1", "media_type": "wav",
             "streaming_mode": "true"}
    params = parse_tts_request(query)
    assert params.streaming and params.options.streaming_mode == 1
    assert params.options.batch_size == 1 and params.options.text_language == "zh"


@pytest.mark.parametrize(("given", "mode"), [
    (False, 0), (True, 1), (0, 0), (1, 1), (2, 2), (3, 3),
    ("false", 0), ("true", 1), ("True", 1), ("2", 2), ("3", 3),
])
def test_streaming_mode_is_a_bool_or_0_to_3(given: object, mode: int) -> None:
    assert _parse(streaming_mode=given).options.streaming_mode == mode


@pytest.mark.parametrize("given", [4, -1, "fast", "4"])
def test_other_streaming_modes_are_refused(given: object) -> None:
    with pytest.raises(ConfigError, match="streaming_mode must be 0, 1, 2, 3"):
        _parse(streaming_mode=given)


def test_tolerance_that_existing_clients_rely_on() -> None:
    params = _parse(top_p=1.7, aux_ref_audio_paths=[], text_lang="AUTO", prompt_lang="auto",
                    prompt_text="", media_type=None, return_fragment=True,
                    some_future_field="x", sample_steps=8, super_sampling=True,
                    batch_threshold=0.5, split_bucket=False)
    assert params.options.top_p == 1.0
    assert params.extra_reference_paths == ()
    assert params.options.text_language == "auto" and params.prompt_language == "auto"
    assert params.prompt_text == ""
    assert params.media_type == "wav"


def test_without_parallel_infer_segments_decode_one_at_a_time() -> None:
    assert _parse(batch_size=8, parallel_infer=False).options.batch_size == 1
    assert _parse(batch_size=8, parallel_infer="true").options.batch_size == 8


@pytest.mark.parametrize(("missing", "message"), [
    ("ref_audio_path", "ref_audio_path is required"),
    ("text", "text is required"),
    ("text_lang", "text_lang is required"),
    ("prompt_lang", "prompt_lang is required"),
])
def test_required_fields_are_named(missing: str, message: str) -> None:
    request = {k: v for k, v in MINIMAL.items() if k != missing}
    with pytest.raises(ConfigError, match=message):
        parse_tts_request(request)


def test_a_clip_set_with_set_refer_audio_replaces_ref_audio_path() -> None:
    request = {k: v for k, v in MINIMAL.items() if k != "ref_audio_path"}
    assert parse_tts_request(request, has_default_reference=True).reference_path is None


@pytest.mark.parametrize(("changes", "field"), [
    ({"text_lang": "xx"}, "text_lang: xx is not supported"),
    ({"prompt_lang": "fr"}, "prompt_lang: fr is not supported"),
    ({"media_type": "mp3"}, "media_type: mp3"),
    ({"text_split_method": "cut9"}, "text_split_method:cut9"),
    ({"top_k": "many"}, "top_k"),
    ({"top_k": -3}, "top_k"),
    ({"temperature": 0}, "temperature"),
    ({"speed_factor": 50}, "speed_factor"),
    ({"fragment_interval": -1}, "fragment_interval"),
    ({"seed": -7}, "seed"),
    ({"batch_size": 0}, "batch_size"),
    ({"text": "   "}, "text is required"),
])
def test_bad_values_are_config_errors_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _parse(**changes)
    assert field in str(caught.value)


def test_aac_without_ffmpeg_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ConfigError, match="ffmpeg"):
        _parse(media_type="aac")
