"""The parameters of ``/tts``, with upstream ``api_v2.py``'s names, defaults and tolerance.

Existing clients of GPT-SoVITS (48b1a01) send these requests unchanged, so parsing keeps
what upstream accepts:

- unknown extra parameters are ignored (upstream's pydantic model and GET signature drop
  them), and ``null`` for an optional field means its default;
- ``text_lang`` / ``prompt_lang`` are lower-cased; ``auto`` and ``auto_yue`` are modes;
- ``top_p`` above 1 means 1 (upstream's sampler treats it so: nothing is cut);
- an empty ``prompt_text`` is prompt-free synthesis, an empty ``aux_ref_audio_paths`` is none;
- ``streaming_mode`` is a bool or 0-3; ``True`` is 1 and ``False`` is 0;
- ``sample_steps``, ``super_sampling`` (v3/v4 only), ``batch_threshold`` and
  ``split_bucket`` (upstream's length buckets; segments here are batched in order) are
  accepted and have no effect on a v2 voice.

One field is ours (upstream's clients never send it, so they get its default):

- ``readings`` (issue 9): ``"improved"`` (default) reads URLs, units, times, model numbers…
  as a person would; ``"upstream"`` is upstream's text front end byte for byte. Case and
  surrounding spaces are ignored; any other value is a 400 naming the field.

Where upstream crashes (a GET without ``text_lang`` is its 500) or answers 422 (a value of the
wrong type), this module raises a ConfigError naming the field, which the API sends as
400 ``{"message": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from gsv_core.errors import ConfigError
from gsv_core.infer.audio_io import require_media_type
from gsv_core.infer.options import CUT_METHODS_ORDER, LANGUAGE_MODES, InferenceOptions
from gsv_core.text.readings import DEFAULT_READINGS

__all__ = ["EXTENSION_FIELDS", "IGNORED_FIELDS", "TtsParams", "TtsRequest", "parse_tts_request"]

# Upstream fields that change nothing for a v2 voice (see the module docstring).
IGNORED_FIELDS = ("batch_threshold", "split_bucket", "sample_steps", "super_sampling")
# Fields of ours that upstream's api_v2 does not have (docs/api.md lists them).
EXTENSION_FIELDS = ("readings",)
_STREAMING_WORDS = {"true": 1, "false": 0, "0": 0, "1": 1, "2": 2, "3": 3}
# InferenceOptions names the fields in this project's terms; a client knows upstream's.
_UPSTREAM_NAMES = {"text_language": "text_lang", "cut_method": "text_split_method",
                   "speed": "speed_factor", "fragment_interval_s": "fragment_interval"}
_STREAMING_MESSAGE = ("the value of streaming_mode must be 0, 1, 2, 3(int) or "
                      "true/false(bool)")


class TtsRequest(BaseModel):
    """The ``/tts`` body and query: upstream's ``TTS_Request`` fields and defaults (48b1a01),
    then ours (``EXTENSION_FIELDS``)."""

    model_config = ConfigDict(extra="ignore")

    text: str | None = None
    text_lang: str | None = None
    ref_audio_path: str | None = None
    aux_ref_audio_paths: list[str] | None = None
    prompt_lang: str | None = None
    prompt_text: str = ""
    top_k: int = 15
    top_p: float = 1.0
    temperature: float = 1.0
    text_split_method: str = "cut5"
    batch_size: int = 1
    batch_threshold: float = 0.75
    split_bucket: bool = True
    speed_factor: float = 1.0
    fragment_interval: float = 0.3
    seed: int = -1
    media_type: str = "wav"
    streaming_mode: bool | int | str = False
    parallel_infer: bool = True
    repetition_penalty: float = 1.35
    sample_steps: int = 32
    super_sampling: bool = False
    overlap_length: int = 2
    min_chunk_length: int = 16
    # ours: "improved" or "upstream" (gsv_core.text.readings); upstream clients leave it out
    readings: str = DEFAULT_READINGS

    @field_validator("*", mode="before")
    @classmethod
    def _null_means_default(cls, value: Any, info: Any) -> Any:
        """``"media_type": null`` and friends: the field's default, as an omitted field."""
        if value is None:
            return cls.model_fields[info.field_name].default
        return value


