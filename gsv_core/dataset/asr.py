"""Speech recognition settings, and the one interface both ASR engines implement.

Two engines, each reading a model from a local folder (``asr_models`` checks it):

- **funasr**: SenseVoiceSmall (zh, yue, en, ja, ko, or auto: it names the language it heard)
  and Paraformer-zh (Mandarin only, optionally with a VAD and a punctuation folder);
- **whisper**: faster-whisper (CTranslate2) for en/ja/ko/auto; a Chinese or Cantonese
  detection is kept as detected, so no Chinese model is needed for other languages.

Unlike upstream (``tools/asr/*.py``), nothing is downloaded unless the user names a hub id
and asks for the download; ``trust_remote_code`` is never passed to funasr (it would run
``pip install`` from the model folder); the device comes from the machine profile, with the
CPU when CUDA cannot be used; and half precision is refused on the CPU rather than crashing
inside CTranslate2.

``AsrOptions`` validates every field on construction (a ``ConfigError`` naming it), so the
CLI and the tab refuse bad settings before a clip is read. Heavy libraries are imported only
by ``load_transcriber``'s engines: ``import gsv_core`` and the UI start never load them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from gsv_core.dataset.annotations import LANGUAGE_CODES
from gsv_core.errors import ConfigError, HardwareError
from gsv_core.hardware import MachineProfile

__all__ = [
    "ASR_SAMPLE_RATE",
    "ENGINES",
    "LANGUAGES",
    "PRECISIONS",
    "AsrOptions",
    "DeviceChoice",
    "Transcriber",
    "Transcript",
    "load_transcriber",
    "normalise_language",
    "resolve_device",
]

ASR_SAMPLE_RATE = 16000                 # what every ASR model here reads
LANGUAGES = ("zh", "yue", "en", "ja", "ko", "auto")
TRAINED_LANGUAGES = ("zh", "yue", "en", "ja", "ko")  # what a .list may hold
ENGINES = ("funasr", "whisper")
PRECISIONS = ("auto", "float32", "float16", "int8")
BEAM_SIZE_RANGE = (1, 20)
# Text joined from the chunks of a long clip: scripts written without spaces join directly.
_NO_SPACE_LANGUAGES = ("zh", "yue", "ja")

Engine = Literal["funasr", "whisper"]


def normalise_language(code: str, *, field: str = "language") -> str:
    """``zh``/``ZH``/``JP``/``auto``… → our code (``zh``, ``ja``, ``auto``…).

    Raises:
        ConfigError: not one of zh, yue, en, ja, ko, auto (upstream's spellings accepted).
    """
    text = (code or "").strip()
    if text.lower() == "auto":
        return "auto"
    language = LANGUAGE_CODES.get(text) or LANGUAGE_CODES.get(text.lower())
    if language is None:
        raise ConfigError(f"ASR setting {field}: {code!r} is not a language GPT-SoVITS v2 "
                          "trains.", "Use zh, yue, en, ja, ko, or auto (Q-5).", rule="Q-5")
    return language


def join_texts(texts: list[str], language: str) -> str:
    """The transcript of a clip cut into chunks, in the script's own spacing."""
    parts = [text.strip() for text in texts if text.strip()]
    return ("" if language in _NO_SPACE_LANGUAGES else " ").join(parts)


@dataclass(frozen=True)
class AsrOptions:
    """How to transcribe; validated on construction (a ``ConfigError`` naming the field).

    Attributes:
        model: a local model folder, or a hub id (``owner/name``) when ``download`` is set.
        language: zh, yue, en, ja, ko or auto (auto: each clip's detected language).
        engine: funasr or whisper; None reads it from the model folder.
        precision: auto (whisper: float16 on CUDA, int8 on the CPU; funasr: float32),
            float32, float16 (CUDA only; not SenseVoice) or int8 (whisper only).
        device: auto (the machine profile's CUDA card when CUDA is usable, else the CPU),
            cpu, cuda or cuda:N.
        beam_size: whisper's beam search width (upstream: 5).
        vad_model, punc_model: optional funasr VAD / punctuation folders (Paraformer).
        temperature_fallback: whisper re-decodes a window at higher temperatures when its
            output looks unreliable (faster-whisper's and upstream's default); off is
            faster on the CPU and never re-samples.
        download: fetch ``model`` from the Hugging Face hub when it is a hub id.
    """

    model: str
    language: str = "auto"
    engine: Engine | None = None
    precision: str = "auto"
    device: str = "auto"
    beam_size: int = 5
    vad_model: str | None = None
    punc_model: str | None = None
    temperature_fallback: bool = True
    download: bool = False

    def __post_init__(self) -> None:
        if not self.model or not str(self.model).strip():
            raise ConfigError("ASR setting model: no model folder is given.",
                              "Give the folder of a SenseVoiceSmall, Paraformer-zh or "
                              "faster-whisper model (see docs/asr.md).")
        object.__setattr__(self, "language", normalise_language(self.language))
        if self.engine is not None and self.engine not in ENGINES:
            raise ConfigError(f"ASR setting engine: {self.engine!r} is not an engine.",
                              "Use funasr or whisper, or leave it empty to read it from "
                              "the model folder.")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"ASR setting precision: {self.precision!r} is unknown.",
                              "Use " + ", ".join(PRECISIONS) + ".")
        device = (self.device or "auto").strip().lower()
        if not (device in ("auto", "cpu", "cuda") or
                (device.startswith("cuda:") and device[5:].isdigit())):
            raise ConfigError(f"ASR setting device: {self.device!r} is not a device.",
                              "Use auto, cpu, cuda or cuda:N (N the GPU index).")
        object.__setattr__(self, "device", device)
        low, high = BEAM_SIZE_RANGE
        if (isinstance(self.beam_size, bool) or not isinstance(self.beam_size, int)
                or not low <= self.beam_size <= high):
            raise ConfigError(f"ASR setting beam_size: {self.beam_size!r} is not a whole "
                              f"number from {low} to {high}.", "Use 5 (upstream's value), or "
                              "1 for the fastest decoding.")


