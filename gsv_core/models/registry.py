"""Which models a workspace has: the v2 pretrained files, and the weights users trained.

Pretrained files live where GPT-SoVITS keeps them (``GPT_SoVITS/pretrained_models/``, see
``workspace.py``) under the same relative paths as in the Hugging Face repository
``lj1995/GPT-SoVITS``, so a download lands exactly where upstream looks. Nothing here touches
the network: downloading is ``gsv_core.models.download``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gsv_core.errors import ModelMissing
from gsv_core.i18n import mark
from gsv_core.workspace import Workspace

__all__ = [
    "HF_REPO",
    "V2_PRETRAINED",
    "InferenceModels",
    "ModelStatus",
    "PretrainedModel",
    "inference_models",
    "pretrained_model",
    "pretrained_status",
    "require_pretrained",
    "status_of",
    "trained_gpt_weights",
    "trained_sovits_weights",
]

HF_REPO = "lj1995/GPT-SoVITS"


@dataclass(frozen=True)
class PretrainedModel:
    """One pretrained model and the files it needs.

    ``files`` are paths relative to ``pretrained_models/`` (and to the hub repository). Each
    entry is a group of alternatives: the first is what we download, any one satisfies it
    (transformers folders may hold ``model.safetensors`` instead of ``pytorch_model.bin``).
    """

    key: str
    title: str
    files: tuple[tuple[str, ...], ...]

    @property
    def folder(self) -> str | None:
        """The model's folder for transformers models (``chinese-hubert-base``), else None."""
        first = self.files[0][0]
        return first.split("/")[0] if self.key in ("bert", "hubert") else None


_V2 = "gsv-v2final-pretrained"
_WEIGHTS = ("pytorch_model.bin", "model.safetensors")


def _folder_files(folder: str, names: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    weights = tuple(f"{folder}/{w}" for w in _WEIGHTS)
    return (*((f"{folder}/{n}",) for n in names), weights)


V2_PRETRAINED: tuple[PretrainedModel, ...] = (
    PretrainedModel("sovits_generator", mark("SoVITS v2 pretrained generator"),
                    ((f"{_V2}/s2G2333k.pth",),)),
    PretrainedModel("sovits_discriminator", mark("SoVITS v2 pretrained discriminator"),
                    ((f"{_V2}/s2D2333k.pth",),)),
    PretrainedModel("gpt", mark("GPT v2 pretrained model"),
                    ((f"{_V2}/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",),)),
    PretrainedModel("bert", mark("Chinese BERT (chinese-roberta-wwm-ext-large)"),
                    _folder_files("chinese-roberta-wwm-ext-large",
                                  ("config.json", "tokenizer.json"))),
    PretrainedModel("hubert", mark("Chinese HuBERT (chinese-hubert-base)"),
                    _folder_files("chinese-hubert-base",
                                  ("config.json", "preprocessor_config.json"))),
)


@dataclass(frozen=True)
class ModelStatus:
    """Whether one pretrained model is complete; ``missing`` lists exact expected paths."""

    model: PretrainedModel
    path: Path  # the file, or the folder for transformers models
    missing: tuple[Path, ...]

    @property
    def present(self) -> bool:
        return not self.missing


def status_of(workspace: Workspace, model: PretrainedModel) -> ModelStatus:
    base = workspace.pretrained_dir
    missing = tuple(base / group[0] for group in model.files
                    if not any((base / name).is_file() for name in group))
    path = base / model.folder if model.folder else base / model.files[0][0]
    return ModelStatus(model=model, path=path, missing=missing)


def pretrained_status(workspace: Workspace) -> tuple[ModelStatus, ...]:
    """Status of every v2 pretrained model, in the order of :data:`V2_PRETRAINED`."""
    return tuple(status_of(workspace, model) for model in V2_PRETRAINED)


def pretrained_model(key: str) -> PretrainedModel:
    for model in V2_PRETRAINED:
        if model.key == key:
            return model
    raise KeyError(f"unknown pretrained model {key!r}; known: "
                   f"{', '.join(m.key for m in V2_PRETRAINED)}")


def require_pretrained(workspace: Workspace, key: str) -> Path:
    """Path of a complete pretrained model (file or folder), or ModelMissing naming the gaps."""
    status = status_of(workspace, pretrained_model(key))
    if status.missing:
        raise ModelMissing(
            f"{status.model.title} is missing: {', '.join(str(p) for p in status.missing)}",
            f"Download it (the download button fetches it from huggingface.co/{HF_REPO}), or "
            f"copy the files from a GPT-SoVITS install into {workspace.pretrained_dir}.",
            expected_paths=tuple(str(p) for p in status.missing),
        )
    return status.path


def _weights(folder: Path, suffix: str) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix == suffix),
                  key=lambda p: p.name)


def trained_sovits_weights(workspace: Workspace) -> list[Path]:
    """``SoVITS_weights_v2/*.pth`` files, sorted by name."""
    return _weights(workspace.sovits_weights_dir, ".pth")


def trained_gpt_weights(workspace: Workspace) -> list[Path]:
    """``GPT_weights_v2/*.ckpt`` files, sorted by name."""
    return _weights(workspace.gpt_weights_dir, ".ckpt")


@dataclass(frozen=True)
class InferenceModels:
    """The weights inference can use: the user's trained files first, then the official ones."""

    gpt: tuple[Path, ...]
    sovits: tuple[Path, ...]
    official_gpt: Path | None
    official_sovits: Path | None


def inference_models(workspace: Workspace) -> InferenceModels:
    """Every GPT and SoVITS weight file inference can offer, official pretrained included."""
    statuses = {status.model.key: status for status in pretrained_status(workspace)}
    official_gpt = statuses["gpt"].path if statuses["gpt"].present else None
    official_sovits = (statuses["sovits_generator"].path
                       if statuses["sovits_generator"].present else None)
    return InferenceModels(
        gpt=(*trained_gpt_weights(workspace), *([official_gpt] if official_gpt else [])),
        sovits=(*trained_sovits_weights(workspace),
                *([official_sovits] if official_sovits else [])),
        official_gpt=official_gpt, official_sovits=official_sovits)
