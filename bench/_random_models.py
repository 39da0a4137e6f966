"""Full-size random v2 models on disk, in the layouts the engine loads, for benchmarks.

Speed does not depend on the weights' values, so a benchmark needs no download: this writes
a workspace whose BERT (chinese-roberta-wwm-ext-large shape) and HuBERT (chinese-hubert-base
shape) folders are random models saved by transformers, and GPT/SoVITS files in upstream's
``GPT_weights_v2``/``SoVITS_weights_v2`` formats (``save_gpt_weights``/``save_sovits_weights``),
so the engine's real loading code reads them and upstream's classes can load the same tensors.

The GPT's EOS row of the output layer is zeroed: a zero logit never reaches the top 15 of
random logits, so every segment decodes exactly the number of tokens the benchmark asks for
(``InferenceOptions.max_new_tokens``), on our side and on upstream's alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch

from gsv_core.audio import SAMPLE_RATE
from gsv_core.models.checkpoint import gpt_info, save_gpt_weights, save_sovits_weights, sovits_info
from gsv_core.models.gpt import GPTConfig, Text2SemanticDecoder
from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator
from gsv_core.workspace import Workspace

BERT_VOCAB = 21_128  # chinese-roberta-wwm-ext-large
_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass(frozen=True)
class RandomVoice:
    """Paths of a random full-size workspace."""

    workspace: Workspace
    gpt_path: Path
    sovits_path: Path
    reference_wav: Path


def write_bert(folder: Path, text: str) -> None:
    """A random BERT of the real size; its vocabulary holds every character of ``text``."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    chars = [c for c in dict.fromkeys(text) if not c.isspace()]
    filler = [f"[unused{i}]" for i in range(BERT_VOCAB - len(_SPECIAL) - len(chars))]
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join([*_SPECIAL, *chars, *filler]), encoding="utf-8")
    BertTokenizerFast(vocab_file=str(vocab)).save_pretrained(folder)
    config = BertConfig(vocab_size=BERT_VOCAB, hidden_size=1024, num_hidden_layers=24,
                        num_attention_heads=16, intermediate_size=4096)
    BertForMaskedLM(config).save_pretrained(folder)


def write_hubert(folder: Path) -> None:
    """A random HuBERT base (12 layers, 768 wide), as chinese-hubert-base is."""
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    HubertModel(HubertConfig()).save_pretrained(folder)
    Wav2Vec2FeatureExtractor(do_normalize=True, sampling_rate=16_000).save_pretrained(folder)


def write_reference(path: Path, seconds: float = 5.0) -> Path:
    """A voiced test signal (harmonics on a gliding pitch, syllable-like loudness)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    phase = 2 * np.pi * np.cumsum(135 + 25 * np.sin(2 * np.pi * 0.7 * t)) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 16))
    signal = voice * 0.5 * (1 - np.cos(2 * np.pi * 4.0 * t))
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, (0.5 * signal / np.abs(signal).max()).astype(np.float32),
                    SAMPLE_RATE, subtype="PCM_16")
    return path


def build_random_voice(root: Path, text: str) -> RandomVoice:
    """Write the workspace under ``root`` (seeded: the same files every run)."""
    torch.manual_seed(0)
    workspace = Workspace(root)
    write_bert(workspace.bert_dir, text)
    write_hubert(workspace.hubert_dir)

    gpt_config = GPTConfig()
    gpt = Text2SemanticDecoder(gpt_config)
    with torch.no_grad():
        gpt.ar_predict_layer.weight[gpt_config.eos_id].zero_()  # see the module doc
    gpt_path = save_gpt_weights(root / "GPT_weights_v2" / "random-e1.ckpt", gpt, gpt_config,
                                gpt_info(1))

    sovits_config = SoVITSConfig()
    sovits = SoVITSGenerator(sovits_config)
    codebook = sovits.quantizer.vq["layers"][0]._codebook.embed
    with torch.no_grad():
        codebook.copy_(torch.randn_like(codebook))  # a filled codebook, as trained weights
    sovits_path = save_sovits_weights(root / "SoVITS_weights_v2" / "random_e1_s1.pth", sovits,
                                      sovits_config, sovits_info(1, 1))
    return RandomVoice(workspace, gpt_path, sovits_path,
                       write_reference(root / "ref" / "voice_5s.wav"))
