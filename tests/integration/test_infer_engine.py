"""InferenceEngine end to end on the tiny fixture models, on the CPU.

Every render uses a small ``max_new_tokens`` so a test stays short on a loaded machine;
what is checked is behaviour (determinism, batching, options reaching the models, errors),
not a timing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gsv_core.audio import SAMPLE_RATE, SAMPLES_PER_TOKEN
from gsv_core.errors import (
    ConfigError,
    ModelMissing,
    OutOfMemory,
    ReferenceAudioError,
    TextError,
)
from gsv_core.infer import InferenceEngine, InferenceOptions, Reference
from gsv_core.infer import engine as engine_module
from gsv_core.infer.segments import split_segments
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine, write_voiced_wav

infer_setup = infer_fixtures.infer_setup

TEXT = "今天天气很不错。我们一起去公园吧！这是测试。"
FAST = InferenceOptions(cut_method="cut5", max_new_tokens=24, seed=7)


@pytest.fixture(scope="module")
def engine(infer_setup: InferSetup) -> InferenceEngine:
    return make_engine(infer_setup)


def test_same_seed_gives_bit_identical_audio_and_another_seed_does_not(
        engine: InferenceEngine, infer_setup: InferSetup) -> None:
    first = engine.synthesize(infer_setup.reference(), TEXT, FAST)
    again = engine.synthesize(infer_setup.reference(), TEXT, FAST)
    other = engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, seed=8))
    assert first.audio.dtype == np.float32 and first.sample_rate == SAMPLE_RATE == 32000
    assert first.seed == 7 and first.segments == ("今天天气很不错。", "我们一起去公园吧！",
                                                  "这是测试。")
    assert np.array_equal(first.audio, again.audio)
    assert first.audio.shape != other.audio.shape or not np.array_equal(first.audio, other.audio)
    assert np.abs(first.audio).max() <= 1.0


def test_random_seed_is_reported_and_replays(engine: InferenceEngine,
                                             infer_setup: InferSetup) -> None:
    drawn = engine.synthesize(infer_setup.reference(), "你好世界。", replace(FAST, seed=-1))
    assert 0 <= drawn.seed < 2**32
    replay = engine.synthesize(infer_setup.reference(), "你好世界。",
                               replace(FAST, seed=drawn.seed))
    assert np.array_equal(drawn.audio, replay.audio)


@pytest.fixture
def batch_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sentence count of every GPT decode call; the real decoder still runs (a spy)."""
    sizes: list[int] = []
    real = engine_module.generate_batch

    def spy(model, phone_ids, *args, **kwargs):
        sizes.append(len(phone_ids))
        return real(model, phone_ids, *args, **kwargs)

    monkeypatch.setattr(engine_module, "generate_batch", spy)
    return sizes


def test_segments_are_decoded_as_one_batch_up_to_the_batch_size(
        engine: InferenceEngine, infer_setup: InferSetup, batch_sizes: list[int]) -> None:
    sizes = batch_sizes
    assert engine.batch_limit().max >= 3
    engine.synthesize(infer_setup.reference(), TEXT, FAST)
    assert sizes == [3]
    sizes.clear()
    engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, batch_size=2))
    assert sizes == [2, 1]


