"""Which Mandarin polyphone reader is active — g2pW or pypinyin — and why.

g2pW is used when the user has a G2PWModel folder (upstream keeps it at
``GPT_SoVITS/text/G2PWModel`` inside the GPT-SoVITS folder, which is our
workspace root) and the optional packages it needs are installed
(``pip install "gsv-studio[g2pw]"``: onnxruntime, opencc). Otherwise readings
come from pypinyin's phrase dictionary, exactly as upstream's non-g2pW path.

The choice is never silent: :class:`PolyphoneBackend` prints as
``"g2pW (<folder>)"`` or ``"pypinyin (<why>)"``, the reason is logged, and a
folder that is there but incomplete is an error naming the missing files rather
than a quiet fallback.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

from gsv_core.errors import ConfigError
from gsv_core.text.g2pw import G2pw, check_g2pw_folder
from gsv_core.workspace import Workspace

__all__ = ["G2PW_DIR", "PolyphoneBackend", "default_g2pw_dir", "describe_polyphone_backend",
           "load_polyphone_backend"]

log = logging.getLogger(__name__)

G2PW_DIR = Path("GPT_SoVITS", "text", "G2PWModel")  # relative to the workspace root, as upstream
_PACKAGES = ("onnxruntime", "opencc")


def default_g2pw_dir(workspace: Workspace) -> Path:
    """Where upstream looks for the g2pW model: ``<workspace>/GPT_SoVITS/text/G2PWModel``."""
    return workspace.root / G2PW_DIR


@dataclass(frozen=True)
class PolyphoneBackend:
    """The active polyphone reader.

    name: ``"g2pW"`` or ``"pypinyin"``.
    reason: the model folder in use, or why g2pW is not used.
    model: the loaded g2pW model, None on the pypinyin path.
    """

    name: str
    reason: str
    model: G2pw | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


@dataclass(frozen=True)
class _Plan:
    folder: Path | None  # a complete G2PWModel folder to load, or None
    bert_dir: Path | None
    reason: str


def _missing_packages() -> list[str]:
    return [name for name in _PACKAGES if importlib.util.find_spec(name) is None]


def _plan(workspace: Workspace | None, g2pw_dir: Path | None, bert_dir: Path | None) -> _Plan:
    """Decide without loading anything; an incomplete folder raises ModelMissing."""
    if g2pw_dir is None and workspace is None:
        return _Plan(None, None, "no workspace or G2PWModel folder given")
    folder = Path(g2pw_dir) if g2pw_dir is not None else default_g2pw_dir(workspace)  # type: ignore[arg-type]
    if not folder.is_dir():
        return _Plan(None, None, f"no G2PWModel folder at {folder}")
    check_g2pw_folder(folder)
    packages = _missing_packages()
    if packages:
        needed = " and ".join(packages)
        return _Plan(None, None, f"G2PWModel folder at {folder} found, but {needed} not "
                     'installed: pip install "gsv-studio[g2pw]"')
    if bert_dir is None:
        if workspace is None:
            raise ConfigError("A G2PWModel folder was given without the BERT tokenizer folder.",
                              "Pass bert_dir (chinese-roberta-wwm-ext-large) or a workspace.")
        bert_dir = workspace.bert_dir
    return _Plan(folder, Path(bert_dir), str(folder))


def describe_polyphone_backend(workspace: Workspace | None = None, *,
                               g2pw_dir: Path | None = None,
                               bert_dir: Path | None = None) -> str:
    """What :func:`load_polyphone_backend` would choose, without loading the model.

    Raises:
        ModelMissing: the G2PWModel folder exists but lacks a required file.
        ConfigError: ``g2pw_dir`` without ``bert_dir`` or a workspace.
    """
    plan = _plan(workspace, g2pw_dir, bert_dir)
    return f"g2pW ({plan.reason})" if plan.folder else f"pypinyin ({plan.reason})"


def load_polyphone_backend(workspace: Workspace | None = None, *,
                           g2pw_dir: Path | None = None,
                           bert_dir: Path | None = None) -> PolyphoneBackend:
    """Load g2pW when it can be used, else choose pypinyin; the result says which and why.

    Args:
        workspace: gives the default folders (``GPT_SoVITS/text/G2PWModel`` and the
            chinese-roberta-wwm-ext-large tokenizer under ``pretrained_models``).
        g2pw_dir: a G2PWModel folder elsewhere (overrides the workspace's).
        bert_dir: the BERT tokenizer folder (overrides the workspace's).

    Raises:
        ModelMissing: the G2PWModel folder, or the BERT tokenizer it needs, lacks a file.
        TextError: a file is present but unreadable.
        ConfigError: ``g2pw_dir`` without ``bert_dir`` or a workspace.
    """
    plan = _plan(workspace, g2pw_dir, bert_dir)
    if plan.folder is None or plan.bert_dir is None:
        log.info("Mandarin polyphones: pypinyin (%s)", plan.reason)
        return PolyphoneBackend("pypinyin", plan.reason)
    model = G2pw.load(plan.folder, plan.bert_dir)
    log.info("Mandarin polyphones: g2pW (%s)", plan.reason)
    return PolyphoneBackend("g2pW", plan.reason, model)
