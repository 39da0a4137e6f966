"""A local stand-in for the Hugging Face hub: the real hub cannot be reached in tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import huggingface_hub
import pytest
from huggingface_hub.errors import EntryNotFoundError

from gsv_core.models.registry import HF_REPO

V2 = "gsv-v2final-pretrained"
HUB_FILES = [
    f"{V2}/s2G2333k.pth", f"{V2}/s2D2333k.pth",
    f"{V2}/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
    "chinese-roberta-wwm-ext-large/config.json", "chinese-roberta-wwm-ext-large/tokenizer.json",
    "chinese-roberta-wwm-ext-large/pytorch_model.bin",
    "chinese-hubert-base/config.json", "chinese-hubert-base/preprocessor_config.json",
    "chinese-hubert-base/pytorch_model.bin",
]


def install_fake_hub(hub: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Serve ``HUB_FILES`` from ``hub`` through ``hf_hub_download``; returns the requests."""
    for name in HUB_FILES:
        (hub / name).parent.mkdir(parents=True, exist_ok=True)
        (hub / name).write_text(f"content of {name}")
    requests: list[tuple[str, str]] = []

    def fake_download(repo_id: str, filename: str, *, local_dir: Path, **_: object) -> str:
        requests.append((repo_id, filename))
        source = hub / filename
        if repo_id != HF_REPO or not source.is_file():
            raise EntryNotFoundError(f"{repo_id}/{filename} not found")
        target = Path(local_dir) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    return requests
