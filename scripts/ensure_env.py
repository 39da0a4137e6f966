"""Create or refresh GSV Studio's virtual environment in ``.venv`` (standard library only).

Called by go-webui.sh, go-webui.bat and run-tests.sh before anything else, with
whatever Python 3.10+ the machine has. It reinstalls only when pyproject.toml
(or the extras asked for) changed since the last install, so later launches
cost a fraction of a second. The last line it prints is the environment's
Python, for the caller to run.

torch is installed first, explicitly, so pip never picks a build by accident:

- NVIDIA GPU: the CUDA build from PyTorch's index for the newest CUDA the driver runs
  (``nvidia-smi`` prints it; e.g. a 12.4 driver gets cu124, not a cu128 build it cannot
  load). A driver too old for any current build gets the CPU build and a message to update
  it. When the version cannot be read: cu128 on Windows (the default Windows wheel is
  CPU-only), the default build (CUDA) elsewhere.
- no NVIDIA GPU on Linux: a locally provided CPU wheel when pip can see one
  (no download at all), else the PyTorch CPU index (a few hundred MB instead of
  several GB of CUDA libraries), else the default build.
- macOS: the default build (CPU + Apple MPS).

ffmpeg (for streaming audio in the browser) comes from Debian's package when this runs as
root on Debian/Ubuntu; elsewhere the script says how to install it, once.

``--dry-run`` prints each step instead of doing it and changes nothing (go-webui.bat and
go-webui.sh pass it on); the last line is still the environment's Python.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("GSV_VENV", ROOT / ".venv"))
STAMP = VENV / ".gsv-installed"
FFMPEG_TRIED = VENV / ".gsv-ffmpeg-tried"  # setup could not provide ffmpeg; said so once
LOCAL_CPU_TORCH = "torch==2.13.0"
TORCH = "torch>=2.6"
INDEX_ROOT = "https://download.pytorch.org/whl/"
CPU_INDEX = INDEX_ROOT + "cpu"
PYPI = "https://pypi.org/simple"   # the rest of torch's needs, beside a PyTorch index
CUDA_INDEX_WINDOWS = INDEX_ROOT + "cu128"
# PyTorch's CUDA indexes that carry torch >= 2.6, newest first, each with the CUDA version
# the driver must support (the "CUDA Version" nvidia-smi prints).
CUDA_INDEXES = (((13, 0), "cu130"), ((12, 9), "cu129"), ((12, 8), "cu128"), ((12, 6), "cu126"),
                ((12, 4), "cu124"), ((11, 8), "cu118"))
DRY_RUN = False  # --dry-run: say what would be done, do nothing


def say(message: str) -> None:
    where = "gsv-studio setup, dry run: nothing is changed" if DRY_RUN else "gsv-studio setup"
    print(f"[{where}] {message}", file=sys.stderr, flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pip(*args: str, check: bool = True) -> bool:
    if DRY_RUN:
        say(f"would run: pip {' '.join(args)}")
        return True
    result = subprocess.run([str(venv_python()), "-m", "pip", *args])
    if check and result.returncode != 0:
        raise SystemExit(f"[gsv-studio setup] pip {' '.join(args)} failed "
                         f"(exit {result.returncode}); see the messages above.")
    return result.returncode == 0


def has_nvidia_gpu() -> bool:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    result = subprocess.run([smi, "-L"], capture_output=True, text=True)
    return result.returncode == 0 and "GPU" in result.stdout


def driver_cuda_version(smi_text: str) -> tuple[int, int] | None:
    """The CUDA version the driver supports, from ``nvidia-smi``'s header, or None."""
    match = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", smi_text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def cuda_index_for(driver: tuple[int, int]) -> str | None:
    """The newest PyTorch CUDA index the driver can run (its URL), or None when the driver
    is older than every current build."""
    for needed, name in CUDA_INDEXES:
        if driver >= needed:
            return INDEX_ROOT + name
    return None


