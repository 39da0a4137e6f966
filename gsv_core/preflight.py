"""The pre-flight check: is this machine ready to make a voice, and what to do where it is not.

The UI shows it first, open, until every item is green, and on the System tab afterwards
(issue 13). Each item is measured here, never assumed, and each one that fails says exactly
what to do. The probes (free disk, torch's CUDA, ffmpeg, the Windows console mode) are
arguments with the real ones as defaults, so a test can give a full disk or a missing ffmpeg
without having one.

Thresholds (documented here because they are this check's own, not training rules):

- free disk in the workspace: one experiment needs room for its formatted features (about
  1 GB per hour of audio), its resume checkpoints with optimizer states (about 2 GB) and the
  weights saved every few epochs (about 150 MB each): under ``MIN_FREE_GB`` it fails, under
  ``RECOMMENDED_FREE_GB`` it warns;
- memory: training holds the dataset's features, the models and the data loader workers in
  RAM; under ``MIN_RAM_GB`` it fails (it swaps), under ``RECOMMENDED_RAM_GB`` it warns.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gsv_core.guidelines import classify_gpu, decide_device, heat_notice
from gsv_core.hardware import MachineProfile
from gsv_core.i18n import mark
from gsv_core.workspace import Workspace

__all__ = ["MIN_FREE_GB", "MIN_RAM_GB", "RECOMMENDED_FREE_GB", "RECOMMENDED_RAM_GB", "Check",
           "Preflight", "TorchCuda", "run_preflight"]

MIN_FREE_GB = 10
RECOMMENDED_FREE_GB = 30
MIN_RAM_GB = 8
RECOMMENDED_RAM_GB = 16

Status = Literal["ok", "warn", "fail", "info"]


@dataclass(frozen=True)
class Check:
    """One item: its status, what was found and, unless it is fine, what to do.

    ``message`` and ``advice`` are English UI texts with ``{placeholders}`` filled from
    ``params`` (translated through ``assets/i18n``; a tuple of texts is a list of i18n keys,
    each translated, then joined); ``rule`` names the guideline it states.
    """

    key: str
    status: Status
    message: str
    advice: str = ""
    params: Mapping[str, object] = field(default_factory=dict)
    rule: str | None = None


@dataclass(frozen=True)
class Preflight:
    checks: tuple[Check, ...]

    @property
    def all_green(self) -> bool:
        """Nothing failed or warned (information items do not count)."""
        return all(check.status in ("ok", "info") for check in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.status == "fail")


@dataclass(frozen=True)
class TorchCuda:
    """What this process's torch can do with CUDA (``probe_torch_cuda`` measures it)."""

    version: str
    built_for: str | None   # torch.version.cuda: None for a CPU build
    devices: int


def probe_torch_cuda() -> TorchCuda:
    import torch

    devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return TorchCuda(torch.__version__, torch.version.cuda, devices)


def _quickedit_on() -> bool | None:
    """Whether the Windows console's QuickEdit mode is on (None: not Windows, or unknown)."""
    if sys.platform != "win32":
        return None
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, "Console") as key:
            return bool(winreg.QueryValueEx(key, "QuickEdit")[0])
    except OSError:
        return None


def run_preflight(profile: MachineProfile, workspace: Workspace, *,
                  torch_cuda: Callable[[], TorchCuda] = probe_torch_cuda,
                  disk_free_bytes: Callable[[Path], int] | None = None,
                  which: Callable[[str], str | None] = shutil.which,
                  quickedit_on: Callable[[], bool | None] = _quickedit_on) -> Preflight:
    """Every item, in the order a new user should fix them."""
    checks = [*_gpu_checks(profile, torch_cuda),
              _disk_check(workspace, disk_free_bytes), _ram_check(profile),
              _models_check(workspace), _write_check(workspace), _ffmpeg_check(which)]
    quickedit = quickedit_on()
    if quickedit is not None:
        checks.append(Check("quickedit", "warn" if quickedit else "ok", mark(
            "The console's QuickEdit mode is on: a click in the console window pauses the app "
            "until a key is pressed.") if quickedit else mark("The console's QuickEdit mode is "
                                                              "off."),
            mark("Right-click the console's title bar, open Properties and untick QuickEdit "
                 "Mode (or never click in the console).") if quickedit else ""))
    for reason in heat_notice(decide_device(profile)).reasons:
        checks.append(Check("heat", "info", reason.key, params=reason.params, rule=reason.rule))
    return Preflight(tuple(checks))