def test_gpu_out_of_memory_names_the_next_batch_size(
        engine: InferenceEngine, infer_setup: InferSetup,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # There is no GPU here to exhaust: the decoder is replaced by one that fails like CUDA.
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(engine_module, "generate_batch", out_of_memory)
    with pytest.raises(OutOfMemory) as err:
        engine.synthesize(infer_setup.reference(), TEXT, FAST)
    assert err.value.next_batch_size == 1 and err.value.rule == "B-6"
    assert "3 text segments" in err.value.message and "batch size to 1" in err.value.advice


def test_batch_size_above_the_guideline_is_clamped(engine: InferenceEngine) -> None:
    limit = engine.batch_limit(10_000)
    assert limit.value == limit.max < 10_000 and limit.binding is not None


def test_greedy_decoding_without_noise_ignores_the_seed(engine: InferenceEngine,
                                                        infer_setup: InferSetup) -> None:
    greedy = replace(FAST, top_k=1, noise_scale=0.0)
    one = engine.synthesize(infer_setup.reference(), TEXT, replace(greedy, seed=1))
    two = engine.synthesize(infer_setup.reference(), TEXT, replace(greedy, seed=2))
    assert np.array_equal(one.audio, two.audio)


def test_pause_speed_and_length_limit_reach_the_audio(engine: InferenceEngine,
                                                      infer_setup: InferSetup) -> None:
    greedy = replace(FAST, top_k=1, noise_scale=0.0)
    base = engine.synthesize(infer_setup.reference(), TEXT, greedy)
    longer_pause = engine.synthesize(infer_setup.reference(), TEXT,
                                     replace(greedy, fragment_interval_s=0.5))
    # one pause after each of the 3 segments, as upstream
    assert longer_pause.audio.shape[0] - base.audio.shape[0] == 3 * int(0.2 * SAMPLE_RATE)
    faster = engine.synthesize(infer_setup.reference(), TEXT, replace(greedy, speed=2.0))
    assert faster.audio.shape[0] < base.audio.shape[0]
    pauses = 3 * int(0.3 * SAMPLE_RATE)
    assert base.audio.shape[0] - pauses <= 3 * 24 * SAMPLES_PER_TOKEN


def test_progress_per_segment_and_stop_between_segments(engine: InferenceEngine,
                                                        infer_setup: InferSetup) -> None:
    seen: list[tuple[int, int]] = []
    whole = engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, batch_size=1),
                              progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    seen.clear()
    stopped = engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, batch_size=1),
                                progress=lambda i, n: seen.append((i, n)),
                                should_stop=lambda: bool(seen))
    assert seen == [(1, 3)]
    assert 0 < stopped.audio.shape[0] < whole.audio.shape[0]
    assert stopped.stopped and not whole.stopped


def test_long_messy_text_renders(engine: InferenceEngine, infer_setup: InferSetup) -> None:
    text = ("第一行。\n\n\n\n第二行有小数3.14和0.5。\n！！！\n。。。\n……\n"
            "Hello world, this is English. 😀🎉 混合 English 和中文。\n\n"
            "你好！！！？？今天……——好吗~~\n？！，\n最后一句话在这里。")
    cases = [(method, "auto") for method in ("cut0", "cut1", "cut2", "cut3", "cut4", "cut5")]
    for method, language in [*cases, ("cut5", "all_zh"), ("cut1", "zh"), ("cut2", "en")]:
        result = engine.synthesize(infer_setup.reference(), text, replace(
            FAST, cut_method=method, text_language=language, max_new_tokens=8))
        assert result.audio.shape[0] > 0 and np.isfinite(result.audio).all()
        assert result.segments
        assert not any(s.strip("！？，。…!?,. \n") == "" for s in result.segments)
        assert any("3.14" in s for s in result.segments), method  # decimals stay whole


@pytest.mark.parametrize("mode", ["all_zh", "en", "all_ja", "all_yue", "all_ko", "zh", "ja",
                                  "yue", "ko", "auto", "auto_yue"])
def test_every_language_mode_renders(engine: InferenceEngine, infer_setup: InferSetup,
                                     mode: str) -> None:
    texts = {"en": "Hello there, my friend.", "all_ja": "こんにちは、元気ですか。",
             "ja": "こんにちは、元気ですか。", "all_ko": "안녕하세요, 반갑습니다.",
             "ko": "안녕하세요, 반갑습니다."}
    text = texts.get(mode, "你好世界，今天天气很不错。")
    result = engine.synthesize(infer_setup.reference(), text,
                               replace(FAST, text_language=mode, max_new_tokens=12))
    assert result.audio.shape[0] > 0


