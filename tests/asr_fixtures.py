"""Tiny random ASR models in their real on-disk formats, and speech-like clips, for the ASR tests.

Nothing is downloaded (recipes: shared/research/wave2-deps.md §4):

- ``build_tiny_sensevoice``: a funasr SenseVoiceSmall folder (``config.yaml``, ``model.pt``,
  ``am.mvn``, a sentencepiece ``bpe.model`` trained here on a few lines, with SenseVoice's
  ``<|zh|>``… tags as user symbols); 90k parameters.
- ``build_tiny_paraformer``: a funasr Paraformer folder (SANM encoder, CIF predictor, a
  one-block decoder, a ``tokens.json`` of 20 characters); 87k parameters.
- ``build_tiny_punctuation`` / ``build_tiny_fsmn_vad``: the CT-Transformer punctuation and
  FSMN-VAD folders Paraformer may use (the VAD's silence output is biased away, so it always
  hears speech).
- ``build_tiny_whisper``: a transformers Whisper (d_model 16, one layer each side, the
  51866-token multilingual vocabulary of large-v3 with the empty-string token CTranslate2
  needs to call it multilingual), converted offline with CTranslate2's converter (int8).

The models are random: tests assert structure (lines, languages, resume, failures), never
text. ``speech`` makes formant-synthesised syllables (a glottal pulse train through three
vowel resonances, with consonant-like noise bursts): silero-vad hears them as speech, which
plain harmonic tones are not.

Model folders are built once per test session (``tmp_path_factory``) and then only read.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

RATE = 16000
_VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480),
           (570, 840, 2410))
_SENSEVOICE_TAGS = ["<|zh|>", "<|en|>", "<|yue|>", "<|ja|>", "<|ko|>", "<|nospeech|>",
                    "<|NEUTRAL|>", "<|HAPPY|>", "<|Speech|>", "<|BGM|>", "<|withitn|>",
                    "<|woitn|>"]
_MVN_DIM = 560  # 80 mel bins x lfr_m 7


# --------------------------------------------------------------------------- audio

def _resonator(signal: np.ndarray, frequency: float, bandwidth: float) -> np.ndarray:
    from scipy.signal import lfilter

    radius = np.exp(-np.pi * bandwidth / RATE)
    theta = 2 * np.pi * frequency / RATE
    return lfilter([1 - radius], [1, -2 * radius * np.cos(theta), radius * radius], signal)


def _syllable(rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import lfilter

    count = int(rng.uniform(0.15, 0.3) * RATE)
    f0 = rng.uniform(110, 180) * np.linspace(1.1, 0.9, count)
    pulses = np.diff(np.floor(np.cumsum(f0 / RATE)), prepend=0.0)
    source = lfilter([1], [1, -0.95], pulses)
    vowel = _VOWELS[rng.integers(len(_VOWELS))]
    voiced = sum(_resonator(source, f, bw) for f, bw in zip(vowel, (80, 100, 120), strict=True))
    burst = rng.normal(0, 1, int(0.04 * RATE)) * np.hanning(int(0.04 * RATE)) * 0.3
    return np.concatenate([_resonator(burst, 4000, 2000), voiced * np.hanning(count)])


def speech(seconds: float, seed: int, *, pauses_s: float = 0.0,
           phrase_s: float = 7.0) -> np.ndarray:
    """``seconds`` of speech-like audio at 16 kHz: phrases of ``phrase_s`` separated by
    ``pauses_s`` of silence (0: one phrase), over a -60 dBFS noise floor."""
    rng = np.random.default_rng(seed)
    parts, total = [], 0
    target = int(seconds * RATE)
    phrase_left = int(phrase_s * RATE)
    while total < target:
        piece = _syllable(rng)
        gap = np.zeros(int(rng.uniform(0.01, 0.05) * RATE))
        parts += [piece, gap]
        total += len(piece) + len(gap)
        phrase_left -= len(piece) + len(gap)
        if pauses_s and phrase_left <= 0:
            parts.append(np.zeros(int(pauses_s * RATE)))
            total += int(pauses_s * RATE)
            phrase_left = int(phrase_s * RATE)
    audio = np.concatenate(parts)[:target]
    audio = 0.3 * audio / np.abs(audio).max()
    return (audio + rng.normal(0, 1e-3, len(audio))).astype(np.float32)


def write_clip(path: Path, audio: np.ndarray, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio, rate, subtype="PCM_16")
    return path


def clips_folder(folder: Path, count: int = 3, *, corrupt: bool = False,
                 long_s: float | None = None) -> Path:
    """``count`` clips of 2 s (32 kHz, as the slicer writes them), plus optionally a corrupt
    file ``bad.wav`` and a long recording ``long.wav`` of phrases with pauses."""
    from soxr import resample

    for number in range(count):
        write_clip(folder / f"clip_{number}.wav", resample(speech(2.0, number), RATE, 32000),
                   32000)
    if corrupt:
        (folder / "bad.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    if long_s:
        write_clip(folder / "long.wav", speech(long_s, 99, pauses_s=1.0))
    return folder


# --------------------------------------------------------------------------- funasr models

def _write_mvn(path: Path, dim: int) -> None:
    """A Kaldi nnet ``am.mvn`` (shift and scale for ``dim`` features), as funasr parses it."""
    def row(tag: str, value: float) -> str:
        values = " ".join(f"{value:.6f}" for _ in range(dim))
        return f"<{tag}> {dim} {dim}\n<LearnRateCoef> 0 [ {values} ]\n"

    path.write_text(f"<Nnet>\n<Splice> {dim} {dim}\n[ 0 ]\n" + row("AddShift", -8.0)
                    + row("Rescale", 0.25) + "</Nnet>\n")


_FRONTEND = {"fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25,
             "frame_shift": 10, "lfr_m": 7, "lfr_n": 6}
_SANM = {"output_size": 32, "attention_heads": 2, "linear_units": 64, "num_blocks": 2,
         "dropout_rate": 0.0, "positional_dropout_rate": 0.0, "attention_dropout_rate": 0.0,
         "input_layer": "pe", "pos_enc_class": "SinusoidalPositionEncoder",
         "normalize_before": True, "kernel_size": 11, "sanm_shfit": 0,
         "selfattention_layer_type": "sanm"}


def _save_funasr(folder: Path, config: dict, build, mvn_dim: int | None = _MVN_DIM) -> Path:
    import torch
    import yaml

    (folder / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                        encoding="utf-8")
    if mvn_dim is not None:
        _write_mvn(folder / "am.mvn", mvn_dim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # funasr's imports warn about their own deprecations
        from funasr.register import tables

        torch.manual_seed(0)
        model = build(tables)
    torch.save(model.state_dict(), folder / "model.pt")
    return folder


def build_tiny_sensevoice(folder: Path) -> Path:
    import sentencepiece

    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.txt"
    lines = ["hello world this is a tiny test", "the quick brown fox", "你好世界 这是一个测试",
             "こんにちは 世界", "안녕하세요 세계"]
    corpus.write_text("\n".join(lines * 20), encoding="utf-8")
    sentencepiece.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(folder / "bpe"), vocab_size=80, model_type="bpe",
        character_coverage=1.0, user_defined_symbols=_SENSEVOICE_TAGS, bos_id=-1, eos_id=-1,
        unk_id=0, hard_vocab_limit=False, minloglevel=2)
    corpus.unlink()
    (folder / "bpe.vocab").unlink()
    vocab = sentencepiece.SentencePieceProcessor(model_file=str(folder / "bpe.model"))
    encoder = dict(_SANM, tp_blocks=1)
    config = {"model": "SenseVoiceSmall", "encoder": "SenseVoiceEncoderSmall",
              "encoder_conf": encoder,
              "model_conf": {"sos": 1, "eos": 2, "ignore_id": -1, "length_normalized_loss": True},
              "tokenizer": "SentencepiecesTokenizer",
              "tokenizer_conf": {"bpemodel": "bpe.model", "unk_symbol": "<unk>",
                                 "split_with_space": True},
              "frontend": "WavFrontend", "frontend_conf": dict(_FRONTEND, cmvn_file="am.mvn")}

    def build(tables):
        import funasr.models.sense_voice.model  # noqa: F401  (registers the class)

        return tables.model_classes.get("SenseVoiceSmall")(
            encoder="SenseVoiceEncoderSmall", encoder_conf=encoder, input_size=_MVN_DIM,
            vocab_size=vocab.get_piece_size(), **config["model_conf"])

    return _save_funasr(folder, config, build)


def _character_folder(folder: Path) -> list[str]:
    """``folder`` created with the ``tokens.json`` of 20 characters (and funasr's specials)
    that the tiny Paraformer and punctuation models read; returns the tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    tokens = ["<blank>", "<s>", "</s>", *"你好世界这是一个测试我们的声音", "<unk>"]
    (folder / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False), encoding="utf-8")
    return tokens