def _gpu_checks(profile: MachineProfile, torch_cuda: Callable[[], TorchCuda]) -> list[Check]:
    nvidia = [gpu for gpu in profile.gpus if gpu.vendor == "nvidia"]
    if not nvidia:
        return [Check("gpu", "warn", mark("No NVIDIA GPU found: training and inference run on "
                                          "the CPU, many times slower."),
                      mark("If this computer has an NVIDIA card, install its driver (nvidia-smi "
                           "must list the card), then start the app again."), rule="H-1")]
    checks = []
    for gpu in nvidia:
        verdict = classify_gpu(gpu)
        params = {"index": gpu.index, "name": gpu.name, "vram": gpu.vram_gb,
                  "driver": gpu.driver or "?"}
        if verdict.usable:
            checks.append(Check("gpu", "ok", mark("GPU {index}: {name}, {vram} GB, driver "
                                                  "{driver}."), params=params))
        else:
            why = " ".join(reason.text() for reason in verdict.reasons)
            checks.append(Check("gpu", "warn", mark("GPU {index}: {name} cannot train: {why}"),
                                mark("Inference still runs on it; training runs on another "
                                     "usable card or the CPU."), {**params, "why": why},
                                rule="H-1"))
    if profile.fake_spec is not None:
        checks.append(Check("cuda", "info", mark("The GPUs are simulated (GSV_FAKE_GPU): CUDA "
                                                 "is not checked.")))
        return checks
    cuda = torch_cuda()
    params = {"torch": cuda.version, "cuda": cuda.built_for or "-", "devices": cuda.devices}
    if cuda.devices:
        checks.append(Check("cuda", "ok", mark("PyTorch {torch} uses CUDA {cuda} on {devices} "
                                               "GPU(s)."), params=params))
    elif cuda.built_for is None:
        checks.append(Check("cuda", "fail", mark("PyTorch {torch} is a CPU build: it cannot use "
                                                 "the NVIDIA GPU."),
                            mark("Delete the .venv folder and start go-webui again: the setup "
                                 "installs the CUDA build of PyTorch when it sees an NVIDIA "
                                 "driver."), params))
    else:
        checks.append(Check("cuda", "fail", mark("PyTorch {torch} (CUDA {cuda}) sees no usable "
                                                 "GPU."),
                            mark("Update the NVIDIA driver to one that supports CUDA {cuda} "
                                 "(nvidia-smi shows the highest CUDA version it supports), "
                                 "then start the app again."), params))
    return checks


def _disk_check(workspace: Workspace, disk_free_bytes: Callable[[Path], int] | None) -> Check:
    folder = _existing_parent(workspace.root)
    free = (disk_free_bytes or (lambda path: shutil.disk_usage(path).free))(folder)
    params = {"free": round(free / 1024**3, 1), "folder": str(workspace.root),
              "min": MIN_FREE_GB, "recommended": RECOMMENDED_FREE_GB}
    if free < MIN_FREE_GB * 1024**3:
        return Check("disk", "fail", mark("{free} GB free where the workspace is ({folder}); "
                                          "an experiment needs at least {min} GB."),
                     mark("Free some space, or start the app with --workspace on a disk with "
                          "{recommended} GB or more free."), params)
    if free < RECOMMENDED_FREE_GB * 1024**3:
        return Check("disk", "warn", mark("{free} GB free where the workspace is ({folder}): "
                                          "enough for about one experiment."),
                     mark("{recommended} GB or more leaves room for several experiments and "
                          "their saved epochs."), params)
    return Check("disk", "ok", mark("{free} GB free where the workspace is ({folder})."),
                 params=params)


def _ram_check(profile: MachineProfile) -> Check:
    params = {"ram": profile.ram_gb, "min": MIN_RAM_GB, "recommended": RECOMMENDED_RAM_GB}
    if profile.ram_gb < MIN_RAM_GB:
        return Check("ram", "fail", mark("{ram} GB of memory: training needs at least {min} GB "
                                         "(it would swap)."),
                     mark("Close other programs, train with a smaller batch, or use a computer "
                          "with {recommended} GB or more."), params)
    if profile.ram_gb < RECOMMENDED_RAM_GB:
        return Check("ram", "warn", mark("{ram} GB of memory: enough, with little to spare."),
                     mark("Close other programs while training; {recommended} GB is "
                          "comfortable."), params)
    return Check("ram", "ok", mark("{ram} GB of memory."), params=params)


def _models_check(workspace: Workspace) -> Check:
    from gsv_core.models.registry import pretrained_status

    status = pretrained_status(workspace)
    # the titles stay i18n keys (a tuple): the UI translates each before joining them
    missing = tuple(s.model.title for s in status if not s.present)
    params = {"count": len(status), "missing": missing, "folder": str(workspace.pretrained_dir)}
    if missing:
        return Check("models", "fail", mark("Pretrained models missing: {missing}."),
                     mark("Press 'Download missing pretrained models' on the Settings tab, or "
                          "copy them from a GPT-SoVITS install into {folder} (or point the "
                          "Settings tab's pretrained models folder at that install's)."),
                     params)
    return Check("models", "ok", mark("All {count} pretrained models are in {folder}."),
                 params=params)


def _write_check(workspace: Workspace) -> Check:
    folder = workspace.root
    params: dict[str, object] = {"folder": str(folder)}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".gsv-write-check-"):
            pass
    except OSError as exc:
        params["error"] = exc.strerror or str(exc)
        return Check("workspace", "fail", mark("Cannot write to the workspace {folder}: "
                                               "{error}."),
                     mark("Start the app with --workspace pointing to a folder you can write "
                          "to (not a read-only or synced system folder)."), params)
    return Check("workspace", "ok", mark("The workspace {folder} is writable."), params=params)


def _ffmpeg_check(which: Callable[[str], str | None]) -> Check:
    found = which("ffmpeg")
    if found:
        return Check("ffmpeg", "ok", mark("ffmpeg found: {path}."), params={"path": found})
    # m4a/aac and video recordings do not need it: PyAV, which bundles FFmpeg's decoders,
    # reads them (dataset/audio_read.py); the program itself serves these three.
    return Check("ffmpeg", "warn", mark("ffmpeg is not installed: streamed audio on the "
                                        "Inference tab, the API's aac output and vocal "
                                        "separation stay off (m4a and video recordings are "
                                        "still read)."),
                 mark("Windows: winget install ffmpeg; macOS: brew install ffmpeg; "
                      "Debian/Ubuntu: sudo apt-get install ffmpeg. Then start the app again."))


def _existing_parent(path: Path) -> Path:
    """``path`` or its nearest existing parent (a new workspace may not exist yet)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path.parent != path:
        path = path.parent
    return path