def test_punctuation_only_text_is_a_clear_error_naming_its_lines(
        engine: InferenceEngine, infer_setup: InferSetup) -> None:
    # X-4 drops punctuation-only pieces; when nothing is left, issue 9 wants a clear error
    # (it used to be a silent render); tests/integration/test_infer_readings.py has the rest
    with pytest.raises(TextError, match=r"Nothing in the text can be read aloud: line 1 .*"
                                        r"line 2 "):
        engine.synthesize(infer_setup.reference(), "。。。！？\n……", FAST)


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_text_is_a_clear_error(engine: InferenceEngine, infer_setup: InferSetup,
                                     text: str) -> None:
    with pytest.raises(TextError, match="text to synthesise is empty"):
        engine.synthesize(infer_setup.reference(), text, FAST)


def test_unknown_languages_are_named(engine: InferenceEngine, infer_setup: InferSetup) -> None:
    with pytest.raises(ConfigError, match=r"text_language: unknown language 'klingon'") as err:
        engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, text_language="klingon"))
    assert "all_zh" in err.value.advice
    with pytest.raises(ConfigError, match=r"reference language: unknown language 'xx'"):
        engine.synthesize(infer_setup.reference(language="xx"), TEXT, FAST)


@pytest.mark.parametrize("duration_s", [2.0, 11.0])
def test_reference_outside_3_to_10_s_names_file_and_length(
        engine: InferenceEngine, tmp_path: Path, duration_s: float) -> None:
    clip = write_voiced_wav(tmp_path / "my clip.wav", duration_s, 22_050)
    with pytest.raises(ReferenceAudioError) as err:
        engine.synthesize(Reference(clip, "你好世界。"), TEXT, FAST)
    assert "my clip.wav" in err.value.message
    assert f"{duration_s:.2f} s" in err.value.message and "3-10 s" in err.value.message
    assert err.value.duration_s == pytest.approx(duration_s, abs=0.01)
    assert err.value.advice


def test_corrupt_and_missing_references_name_the_file(engine: InferenceEngine,
                                                      tmp_path: Path) -> None:
    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(ReferenceAudioError, match=r"broken\.wav cannot be read"):
        engine.synthesize(Reference(corrupt, "你好世界。"), TEXT, FAST)
    with pytest.raises(ReferenceAudioError, match=r"nowhere\.wav does not exist"):
        engine.synthesize(Reference(tmp_path / "nowhere.wav", "你好世界。"), TEXT, FAST)


def test_prompt_free_mode_and_timbre_only_references(engine: InferenceEngine,
                                                     infer_setup: InferSetup) -> None:
    with_prompt = engine.synthesize(infer_setup.reference(), TEXT, FAST)
    free = engine.synthesize(infer_setup.reference(prompt_free=True), TEXT, FAST)
    empty_text = engine.synthesize(infer_setup.reference(text=""), TEXT, FAST)
    assert np.array_equal(free.audio, empty_text.audio)  # empty prompt text = prompt-free
    assert free.audio.shape != with_prompt.audio.shape or not np.array_equal(
        free.audio, with_prompt.audio)
    only_extra = engine.synthesize(
        Reference(None, extra_audio_paths=(infer_setup.reference_wav,), prompt_free=True),
        TEXT, FAST)
    assert np.array_equal(only_extra.audio, free.audio)  # same clip, same timbre, no prompt


def test_reference_features_are_cached_by_content(engine: InferenceEngine,
                                                  infer_setup: InferSetup,
                                                  tmp_path: Path) -> None:
    clip = write_voiced_wav(tmp_path / "ref.wav", 4.0, seed=1)
    reference = Reference(clip, "你好世界。")
    engine.synthesize(reference, "你好。", FAST)
    misses = engine._prompts.misses
    engine.synthesize(reference, "世界你好。", FAST)
    assert engine._prompts.misses == misses  # same clip and text: no recomputation
    write_voiced_wav(clip, 4.0, seed=2)  # new content under the same name
    engine.synthesize(reference, "你好。", FAST)
    assert engine._prompts.misses == misses + 1
    engine.synthesize(replace(reference, text="今天天气很不错。"), "你好。", FAST)
    assert engine._prompts.misses == misses + 2