def build_tiny_paraformer(folder: Path) -> Path:
    tokens = _character_folder(folder)
    decoder = {"attention_heads": 2, "linear_units": 64, "num_blocks": 1, "dropout_rate": 0.0,
               "positional_dropout_rate": 0.0, "self_attention_dropout_rate": 0.0,
               "src_attention_dropout_rate": 0.0, "att_layer_num": 1, "kernel_size": 11,
               "sanm_shfit": 0}
    predictor = {"idim": 32, "threshold": 1.0, "l_order": 1, "r_order": 1,
                 "tail_threshold": 0.45}
    model_conf = {"ctc_weight": 0.0, "lsm_weight": 0.1, "length_normalized_loss": True,
                  "predictor_weight": 1.0, "predictor_bias": 1, "sampling_ratio": 0.75}
    config = {"model": "Paraformer", "model_conf": model_conf,
              "encoder": "SANMEncoder", "encoder_conf": _SANM,
              "decoder": "ParaformerSANMDecoder", "decoder_conf": decoder,
              "predictor": "CifPredictorV2", "predictor_conf": predictor,
              "tokenizer": "CharTokenizer",
              "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
              "frontend": "WavFrontend", "frontend_conf": _FRONTEND,
              "ctc_conf": {"dropout_rate": 0.0, "ctc_type": "builtin", "reduce": True,
                           "ignore_nan_grad": True}}

    def build(tables):
        import funasr.models.paraformer.model  # noqa: F401  (registers the class)

        return tables.model_classes.get("Paraformer")(
            encoder="SANMEncoder", encoder_conf=_SANM, decoder="ParaformerSANMDecoder",
            decoder_conf=decoder, predictor="CifPredictorV2", predictor_conf=predictor,
            ctc_conf=config["ctc_conf"], input_size=_MVN_DIM, vocab_size=len(tokens),
            **model_conf)

    return _save_funasr(folder, config, build)


