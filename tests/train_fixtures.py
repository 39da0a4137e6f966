"""A tiny formatted experiment, written file by file in upstream's layout, for trainer tests.

``logs/<exp>/`` as upstream's formatting scripts leave it (``gsv_core/prepare/layout.py``
names every file): ``2-name2text.txt`` rows from our real cleaner, ``3-bert/<name>.pt``
``[1024, n_phones]`` fp16 for Mandarin clips only, ``4-cnhubert/<name>.pt`` ``[1, 768, T]`` at
50 Hz, ``5-wav32k/<name>`` int16 mono 32 kHz, ``6-name2semantic.tsv`` with its header and the
codes the tiny SoVITS fixture's ``extract_latent`` gives for those HuBERT features (so SoVITS
and GPT see data that agree, as after real formatting). No model besides the tiny SoVITS runs:
this takes well under a second per clip, where real formatting with tiny models takes longer.

The audio is a voiced tone (harmonics under a slow envelope) so spectrogram losses have
structure to learn; the HuBERT features are random but fixed by the seed.

:func:`write_tiny_pretrained_sovits` writes the pretrained SoVITS pair a CPU can train in
seconds a step: the tiny generator fixture with its training segment cut to 8 frames, and a
discriminator at 1/16 of upstream's width (0.2 M parameters instead of 47 M; its resume files
are a few MB instead of 0.9 GB). Both are in upstream's file format, under upstream's names.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import soundfile
import torch

from gsv_core.models.checkpoint import load_sovits, read_checkpoint_dict
from gsv_core.models.discriminator import MultiPeriodDiscriminator
from gsv_core.prepare.layout import SEMANTIC_HEADER, ExperimentFiles
from gsv_core.prepare.text_step import clean_clip_text
from gsv_core.workspace import Workspace
from tests.fixture_paths import tiny_fixture

__all__ = ["LABELS", "write_formatted_experiment"]

SAMPLE_RATE = 32000
HUBERT_RATE = 50
LABELS: tuple[tuple[str, str], ...] = (
    ("zh", "今天天气很好，我们去公园散步吧。"),
    ("en", "The quick brown fox jumps over the lazy dog."),
    ("zh", "这是一个用于训练测试的短句子。"),
    ("en", "Training a voice takes a little patience."),
    ("zh", "请把窗户打开，让新鲜空气进来。"),
    ("en", "She sells sea shells by the sea shore."),
)


def _voiced(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = rng.uniform(110, 220) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    wave = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * np.minimum(t / seconds, 1.0)))
    return (0.3 * wave * envelope / np.max(np.abs(wave))).astype(np.float32)


SEGMENT_SAMPLES = 5120  # 8 frames instead of the fixture's 32: a quarter of the D work
NARROW_DISCRIMINATOR = 16  # channel_divisor of the test discriminator
GENERATOR_NAME, DISCRIMINATOR_NAME = "s2G2333k.pth", "s2D2333k.pth"  # where the registry looks


def write_tiny_pretrained_sovits(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """Write the tiny generator (segment cut to :data:`SEGMENT_SAMPLES`) and a narrow random
    discriminator into ``folder`` (e.g. ``Workspace.pretrained_v2_dir``); return both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = read_checkpoint_dict(tiny_fixture("sovits_v2.pth"))
    data["config"]["train"]["segment_size"] = SEGMENT_SAMPLES
    generator = folder / GENERATOR_NAME
    torch.save(data, generator)
    torch.manual_seed(seed)
    discriminator = folder / DISCRIMINATOR_NAME
    weights = MultiPeriodDiscriminator(channel_divisor=NARROW_DISCRIMINATOR).state_dict()
    torch.save({"weight": weights, "iteration": 0}, discriminator)
    return generator, discriminator


def write_formatted_experiment(workspace_root: Path, experiment: str = "tiny voice", *,
                               clips: int = 6, seconds: Sequence[float] = (1.6, 2.4, 3.2),
                               seed: int = 0) -> ExperimentFiles:
    """Write ``clips`` clips (labels cycling through :data:`LABELS`, lengths through
    ``seconds``) into ``<workspace_root>/logs/<experiment>/`` and return its files."""
    files = ExperimentFiles.of(Workspace(workspace_root), experiment)
    for folder in (files.bert_dir, files.hubert_dir, files.wav32k_dir):
        folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    sovits = load_sovits(tiny_fixture("sovits_v2.pth"))
    text_rows, semantic_rows = [], [SEMANTIC_HEADER]
    for index in range(clips):
        language, text = LABELS[index % len(LABELS)]
        length = float(seconds[index % len(seconds)])
        name = f"clip_{index:03d}.wav"
        clip = clean_clip_text(name, text, language, readings="upstream")
        text_rows.append(clip.row())
        if clip.needs_bert:
            bert = torch.randn(1024, len(clip.phones), generator=generator) * 0.1
            torch.save(bert.half(), files.bert_file(name))
        audio = _voiced(length, rng)
        soundfile.write(files.wav32k_file(name), audio, SAMPLE_RATE, subtype="PCM_16")
        frames = int(length * HUBERT_RATE)
        ssl = torch.randn(1, 768, frames, generator=generator)
        torch.save(ssl, files.hubert_file(name))
        with torch.no_grad():
            codes = sovits.extract_latent(ssl)
        semantic_rows.append(f"{name}\t{' '.join(str(int(c)) for c in codes.reshape(-1))}")
    files.name2text.write_text("\n".join(text_rows) + "\n", encoding="utf-8")
    files.name2semantic.write_text("\n".join(semantic_rows) + "\n", encoding="utf-8")
    return files
