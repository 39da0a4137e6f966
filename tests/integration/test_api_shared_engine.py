"""The API on the UI's port and the Inference tab use one engine: the models load once.

Real app, real engine object (no models loaded: none are needed to compare identities);
the GPU is simulated, so the engine runs on the CPU.
"""

from __future__ import annotations

from pathlib import Path

import webui
from gsv_core.api import ServerLifecycle, load_default_weights
from gsv_core.workspace import Workspace


def test_the_api_mounted_on_the_ui_shares_the_tabs_engine(tmp_path: Path, fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    built = webui.build_ui(workspace=tmp_path)
    service = webui._ui_api_service(tmp_path, None, ServerLifecycle(stop=lambda: None),
                                    built.inference_engine)
    assert service.engine.get() is built.inference_engine()


class RecordingEngine:
    """Stands in for the engine's loading methods (the function under test only picks
    which files to load)."""

    def __init__(self, gpt: Path | None = None, sovits: Path | None = None) -> None:
        self.gpt_path, self.sovits_path = gpt, sovits
        self.loaded: list[Path] = []

    def load_gpt(self, path: Path) -> None:
        self.gpt_path = path
        self.loaded.append(path)

    def load_sovits(self, path: Path) -> None:
        self.sovits_path = path
        self.loaded.append(path)


def official_files(root: Path) -> tuple[Path, Path]:
    space = Workspace(root).create()
    space.pretrained_v2_dir.mkdir(parents=True)
    gpt = space.pretrained_v2_dir / "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
    sovits = space.pretrained_v2_dir / "s2G2333k.pth"
    for path in (gpt, sovits):
        path.write_bytes(b"x")
    return gpt, sovits


def test_default_weights_fill_only_what_the_engine_lacks(tmp_path: Path) -> None:
    gpt, sovits = official_files(tmp_path)
    fresh = RecordingEngine()
    load_default_weights(fresh, Workspace(tmp_path))
    assert fresh.loaded == [gpt, sovits]  # as upstream's API starts with its defaults
    mine = tmp_path / "mine.pth"
    in_use = RecordingEngine(sovits=mine)  # the tab already loaded the user's SoVITS
    load_default_weights(in_use, Workspace(tmp_path))
    assert in_use.loaded == [gpt] and in_use.sovits_path == mine
