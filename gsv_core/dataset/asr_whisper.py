"""whisper engine: faster-whisper (CTranslate2) from a local folder, for en/ja/ko/auto.

``WhisperModel(folder, local_files_only=True)``: with a complete folder (``asr_models``
checks it) nothing is fetched. Decoding follows upstream's ``fasterwhisper_asr.py``: beam
search (5 by default) with faster-whisper's bundled silero VAD filter and 700 ms minimum
silence, so pauses do not turn into invented words.

``auto`` differs from upstream: the language is chosen among the five GPT-SoVITS v2 trains
(zh, yue, en, ja, ko) from Whisper's own language probabilities, so a clip is never
labelled with a language no later step accepts (Q-5). When Whisper's overall first choice
is another language the transcript says so in ``detected`` (the job reports it), because
the clip may not belong in the set. A zh or yue detection stays zh or yue: upstream sends
those to FunASR; here no Chinese model is needed to label non-Chinese speech.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from gsv_core.dataset.asr import TRAINED_LANGUAGES, Transcript, join_texts
from gsv_core.errors import ConfigError, ModelMissing

__all__ = ["WhisperTranscriber"]

logger = logging.getLogger(__name__)

MIN_SILENCE_MS = 700  # upstream's VAD setting (tools/asr/fasterwhisper_asr.py)
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # faster-whisper's default


class WhisperTranscriber:
    """A faster-whisper model; see the module docstring."""

    engine = "whisper"

    def __init__(self, model_dir: Path, device: str, precision: str, *, beam_size: int = 5,
                 threads: int = 1, temperature_fallback: bool = True) -> None:
        from faster_whisper import WhisperModel

        kind, _, index = device.partition(":")
        self.device = device
        self.precision = precision
        self.beam_size = beam_size
        # faster-whisper's default schedule; a single 0.0 turns the fallback off
        self._temperatures = FALLBACK_TEMPERATURES if temperature_fallback else (0.0,)
        try:
            self._model = WhisperModel(os.fspath(model_dir), device=kind,
                                       device_index=int(index or 0), compute_type=precision,
                                       cpu_threads=threads, local_files_only=True)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelMissing(
                f"faster-whisper could not load the model in {os.fspath(model_dir)!r} on "
                f"{device} ({precision}).",
                "If the message mentions the compute type, use precision auto; otherwise "
                "download the folder again (see docs/asr.md).",
                expected_paths=(os.fspath(model_dir),), details=repr(exc)) from exc
        self._multilingual = bool(self._model.model.is_multilingual)
        logger.info("faster-whisper loaded from %s on %s (%s)", model_dir, device, precision)

    def _known(self, language: str) -> bool:
        token = self._model.hf_tokenizer.token_to_id(f"<|{language}|>")
        return token is not None

    def check_language(self, language: str) -> None:
        """Refuse, before any clip, a language this model cannot transcribe.

        Raises:
            ConfigError: an English-only model asked for another language, or a model
                without Cantonese (before large-v3) asked for yue.
        """
        if not self._multilingual and language not in ("en", "auto"):
            raise ConfigError(f"This Whisper model is English-only; it cannot transcribe "
                              f"{language}.", "Use a multilingual model (large-v3, medium; "
                              "not *.en), or language en.")
        if language not in ("auto",) and self._multilingual and not self._known(language):
            raise ConfigError(f"This Whisper model has no {language!r} language token.",
                              "Cantonese needs large-v3 or later; or use SenseVoiceSmall.")

    def _language_for(self, audio: np.ndarray) -> tuple[str, str]:
        """(the most probable of the five trained languages, Whisper's overall first)."""
        if not self._multilingual:
            return "en", "en"
        best, _, probabilities = self._model.detect_language(audio)
        trained = [(p, code) for code, p in probabilities if code in TRAINED_LANGUAGES]
        if not trained:
            return best, best
        return max(trained)[1], best

    def transcribe(self, audio: np.ndarray, language: str) -> Transcript:
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        detected = None
        if language == "auto":
            language, detected = self._language_for(audio)
        segments, _ = self._model.transcribe(
            audio, language=language, beam_size=self.beam_size, vad_filter=True,
            vad_parameters={"min_silence_duration_ms": MIN_SILENCE_MS},
            # each clip on its own: earlier text would only seed repetition loops
            temperature=list(self._temperatures), condition_on_previous_text=False)
        text = join_texts([segment.text for segment in segments], language)
        return Transcript(text, language if language in TRAINED_LANGUAGES else None,
                          detected or language)