def nvidia_smi_text() -> str:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return ""
    result = subprocess.run([smi], capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else ""


def torch_installed() -> bool:
    try:
        return subprocess.run([str(venv_python()), "-c", "import torch"],
                              capture_output=True).returncode == 0
    except OSError:   # no environment yet (a dry run)
        return False


def local_cpu_torch_available() -> bool:
    """Can pip find the CPU wheel without any index (a machine that ships one)?"""
    if DRY_RUN:
        return False
    with tempfile.TemporaryDirectory() as probe:
        return pip("download", "--quiet", "--no-index", "--no-deps", "--dest", probe,
                   LOCAL_CPU_TORCH, check=False)


def install_torch() -> None:
    if torch_installed():
        return
    system = platform.system()
    if has_nvidia_gpu():
        driver = driver_cuda_version(nvidia_smi_text())
        if driver is None:
            say("NVIDIA GPU found (its CUDA version unread): installing the CUDA build.")
            if system == "Windows":
                pip("install", TORCH, "--index-url", CUDA_INDEX_WINDOWS)
            else:
                pip("install", TORCH)
            return
        index = cuda_index_for(driver)
        if index is not None:
            say(f"NVIDIA GPU found, driver for CUDA {driver[0]}.{driver[1]}: installing "
                f"the {index.rsplit('/', 1)[1]} build of torch.")
            pip("install", TORCH, "--index-url", index, "--extra-index-url", PYPI)
            return
        say(f"The NVIDIA driver supports CUDA {driver[0]}.{driver[1]}, older than any "
            "current PyTorch build (11.8 or newer): installing the CPU build. Update the "
            "driver (https://www.nvidia.com/Download/index.aspx), delete .venv, and start "
            "again to train on the GPU.")
        pip("install", TORCH, "--index-url", CPU_INDEX, "--extra-index-url", PYPI)
        return
    if system == "Linux":
        if local_cpu_torch_available():
            say(f"No NVIDIA GPU: installing the local CPU build ({LOCAL_CPU_TORCH}).")
            pip("install", LOCAL_CPU_TORCH)
            return
        say("No NVIDIA GPU: installing the CPU build of torch.")
        if pip("install", TORCH, "--index-url", CPU_INDEX, "--extra-index-url", PYPI,
               check=False):
            return
        say("The PyTorch CPU index was not reachable; installing the default build.")
    pip("install", TORCH)


def stamp_for(extras: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    return f"{digest}-{extras}"


def ensure(extras: str) -> Path:
    if sys.version_info < (3, 10):  # noqa: UP036 - this script may be run by an older Python
        raise SystemExit("[gsv-studio setup] Python 3.10 or newer is required "
                         f"(this is {platform.python_version()}).")
    if not venv_python().exists():
        say(f"{'Would create' if DRY_RUN else 'Creating'} the virtual environment in "
            f"{VENV} (first run only).")
        if not DRY_RUN:
            venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = stamp_for(extras)
    if STAMP.exists() and STAMP.read_text(encoding="utf-8").strip() == wanted:
        return venv_python()
    say("Installing dependencies (first run, or pyproject.toml changed): a few minutes.")
    pip("install", "--quiet", "--upgrade", "pip")
    install_torch()
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    pip("install", "--editable", target)
    if not DRY_RUN:
        STAMP.write_text(wanted + "\n", encoding="utf-8")
    return venv_python()


def ffmpeg_action(found: bool, system: str, is_root: bool, has_apt: bool,
                  is_debian: bool) -> str:
    """What to do about ffmpeg: "present", "install" (Debian's package) or "advise".

    Gradio's streaming audio needs an ``ffmpeg`` executable. We install it only where that
    is safe and unattended: as root on Debian/Ubuntu through apt. Elsewhere (Windows, macOS,
    a user account) we say how to get it; the UI works without it, minus streaming.
    """
    if found:
        return "present"
    if system == "Linux" and is_root and has_apt and is_debian:
        return "install"
    return "advise"


def ensure_ffmpeg() -> None:
    """Install Debian's ffmpeg when :func:`ffmpeg_action` says so, trying once per venv."""
    action = ffmpeg_action(
        found=shutil.which("ffmpeg") is not None, system=platform.system(),
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
        has_apt=shutil.which("apt-get") is not None,
        is_debian=Path("/etc/debian_version").exists())
    if action == "present" or FFMPEG_TRIED.exists():
        return
    if DRY_RUN:
        step = "install Debian's ffmpeg" if action == "install" else "say how to install it"
        say(f"ffmpeg is missing: would {step}.")
        return
    if action == "install":
        say("Installing Debian's ffmpeg (streaming audio in the browser needs it).")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        ok = (subprocess.run(["apt-get", "update", "-qq"], env=env).returncode == 0
              and subprocess.run(["apt-get", "install", "-y", "-qq", "ffmpeg"],
                                 env=env).returncode == 0)
        if ok:
            return
        say("Could not install ffmpeg; streaming stays off (everything else works).")
    else:
        say("ffmpeg was not found: streaming audio in the browser stays off until you "
            "install it (Windows: winget install ffmpeg; macOS: brew install ffmpeg; "
            "Debian/Ubuntu: sudo apt-get install ffmpeg). Everything else works.")
    if VENV.is_dir():  # say it once, not at every launch
        FFMPEG_TRIED.write_text("ffmpeg not installed by setup\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extras", default="", help="optional dependency groups, e.g. test")
    parser.add_argument("--dry-run", action="store_true",
                        help="print each step instead of doing it; change nothing")
    args = parser.parse_args()
    global DRY_RUN
    DRY_RUN = args.dry_run
    python = ensure(args.extras)
    ensure_ffmpeg()
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
