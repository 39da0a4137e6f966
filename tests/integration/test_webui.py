"""The entry point: options, login rules for --share, lazy imports, start-up time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import webui

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_lists_the_options() -> None:
    result = subprocess.run([sys.executable, str(REPO / "webui.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--port", "--share", "--auth", "--lang", "--workspace", "--host"):
        assert option in result.stdout


def test_importing_webui_loads_neither_torch_nor_gradio() -> None:
    code = "import sys, webui; print(sorted({'torch', 'gradio'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_building_the_app_does_not_import_torch(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    code = "import sys, webui; webui.build_app(); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=REPO, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("False")


@pytest.mark.parametrize("text", ["nouser", ":pw", "user:", ""])
def test_bad_auth_is_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="USER:PASSWORD"):
        webui.parse_auth(text)


def test_auth_password_may_contain_colons() -> None:
    assert webui.parse_auth("me:a:b") == ("me", "a:b")


def test_share_never_runs_without_a_login() -> None:
    auth, generated = webui.resolve_auth(share=True, auth=None)
    assert generated and auth[0] == webui.SHARE_USER and len(auth[1]) >= 12
    assert webui.resolve_auth(share=True, auth=None)[0][1] != auth[1]  # fresh each time
    assert webui.resolve_auth(share=True, auth=("a", "b")) == (("a", "b"), False)
    assert webui.resolve_auth(share=False, auth=None) == (None, False)


def test_share_launch_prints_and_passes_the_generated_login(monkeypatch, capsys,
                                                           fake_gpu) -> None:
    """A real share link needs the internet, which tests do not have: launch is replaced."""
    import gradio as gr

    fake_gpu("NVIDIA GeForce RTX 4090:24")
    launched = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: launched.update(kw))
    assert webui.main(["--share", "--no-browser"]) == 0
    printed = capsys.readouterr().out
    assert launched["share"] is True and launched["auth"][0] == "gsv"
    assert launched["auth"][1] in printed
    assert launched["server_name"] == "127.0.0.1"


def test_bad_options_exit_2_with_a_message(capsys, fake_gpu) -> None:
    assert webui.main(["--auth", "nopassword"]) == 2
    assert "USER:PASSWORD" in capsys.readouterr().err
    assert webui.main(["--lang", "fr_FR", "--no-browser"]) == 2
    assert "fr_FR" in capsys.readouterr().err
    fake_gpu("RTX:zero")
    assert webui.main(["--no-browser"]) == 2
    assert "GSV_FAKE_GPU" in capsys.readouterr().err


def test_first_page_is_served_quickly_on_localhost(tmp_path) -> None:
    """`python webui.py` answers on 127.0.0.1 within 4 s, with no network (none exists here)."""
    port = free_port()
    env = {**os.environ, "GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"}
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, str(REPO / "webui.py"), "--port", str(port),
                                "--no-browser", "--workspace", str(tmp_path)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        elapsed = None
        while time.monotonic() - started < 30 and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                    if reply.status == 200 and b"GSV Studio" in reply.read():
                        elapsed = time.monotonic() - started
                        break
            except OSError:
                time.sleep(0.05)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert elapsed is not None, output.decode(errors="replace")
    assert elapsed < 4.0, f"first page after {elapsed:.2f} s"


OFFLINE_PROBE = r"""
import os, socket, subprocess, sys, time, urllib.request
with socket.socket() as probe:  # prove there is no way out of this namespace
    probe.settimeout(2)
    assert probe.connect_ex(("1.1.1.1", 443)) != 0, "the namespace still has a network"
port = int(sys.argv[1])
app = subprocess.Popen([sys.executable, sys.argv[2], "--port", str(port), "--no-browser",
                        "--workspace", sys.argv[3]], stdout=subprocess.DEVNULL,
                       stderr=subprocess.STDOUT)
try:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as reply:
                print(reply.status, b"GSV Studio" in reply.read())
                break
        except OSError:
            time.sleep(0.1)
finally:
    app.terminate()
    app.wait(timeout=10)
"""


def test_the_ui_starts_with_no_network_at_all(tmp_path) -> None:
    """Run the app in a new network namespace (loopback only): nothing it needs is online."""
    import shutil

    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-n", "true"],
                                         capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here (needs util-linux unshare and root)")
    env = {**os.environ, "GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"}
    command = f"ip link set lo up 2>/dev/null || true; exec {sys.executable} -c \"$0\" \"$@\""
    result = subprocess.run([unshare, "-n", "sh", "-c", command, OFFLINE_PROBE,
                             str(free_port()), str(REPO / "webui.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "True"]
