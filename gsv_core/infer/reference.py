"""The reference clip → the GPT prompt tokens, the SoVITS timbre, and the prompt phones.

Facts from upstream (``TTS_infer_pack/TTS.py`` ``_set_prompt_semantic`` / ``_get_ref_spec``
and ``inference_webui.get_tts_wav``, 48b1a01):

- The clip must last 3-10 s, measured on the 16 kHz signal: fewer than 48 000 or more than
  160 000 samples are refused.
- HuBERT reads the 16 kHz clip followed by ``int(32000 * 0.3)`` = 9 600 zero samples: upstream
  sizes its "0.3 s" pause with the 32 kHz output rate but appends it to the 16 kHz signal,
  so the silence really lasts 0.6 s. We append the same 9 600 samples, because the prompt
  tokens (and so the voice) depend on them. ``extract_latent`` turns the features into 25 Hz
  tokens; the first codebook's row is the prompt.
- The spectrogram is of the clip at 32 kHz, without the silence; a clip louder than full scale
  is divided by ``min(2, peak)``.
- Extra clips (``aux_ref_audio_paths``) add their spectrograms to the main one; SoVITS
  averages the style vectors of all of them.
- The prompt text gets a final "。" ("." in English) when it does not end with a mark.

The prompt text is read with the request's ``readings`` (issue 9), as the target text is: the
GPT continues the prompt's phones with the target's, so both should be read alike.

Audio is read with soundfile (any format libsndfile reads) and resampled with soxr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile
import torch

from gsv_core.audio import HUBERT_SAMPLE_RATE, SAMPLE_RATE, resample
from gsv_core.errors import ReferenceAudioError
from gsv_core.features import HubertFeatures
from gsv_core.infer.options import MAX_REFERENCE_S, MIN_REFERENCE_S, Reference
from gsv_core.infer.segments import END_MARKS
from gsv_core.models.sovits import SoVITSGenerator
from gsv_core.models.spectrogram import spectrogram
from gsv_core.text import PolyphoneBackend, phones_and_features
from gsv_core.text.bert_align import PhoneFeatureExtractor

__all__ = [
    "MAX_REFERENCE_S",
    "MIN_REFERENCE_S",
    "PROMPT_SILENCE_SAMPLES_16K",
    "ReferenceClip",
    "ReferenceFeatures",
    "prepare_reference",
    "prompt_text_for_gpt",
    "read_clip",
]

# upstream: np.zeros(int(sampling_rate * 0.3)) with sampling_rate = 32000, appended at 16 kHz
PROMPT_SILENCE_SAMPLES_16K = int(SAMPLE_RATE * 0.3)
_LOUDNESS_DIVISOR_CAP = 2.0  # upstream divides a clip peaking above 1 by min(2, peak)


@dataclass(frozen=True)
class ReferenceClip:
    """A clip read from disk: mono float32 at its own rate."""

    path: Path
    audio: np.ndarray  # [samples]
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate


@dataclass(frozen=True)
class ReferenceFeatures:
    """Everything synthesis needs from a reference, computed once and cached."""

    prompt_codes: torch.Tensor | None  # [Tp] int64 semantic tokens; None when prompt-free
    prompt_phone_ids: torch.Tensor | None  # [Tpp] int64
    prompt_bert: torch.Tensor | None  # [1024, Tpp] float32
    refer_specs: tuple[torch.Tensor, ...]  # [1, 1025, T] per clip, main clip first
    style: torch.Tensor  # [1, gin, 1] mean style vector of refer_specs (SoVITS ``ge``)


def read_clip(path: Path | str) -> ReferenceClip:
    """Read ``path`` as mono float32; a ReferenceAudioError names the file if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceAudioError(f"The reference clip {path} does not exist.",
                                  "Upload the clip again or pick another one.", path=str(path))
    try:
        audio, rate = soundfile.read(os.fspath(path), dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, OSError, RuntimeError, ValueError) as exc:
        raise ReferenceAudioError(
            f"The reference clip {path.name} cannot be read as audio (damaged, or not a "
            "format soundfile reads).",
            "Use a wav, flac, ogg or mp3 file of 3-10 seconds.",
            path=str(path), details=f"{path}: {exc}") from exc
    if audio.shape[0] == 0:
        raise ReferenceAudioError(f"The reference clip {path.name} holds no audio.",
                                  "Use a clip of 3-10 seconds of speech.", path=str(path),
                                  duration_s=0.0)
    if not np.isfinite(audio).all():  # a damaged float file: NaN features, NaN speech
        raise ReferenceAudioError(
            f"The reference clip {path.name} holds samples that are not numbers (NaN or "
            "infinite): a damaged floating-point recording.",
            "Export it again (16-bit PCM WAV is safest), or use another clip.",
            path=str(path))
    return ReferenceClip(path=path, audio=audio.mean(axis=1), sample_rate=int(rate))