def test_no_models_loaded_is_model_missing(infer_setup: InferSetup) -> None:
    bare = make_engine(infer_setup, load=False)
    with pytest.raises(ModelMissing, match="No GPT and no SoVITS model is loaded"):
        bare.synthesize(infer_setup.reference(), TEXT, FAST)


def test_cpu_engine_runs_fp32_and_refuses_half(infer_setup: InferSetup,
                                               engine: InferenceEngine) -> None:
    assert engine.gpt_model is not None and engine.sovits_model is not None
    assert next(engine.gpt_model.parameters()).dtype == torch.float32
    assert next(engine.sovits_model.parameters()).dtype == torch.float32
    with pytest.raises(ConfigError, match="precision fp16 is not used on cpu"):
        InferenceEngine(infer_setup.workspace, device="cpu", precision="fp16")


def test_stream_per_segment_equals_the_whole_render(
        engine: InferenceEngine, infer_setup: InferSetup, batch_sizes: list[int]) -> None:
    sizes = batch_sizes  # streaming decodes one segment at a time by default
    whole = engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, batch_size=1))
    sizes.clear()
    chunks = list(engine.stream(infer_setup.reference(), TEXT, replace(FAST, streaming_mode=1)))
    assert sizes == [1, 1, 1]
    assert [c.segment_index for c in chunks] == [0, 1, 2]
    assert [c.final for c in chunks] == [False, False, True]
    assert all(c.segment_count == 3 and c.sample_rate == SAMPLE_RATE for c in chunks)
    assert np.array_equal(np.concatenate([c.audio for c in chunks]), whole.audio)
    (single,) = engine.stream(infer_setup.reference(), TEXT, FAST)  # mode 0: one chunk
    batched = engine.synthesize(infer_setup.reference(), TEXT, FAST)
    assert single.final and np.array_equal(single.audio, batched.audio)


@pytest.mark.parametrize("mode", [2, 3])
def test_stream_in_chunks_within_segments(engine: InferenceEngine, infer_setup: InferSetup,
                                          mode: int) -> None:
    options = replace(FAST, streaming_mode=mode, max_new_tokens=40, min_chunk_length=8)
    chunks = list(engine.stream(infer_setup.reference(), "今天天气很不错。", options))
    assert len(chunks) >= 2 and chunks[-1].final and not any(c.final for c in chunks[:-1])
    assert all(c.audio.dtype == np.float32 and c.segment_index == 0 for c in chunks)
    whole = engine.synthesize(infer_setup.reference(), "今天天气很不错。",
                              replace(options, streaming_mode=0))
    streamed = np.concatenate([c.audio for c in chunks])
    # the same tokens are decoded: the length agrees to within one token's samples
    assert abs(streamed.shape[0] - whole.audio.shape[0]) <= SAMPLES_PER_TOKEN


@pytest.fixture
def gpt_steps(engine: InferenceEngine) -> list[int]:
    """One entry per GPT decoding step run (the output layer runs once a step)."""
    steps: list[int] = []
    assert engine.gpt_model is not None
    handle = engine.gpt_model.ar_predict_layer.register_forward_hook(
        lambda *_: steps.append(1))
    yield steps
    handle.remove()


