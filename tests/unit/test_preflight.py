"""The pre-flight check (gsv_core.preflight): every item measured, every failure with advice.

The probes that cannot be varied here (free disk, torch's CUDA, ffmpeg, the Windows console)
are given as arguments; the GPUs are simulated profiles (no GPU exists here).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gsv_core.hardware import detect_machine
from gsv_core.models.registry import pretrained_status
from gsv_core.preflight import TorchCuda, run_preflight
from gsv_core.workspace import Workspace

GB = 1024**3
CARD = "NVIDIA GeForce RTX 4090:24"
CUDA_OK = TorchCuda("2.13.0", "12.8", 1)


def ready_workspace(root: Path) -> Workspace:
    """A workspace with every pretrained file in place (empty files: only presence counts)."""
    workspace = Workspace(root)
    for status in pretrained_status(workspace):
        for path in status.missing:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    return workspace


def real_card():
    """A profile as NVML would give it: an NVIDIA card, not marked as simulated."""
    return replace(detect_machine({"GSV_FAKE_GPU": CARD}), fake_spec=None, ram_gb=32)


def check(tmp_path: Path, profile=None, *, cuda=CUDA_OK,
          free_gb: float = 100, ffmpeg: str | None = "/usr/bin/ffmpeg", quickedit=None,
          workspace: Workspace | None = None):
    result = run_preflight(profile or real_card(), workspace or ready_workspace(tmp_path / "ws"),
                           torch_cuda=lambda: cuda, disk_free_bytes=lambda _: int(free_gb * GB),
                           which=lambda _: ffmpeg, quickedit_on=lambda: quickedit)
    return result, {c.key: c for c in result.checks}


def text(item) -> str:
    params = {k: ", ".join(v) if isinstance(v, tuple) else v for k, v in item.params.items()}
    return item.message.format(**params) + " " + item.advice.format(**params)


def test_a_ready_machine_is_all_green_and_states_each_item(tmp_path):
    result, items = check(tmp_path)
    assert result.all_green and not result.failed
    assert [c.key for c in result.checks] == ["gpu", "cuda", "disk", "ram", "models",
                                              "workspace", "ffmpeg", "heat"]
    assert "RTX 4090, 24 GB" in text(items["gpu"])
    assert "CUDA 12.8 on 1 GPU(s)" in text(items["cuda"])
    assert items["heat"].status == "info" and items["heat"].rule == "H-4"


def test_a_cpu_build_of_torch_beside_an_nvidia_card_fails_with_the_fix(tmp_path):
    result, items = check(tmp_path, cuda=TorchCuda("2.13.0+cpu", None, 0))
    assert items["cuda"].status == "fail" and items["cuda"] in result.failed
    assert "CPU build" in text(items["cuda"]) and "go-webui" in text(items["cuda"])
    _, old_driver = check(tmp_path / "b", cuda=TorchCuda("2.13.0", "12.8", 0))
    assert "Update the NVIDIA driver" in text(old_driver["cuda"])


def test_no_gpu_warns_and_simulated_gpus_skip_the_cuda_probe(tmp_path):
    result, items = check(tmp_path, detect_machine({"GSV_FAKE_GPU": "cpu"}))
    assert items["gpu"].status == "warn" and "cuda" not in items and not result.all_green
    asked = []
    run_preflight(detect_machine({"GSV_FAKE_GPU": CARD}), ready_workspace(tmp_path / "f"),
                  torch_cuda=lambda: asked.append(1) or TorchCuda("x", None, 0))
    assert asked == []


def test_an_unusable_card_says_why(tmp_path):
    profile = replace(detect_machine({"GSV_FAKE_GPU": "NVIDIA GeForce GTX 1050:2"}),
                      fake_spec=None, ram_gb=32)
    _, items = check(tmp_path, profile)
    assert items["gpu"].status == "warn" and "training needs at least" in text(items["gpu"])


@pytest.mark.parametrize(("free_gb", "status"), [(5, "fail"), (20, "warn"), (40, "ok")])
def test_free_disk_under_the_thresholds(tmp_path, free_gb, status):
    _, items = check(tmp_path, free_gb=free_gb)
    assert items["disk"].status == status
    assert str(tmp_path / "ws") in text(items["disk"])


@pytest.mark.parametrize(("ram", "status"), [(4, "fail"), (12, "warn"), (16, "ok")])
def test_memory_under_the_thresholds(tmp_path, ram, status):
    _, items = check(tmp_path, replace(real_card(), ram_gb=ram))
    assert items["ram"].status == status


def test_missing_models_name_the_folder_to_fill(tmp_path):
    workspace = Workspace(tmp_path / "empty")
    result, items = check(tmp_path, workspace=workspace)
    assert items["models"] in result.failed
    assert str(workspace.pretrained_dir) in text(items["models"])
    assert "GPT v2 pretrained model" in text(items["models"])


def test_a_workspace_that_cannot_be_written_fails(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    _, items = check(tmp_path, workspace=Workspace(tmp_path / "file" / "ws"))
    assert items["workspace"].status == "fail" and "--workspace" in text(items["workspace"])
    assert not list(tmp_path.glob("ws/.gsv-write-check-*"))   # the probe file is removed


def test_no_ffmpeg_and_quickedit_warn_with_what_to_do(tmp_path):
    result, items = check(tmp_path, ffmpeg=None, quickedit=True)
    assert items["ffmpeg"].status == "warn" and "winget install ffmpeg" in text(items["ffmpeg"])
    assert items["quickedit"].status == "warn" and "QuickEdit Mode" in text(items["quickedit"])
    assert not result.all_green
    _, off = check(tmp_path / "b", quickedit=False)
    assert off["quickedit"].status == "ok"
