"""Errors that reach a user: each says what happened and what to do next.

Every error GSV Studio raises on purpose is a ``GsvError``. The UI shows
``message`` and ``advice`` (and the rule id, when a guideline is involved); the
log gets ``details``. Anything else that escapes is a bug and is shown as such,
with the path of the log.

    GsvError
     ├── ConfigError        bad arguments or settings (a CLI flag, a TrainConfig field)
     ├── HardwareError      the GPU cannot do what was asked
     │    └── OutOfMemory   names the next batch size to try (B-6)
     ├── DatasetError       a .list line, clip or label is unusable (names file and line)
     ├── ReferenceAudioError an inference reference clip is unusable (names the file, its length)
     ├── ModelMissing       a model file or folder is not where it is expected (names the path)
     ├── CheckpointError    a weight file cannot be read, or does not fit the model
     └── TextError          the text front end cannot handle this text or language (Q-5)
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DatasetError",
    "GsvError",
    "HardwareError",
    "ModelMissing",
    "OutOfMemory",
    "ReferenceAudioError",
    "TextError",
]


class GsvError(Exception):
    """Base of every error meant for a user.

    Args:
        message: what happened, in the user's words.
        advice: what to do next; empty only when there truly is nothing to do.
        rule: the guideline id involved (e.g. ``"B-6"``), if any.
        details: extra context for the log (paths, shapes, the original error).
    """

    def __init__(self, message: str, advice: str = "", *, rule: str | None = None,
                 details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.advice = advice
        self.rule = rule
        self.details = details

    def __str__(self) -> str:
        text = f"{self.rule}: {self.message}" if self.rule else self.message
        return f"{text} {self.advice}".strip() if self.advice else text


class ConfigError(GsvError):
    """An argument or setting is invalid; the message names the field."""


class HardwareError(GsvError):
    """The machine cannot do what was asked (no usable GPU, unsupported vendor)."""


class OutOfMemory(HardwareError):
    """The GPU ran out of memory; ``next_batch_size`` is the batch to try next (B-6)."""

    def __init__(self, message: str, advice: str = "", *, next_batch_size: int,
                 rule: str | None = "B-6", details: str = "") -> None:
        super().__init__(message, advice, rule=rule, details=details)
        self.next_batch_size = next_batch_size


class DatasetError(GsvError):
    """A dataset file, line or clip is unusable; the message names file and line."""


class ReferenceAudioError(GsvError):
    """A reference clip for inference cannot be used: unreadable, or outside 3-10 s.

    ``path`` names the clip and ``duration_s`` its length when it could be read, so the UI
    and the API can say which file to change and by how much.
    """

    def __init__(self, message: str, advice: str = "", *, path: str = "",
                 duration_s: float | None = None, rule: str | None = None,
                 details: str = "") -> None:
        super().__init__(message, advice, rule=rule, details=details)
        self.path = path
        self.duration_s = duration_s


class ModelMissing(GsvError):
    """A model is not where it is expected; ``expected_paths`` lists where we looked."""

    def __init__(self, message: str, advice: str = "", *, expected_paths: tuple[str, ...] = (),
                 rule: str | None = None, details: str = "") -> None:
        super().__init__(message, advice, rule=rule, details=details)
        self.expected_paths = expected_paths


class CheckpointError(GsvError):
    """A weight file cannot be read, has an unsupported version, or does not fit the model."""


class DiskFull(GsvError):
    """A file could not be written because its disk (or the user's quota) is full; the file
    that was there before is unchanged."""


class TextError(GsvError):
    """The text front end cannot process the given text or language."""
