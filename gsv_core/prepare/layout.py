"""The files of a formatted experiment, ``logs/<experiment>/``, named as upstream names them.

GPT-SoVITS's training scripts read exactly these names (``module/data_utils.py``,
``AR/data/dataset.py`` at 48b1a01), so a folder we fill trains in GPT-SoVITS and a folder
GPT-SoVITS filled trains here. Every feature file is named after the clip's audio base name
(``a.wav`` → ``4-cnhubert/a.wav.pt``, ``5-wav32k/a.wav``). The manifest is ours alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gsv_core.workspace import Workspace, check_experiment_name

__all__ = ["NAME2SEMANTIC", "NAME2TEXT", "SEMANTIC_HEADER", "ExperimentFiles", "hash_cache_file"]

NAME2TEXT = "2-name2text.txt"
NAME2SEMANTIC = "6-name2semantic.tsv"
SEMANTIC_HEADER = "item_name\tsemantic_audio"  # the first line upstream's webui writes
MANIFEST = "gsv-prepare.json"


def hash_cache_file(workspace: Workspace) -> Path:
    """The workspace's cache of file hashes (``manifest.load_hash_cache``); not upstream's."""
    return workspace.output_dir / "cache" / "file-hashes.json"


@dataclass(frozen=True)
class ExperimentFiles:
    """Paths of one experiment's formatted data."""

    folder: Path

    @classmethod
    def of(cls, workspace: Workspace, experiment: str) -> ExperimentFiles:
        """``<workspace>/logs/<experiment>``; ConfigError for a name that is not a folder."""
        return cls(workspace.logs_dir / check_experiment_name(experiment))

    @property
    def name2text(self) -> Path:
        return self.folder / NAME2TEXT

    @property
    def name2semantic(self) -> Path:
        return self.folder / NAME2SEMANTIC

    @property
    def bert_dir(self) -> Path:
        return self.folder / "3-bert"

    @property
    def hubert_dir(self) -> Path:
        return self.folder / "4-cnhubert"

    @property
    def wav32k_dir(self) -> Path:
        return self.folder / "5-wav32k"

    @property
    def manifest(self) -> Path:
        """What each output was computed from (``manifest.py``); not an upstream file."""
        return self.folder / MANIFEST

    def bert_file(self, name: str) -> Path:
        return self.bert_dir / f"{name}.pt"

    def hubert_file(self, name: str) -> Path:
        return self.hubert_dir / f"{name}.pt"

    def wav32k_file(self, name: str) -> Path:
        return self.wav32k_dir / name
