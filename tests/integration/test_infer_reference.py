"""Reference clip → prompt tokens, spectrograms and timbre, as upstream computes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from gsv_core.audio import HOP_LENGTH, HUBERT_SAMPLE_RATE, SAMPLE_RATE, resample
from gsv_core.errors import ReferenceAudioError
from gsv_core.features import HubertFeatures
from gsv_core.infer import Reference
from gsv_core.infer.reference import (
    PROMPT_SILENCE_SAMPLES_16K,
    prepare_reference,
    prompt_text_for_gpt,
    read_clip,
)
from gsv_core.models.spectrogram import spectrogram
from gsv_core.text.symbols import phones_to_ids
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine, write_voiced_wav

infer_setup = infer_fixtures.infer_setup


@pytest.fixture(scope="module")
def models(infer_setup: InferSetup):
    engine = make_engine(infer_setup)
    return engine, engine._hubert_model(), engine._bert_model()


class _RecordingHubert:
    """Wraps the tiny HuBERT and keeps each input it is given."""

    def __init__(self, hubert: HubertFeatures) -> None:
        self.hubert = hubert
        self.inputs: list[torch.Tensor] = []

    def __call__(self, wav_16k: torch.Tensor) -> torch.Tensor:
        self.inputs.append(wav_16k.clone())
        return self.hubert(wav_16k)


def test_hubert_reads_16k_audio_followed_by_upstreams_9600_zero_samples(
        models, infer_setup: InferSetup) -> None:
    engine, hubert, bert = models
    recording = _RecordingHubert(hubert)
    features = prepare_reference(infer_setup.reference(), hubert=recording,  # type: ignore[arg-type]
                                 sovits=engine.sovits_model, bert=bert)
    (wav,) = recording.inputs
    clip = read_clip(infer_setup.reference_wav)
    expected_16k = resample(clip.audio, clip.sample_rate, HUBERT_SAMPLE_RATE)
    assert PROMPT_SILENCE_SAMPLES_16K == 9600  # int(32000 * 0.3), appended at 16 kHz
    assert wav.shape[0] == expected_16k.shape[0] + 9600
    assert torch.equal(wav[:expected_16k.shape[0]], torch.from_numpy(expected_16k))
    assert not wav[-9600:].any()
    # 25 Hz tokens of the padded clip: 4 s + 0.6 s
    assert features.prompt_codes is not None
    assert abs(features.prompt_codes.shape[0] - 4.6 * 25) <= 1


def test_spectrogram_is_of_the_clip_at_32k_without_the_silence(
        models, infer_setup: InferSetup) -> None:
    engine, hubert, bert = models
    features = prepare_reference(infer_setup.reference(), hubert=hubert,
                                 sovits=engine.sovits_model, bert=bert)
    (spec,) = features.refer_specs
    clip = read_clip(infer_setup.reference_wav)
    assert clip.sample_rate == 44_100
    at_32k = resample(clip.audio, clip.sample_rate, SAMPLE_RATE)
    assert spec.shape == (1, 1025, at_32k.shape[0] // HOP_LENGTH)
    assert torch.allclose(spec, spectrogram(torch.from_numpy(at_32k).unsqueeze(0)))


def test_loud_clip_is_divided_by_min_of_2_and_its_peak(models, tmp_path: Path) -> None:
    engine, _, bert = models
    clip = write_voiced_wav(tmp_path / "quiet.wav", 4.0, SAMPLE_RATE)
    audio, _ = soundfile.read(clip, dtype="float32")
    loud = tmp_path / "loud.wav"
    soundfile.write(loud, audio * 8, SAMPLE_RATE, subtype="FLOAT")  # peak 4: divided by 2
    spec_loud = prepare_reference(Reference(loud, prompt_free=True), hubert=None,
                                  sovits=engine.sovits_model, bert=bert).refer_specs[0]
    expected = spectrogram(torch.from_numpy(audio * 8 / 2).unsqueeze(0))
    assert torch.allclose(spec_loud, expected, rtol=1e-4, atol=1e-4)


def test_extra_clips_average_the_timbre(models, infer_setup: InferSetup,
                                        tmp_path: Path) -> None:
    engine, hubert, bert = models
    sovits = engine.sovits_model
    extra = write_voiced_wav(tmp_path / "extra.flac", 5.0, 48_000, seed=3)
    main_only = prepare_reference(infer_setup.reference(), hubert=hubert, sovits=sovits,
                                  bert=bert)
    both = prepare_reference(infer_setup.reference(extra_audio_paths=(extra,)), hubert=hubert,
                             sovits=sovits, bert=bert)
    assert len(both.refer_specs) == 2
    assert torch.equal(both.prompt_codes, main_only.prompt_codes)  # tokens: main clip only
    with torch.no_grad():
        styles = [sovits.style_embedding([spec]) for spec in both.refer_specs]
    assert torch.allclose(both.style, (styles[0] + styles[1]) / 2, atol=1e-6)
    assert not torch.allclose(both.style, main_only.style)


def test_prompt_free_reference_has_no_tokens_and_needs_no_hubert(
        models, infer_setup: InferSetup) -> None:
    engine, _, bert = models
    features = prepare_reference(infer_setup.reference(prompt_free=True), hubert=None,
                                 sovits=engine.sovits_model, bert=bert)
    assert features.prompt_codes is None and features.prompt_phone_ids is None
    assert len(features.refer_specs) == 1


def test_prompt_text_gets_a_final_mark_in_its_language() -> None:
    assert prompt_text_for_gpt("你好\n", "all_zh") == "你好。"
    assert prompt_text_for_gpt("hello", "en") == "hello."
    assert prompt_text_for_gpt("你好！", "zh") == "你好！"


def test_prompt_phones_are_cleaned_in_the_prompt_language(models,
                                                          infer_setup: InferSetup) -> None:
    engine, hubert, bert = models
    zh = prepare_reference(infer_setup.reference(text="你好世界"), hubert=hubert,
                           sovits=engine.sovits_model, bert=bert)
    en = prepare_reference(infer_setup.reference(text="hello world", language="en"),
                           hubert=hubert, sovits=engine.sovits_model, bert=bert)
    assert zh.prompt_bert is not None and en.prompt_bert is not None
    assert zh.prompt_bert.abs().sum() > 0  # Chinese: real BERT features
    assert not en.prompt_bert.any()  # other languages: zeros, as upstream
    assert not torch.equal(zh.prompt_phone_ids, en.prompt_phone_ids)


def test_prompt_text_is_read_with_the_readings_asked_for(models,
                                                        infer_setup: InferSetup) -> None:
    engine, hubert, bert = models
    reference = infer_setup.reference(text="电池5000mAh")

    def prompt_ids(**kwargs: str) -> list[int]:
        features = prepare_reference(reference, hubert=hubert, sovits=engine.sovits_model,
                                     bert=bert, **kwargs)
        assert features.prompt_phone_ids is not None
        return features.prompt_phone_ids.tolist()

    upstream, improved = prompt_ids(readings="upstream"), prompt_ids(readings="improved")
    assert prompt_ids() == upstream  # the low-level default is upstream's reading
    # "5000mAh": upstream spells the digits and the letters; improved reads 五千毫安时
    assert improved != upstream
    assert phones_to_ids(["q", "ian1", "h", "ao2"]) == improved[6:10]
    plain = infer_setup.reference(text="你好世界")
    same = [prepare_reference(plain, hubert=hubert, sovits=engine.sovits_model, bert=bert,
                              readings=r).prompt_phone_ids for r in ("upstream", "improved")]
    assert torch.equal(same[0], same[1])  # no rule matches: the same phones


def test_stereo_clip_is_averaged_to_mono(tmp_path: Path) -> None:
    t = np.arange(SAMPLE_RATE * 4) / SAMPLE_RATE
    left, right = 0.4 * np.sin(2 * np.pi * 200 * t), 0.2 * np.sin(2 * np.pi * 300 * t)
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1).astype(np.float32), SAMPLE_RATE,
                    subtype="FLOAT")
    clip = read_clip(path)
    assert clip.audio.shape == (SAMPLE_RATE * 4,)
    assert np.allclose(clip.audio, (left + right) / 2, atol=1e-6)


def test_empty_clip_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, np.float32), SAMPLE_RATE)
    with pytest.raises(ReferenceAudioError, match=r"empty\.wav holds no audio"):
        read_clip(path)
