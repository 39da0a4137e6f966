"""What one synthesis request asks for: the reference clip and the sampling settings.

Both are frozen dataclasses so a request can be cached, logged and replayed. Defaults are
upstream's (``TTS.py`` / ``api_v2.py`` at 48b1a01) except ``cut_method``, where the library
keeps ``TTS.run``'s own ``cut1`` and the API passes its ``cut5``. ``validate()`` checks every
field once, in the library, so the tab, the API and the CLI refuse the same values with the
same message.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_core.errors import ConfigError
from gsv_core.guidelines import Limit, decide_device, gpu_memory_budget, inference_batch_limit
from gsv_core.guidelines import memory_budget as computer_memory_budget
from gsv_core.text import CUT_METHODS, LANGUAGE_MODES
from gsv_core.text.readings import DEFAULT_READINGS, READINGS, check_readings

if TYPE_CHECKING:  # torch loads with the engine, not with the request's settings
    from gsv_core.hardware import MachineProfile
    from gsv_core.models.gpt_sampling import SamplingOptions

__all__ = [
    "CUT_METHODS_ORDER",
    "LANGUAGE_MODES",
    "MAX_FRAGMENT_INTERVAL_S",
    "MAX_REFERENCE_S",
    "MAX_SEED",
    "MIN_REFERENCE_S",
    "RANDOM_SEED",
    "READINGS",
    "STREAMING_MODES",
    "InferenceOptions",
    "Reference",
    "batch_size_limit",
    "check_language",
]

CUT_METHODS_ORDER: tuple[str, ...] = tuple(CUT_METHODS)
STREAMING_MODES = (0, 1, 2, 3)  # whole, per segment, token chunks, fixed-length chunks
MAX_SEED = 2**32 - 1  # upstream's set_seed draws seeds in [0, 2**32 - 1]
RANDOM_SEED = -1  # "pick one": the seed drawn is reported with the result, to reproduce it
MAX_FRAGMENT_INTERVAL_S = 10.0  # a pause longer than this is a typing mistake
MIN_REFERENCE_S, MAX_REFERENCE_S = 3.0, 10.0  # the reference clip's length (reference.py)
SPEED_RANGE = (0.25, 4.0)  # beyond this SoVITS' frame resampling turns to noise / silence
TEMPERATURE_MAX = 10.0
NOISE_SCALE_MAX = 2.0
# upstream: 25 Hz x max_sec 54 = 1350 new tokens, then a hard cap of 1500 decoding steps
DEFAULT_EARLY_STOP_TOKENS = 1350
MAX_DECODE_STEPS = 1500


def check_language(language: str, field: str) -> str:
    """``language`` lower-cased if it is one of the 11 modes, else a ConfigError naming
    ``field``."""
    mode = language.strip().lower() if isinstance(language, str) else ""
    if mode not in LANGUAGE_MODES:
        raise ConfigError(
            f"{field}: unknown language {language!r}.",
            f"Use one of: {', '.join(LANGUAGE_MODES)}.",
            rule="Q-5",
        )
    return mode


def _check_range(field: str, value: float, low: float, high: float, *,
                 low_open: bool = False) -> None:
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ConfigError(f"{field} must be in {bracket}{low:g}, {high:g}], got {value!r}.",
                          f"Set {field} to a value in that range.")


def _check_int(field: str, value: object, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise ConfigError(f"{field} must be a whole number of at least {low}{upper}, "
                          f"got {value!r}.", f"Set {field} to a whole number in that range.")


def batch_size_limit(profile: MachineProfile, device: str,
                     requested: float | None = None) -> Limit:
    """The range of ``InferenceOptions.batch_size`` on ``device`` of ``profile``, without an
    engine (no torch, no models): what the Inference tab shows before anything is loaded.

    The same memory as ``InferenceEngine.batch_limit`` reads: the card's for a CUDA device
    in the profile, else the computer's (``inference_batch_limit`` holds the rule).
    ``device``: what the engine runs on ("cuda:1", "cpu", "mps").
    """
    kind, _, index = device.partition(":")
    if kind == "cuda":
        for gpu in profile.gpus:
            if gpu.index == (int(index) if index else 0):
                return inference_batch_limit(gpu_memory_budget(gpu), requested)
    decision = replace(decide_device(profile), gpu=None)
    return inference_batch_limit(computer_memory_budget(profile, decision), requested,
                                 ram_gb=profile.ram_gb)


@dataclass(frozen=True)
class InferenceOptions:
    """How to synthesise: text language, readings, cutting, GPT sampling, SoVITS decoding.

    ``readings`` (issue 9): "improved" reads URLs, units, times, model numbers… as a person
    would, for the target text and the reference's prompt text alike; "upstream" is
    upstream's cleaner byte for byte (what a voice trained on upstream-formatted data saw).
    Requests default to "improved"; the text front end's own default stays "upstream".
    """

    text_language: str = "all_zh"
    readings: str = DEFAULT_READINGS  # "improved" or "upstream" (gsv_core.text.readings)
    cut_method: str = "cut1"
    top_k: int = 15
    top_p: float = 1.0
    temperature: float = 1.0
    repetition_penalty: float = 1.35
    seed: int = -1  # -1: random; the seed used is reported in the result
    speed: float = 1.0
    fragment_interval_s: float = 0.3  # silence after each segment
    noise_scale: float = 0.5  # SoVITS prior noise (upstream's default)
    batch_size: int | None = None  # segments decoded together; None = the guideline maximum
    max_new_tokens: int | None = None  # None = upstream's limit (1350 tokens, 54 s)
    streaming_mode: int = 0  # 0 whole, 1 per segment, 2/3 chunks within a segment
    overlap_length: int = 2  # semantic tokens of overlap between stream chunks
    min_chunk_length: int = 16  # semantic tokens per stream chunk at least

    def validate(self) -> InferenceOptions:
        """Return ``self`` if every field is usable; else a ConfigError naming the field."""
        check_language(self.text_language, "text_language")
        check_readings(self.readings)  # its ConfigError names the field "readings"
        if self.cut_method not in CUT_METHODS:
            raise ConfigError(f"cut_method: unknown method {self.cut_method!r}.",
                              f"Use one of: {', '.join(CUT_METHODS_ORDER)}.")
        _check_int("top_k", self.top_k, 0)
        _check_range("top_p", float(self.top_p), 0.0, 1.0, low_open=True)
        _check_range("temperature", float(self.temperature), 0.0, TEMPERATURE_MAX,
                     low_open=True)
        _check_range("repetition_penalty", float(self.repetition_penalty), 0.0, 10.0,
                     low_open=True)
        _check_int("seed", self.seed, -1, MAX_SEED)
        _check_range("speed", float(self.speed), *SPEED_RANGE)
        _check_range("fragment_interval_s", float(self.fragment_interval_s), 0.0,
                     MAX_FRAGMENT_INTERVAL_S)
        _check_range("noise_scale", float(self.noise_scale), 0.0, NOISE_SCALE_MAX)
        if self.batch_size is not None:
            _check_int("batch_size", self.batch_size, 1)
        if self.max_new_tokens is not None:
            _check_int("max_new_tokens", self.max_new_tokens, 1, DEFAULT_EARLY_STOP_TOKENS)
        if isinstance(self.streaming_mode, bool) or self.streaming_mode not in STREAMING_MODES:
            raise ConfigError(f"streaming_mode must be one of 0, 1, 2, 3, got "
                              f"{self.streaming_mode!r}.",
                              "0 = whole audio, 1 = per segment, 2/3 = chunks within a segment.")
        _check_int("overlap_length", self.overlap_length, 0)
        _check_int("min_chunk_length", self.min_chunk_length, 1)
        return self

    def with_seed_drawn(self) -> InferenceOptions:
        """These options with ``RANDOM_SEED`` replaced by a fresh seed in upstream's range,
        so the seed a render used can be shown and reused."""
        if self.seed != RANDOM_SEED:
            return self
        return replace(self, seed=secrets.randbelow(MAX_SEED + 1))

    @property
    def language_mode(self) -> str:
        """``text_language`` as the text front end spells it (lower case)."""
        return self.text_language.strip().lower()

    def sampling(self) -> SamplingOptions:
        """The GPT sampling settings; EOS stays barred for the first 11 steps as upstream."""
        from gsv_core.models.gpt_sampling import SamplingOptions

        early_stop = DEFAULT_EARLY_STOP_TOKENS if self.max_new_tokens is None else (
            self.max_new_tokens - 1)  # the early stop leaves early_stop_tokens + 1 new tokens
        return SamplingOptions(top_k=self.top_k, top_p=float(self.top_p),
                               temperature=float(self.temperature),
                               repetition_penalty=float(self.repetition_penalty),
                               early_stop_tokens=early_stop, max_steps=MAX_DECODE_STEPS)


@dataclass(frozen=True)
class Reference:
    """The voice to imitate: a 3-10 s clip, what it says, and optional extra clips.

    ``extra_audio_paths`` are averaged into the timbre (style vector) as upstream's
    ``aux_ref_audio_paths``; the main clip still gives the prompt tokens. ``prompt_free`` (or an
    empty ``text``) decodes without reference text and tokens, as upstream's ``ref_free``; the
    clip then still gives the timbre.
    """

    audio_path: Path | None
    text: str = ""
    language: str = "all_zh"
    extra_audio_paths: tuple[Path, ...] = ()
    prompt_free: bool = False

    @property
    def uses_prompt(self) -> bool:
        """True when the reference text and tokens go into the GPT prompt."""
        return not self.prompt_free and bool(self.text.strip())

    def validate(self) -> Reference:
        """Return ``self`` if usable; else a ConfigError naming the field."""
        if self.audio_path is None and not self.extra_audio_paths:
            raise ConfigError("No reference clip was given.",
                              "Upload or pick a 3-10 s reference clip of the voice.")
        if self.audio_path is None and self.uses_prompt:
            raise ConfigError("A reference text was given without its reference clip.",
                              "Give the clip the text belongs to, or turn on prompt-free mode.")
        if self.uses_prompt:
            check_language(self.language, "reference language")
        return self