def build_tiny_punctuation(folder: Path) -> Path:
    """A funasr CT-Transformer punctuation folder (a one-block SANM encoder over characters)."""
    tokens = _character_folder(folder)
    encoder = dict(_SANM, input_size=16, output_size=16, linear_units=32, num_blocks=1,
                   padding_idx=0)
    model_conf = {"ignore_id": 0, "embed_unit": 16, "att_unit": 16, "dropout_rate": 0.0,
                  "punc_list": ["<unk>", "_", "，", "。", "？", "、"], "punc_weight": [1.0] * 6,
                  "sentence_end_id": 3}
    config = {"model": "CTTransformer", "model_conf": model_conf, "encoder": "SANMEncoder",
              "encoder_conf": encoder, "tokenizer": "CharTokenizer",
              "tokenizer_conf": {"unk_symbol": "<unk>"}}

    def build(tables):
        import funasr.models.ct_transformer.model  # noqa: F401  (registers the class)

        return tables.model_classes.get("CTTransformer")(
            encoder="SANMEncoder", encoder_conf=encoder, vocab_size=len(tokens), **model_conf)

    return _save_funasr(folder, config, build, mvn_dim=None)


def build_tiny_fsmn_vad(folder: Path) -> Path:
    """A funasr FSMN-VAD folder whose output always says speech (the silence class's bias is
    pushed down), so the segments it gives Paraformer do not depend on random weights."""
    folder.mkdir(parents=True, exist_ok=True)
    encoder = {"input_dim": 400, "input_affine_dim": 16, "fsmn_layers": 1, "linear_dim": 16,
               "proj_dim": 8, "lorder": 4, "rorder": 0, "lstride": 1, "rstride": 0,
               "output_affine_dim": 16, "output_dim": 4}
    model_conf = {"sample_rate": 16000, "detect_mode": 1, "max_end_silence_time": 800,
                  "max_start_silence_time": 3000, "window_size_ms": 200,
                  "sil_to_speech_time_thres": 150, "speech_to_sil_time_thres": 150,
                  "max_single_segment_time": 60000, "speech_noise_thres": 0.6,
                  "silence_pdf_num": 1, "sil_pdf_ids": [0]}
    config = {"model": "FsmnVADStreaming", "model_conf": model_conf, "encoder": "FSMN",
              "encoder_conf": encoder, "frontend": "WavFrontendOnline",
              "frontend_conf": dict(_FRONTEND, lfr_m=5, lfr_n=1, dither=0.0)}

    def build(tables):
        import funasr.models.fsmn_vad_streaming.model  # noqa: F401  (registers the class)
        import torch

        model = tables.model_classes.get("FsmnVADStreaming")(encoder="FSMN",
                                                             encoder_conf=encoder, **model_conf)
        with torch.no_grad():
            model.encoder.out_linear2.linear.bias[0] = -20.0
        return model

    return _save_funasr(folder, config, build, mvn_dim=400)


