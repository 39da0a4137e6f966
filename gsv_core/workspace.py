"""Where GSV Studio keeps things on disk: the same folder layout as GPT-SoVITS.

A GPT-SoVITS checkout can be used as a workspace unchanged, and a workspace we fill can be
opened by GPT-SoVITS (upstream ``webui.py`` / ``config.py`` at 48b1a01):

    <root>/
      output/slicer_opt/            slices cut by the slicer
      output/asr_opt/               ASR results (.list files)
      logs/<experiment>/            formatted data (2-name2text.txt, 3-bert/, 4-cnhubert/,
                                    5-wav32k/, 6-name2semantic.tsv) and training logs
      SoVITS_weights_v2/            exported SoVITS weights (*.pth)
      GPT_weights_v2/               exported GPT weights (*.ckpt)
      GPT_SoVITS/pretrained_models/
        gsv-v2final-pretrained/     s2G2333k.pth, s2D2333k.pth, s1bert25hz-…ckpt
        chinese-roberta-wwm-ext-large/
        chinese-hubert-base/

Every path in gsv_core comes from a :class:`Workspace`, never from the working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gsv_core.errors import ConfigError

__all__ = ["Workspace", "check_experiment_name"]

# Characters that would make the name a path, or that Windows refuses in a folder name.
_FORBIDDEN_CHARS = frozenset('/\\:*?"<>|\0')
# Device names Windows reserves in every folder, with or without an extension ("CON.txt").
_RESERVED_NAMES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                             *(f"LPT{i}" for i in range(1, 10))})
# Windows paths stop at 260 characters by default; the longest file an experiment holds is
# logs/<name>/4-cnhubert/<clip name>.wav.pt, so the name leaves room for the rest.
MAX_EXPERIMENT_NAME = 64


def check_experiment_name(name: str) -> str:
    """Return ``name`` if it can be one folder under ``logs/``; else raise ConfigError.

    Any Unicode letters and inner spaces are fine (rule X-1). Refused: empty names, path
    separators, ``..``, characters Windows forbids in folder names, control characters,
    leading/trailing spaces or trailing dots (Windows silently strips those, so two
    different names would share a folder), the device names Windows reserves (``CON``,
    ``nul.txt``: no folder of that name can be made there), and names longer than
    ``MAX_EXPERIMENT_NAME`` (the experiment's files would pass Windows' path limit).
    """
    problem = None
    if not name or not name.strip():
        problem = "is empty"
    elif ".." in name:
        problem = "contains '..'"
    elif any(ch in _FORBIDDEN_CHARS for ch in name):
        bad = sorted({ch for ch in name if ch in _FORBIDDEN_CHARS})
        problem = f"contains {' '.join(repr(ch) for ch in bad)}"
    elif any(ord(ch) < 32 for ch in name):
        problem = "contains a control character"
    elif name != name.strip() or name.endswith("."):
        problem = "starts or ends with a space, or ends with a dot"
    elif name.split(".")[0].strip().upper() in _RESERVED_NAMES:
        problem = "is a device name Windows reserves (CON, NUL, COM1…)"
    elif len(name) > MAX_EXPERIMENT_NAME:
        problem = f"is {len(name)} characters long (at most {MAX_EXPERIMENT_NAME})"
    if problem is not None:
        raise ConfigError(
            f"The experiment name {name!r} {problem}.",
            "Use a plain name such as 'my voice' or '小明'; spaces and any language are fine, "
            "slashes and '..' are not.",
            rule="X-1",
        )
    return name


@dataclass(frozen=True)
class Workspace:
    """The folders of one workspace; ``root`` is made absolute on construction.

    ``models_dir``, when given, is the pretrained-models folder instead of
    ``<root>/GPT_SoVITS/pretrained_models`` (the same layout inside): the Settings tab's
    "pretrained models folder", e.g. an existing GPT-SoVITS install's, so its models are not
    downloaded twice. ``gsv_core.settings.open_workspace`` reads it from the workspace's
    settings, so every process that opens the workspace uses the same folder.
    """

    root: Path
    models_dir: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(os.path.abspath(Path(self.root).expanduser())))
        if self.models_dir is not None:
            folder = Path(self.models_dir).expanduser()
            object.__setattr__(self, "models_dir", Path(os.path.abspath(self.root / folder)))

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def slicer_dir(self) -> Path:
        return self.output_dir / "slicer_opt"

    @property
    def asr_dir(self) -> Path:
        return self.output_dir / "asr_opt"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def sovits_weights_dir(self) -> Path:
        return self.root / "SoVITS_weights_v2"

    @property
    def gpt_weights_dir(self) -> Path:
        return self.root / "GPT_weights_v2"

    @property
    def pretrained_dir(self) -> Path:
        if self.models_dir is not None:
            return self.models_dir
        return self.root / "GPT_SoVITS" / "pretrained_models"

    @property
    def pretrained_v2_dir(self) -> Path:
        return self.pretrained_dir / "gsv-v2final-pretrained"

    @property
    def bert_dir(self) -> Path:
        return self.pretrained_dir / "chinese-roberta-wwm-ext-large"

    @property
    def hubert_dir(self) -> Path:
        return self.pretrained_dir / "chinese-hubert-base"

    @property
    def emotion2vec_dir(self) -> Path:
        """Not an upstream folder: GSV Studio keeps emotion2vec beside the other models."""
        return self.pretrained_dir / "emotion2vec_plus_large"

    @property
    def default_list_file(self) -> Path:
        """Where upstream's ASR step writes the labels of ``output/slicer_opt``."""
        return self.asr_dir / "slicer_opt.list"

    def experiment_dir(self, name: str) -> Path:
        """``logs/<name>``; the name is checked (see :func:`check_experiment_name`)."""
        return self.logs_dir / check_experiment_name(name)

    def experiments(self) -> list[str]:
        """Names of the folders under ``logs/``, sorted."""
        if not self.logs_dir.is_dir():
            return []
        return sorted(p.name for p in self.logs_dir.iterdir() if p.is_dir())

    def create(self) -> Workspace:
        """Make the folders that are written to (never touches existing contents)."""
        for folder in (self.slicer_dir, self.asr_dir, self.logs_dir, self.sovits_weights_dir,
                       self.gpt_weights_dir, self.pretrained_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self
