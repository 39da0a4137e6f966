"""HuBERT and BERT features with tiny random models saved by transformers in tmp folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertTokenizerFast,
    HubertConfig,
    HubertModel,
    Wav2Vec2FeatureExtractor,
)

from gsv_core.errors import ModelMissing, TextError
from gsv_core.features import HUBERT_HOP_SAMPLES, BertFeatures, HubertFeatures
from gsv_core.workspace import Workspace

CHARS = "你好世界今天天气很不错"


@pytest.fixture(scope="module")
def hubert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ws") / "chinese-hubert-base"
    torch.manual_seed(0)
    config = HubertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                          intermediate_size=64, conv_dim=(16,) * 7,
                          num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
    HubertModel(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(do_normalize=True, sampling_rate=16000).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ws") / "chinese-roberta-wwm-ext-large"
    folder.mkdir()
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *CHARS]),
                     encoding="utf-8")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=5 + len(CHARS), hidden_size=32, num_hidden_layers=4,
                        num_attention_heads=2, intermediate_size=64)
    BertForMaskedLM(config).save_pretrained(folder)
    return folder


def test_hubert_is_50hz_last_hidden_state(hubert_dir: Path) -> None:
    features = HubertFeatures.load(hubert_dir)
    wav = 0.3 * torch.sin(torch.arange(16000 * 2) / 16000 * 2 * torch.pi * 220)
    out = features(wav)
    frames = wav.shape[0] // HUBERT_HOP_SAMPLES - 1  # the conv stack loses one frame at 2 s
    assert out.shape == (1, 32, frames)
    # Same numbers as transformers' own pipeline (feature extractor -> last_hidden_state).
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(hubert_dir)
    values = extractor(wav.numpy(), return_tensors="pt", sampling_rate=16000).input_values
    with torch.no_grad():
        expected = features.model(values).last_hidden_state.transpose(1, 2)
    assert torch.allclose(out, expected, atol=1e-4)
    # Normalisation per clip: scaling the input does not change the features.
    assert torch.allclose(features(wav * 0.5), out, atol=1e-4)


def test_bert_third_last_layer_spread_by_word2ph(bert_dir: Path) -> None:
    features = BertFeatures.load(bert_dir)
    text, word2ph = "你好世界", [2, 2, 1, 3]
    out = features.phone_features(text, word2ph)
    assert out.shape == (32, 8)
    inputs = features.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        hidden = features.model(**inputs, output_hidden_states=True).hidden_states
    per_char = hidden[-3][0, 1:-1]
    assert torch.equal(out[:, 0], per_char[0]) and torch.equal(out[:, 1], per_char[0])
    assert torch.equal(out[:, 4], per_char[2]) and torch.equal(out[:, 7], per_char[3])
    assert not torch.allclose(per_char, hidden[-1][0, 1:-1])  # really not the last layer


def test_bert_batch_equals_one_at_a_time(bert_dir: Path) -> None:
    """Padded and masked: each text's features are its own, whatever it is batched with."""
    features = BertFeatures.load(bert_dir)
    texts = ["你好世界", "你好", "世界你好世界"]
    word2phs = [[2, 2, 1, 3], [1, 2], [1, 1, 2, 2, 1, 1]]
    batched = features.phone_features_batch(texts, word2phs, max_batch=2)
    for text, word2ph, got in zip(texts, word2phs, batched, strict=True):
        alone = features.phone_features(text, word2ph)
        assert got.shape == alone.shape == (32, sum(word2ph))
        assert torch.allclose(got, alone, atol=1e-5)
    assert not torch.allclose(batched[0][:, :2], batched[1][:, :2])  # not one text's rows
    with pytest.raises(TextError, match="2 tokens for 3 characters"):
        features.phone_features_batch(["你好世界", "你好"], [[1, 1, 1, 1], [1, 1, 1]])


def test_bert_padded_to_a_multiple_gives_the_same_features(bert_dir: Path) -> None:
    """``pad_to_multiple_of`` only adds masked padding; a batch of one is never padded."""
    features = BertFeatures.load(bert_dir)
    texts = ["你好世界", "你好", "世界你好世界"]
    word2phs = [[2, 2, 1, 3], [1, 2], [1, 1, 2, 2, 1, 1]]
    shapes: list[tuple[int, ...]] = []
    forward = features.model.forward
    features.model.forward = lambda **kw: (shapes.append(tuple(kw["input_ids"].shape)),
                                           forward(**kw))[1]
    padded = features.phone_features_batch(texts, word2phs, pad_to_multiple_of=16)
    assert shapes == [(3, 16)]  # 6 characters + [CLS] + [SEP], rounded up to 16
    for got, plain in zip(padded, features.phone_features_batch(texts, word2phs), strict=True):
        assert got.shape == plain.shape and torch.allclose(got, plain, atol=1e-5)
    one = features.phone_features_batch(texts[:1], word2phs[:1], pad_to_multiple_of=16)
    assert shapes[-1] == (1, 6) and torch.equal(one[0], features.phone_features(texts[0],
                                                                                word2phs[0]))


def test_bert_refuses_misaligned_word2ph(bert_dir: Path) -> None:
    with pytest.raises(TextError, match="4 tokens for 3 characters"):
        BertFeatures.load(bert_dir).phone_features("你好世界", [1, 1, 1])


def test_missing_folders_name_the_upstream_path(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    with pytest.raises(ModelMissing) as info:
        HubertFeatures.load(ws.hubert_dir)
    assert info.value.expected_paths == (
        str(tmp_path / "GPT_SoVITS" / "pretrained_models" / "chinese-hubert-base"),)
    ws.bert_dir.mkdir(parents=True)
    with pytest.raises(ModelMissing) as info:
        BertFeatures.load(ws.bert_dir)
    assert info.value.expected_paths == (str(ws.bert_dir / "config.json"),)


def test_bert_batches_of_one_equal_one_at_a_time_exactly(bert_dir: Path) -> None:
    """No padding, so the batched path's gather must give the reference's very values."""
    features = BertFeatures.load(bert_dir)
    texts, word2phs = ["你好世界", "世界你好世界"], [[2, 2, 1, 3], [1, 1, 2, 2, 1, 1]]
    for text, word2ph, got in zip(texts, word2phs, features.phone_features_batch(
            texts, word2phs, max_batch=1), strict=True):
        assert got.is_contiguous() and got.dtype == torch.float32
        assert torch.equal(got, features.phone_features(text, word2ph))
