"""ASR settings: languages as annotations.py reads them, validation naming the field, and the
device chosen from the machine profile (CUDA only where the engine's runtime can use it)."""

from __future__ import annotations

import pytest

from gsv_core.dataset.annotations import LANGUAGE_CODES
from gsv_core.dataset.asr import (
    TRAINED_LANGUAGES,
    AsrOptions,
    DeviceChoice,
    join_texts,
    load_transcriber,
    normalise_language,
    resolve_device,
)
from gsv_core.errors import ConfigError, HardwareError
from gsv_core.hardware import detect_machine


@pytest.mark.parametrize(("typed", "code"), [("zh", "zh"), ("ZH", "zh"), ("JP", "ja"),
                                             ("ja", "ja"), ("Yue", "yue"), ("EN", "en"),
                                             ("ko", "ko"), ("auto", "auto"), ("AUTO", "auto")])
def test_languages_are_read_as_the_list_reader_reads_them(typed: str, code: str) -> None:
    assert normalise_language(typed) == code
    assert AsrOptions(model="m", language=typed).language == code


def test_every_language_written_is_one_the_list_reader_accepts() -> None:
    assert set(TRAINED_LANGUAGES) == set(LANGUAGE_CODES.values())


@pytest.mark.parametrize("typed", ["de", "fr", "", "zh-CN"])
def test_other_languages_are_refused_with_q5(typed: str) -> None:
    with pytest.raises(ConfigError, match="language") as caught:
        AsrOptions(model="m", language=typed)
    assert caught.value.rule == "Q-5"


@pytest.mark.parametrize(("field", "value", "named"), [
    ("model", "  ", "model"), ("engine", "openai", "engine"), ("precision", "fp8", "precision"),
    ("device", "gpu0", "device"), ("device", "cuda:x", "device"), ("beam_size", 0, "beam_size"),
    ("beam_size", 21, "beam_size"), ("beam_size", True, "beam_size"),
    ("beam_size", 2.5, "beam_size")])
def test_bad_settings_name_their_field(field: str, value: object, named: str) -> None:
    settings = {"model": "m", field: value}
    with pytest.raises(ConfigError, match=f"ASR setting {named}"):
        AsrOptions(**settings)


def test_device_spellings_are_normalised() -> None:
    assert AsrOptions(model="m", device=" CUDA:1 ").device == "cuda:1"
    assert AsrOptions(model="m", device="").device == "auto"


CPU_ONLY = detect_machine({"GSV_FAKE_GPU": "cpu"})
TWO_CARDS = detect_machine({"GSV_FAKE_GPU": "NVIDIA GeForce RTX 3060:12;NVIDIA GeForce RTX "
                                             "4090:24"})


def cuda(count: int):
    return lambda engine: count


def test_auto_without_a_gpu_is_the_cpu_saying_why() -> None:
    assert resolve_device("auto", CPU_ONLY, "whisper", cuda(0)) == DeviceChoice(
        "cpu", "no NVIDIA GPU found")


def test_auto_with_a_card_but_no_usable_cuda_falls_back_to_the_cpu() -> None:
    choice = resolve_device("auto", TWO_CARDS, "funasr", cuda(0))
    assert choice.device == "cpu" and "RTX 4090" in choice.note and "funasr" in choice.note


def test_auto_takes_the_card_with_the_most_memory() -> None:
    assert resolve_device("auto", TWO_CARDS, "whisper", cuda(2)) == DeviceChoice("cuda:1")
    # only one device visible to the runtime (CUDA_VISIBLE_DEVICES): the one it can use
    assert resolve_device("auto", TWO_CARDS, "whisper", cuda(1)) == DeviceChoice("cuda:0")


def test_an_explicit_device_is_honoured_or_refused() -> None:
    assert resolve_device("cpu", TWO_CARDS, "whisper", cuda(2)) == DeviceChoice("cpu")
    assert resolve_device("cuda", TWO_CARDS, "funasr", cuda(2)) == DeviceChoice("cuda:0")
    assert resolve_device("cuda:1", TWO_CARDS, "funasr", cuda(2)) == DeviceChoice("cuda:1")
    with pytest.raises(HardwareError, match="cuda:2"):
        resolve_device("cuda:2", TWO_CARDS, "funasr", cuda(2))
    with pytest.raises(HardwareError, match="0 CUDA"):
        resolve_device("cuda", CPU_ONLY, "whisper", cuda(0))


@pytest.mark.parametrize(("engine", "precision", "message"), [
    ("whisper", "float16", "float16 runs only on a CUDA GPU"),
    ("funasr", "float16", "float16 runs only on a CUDA GPU"),
    ("funasr", "int8", "int8 is for the whisper engine only")])
def test_precisions_a_device_cannot_run_are_refused_before_loading(
        tmp_path, engine: str, precision: str, message: str) -> None:
    options = AsrOptions(model=str(tmp_path), precision=precision)
    with pytest.raises(ConfigError, match=message):
        load_transcriber(options, tmp_path, engine, "sensevoice", DeviceChoice("cpu"))


def test_chunk_texts_join_in_the_script_s_spacing() -> None:
    assert join_texts(["你好。", " 世界 "], "zh") == "你好。世界"
    assert join_texts(["こんにちは", "世界"], "ja") == "こんにちは世界"
    assert join_texts(["Hello", "", " world. "], "en") == "Hello world."
    assert join_texts(["안녕하세요", "세계"], "ko") == "안녕하세요 세계"


def test_sensevoice_half_precision_is_refused_even_on_cuda(tmp_path) -> None:
    options = AsrOptions(model=str(tmp_path), precision="float16")
    with pytest.raises(ConfigError, match="SenseVoiceSmall runs in float32"):
        load_transcriber(options, tmp_path, "funasr", "sensevoice", DeviceChoice("cuda:0"))