# --------------------------------------------------------------------------- whisper

def build_tiny_whisper(folder: Path) -> Path:
    """The CTranslate2 folder (``<folder>/ct2``) of a tiny random multilingual Whisper."""
    import ctranslate2
    import torch
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperTokenizerFast,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    vocab = {symbol: index for index, symbol in
             enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab[""] = len(vocab)  # CTranslate2 calls a vocabulary with "" multilingual
    while len(vocab) < 50257:
        vocab[f"<filler{len(vocab)}>"] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|startoftranscript|>", *(f"<|{c}|>" for c in LANGUAGES),
                "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                "<|nospeech|>", "<|notimestamps|>", *(f"<|{i * 0.02:.2f}|>" for i in range(1501))]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False)
                                  for s in specials])
    ids = {s: tokenizer.token_to_id(s) for s in specials}
    end, start = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    config = WhisperConfig(vocab_size=tokenizer.get_vocab_size(), num_mel_bins=80, d_model=16,
                           encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                           decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                           pad_token_id=end, bos_token_id=end, eos_token_id=end,
                           decoder_start_token_id=start)
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=start, eos_token_id=end, pad_token_id=end, bos_token_id=end,
        lang_to_id={f"<|{c}|>": ids[f"<|{c}|>"] for c in LANGUAGES},
        task_to_id={"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]},
        no_timestamps_token_id=ids["<|notimestamps|>"], is_multilingual=True, max_length=448,
        begin_suppress_tokens=[], suppress_tokens=[])
    hf = folder / "hf"
    model.save_pretrained(hf)
    WhisperTokenizerFast(tokenizer_object=tokenizer, unk_token="<|endoftext|>",
                         bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                         pad_token="<|endoftext|>").save_pretrained(hf)
    # transformers 5 writes processor_config.json; faster-whisper reads preprocessor_config
    WhisperFeatureExtractor(feature_size=80).save_pretrained(hf)
    ct2 = folder / "ct2"
    ctranslate2.converters.TransformersConverter(
        str(hf), copy_files=["tokenizer.json", "preprocessor_config.json"]).convert(
        str(ct2), quantization="int8", force=True)
    return ct2


# --------------------------------------------------------------------------- fixtures

def _once(factory: pytest.TempPathFactory, name: str, build) -> Path:
    """Build a model folder once per session, whichever test module asks first."""
    root = factory.getbasetemp() / f"asr-{name}"
    done = root / "built"
    if done.is_file():
        return Path(done.read_text())
    path = build(root / "model")
    done.write_text(str(path))
    return path


def _session_folder(name: str, build: Callable[[Path], Path]):
    """A session fixture named ``tiny_<name>`` giving the folder ``build`` makes (once)."""

    @pytest.fixture(scope="session", name=f"tiny_{name.replace('-', '_')}")
    def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
        return _once(tmp_path_factory, name, build)

    return folder


# Test modules bind these at module level (``tiny_whisper = asr_fixtures.tiny_whisper``).
tiny_sensevoice = _session_folder("sensevoice", build_tiny_sensevoice)
tiny_paraformer = _session_folder("paraformer", build_tiny_paraformer)
tiny_punctuation = _session_folder("punctuation", build_tiny_punctuation)
tiny_fsmn_vad = _session_folder("fsmn-vad", build_tiny_fsmn_vad)
tiny_whisper = _session_folder("whisper", build_tiny_whisper)
