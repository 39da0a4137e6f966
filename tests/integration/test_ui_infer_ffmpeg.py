"""Streaming needs ffmpeg: the tab says so when it is missing, and set-up installs it on Debian.

PATH is pointed at a temporary folder (empty, or holding a stand-in ``ffmpeg`` script):
``shutil.which`` is what both Gradio and we use to find it. apt-get is replaced by a recorder,
since a test must not install system packages.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.scripts_loader import load_script

GPU = "NVIDIA GeForce RTX 4090:24"


def components(config: dict) -> dict[str, dict]:
    return {c["props"]["elem_id"]: c["props"] for c in config["components"]
            if c.get("props", {}).get("elem_id")}


def infer_props(monkeypatch, tmp_path: Path, with_ffmpeg: bool) -> dict[str, dict]:
    import webui

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    if with_ffmpeg:
        ffmpeg = bin_dir / "ffmpeg"
        ffmpeg.write_text("#!/bin/sh\nexit 0\n")
        ffmpeg.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return components(webui.build_app(workspace=tmp_path / "ws").get_config_file())


def test_without_ffmpeg_the_stream_button_is_off_and_says_why(monkeypatch, tmp_path,
                                                               fake_gpu) -> None:
    fake_gpu(GPU)
    props = infer_props(monkeypatch, tmp_path, with_ffmpeg=False)
    assert props["infer-stream"]["interactive"] is False
    assert props["infer-live"]["visible"] is False
    notice = props["infer-streaming"]["value"]
    assert "ffmpeg" in notice and "apt-get install ffmpeg" in notice
    assert props["infer-generate"].get("interactive") is not False  # whole renders still work


def test_with_ffmpeg_streaming_is_on(monkeypatch, tmp_path, fake_gpu) -> None:
    fake_gpu(GPU)
    props = infer_props(monkeypatch, tmp_path, with_ffmpeg=True)
    assert props["infer-stream"].get("interactive") is not False
    assert props["infer-live"]["visible"] is not False
    assert props["infer-streaming"]["value"] == ""


def load_ensure_env():
    return load_script("ensure_env")


@pytest.mark.parametrize(("found", "system", "root", "apt", "debian", "action"), [
    (True, "Linux", True, True, True, "present"),
    (False, "Linux", True, True, True, "install"),
    (False, "Linux", False, True, True, "advise"),    # no root: never sudo on our own
    (False, "Linux", True, False, False, "advise"),   # not Debian
    (False, "Windows", False, False, False, "advise"),
    (False, "Darwin", True, False, False, "advise"),
])
def test_setup_installs_ffmpeg_only_as_root_on_debian(found, system, root, apt, debian,
                                                     action) -> None:
    assert load_ensure_env().ffmpeg_action(found, system, root, apt, debian) == action


def test_setup_runs_apt_get_once_and_says_so_when_it_fails(monkeypatch, tmp_path,
                                                          capsys) -> None:
    ensure_env = load_ensure_env()
    calls: list[list[str]] = []

    def fake_run(args, **kwargs):
        calls.append(list(args))
        return subprocess.CompletedProcess(args, 100)  # apt-get update fails (offline)

    monkeypatch.setattr(ensure_env, "ffmpeg_action", lambda **_: "install")
    monkeypatch.setattr(ensure_env.subprocess, "run", fake_run)
    monkeypatch.setattr(ensure_env, "VENV", tmp_path)
    monkeypatch.setattr(ensure_env, "FFMPEG_TRIED", tmp_path / ".gsv-ffmpeg-tried")
    ensure_env.ensure_ffmpeg()
    assert calls == [["apt-get", "update", "-qq"]]
    assert "Could not install ffmpeg" in capsys.readouterr().err
    ensure_env.ensure_ffmpeg()  # the next launch does not try again
    assert len(calls) == 1