@pytest.mark.parametrize("mode", [2, 3])
def test_streamed_tokens_give_the_audio_of_decode_then_chunk(
        engine: InferenceEngine, infer_setup: InferSetup, mode: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    options = replace(FAST, streaming_mode=mode, min_chunk_length=8)
    streamed = list(engine.stream(infer_setup.reference(), TEXT, options))
    seen: list[torch.Tensor] = []
    real = engine_module.stream_segment_chunks

    def whole_segment_first(sovits, semantic_tokens, *args, **kwargs):
        tokens = torch.cat([piece.reshape(-1) for piece in semantic_tokens])
        seen.append(tokens)
        return real(sovits, tokens, *args, **kwargs)

    monkeypatch.setattr(engine_module, "stream_segment_chunks", whole_segment_first)
    chunked = list(engine.stream(infer_setup.reference(), TEXT, options))
    assert [(c.segment_index, c.final) for c in streamed] == [
        (c.segment_index, c.final) for c in chunked]
    assert {c.segment_index for c in streamed} == {0, 1, 2}
    for a, b in zip(streamed, chunked, strict=True):
        assert np.array_equal(a.audio, b.audio)
    # the tokens are those of a decode one segment at a time with the request's generator
    decoded: list = []
    real_batch = engine_module.generate_batch

    def spy(*args, **kwargs):
        decoded.extend(real_batch(*args, **kwargs))
        return decoded[-1:]

    monkeypatch.setattr(engine_module, "generate_batch", spy)
    engine.synthesize(infer_setup.reference(), TEXT, replace(options, batch_size=1))
    assert [t.tolist() for t in seen] == [r.tokens.tolist() for r in decoded]
    # the length limit ended these decodes: upstream's whole render drops the first token
    assert all(not r.eos and r.semantic_for_sovits.shape[0] == r.tokens.shape[0] - 1
               for r in decoded)


def test_first_streamed_chunk_comes_after_min_chunk_length_gpt_steps(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_steps: list[int]) -> None:
    options = replace(FAST, streaming_mode=3, max_new_tokens=40, min_chunk_length=8)
    stream = engine.stream(infer_setup.reference(), "今天天气很不错。", options)
    first = next(stream)
    assert not first.final
    assert len(gpt_steps) == 8  # not the segment's 40: the GPT is still mid-segment
    rest = list(stream)
    assert len(gpt_steps) == 40 and rest[-1].final


@pytest.fixture
def front_end_calls(engine: InferenceEngine, monkeypatch: pytest.MonkeyPatch
                    ) -> dict[str, list]:
    """The segment texts through the engine's text front end, and each BERT batch (its
    texts), in call order."""
    calls: dict[str, list] = {"cleaned": [], "bert": []}
    real_clean = engine_module.clean_segments

    def clean(texts, *args, **kwargs):
        calls["cleaned"].extend(texts)
        return real_clean(texts, *args, **kwargs)

    bert_class = type(engine._bert_model())  # a frozen dataclass: patched on the class
    real_batch = bert_class.phone_features_batch

    def batch(self, texts, *args, **kwargs):
        calls["bert"].append(list(texts))
        return real_batch(self, texts, *args, **kwargs)

    monkeypatch.setattr(engine_module, "clean_segments", clean)
    monkeypatch.setattr(bert_class, "phone_features_batch", batch)
    return calls


@pytest.mark.parametrize(("mode", "cleaned_first"), [(3, 1), (1, 2)])
def test_first_streamed_chunk_waits_only_for_the_first_segments_features(
        engine: InferenceEngine, infer_setup: InferSetup, front_end_calls: dict[str, list],
        mode: int, cleaned_first: int) -> None:
    """Before the first chunk: the front end and BERT of segment 0 (mode 1 also cleans segment
    1, without BERT, to know whether segment 0 is the last); the other segments after it, each
    text cleaned once, their BERT in one batch. The audio is the whole render's (mode 1) or its
    tokens' (modes 2/3, see test_streamed_tokens_give_the_audio_of_decode_then_chunk)."""
    options = replace(FAST, streaming_mode=mode, max_new_tokens=40, min_chunk_length=8)
    texts = split_segments(TEXT, options.language_mode, options.cut_method,
                           readings=options.readings)
    assert len(texts) == 3
    stream = engine.stream(infer_setup.reference(), TEXT, options)
    first = next(stream)
    assert (first.segment_index, first.segment_count) == (0, 3)
    assert front_end_calls["cleaned"] == texts[:cleaned_first]
    assert len(front_end_calls["bert"]) == 1 and len(front_end_calls["bert"][0]) == 1
    chunks = [first, *stream]
    assert front_end_calls["cleaned"] == texts
    assert [len(texts) for texts in front_end_calls["bert"]] == [1, 2]
    assert [c.final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert {c.segment_index for c in chunks} == {0, 1, 2}
    if mode == 1:
        whole = engine.synthesize(infer_setup.reference(), TEXT,
                                  replace(options, streaming_mode=0, batch_size=1))
        assert np.array_equal(np.concatenate([c.audio for c in chunks]), whole.audio)


@pytest.mark.parametrize("mode", [1, 3])
def test_a_trailing_segment_with_nothing_to_read_leaves_the_last_spoken_one_final(
        engine: InferenceEngine, infer_setup: InferSetup, mode: int) -> None:
    text = "今天天气很不错。我们一起去公园吧！😀😀😀😀😀😀。"
    options = replace(FAST, streaming_mode=mode, min_chunk_length=8)
    chunks = list(engine.stream(infer_setup.reference(), text, options))
    assert [c.final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert [c.segment_index for c in chunks][-1] == 1
    assert chunks[0].segment_count == 3 and chunks[-1].segment_count == 2  # known once cleaned
    whole = engine.synthesize(infer_setup.reference(), text,
                              replace(options, streaming_mode=0, batch_size=1))
    assert whole.segments == ("今天天气很不错。", "我们一起去公园吧！")
    if mode == 1:
        assert np.array_equal(np.concatenate([c.audio for c in chunks]), whole.audio)


def test_stop_inside_a_streamed_segment_ends_the_decode(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_steps: list[int]) -> None:
    options = replace(FAST, streaming_mode=3, max_new_tokens=40, min_chunk_length=8)
    chunks = list(engine.stream(infer_setup.reference(), "今天天气很不错。", options,
                                should_stop=lambda: len(gpt_steps) >= 12))
    assert len(gpt_steps) == 12  # the stop acted after the 12th of 40 steps
    assert len(chunks) == 1 and not chunks[0].final  # the cut segment is not rendered


def test_stop_inside_a_segment_returns_the_segments_before_it(
        engine: InferenceEngine, infer_setup: InferSetup, gpt_steps: list[int]) -> None:
    options = replace(FAST, batch_size=1)
    whole = engine.synthesize(infer_setup.reference(), TEXT, options)
    total_steps = len(gpt_steps)
    gpt_steps.clear()
    stopped = engine.synthesize(infer_setup.reference(), TEXT, options,
                                should_stop=lambda: len(gpt_steps) >= 30)
    assert total_steps == 3 * 24 and len(gpt_steps) == 30  # 6 steps into segment 2
    assert stopped.stopped and not whole.stopped
    first_segment = 24 * SAMPLES_PER_TOKEN + int(0.3 * SAMPLE_RATE)
    assert 0 < stopped.audio.shape[0] <= first_segment
    assert np.array_equal(stopped.audio, whole.audio[:stopped.audio.shape[0]])
    gpt_steps.clear()
    batched = engine.synthesize(infer_setup.reference(), TEXT, FAST,
                                should_stop=lambda: len(gpt_steps) >= 5)
    assert len(gpt_steps) == 5 and batched.stopped and not batched.audio.any()


def test_streamed_decode_out_of_memory_is_b6(engine: InferenceEngine, infer_setup: InferSetup,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(*args, **kwargs):
        def fail():
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            yield
        return fail()

    monkeypatch.setattr(engine_module, "stream_tokens", out_of_memory)
    with pytest.raises(OutOfMemory) as err:
        list(engine.stream(infer_setup.reference(), TEXT, replace(FAST, streaming_mode=3)))
    assert err.value.rule == "B-6" and "1 text segments" in err.value.message