@dataclass(frozen=True)
class Transcript:
    """What a model heard in one piece of audio.

    ``language`` is one of zh/yue/en/ja/ko, or None when the model could not tell (auto
    with no language detected, or one outside those five); ``detected`` is the model's own
    answer when it named one (e.g. ``"de"``), for the message.
    """

    text: str
    language: str | None
    detected: str | None = None


class Transcriber(Protocol):
    """A loaded model: 16 kHz mono float32 audio in, a ``Transcript`` out."""

    engine: Engine
    device: str
    precision: str

    def check_language(self, language: str) -> None:
        """Raise ``ConfigError`` when this model cannot transcribe ``language`` at all."""
        ...

    def transcribe(self, audio: np.ndarray, language: str) -> Transcript:
        """``language`` is a code of ``LANGUAGES``; auto lets the model detect it."""
        ...


@dataclass(frozen=True)
class DeviceChoice:
    """Where the model runs, and why (shown in the result line)."""

    device: str   # "cpu" or "cuda:N"
    note: str = ""


def _cuda_count(engine: Engine) -> int:
    """CUDA devices the engine's own runtime can use (0 when the runtime has no CUDA)."""
    if engine == "whisper":
        import ctranslate2

        try:
            return ctranslate2.get_cuda_device_count()
        except RuntimeError:
            return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(requested: str, profile: MachineProfile, engine: Engine,
                   cuda_count: Callable[[Engine], int] = _cuda_count) -> DeviceChoice:
    """The device to load the model on.

    ``auto`` takes the profile's NVIDIA card with the most memory when the engine's runtime
    can use CUDA, else the CPU (saying why). ASR needs far less memory than training, so
    any CUDA card will do (H-1's training limits do not apply).

    Raises:
        HardwareError: ``cuda``/``cuda:N`` asked for where that device cannot be used.
    """
    cards = sorted((gpu for gpu in profile.gpus if gpu.vendor == "nvidia"),
                   key=lambda gpu: (-gpu.total_memory_bytes, gpu.index))
    if requested == "cpu":
        return DeviceChoice("cpu")
    usable = cuda_count(engine) if cards or requested != "auto" else 0
    if requested == "auto":
        if not cards:
            return DeviceChoice("cpu", "no NVIDIA GPU found")
        if usable == 0:
            return DeviceChoice("cpu", f"{cards[0].name} found, but CUDA cannot be used by "
                                       f"{engine} here (CPU-only build or no driver)")
        visible = [gpu for gpu in cards if gpu.index < usable]
        return DeviceChoice(f"cuda:{visible[0].index if visible else 0}")
    index = int(requested[5:]) if ":" in requested else 0
    if index >= usable:
        raise HardwareError(f"ASR device {requested}: {engine} can use {usable} CUDA "
                            "device(s) here.", "Use device auto or cpu, or install the CUDA "
                            "build of torch / CTranslate2.")
    return DeviceChoice(f"cuda:{index}")


def load_transcriber(options: AsrOptions, model_dir: Path, engine: Engine, kind: str,
                     device: DeviceChoice) -> Transcriber:
    """Load the model in ``model_dir`` (already checked by ``asr_models.inspect_model_folder``).

    Raises:
        ConfigError: a precision the engine or device cannot run.
        ModelMissing: the engine cannot load the folder (its message in ``details``).
    """
    on_cuda = device.device.startswith("cuda")
    precision = options.precision
    if precision == "float16" and not on_cuda:
        raise ConfigError("ASR setting precision: float16 runs only on a CUDA GPU.",
                          "Use auto (int8 for whisper, float32 for funasr on the CPU).")
    if engine == "whisper":
        from gsv_core.dataset.asr_whisper import WhisperTranscriber

        if precision == "auto":
            precision = "float16" if on_cuda else "int8"
        return WhisperTranscriber(model_dir, device.device, precision,
                                  beam_size=options.beam_size, threads=_threads(),
                                  temperature_fallback=options.temperature_fallback)
    if precision == "int8":
        raise ConfigError("ASR setting precision: int8 is for the whisper engine only.",
                          "Use auto, float32 or (on a CUDA GPU) float16 with funasr.")
    from gsv_core.dataset.asr_funasr import FunAsrTranscriber

    if precision == "float16" and kind == "sensevoice":
        # funasr 1.4.16 casts the input to half for Paraformer (paraformer/model.py) but not
        # for SenseVoice, whose half weights would then meet float32 features.
        raise ConfigError("ASR setting precision: SenseVoiceSmall runs in float32 here.",
                          "Use auto or float32 (the model is small: float32 is fast on a GPU).")
    if precision == "auto":
        precision = "float32"  # funasr's models are small; its half path is Paraformer-only
    return FunAsrTranscriber(model_dir, kind, device.device, precision, threads=_threads(),
                             vad_dir=_folder(options.vad_model),
                             punc_dir=_folder(options.punc_model))


def _folder(path: str | None) -> Path | None:
    return Path(os.path.abspath(Path(path).expanduser())) if path and path.strip() else None


def _threads() -> int:
    """CPU threads for the model: one per core (funasr would set 4 even on 2 cores, and
    CTranslate2 picks its own), at most 16 (more gains nothing for one clip at a time)."""
    return max(1, min(os.cpu_count() or 1, 16))