def _check_duration(clip: ReferenceClip, audio_16k: np.ndarray) -> None:
    samples = audio_16k.shape[0]
    low = int(MIN_REFERENCE_S * HUBERT_SAMPLE_RATE)
    high = int(MAX_REFERENCE_S * HUBERT_SAMPLE_RATE)
    if low <= samples <= high:
        return
    duration = samples / HUBERT_SAMPLE_RATE
    fix = "Cut it shorter" if samples > high else "Use a longer clip"
    raise ReferenceAudioError(
        f"The reference clip {clip.path.name} lasts {duration:.2f} s; it must last "
        f"{MIN_REFERENCE_S:g}-{MAX_REFERENCE_S:g} s.",
        f"{fix} ({MIN_REFERENCE_S:g}-{MAX_REFERENCE_S:g} s of clean speech).",
        path=str(clip.path), duration_s=duration)


def _reference_spectrogram(clip: ReferenceClip, device: torch.device) -> torch.Tensor:
    audio = torch.from_numpy(resample(clip.audio, clip.sample_rate, SAMPLE_RATE)).to(device)
    peak = float(audio.abs().max())
    if peak > 1:
        audio = audio / min(_LOUDNESS_DIVISOR_CAP, peak)
    return spectrogram(audio.unsqueeze(0))  # [1, 1025, T] float32


def _prompt_codes(clip: ReferenceClip, audio_16k: np.ndarray, hubert: HubertFeatures,
                  sovits: SoVITSGenerator) -> torch.Tensor:
    padded = np.concatenate([audio_16k, np.zeros(PROMPT_SILENCE_SAMPLES_16K, np.float32)])
    ssl = hubert(torch.from_numpy(padded))  # [1, 768, T50]
    return sovits.extract_latent(ssl)[0, 0].long()  # [Tp]


def prompt_text_for_gpt(text: str, language: str) -> str:
    """The prompt text as upstream feeds it: line breaks stripped, a final mark ensured."""
    text = text.strip("\n")
    if text and text[-1] not in END_MARKS:
        text += "." if language == "en" else "。"
    return text


def prepare_reference(reference: Reference, *, hubert: HubertFeatures | None,
                      sovits: SoVITSGenerator, bert: PhoneFeatureExtractor | None,
                      polyphones: PolyphoneBackend | None = None,
                      readings: str = "upstream") -> ReferenceFeatures:
    """Compute the prompt tokens, spectrograms, style and prompt phones of ``reference``.

    ``readings``: how the prompt text is read ("upstream", the text front end's default, or
    "improved"); the engine passes the request's ``InferenceOptions.readings``.

    Raises:
        ReferenceAudioError: a clip is missing, unreadable, or (the main one) not 3-10 s.
    """
    device = next(sovits.parameters()).device
    specs: list[torch.Tensor] = []
    codes = None
    if reference.audio_path is not None:
        main = read_clip(reference.audio_path)
        audio_16k = resample(main.audio, main.sample_rate, HUBERT_SAMPLE_RATE)
        _check_duration(main, audio_16k)
        specs.append(_reference_spectrogram(main, device))
        if reference.uses_prompt:
            if hubert is None:
                raise ValueError("prepare_reference needs HuBERT for a reference with text")
            codes = _prompt_codes(main, audio_16k, hubert, sovits)
    for extra in reference.extra_audio_paths:
        specs.append(_reference_spectrogram(read_clip(extra), device))
    style = sovits.style_embedding(specs)
    phone_ids = bert_features = None
    if codes is not None:
        language = reference.language.strip().lower()
        prompt = phones_and_features(prompt_text_for_gpt(reference.text, language), language,
                                     bert, polyphones=polyphones, readings=readings)
        phone_ids = torch.tensor(prompt.phone_ids, dtype=torch.long)
        bert_features = prompt.features.float()
    return ReferenceFeatures(prompt_codes=codes, prompt_phone_ids=phone_ids,
                             prompt_bert=bert_features, refer_specs=tuple(specs), style=style)
