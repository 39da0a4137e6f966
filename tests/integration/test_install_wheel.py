"""A non-editable install works: build the wheel, install it into a new venv, start the UI.

No network: the wheel is built with the test venv's setuptools (``--no-build-isolation``)
and installed ``--no-deps --no-index``; the new venv borrows the test venv's dependencies
(gradio, torch, …) through a ``.pth`` line naming its site-packages. A plain path line does
not run that folder's own ``.pth`` files, so the checkout's editable-install hook stays off
and only the wheel's copy of ``gsv_core`` can be imported, which the test checks first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.integration.test_webui import free_port, running_ui, wait_for_page

REPO = Path(__file__).resolve().parents[2]
# What a wheel is built from (the sdist's contents); nothing else of the checkout is copied.
SOURCES = ("pyproject.toml", "README.md", "webui.py", "gsv_core", "tabs")


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def _copy_sources(target: Path) -> Path:
    target.mkdir()
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    return target


def _venv_paths(root: Path) -> tuple[Path, Path, Path]:
    """(python, gsv-studio script, site-packages) of the venv at ``root``."""
    scripts = root / ("Scripts" if os.name == "nt" else "bin")
    suffix = ".exe" if os.name == "nt" else ""
    python = scripts / f"python{suffix}"
    site = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    return python, scripts / f"gsv-studio{suffix}", Path(site.stdout.strip())


def _dependency_paths() -> str:
    """This venv's site-packages folders, one a line, for the new venv's ``.pth`` file."""
    folders = dict.fromkeys(sysconfig.get_path(name) for name in ("purelib", "platlib"))
    return "".join(f"{folder}\n" for folder in folders)


@pytest.mark.slow
def test_wheel_installs_and_serves_a_translated_ui(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    source = _copy_sources(tmp_path / "src")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "--wheel-dir", str(dist), str(source)])
    (wheel,) = dist.glob("gsv_studio-*.whl")

    root = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(root)
    python, script, site = _venv_paths(root)
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)])
    (site / "_test_venv_dependencies.pth").write_text(_dependency_paths(), encoding="utf-8")

    outside = tmp_path / "elsewhere"  # not the checkout: nothing can come from there
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = _run([str(python), "-c", "import gsv_core, tabs, webui; "
                  "print(gsv_core.__file__, tabs.__file__, webui.__file__, sep='\\n')"],
                 cwd=outside, env=env).stdout.splitlines()
    assert len(where) == 3 and all(Path(path).is_relative_to(site) for path in where), where

    zh_cn = json.loads((site / "gsv_core" / "assets" / "i18n" / "zh_CN.json")
                       .read_text(encoding="utf-8"))
    assert zh_cn["Training"] != "Training"
    port = free_port()
    command = [str(script), "--port", str(port), "--no-browser", "--lang", "zh_CN",
               "--workspace", str(tmp_path / "workspace")]
    with running_ui(command, cwd=outside, env=env) as ui:
        assert b"GSV Studio" in wait_for_page(ui, port)
        config = wait_for_page(ui, port, "/config").decode("utf-8")
        assert zh_cn["Training"] in config, ui.output()
