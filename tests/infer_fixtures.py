"""A ready inference set-up for tests: tiny models in a temporary workspace.

What it builds (nothing is downloaded, nothing is copied from the shared fixtures):

- ``<root>/GPT_SoVITS/pretrained_models/chinese-roberta-wwm-ext-large``: a random BERT saved
  by transformers in the real on-disk format. Its hidden size is 1024 because the GPT's
  ``bert_proj`` reads 1024 features; two thin layers keep it small.
- ``<root>/GPT_SoVITS/pretrained_models/chinese-hubert-base``: a random HuBERT, hidden size
  768 (what SoVITS' ``ssl_proj`` reads), one layer.
- ``<root>/ref/voice_4s.wav``: a 4 s voiced signal at 44.1 kHz (a glottal-like harmonic
  series on a gliding pitch, syllable-like loudness), so resampling to 16 k and 32 k is
  exercised.
- the GPT and SoVITS files are the tiny fixtures, referenced by path.

Use the plain functions (``build_infer_setup(folder)``) or the fixtures. To use a fixture in
a test module, bind it at module level (ruff then sees no shadowed import)::

    from tests import infer_fixtures
    infer_setup = infer_fixtures.infer_setup
    infer_engine = infer_fixtures.infer_engine

``infer_setup`` is built once per session (model folders are read-only for tests);
``infer_engine`` gives each test a fresh engine with both models loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile

from gsv_core.infer import InferenceEngine, Reference
from gsv_core.workspace import Workspace
from tests.fixture_paths import tiny_fixture

__all__ = [
    "REFERENCE_TEXT",
    "InferSetup",
    "build_infer_setup",
    "infer_engine",
    "infer_setup",
    "make_engine",
    "write_voiced_wav",
]

REFERENCE_TEXT = "你好，今天天气很不错。"
BERT_CHARS = "你好世界今天天气很不错我们一起去公园吧这是测试中文句子的字零点五三十四"
REFERENCE_SAMPLE_RATE = 44_100
REFERENCE_DURATION_S = 4.0


@dataclass(frozen=True)
class InferSetup:
    """Paths of a tiny inference workspace."""

    workspace: Workspace
    bert_dir: Path
    hubert_dir: Path
    gpt_path: Path
    sovits_path: Path
    reference_wav: Path

    def reference(self, **changes: object) -> Reference:
        """The 4 s reference with its text (Chinese), with ``changes`` applied."""
        fields = {"audio_path": self.reference_wav, "text": REFERENCE_TEXT,
                  "language": "all_zh", **changes}
        return Reference(**fields)  # type: ignore[arg-type]


def write_voiced_wav(path: Path, duration_s: float, sample_rate: int = REFERENCE_SAMPLE_RATE,
                     *, seed: int = 0) -> Path:
    """A speech-like test signal: harmonics of a gliding 110-160 Hz pitch, syllable bursts.

    Deterministic for a seed; peak 0.5, so no clipping after resampling.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sample_rate)) / sample_rate
    pitch_hz = 135 + 25 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch_hz) / sample_rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 16))
    syllables = 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t)) * (t < duration_s - 0.2)
    signal = voice * syllables + 0.01 * rng.standard_normal(t.shape)
    signal = 0.5 * signal / np.abs(signal).max()
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, signal.astype(np.float32), sample_rate, subtype="PCM_16")
    return path


def _write_bert(folder: Path) -> None:
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    chars = list(dict.fromkeys(BERT_CHARS))
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *chars, "，",
                                "。", ",", "."]), encoding="utf-8")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab.read_text(encoding="utf-8").splitlines()),
                        hidden_size=1024, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=520)
    BertForMaskedLM(config).save_pretrained(folder)


def _write_hubert(folder: Path) -> None:
    import torch
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    torch.manual_seed(0)
    config = HubertConfig(hidden_size=768, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=32, conv_dim=(16,) * 7,
                          num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=16)
    HubertModel(config).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(do_normalize=True, sampling_rate=16000).save_pretrained(folder)


def build_infer_setup(root: Path) -> InferSetup:
    """Build the tiny workspace under ``root`` (see the module docstring)."""
    workspace = Workspace(root)
    _write_bert(workspace.bert_dir)
    _write_hubert(workspace.hubert_dir)
    reference = write_voiced_wav(workspace.root / "ref" / "voice_4s.wav", REFERENCE_DURATION_S)
    return InferSetup(workspace=workspace, bert_dir=workspace.bert_dir,
                      hubert_dir=workspace.hubert_dir, gpt_path=tiny_fixture("gpt_v2.ckpt"),
                      sovits_path=tiny_fixture("sovits_v2.pth"), reference_wav=reference)


def make_engine(setup: InferSetup, *, load: bool = True, **kwargs: object) -> InferenceEngine:
    """A CPU engine on ``setup``'s workspace, with the tiny GPT and SoVITS loaded."""
    engine = InferenceEngine(setup.workspace, device="cpu", **kwargs)  # type: ignore[arg-type]
    if load:
        engine.load_gpt(setup.gpt_path)
        engine.load_sovits(setup.sovits_path)
    return engine


@pytest.fixture(scope="session")
def infer_setup(tmp_path_factory: pytest.TempPathFactory) -> InferSetup:
    """The tiny inference workspace, built once per test session."""
    tiny_fixture("gpt_v2.ckpt")  # skip early when the shared fixtures are absent
    return build_infer_setup(tmp_path_factory.mktemp("infer-workspace"))


@pytest.fixture
def infer_engine(infer_setup: InferSetup) -> InferenceEngine:
    """A fresh CPU engine with the tiny models loaded."""
    return make_engine(infer_setup)