@dataclass(frozen=True)
class TtsParams:
    """A checked ``/tts`` request in this project's terms; paths are still the client's text
    (the service resolves and confines them)."""

    text: str
    reference_path: str | None  # None: the clip set with /set_refer_audio
    extra_reference_paths: tuple[str, ...]
    prompt_text: str
    prompt_language: str
    media_type: str
    options: InferenceOptions

    @property
    def streaming(self) -> bool:
        """Whether audio goes out chunk by chunk (modes 1-3) instead of one body."""
        return self.options.streaming_mode != 0


def _first_error(exc: ValidationError) -> ConfigError:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error.get("loc", ())) or "request"
    documented = ("GSV Studio's docs/api.md" if field in EXTENSION_FIELDS
                  else "upstream's api_v2")
    return ConfigError(f"{field}: {error.get('msg', 'invalid value')} "
                       f"(got {error.get('input')!r})",
                       f"Send {field} as {documented} documents it.")


def _streaming_mode(value: bool | int | str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1, 2, 3):
        return value
    if isinstance(value, str) and value.strip().lower() in _STREAMING_WORDS:
        return _STREAMING_WORDS[value.strip().lower()]
    raise ConfigError(_STREAMING_MESSAGE, "Use 0 (whole audio), 1 (per segment), 2 or 3 "
                                          "(chunks within a segment).")


def _language(value: str | None, field: str) -> str:
    if value in (None, ""):
        raise ConfigError(f"{field} is required", f"Send {field}, e.g. zh, en, ja or auto.")
    mode = value.strip().lower()
    if mode not in LANGUAGE_MODES:
        raise ConfigError(f"{field}: {value} is not supported in version v2",
                          f"Use one of {', '.join(LANGUAGE_MODES)}.")
    return mode


def _checked_options(**fields: Any) -> InferenceOptions:
    try:
        return InferenceOptions(**fields).validate()
    except ConfigError as exc:
        ours = exc.message.split(" ", 1)[0].rstrip(":")
        if ours not in _UPSTREAM_NAMES:
            raise
        theirs = _UPSTREAM_NAMES[ours]
        raise ConfigError(theirs + exc.message[len(ours):],
                          exc.advice.replace(ours, theirs), rule=exc.rule) from exc


def parse_tts_request(raw: Mapping[str, Any], *, has_default_reference: bool = False
                      ) -> TtsParams:
    """Check a ``/tts`` request (the JSON body, or the query as a dict of strings and lists).

    The order of the checks, and their messages, follow upstream's ``check_params``.
    ``has_default_reference``: a clip was set with ``/set_refer_audio``, so
    ``ref_audio_path`` may be left out.

    Raises:
        ConfigError: a missing required field or a value out of range, naming the field.
    """
    try:
        request = TtsRequest.model_validate(dict(raw))
    except ValidationError as exc:
        raise _first_error(exc) from exc
    if not request.ref_audio_path and not has_default_reference:
        raise ConfigError("ref_audio_path is required",
                          "Send the path of a 3-10 s reference clip inside the workspace "
                          "(relative paths start at the workspace folder).")
    if not request.text or not request.text.strip():
        raise ConfigError("text is required", "Send the text to speak.")
    text_language = _language(request.text_lang, "text_lang")
    prompt_language = _language(request.prompt_lang, "prompt_lang")
    media_type = require_media_type(request.media_type)
    if request.text_split_method not in CUT_METHODS_ORDER:
        raise ConfigError(f"text_split_method:{request.text_split_method} is not supported",
                          f"Use one of {', '.join(CUT_METHODS_ORDER)}.")
    streaming_mode = _streaming_mode(request.streaming_mode)
    options = _checked_options(
        text_language=text_language,
        readings=request.readings.strip().lower(),
        cut_method=request.text_split_method,
        top_k=request.top_k,
        top_p=min(request.top_p, 1.0),
        temperature=request.temperature,
        repetition_penalty=request.repetition_penalty,
        seed=request.seed,
        speed=request.speed_factor,
        fragment_interval_s=request.fragment_interval,
        # upstream decodes one segment at a time without parallel_infer
        batch_size=request.batch_size if request.parallel_infer else 1,
        streaming_mode=streaming_mode,
        overlap_length=request.overlap_length,
        min_chunk_length=request.min_chunk_length,
    )
    return TtsParams(
        text=request.text,
        reference_path=request.ref_audio_path or None,
        extra_reference_paths=tuple(p for p in request.aux_ref_audio_paths or () if p),
        prompt_text=request.prompt_text.strip(),
        prompt_language=prompt_language,
        media_type=media_type,
        options=options,
    )
