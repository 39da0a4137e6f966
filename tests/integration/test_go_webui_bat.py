"""go-webui.bat under Wine's ``cmd``: the paths a Windows user takes, as far as they run here.

Run: the dry run from a folder whose name has spaces and Chinese characters (the Python it
found, the setup step it calls with ``--dry-run``, the launch command with the user's
arguments, the QuickEdit note); no Python at all (the download page, exit 1); setup failing
(the window stays open with the cause, exit 1); a copy in System32 (refused, exit 1).

Not run here: a real Windows Python, so neither the environment's creation nor the launch.
The Python is ``GSV_PYTHON`` pointed at a small .cmd that prints what it was called with:
it stands for the interpreter only (a Windows Python cannot run under this Wine without
downloads). Skipped where Wine is not installed (CI installs no Wine); run by hand with
``apt-get install wine`` first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WINE = shutil.which("wine")
pytestmark = pytest.mark.skipif(WINE is None, reason="Wine is not installed (apt-get install "
                                "wine); go-webui.bat is only run under Wine's cmd here")
LIMIT_S = 180
FAKE_PYTHON = ("@echo off\r\necho fake python called with: %*\r\n"
               "if defined FAKE_PYTHON_FAILS exit /b 1\r\nexit /b 0\r\n")


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Wine prefix for the module (making one takes several seconds)."""
    return tmp_path_factory.mktemp("wineprefix")


def windows_path(path: Path) -> str:
    return "Z:" + str(path).replace("/", "\\")


def run_bat(bat: Path, prefix: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "WINEPREFIX": str(prefix), "WINEDEBUG": "-all",
                   "WINEDLLOVERRIDES": "mscoree,mshtml=", **env}
    environment.pop("GSV_PYTHON", None)
    environment.update(env)
    return subprocess.run([WINE, "cmd", "/c", windows_path(bat), *args], cwd=bat.parent,
                          env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=LIMIT_S)


def output(result: subprocess.CompletedProcess) -> str:
    return (result.stdout + result.stderr).decode("utf-8", errors="replace").replace("\r", "")


@pytest.fixture
def app_folder(tmp_path: Path) -> Path:
    """The .bat in a folder with spaces and Chinese characters, with a stand-in Python."""
    folder = tmp_path / "我的 GSV Studio"
    folder.mkdir()
    shutil.copy(REPO / "go-webui.bat", folder / "go-webui.bat")
    (folder / "fake python.cmd").write_bytes(FAKE_PYTHON.encode("ascii"))
    return folder


def test_the_dry_run_finds_python_calls_setup_and_prints_the_launch(app_folder, prefix):
    fake = f'"{windows_path(app_folder / "fake python.cmd")}"'
    result = run_bat(app_folder / "go-webui.bat", prefix, "--dry-run", "--lang", "zh_CN",
                     GSV_PYTHON=fake)
    text = output(result)
    assert result.returncode == 0, text
    assert "[go-webui dry run] Python:" in text and "fake python.cmd" in text
    assert "fake python called with: scripts\\ensure_env.py --dry-run" in text
    assert "do not click into this window" in text   # QuickEdit pauses a running program
    assert "would run: .venv\\Scripts\\python.exe webui.py --lang zh_CN" in text


def test_without_python_it_names_the_download_page_and_exits_1(app_folder, prefix):
    result = run_bat(app_folder / "go-webui.bat", prefix, PATH="C:\\windows\\system32")
    text = output(result)
    assert result.returncode == 1, text
    assert "Python 3.10 or newer is required" in text
    assert "https://www.python.org/downloads/" in text


def test_a_failed_setup_keeps_the_cause_on_screen_and_exits_1(app_folder, prefix):
    fake = f'"{windows_path(app_folder / "fake python.cmd")}"'
    result = run_bat(app_folder / "go-webui.bat", prefix, GSV_PYTHON=fake,
                     FAKE_PYTHON_FAILS="1")
    text = output(result)
    assert result.returncode == 1, text
    assert "GSV Studio stopped with an error" in text
    assert "Press any key" in text     # the window waits (pause) instead of closing
    assert "webui.py" not in text      # nothing was launched


def test_a_copy_in_system32_refuses_to_run(prefix, app_folder):
    run_bat(app_folder / "go-webui.bat", prefix, "--dry-run",
            GSV_PYTHON=f'"{windows_path(app_folder / "fake python.cmd")}"')  # prefix made
    system32 = prefix / "drive_c" / "windows" / "system32"
    shutil.copy(REPO / "go-webui.bat", system32 / "go-webui.bat")
    environment = {**os.environ, "WINEPREFIX": str(prefix), "WINEDEBUG": "-all"}
    result = subprocess.run([WINE, "cmd", "/c", "C:\\windows\\system32\\go-webui.bat"],
                            env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=LIMIT_S)
    text = output(result)
    assert result.returncode == 1, text
    assert "will not run from" in text and "System32" in text
    assert not (system32 / ".venv").exists()
