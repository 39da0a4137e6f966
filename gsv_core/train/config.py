"""TrainConfig: everything one training run needs, written as JSON for the child process.

The UI and the CLI build a config from the guideline limits (``gsv_core.guidelines``); the
trainer trusts its numbers and checks only what it alone can see (files, the device). The
same JSON is copied into the experiment folder so a run can be understood and repeated later.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gsv_core.errors import ConfigError
from gsv_core.settings import open_workspace
from gsv_core.workspace import Workspace

__all__ = ["CONFIG_VERSION", "EXTRA_KEYS", "ModelKind", "Precision", "TrainConfig"]

ModelKind = Literal["sovits", "gpt"]
Precision = Literal["auto", "bf16", "fp16", "fp32"]
CONFIG_VERSION = 1
_KINDS = ("sovits", "gpt")
_PRECISIONS = ("auto", "bf16", "fp16", "fp32")
_ADVICE = ("Start the run from the Training tab or `gsv-studio train`, which write a "
           "valid config.")


def _whole_at_least_1(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def _positive_number(value: Any) -> bool:
    return (not isinstance(value, bool) and isinstance(value, int | float)
            and math.isfinite(value) and value > 0)


def _target(value: Any) -> bool:
    return isinstance(value, str) and value.count(":") == 1 and all(value.split(":"))


# What each ``extra`` key must be, and how to say it.
EXTRA_KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "trainer": (_target, 'a "module:function" name'),
    "processes": (_whole_at_least_1, "a whole number of at least 1"),
    "min_items": (_whole_at_least_1, "a whole number of at least 1"),
    "grad_accumulation": (_whole_at_least_1, "a whole number of at least 1"),
    "dpo_weight": (_positive_number, "a number above 0"),
}


def _check_extra(extra: dict[str, Any]) -> None:
    if not isinstance(extra, dict):
        raise ConfigError(f"extra must be an object of settings, not {extra!r}",
                          advice=_ADVICE)
    for key, value in extra.items():
        if key in EXTRA_KEYS:
            valid, wanted = EXTRA_KEYS[key]
            if not valid(value):
                raise ConfigError(f"extra.{key} must be {wanted}, not {value!r}",
                                  advice=_ADVICE)
        elif "trainer" not in extra:
            raise ConfigError(f"extra.{key} is not a setting (known: "
                              f"{', '.join(sorted(EXTRA_KEYS))})", advice=_ADVICE)


@dataclass(frozen=True)
class TrainConfig:
    """One run of one model on one experiment.

    ``epochs``/``batch_size``/``save_every``/``lr_weight``/``dpo`` are the values the
    guidelines allowed (the batch shown in the UI is the batch that runs, B-8).
    ``device`` is ``"cuda"``, ``"cpu"`` or ``"mps"``; ``gpus`` are CUDA indices (one process
    per GPU when more than one, through torchrun). ``precision`` "auto" = bf16 where the card
    supports it, else fp16 with a grad scaler, fp32 on CPU/MPS. ``max_steps`` ends the run
    early after that many optimizer steps in total (tests, the batch probe); the final
    weights are still exported. ``pretrained_*`` None = the registry's official file.

    ``compile`` (SoVITS): compile the decoder and discriminator with CUDA graphs
    (:mod:`gsv_core.train.compiled`); a run that cannot says why and trains uncompiled. GPT
    runs ignore it.

    ``extra`` holds the settings no screen shows (:data:`EXTRA_KEYS`): ``trainer``
    ("module:function", a stand-in trainer for tests), ``processes`` (DDP processes on one
    device), ``min_items`` (SoVITS: items a round repeats the clips up to; upstream 100),
    ``grad_accumulation`` (GPT: batches per optimizer step; upstream 4) and ``dpo_weight``
    (GPT: the DPO term's weight). A known key with a bad value is an error naming it; other
    keys are refused too (a typo would be silently ignored), unless a stand-in ``trainer``
    is named, whose own settings they are.
    """

    kind: ModelKind
    workspace: str
    experiment: str
    epochs: int
    batch_size: int
    save_every: int
    lr_weight: float = 0.4
    dpo: bool = False
    device: str = "cuda"
    gpus: tuple[int, ...] = (0,)
    precision: Precision = "auto"
    pretrained_s2g: str | None = None
    pretrained_s2d: str | None = None
    pretrained_s1: str | None = None
    seed: int = 1234
    num_workers: int | None = None
    max_steps: int | None = None
    tensorboard: bool = True
    compile: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ConfigError(f"kind {self.kind!r} is not one of {', '.join(_KINDS)}",
                                 advice=_ADVICE)
        if self.precision not in _PRECISIONS:
            raise ConfigError(f"precision {self.precision!r} is not one of "
                                 f"{', '.join(_PRECISIONS)}", advice=_ADVICE)
        for name in ("epochs", "batch_size", "save_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a whole number of at least 1, "
                                     f"not {value!r}", advice=_ADVICE)
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be at least 1, not {self.max_steps!r}",
                                 advice=_ADVICE)
        if not self.lr_weight > 0:
            raise ConfigError(f"lr_weight must be above 0, not {self.lr_weight!r}",
                                 advice=_ADVICE)
        for name in ("dpo", "tensorboard", "compile"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, not "
                                  f"{getattr(self, name)!r}", advice=_ADVICE)
        object.__setattr__(self, "gpus", tuple(int(g) for g in self.gpus))
        _check_extra(self.extra)

    @functools.cached_property
    def space(self) -> Workspace:
        """The workspace with its saved models folder, read once per config (settings.json
        saved in the middle of a run must not move its models)."""
        return open_workspace(Path(self.workspace))

    @property
    def experiment_dir(self) -> Path:
        """``logs/<experiment>`` (the name checked, X-1)."""
        return self.space.experiment_dir(self.experiment)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["gpus"] = list(self.gpus)
        return json.dumps({"version": CONFIG_VERSION, **data}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "<config>") -> TrainConfig:
        """Parse a config; unknown keys and wrong types are errors naming the field."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})",
                                 advice=_ADVICE) from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a training config is a JSON object",
                                 advice=_ADVICE)
        version = data.pop("version", CONFIG_VERSION)
        if version != CONFIG_VERSION:
            raise ConfigError(f"{source}: config version {version!r} is not "
                                 f"{CONFIG_VERSION}; write it again with this release",
                                 advice=_ADVICE)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown field(s) {', '.join(unknown)}",
                                 advice=_ADVICE)
        try:
            return cls(**data)
        except TypeError as exc:
            raise ConfigError(f"{source}: {exc}", advice=_ADVICE) from exc

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> TrainConfig:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the training config {path}: {exc.strerror}",
                                 advice=_ADVICE) from exc
        return cls.from_json(text, str(path))

    def write(self, path: str | os.PathLike[str]) -> Path:
        from gsv_core.atomic_write import write_atomically

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = (self.to_json() + "\n").encode("utf-8")
        write_atomically(path, lambda handle: handle.write(payload))
        return path
