"""Check an emotion2vec model folder before funasr sees it (a typo makes funasr go online).

funasr's ``AutoModel`` reads a local emotion2vec_plus folder as ``config.yaml`` (``model:
Emotion2vec``), ``model.pt`` (a plain state dict) and ``tokens.txt`` (the nine labels, in
:data:`gsv_core.emotion.results.LABELS` order, with or without a Chinese ``中文/`` prefix).
A missing folder or file is a :class:`ModelMissing` naming every expected path, so nothing
falls through to a hub download. A hub id is used only when the user names one (the caller
downloads it; nothing here goes online). Loading always passes ``disable_update=True`` and
never ``trust_remote_code`` (which would pip-install from the folder).
"""

from __future__ import annotations

import os
from pathlib import Path

from gsv_core.dataset.asr_models import read_funasr_config
from gsv_core.emotion.results import LABELS
from gsv_core.errors import ModelMissing

__all__ = ["LAYOUT", "check_model_folder", "read_labels"]

LAYOUT = ("config.yaml", "model.pt", "tokens.txt")
_LAYOUT_TEXT = ("config.yaml (model: Emotion2vec), model.pt and tokens.txt (angry, "
                "disgusted, fearful, happy, neutral, other, sad, surprised, <unk>), as in "
                "emotion2vec/emotion2vec_plus_large")


def read_labels(tokens: Path) -> tuple[str, ...]:
    """The labels of ``tokens.txt`` in English (``生气/angry`` → ``angry``, ``<unk>`` → unknown)."""
    labels = []
    for line in tokens.read_text(encoding="utf-8").splitlines():
        if line.strip():
            name = line.strip().split("/")[-1]
            labels.append("unknown" if name == "<unk>" else name)
    return tuple(labels)


def check_model_folder(path: str | os.PathLike[str]) -> Path:
    """The absolute folder, once it holds the layout funasr needs and the nine labels.

    Raises:
        ModelMissing: no folder, a missing file (all named), a config of another model,
            or labels other than emotion2vec_plus's nine.
    """
    folder = Path(os.path.abspath(Path(path).expanduser()))
    if not folder.is_dir():
        raise ModelMissing(f"The emotion2vec model folder {os.fspath(folder)!r} does not "
                           "exist.", f"Download the model folder there: {_LAYOUT_TEXT}.",
                           expected_paths=tuple(os.fspath(folder / n) for n in LAYOUT))
    missing = [name for name in LAYOUT if not (folder / name).is_file()]
    if missing:
        raise ModelMissing(f"The emotion2vec model folder {os.fspath(folder)!r} lacks "
                           f"{', '.join(missing)}.", f"A complete folder holds {_LAYOUT_TEXT}.",
                           expected_paths=tuple(os.fspath(folder / n) for n in missing))
    model_class = str(read_funasr_config(folder).get("model", ""))
    if model_class != "Emotion2vec":
        raise ModelMissing(f"{os.fspath(folder)!r} holds a {model_class or 'unnamed'} model, "
                           "not emotion2vec.", f"Give an emotion2vec_plus folder: {_LAYOUT_TEXT}.",
                           expected_paths=(os.fspath(folder / "config.yaml"),))
    labels = read_labels(folder / "tokens.txt")
    if labels != LABELS:
        raise ModelMissing(f"{os.fspath(folder / 'tokens.txt')!r} lists {', '.join(labels)}; "
                           "emotion2vec_plus has nine labels in a fixed order.",
                           "Download tokens.txt of emotion2vec_plus again (the base model "
                           "without '_plus' has no classifier).",
                           expected_paths=(os.fspath(folder / "tokens.txt"),))
    return folder
