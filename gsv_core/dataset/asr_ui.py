"""What the Dataset tab's "Transcribe" section needs from the library: model choices, the
settings read from its controls, default paths.

Kept here so the tab only lays out controls and formats results (style: no file walking or
rules in ``tabs/``). Nothing here imports an ASR engine: the choices are found by checking
folders (``asr_models.inspect_model_folder``), which reads only small files.
"""

from __future__ import annotations

import os
from pathlib import Path

from gsv_core.dataset.asr import AsrOptions
from gsv_core.dataset.asr_job import default_list_path
from gsv_core.dataset.asr_models import (
    RECOMMENDED,
    WHISPER_SIZES,
    asr_models_dir,
    inspect_model_folder,
)
from gsv_core.errors import ConfigError, GsvError
from gsv_core.hardware import MachineProfile
from gsv_core.workspace import Workspace

__all__ = ["AUTO", "clips_folder", "default_list", "device_choices", "find_models",
           "model_choices", "options_from_values"]

AUTO = "auto"


def find_models(workspace: Workspace) -> list[str]:
    """The usable ASR model folders under ``pretrained_models/asr/`` (checked, not loaded),
    sorted by name; a folder with a missing file is left out (choosing it by path still
    names the file)."""
    root = asr_models_dir(workspace)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), key=lambda p: p.name.lower()):
        if not folder.is_dir():
            continue
        try:
            inspect_model_folder(folder)
        except GsvError:
            continue
        found.append(os.fspath(folder))
    return found


def model_choices(workspace: Workspace) -> list[str]:
    """The folders ``find_models`` finds, then the recommended hub models not downloaded yet
    (choosing one needs "Download a hub model")."""
    found = find_models(workspace)
    names = {Path(path).name for path in found}
    missing = [name for name in RECOMMENDED
               if WHISPER_SIZES.get(name, name).split("/")[-1] not in names]
    return [*found, *missing]


def device_choices(profile: MachineProfile) -> list[str]:
    """auto, cpu, and ``cuda:N`` for each NVIDIA card of the machine."""
    return [AUTO, "cpu", *(f"cuda:{gpu.index}" for gpu in profile.gpus
                           if gpu.vendor == "nvidia")]


def default_list(workspace: Workspace, input_dir: str | None) -> str | None:
    """``output/asr_opt/<folder name>.list`` for a typed clips folder; None when empty."""
    if not input_dir or not input_dir.strip():
        return None
    try:
        return os.fspath(default_list_path(workspace, input_dir.strip()))
    except ConfigError:
        return None


def options_from_values(model: str | None, language: str | None, engine: str | None,
                        precision: str | None, device: str | None,
                        download: bool = False) -> AsrOptions:
    """The settings as chosen in the tab (``ConfigError`` naming the field when wrong)."""
    return AsrOptions(model=(model or "").strip(), language=language or AUTO,
                      engine=None if engine in (None, "", AUTO) else engine,  # type: ignore[arg-type]
                      precision=precision or AUTO, device=device or AUTO,
                      download=bool(download))


def clips_folder(workspace: Workspace, typed: str | None) -> Path:
    """The folder to transcribe, as typed.

    Raises:
        ConfigError: nothing typed (the advice names where the slicer puts its clips).
    """
    if typed and typed.strip():
        return Path(typed.strip()).expanduser()
    raise ConfigError("No clips folder is given.",
                      "Type the folder of sliced clips, e.g. "
                      f"{os.fspath(workspace.slicer_dir / '<name>')}.")
