"""funasr engine: SenseVoiceSmall and Paraformer-zh from local folders.

Loaded with ``AutoModel(model=<folder>, disable_update=True)`` and never with
``trust_remote_code`` (with it, funasr 1.4 runs ``pip install -r`` from the model folder) or
hub aliases such as ``fsmn-vad`` (they go to ModelScope). Features come from
kaldi-native-fbank: funasr falls back to it when torchaudio is absent, and torchaudio is not
installed here (a broken one even stops ``import funasr``).

SenseVoice prefixes its text with tags, ``<|zh|><|NEUTRAL|><|Speech|><|withitn|>``: the first
names the language it heard (used for ``auto``), the rest are emotion and event labels that
do not belong in a transcript, so every tag is removed. Paraformer-zh transcribes Mandarin
only; a punctuation folder (CT-Transformer) adds the punctuation Paraformer lacks, and a VAD
folder (FSMN) lets funasr split long audio itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from pathlib import Path

import numpy as np

from gsv_core.dataset.asr import ASR_SAMPLE_RATE, TRAINED_LANGUAGES, Transcript
from gsv_core.dataset.asr_models import inspect_helper_folder
from gsv_core.errors import ConfigError, ModelMissing

__all__ = ["FunAsrTranscriber", "parse_sensevoice_text"]

logger = logging.getLogger(__name__)

_TAG = re.compile(r"<\|([^|<>]*)\|>")
JIEBA_WORDS = "jieba_usr_dict"   # a punctuation model's word list (funasr loads it globally)
# SenseVoice's language tags (its lid_dict): ours, and "nospeech" (nothing heard).
_SENSEVOICE_LANGUAGES = (*TRAINED_LANGUAGES, "nospeech")


def parse_sensevoice_text(raw: str) -> tuple[str, str | None]:
    """``"<|ja|><|NEUTRAL|><|Speech|><|withitn|>こんにちは。"`` → ``("こんにちは。", "ja")``.

    The language is the first tag that is one of SenseVoice's language codes (``nospeech``
    included; None when there is none); every tag is removed from the text, wherever it is.
    """
    detected = next((code for code in (tag.strip().lower() for tag in _TAG.findall(raw))
                     if code in _SENSEVOICE_LANGUAGES), None)
    return " ".join(_TAG.sub("", raw).split()), detected


class FunAsrTranscriber:
    """A SenseVoiceSmall or Paraformer model loaded by funasr (see the module docstring)."""

    engine = "funasr"

    def __init__(self, model_dir: Path, kind: str, device: str, precision: str, *,
                 threads: int, vad_dir: Path | None = None,
                 punc_dir: Path | None = None) -> None:
        if precision not in ("float32", "float16"):
            raise ConfigError(f"ASR setting precision: funasr runs float32 or float16, not "
                              f"{precision}.", "Use auto or float32.")
        self.kind = kind
        self.device = device
        self.precision = precision
        extra: dict[str, object] = {}
        for name, role, folder in (("vad_model", "vad", vad_dir),
                                   ("punc_model", "punctuation", punc_dir)):
            if folder is not None:
                if kind != "paraformer":
                    raise ConfigError(f"ASR setting {name}: only Paraformer uses a separate "
                                      "VAD or punctuation model.",
                                      "Leave it empty for SenseVoiceSmall (it punctuates "
                                      "itself; long clips are split by silero-vad).")
                checked = inspect_helper_folder(folder, role)  # type: ignore[arg-type]
                if role == "punctuation" and (checked.path / JIEBA_WORDS).is_file():
                    raise ConfigError(
                        f"The punctuation model in {os.fspath(checked.path)!r} has a "
                        f"{JIEBA_WORDS} file: funasr would load it into jieba's dictionary "
                        "for the whole process, which changes how Chinese text is split "
                        "into words for synthesis and formatting.",
                        f"Use a copy of the folder without {JIEBA_WORDS} (words are then "
                        "split without it), or a punctuation model that has none.")
                extra[name] = os.fspath(checked.path)
        import torch

        with contextlib.redirect_stdout(sys.stderr):  # funasr prints its version to stdout
            from funasr import AutoModel

            try:
                self._model = AutoModel(
                    model=os.fspath(model_dir), disable_update=True, device=device,
                    # funasr sets torch's thread count to ncpu (default 4) for the whole
                    # process: pass the current one so the app keeps its setting.
                    ncpu=torch.get_num_threads(), disable_pbar=True, log_level="WARNING",
                    fp16=precision == "float16", **extra)
            except (AssertionError, KeyError, TypeError, ValueError, RuntimeError,
                    OSError) as exc:
                raise ModelMissing(
                    f"funasr could not load the model in {os.fspath(model_dir)!r}.",
                    "The folder's files may be damaged or of another model version; "
                    "download it again (see docs/asr.md).", expected_paths=(
                        os.fspath(model_dir),), details=repr(exc)) from exc
        logger.info("funasr %s loaded from %s on %s (%s)", kind, model_dir, device, precision)

    def check_language(self, language: str) -> None:
        """Refuse, before any clip, a language this model cannot transcribe.

        Raises:
            ConfigError: Paraformer-zh asked for anything but zh.
        """
        if self.kind == "paraformer" and language != "zh":
            raise ConfigError(f"Paraformer-zh transcribes Mandarin (zh), not {language}.",
                              "Choose language zh, or SenseVoiceSmall (zh, yue, en, ja, ko, "
                              "auto) or Whisper for other languages.")

    def transcribe(self, audio: np.ndarray, language: str) -> Transcript:
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        if self.kind == "sensevoice":
            results = self._model.generate(input=audio, fs=ASR_SAMPLE_RATE, language=language,
                                           use_itn=True, batch_size=1)
        else:
            self.check_language(language)
            results = self._model.generate(input=audio, fs=ASR_SAMPLE_RATE, batch_size=1)
        raw = "".join(str(item.get("text", "")) for item in results or [])
        if self.kind == "sensevoice":
            text, detected = parse_sensevoice_text(raw)
        else:
            text, detected = " ".join(raw.split()), "zh"
        if language != "auto":
            return Transcript(text, language, detected)
        return Transcript(text, detected if detected in TRAINED_LANGUAGES else None, detected)
