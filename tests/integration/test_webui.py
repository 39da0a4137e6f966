"""The entry point: options, login rules for --share and --host, lazy imports, start-up.

Also the helpers other start-up tests use (``running_ui``, ``wait_for_page``): the real
server in a child process, on loopback.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

import webui

REPO = Path(__file__).resolve().parents[2]
FAKE_4090 = "NVIDIA GeForce RTX 4090:24"
# A correctness bound, not a speed target (that is bench/bench_first_page.py): a loaded
# 2-core machine took 4.4-7.5 s; a server that has not answered after this never will.
FIRST_PAGE_LIMIT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UiProcess:
    """A started UI: its process and everything it printed so far (collected by a thread,
    so a full pipe never blocks the server)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)

    def output(self) -> str:
        return "".join(self._lines)

    def stop(self) -> str:
        """Terminate the server; returns all it printed."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self._reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.output()


@contextmanager
def running_ui(command: Sequence[str], *, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> Iterator[UiProcess]:
    """Start ``command`` (a UI launch) with a simulated RTX 4090; stop it on exit.

    ``env`` replaces this process's environment (default: inherit it).
    """
    env = {**(os.environ if env is None else env), "GSV_FAKE_GPU": FAKE_4090,
           "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(list(command), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    ui = UiProcess(process)
    try:
        yield ui
    finally:
        ui.stop()


def wait_for_page(ui: UiProcess, port: int, path: str = "/",
                  limit_s: float = FIRST_PAGE_LIMIT_S) -> bytes:
    """The body of ``http://127.0.0.1:port/path`` once it answers 200; fails the test (with
    what the server printed) if it exits or does not answer within ``limit_s``."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s and ui.process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
                if reply.status == 200:
                    return reply.read()
        except (OSError, http.client.HTTPException):
            # Not up yet. HTTPException too: while nothing listens on a port in the ephemeral
            # range, a connection to it can connect to itself (TCP self-connect) and read its
            # own request back ("BadStatusLine: GET / HTTP/1.1").
            time.sleep(0.1)
    state = "exited" if ui.process.poll() is not None else f"no answer after {limit_s:.0f} s"
    pytest.fail(f"the UI on port {port} never served {path} ({state}):\n{ui.output()}")


def wait_for_output(ui: UiProcess, pattern: str,
                    limit_s: float = FIRST_PAGE_LIMIT_S) -> re.Match[str]:
    """The first match of ``pattern`` in what the UI prints; fails the test if none comes."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        found = re.search(pattern, ui.output())
        if found or ui.process.poll() is not None:
            break
        time.sleep(0.05)
    found = re.search(pattern, ui.output())
    if found is None:
        pytest.fail(f"the UI never printed {pattern!r}:\n{ui.output()}")
    return found


def ui_command(*args: str) -> list[str]:
    return [sys.executable, str(REPO / "webui.py"), "--no-browser", *args]


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
    assert generated and auth[0] == webui.LOGIN_USER and len(auth[1]) >= 16
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
    assert printed.count(launched["auth"][1]) == 1  # shown once, in the login notice
    assert "--share makes a public link" in printed
    assert launched["server_name"] == "127.0.0.1"


def test_bad_options_exit_2_with_a_message(capsys, fake_gpu) -> None:
    assert webui.main(["--auth", "nopassword"]) == 2
    assert "USER:PASSWORD" in capsys.readouterr().err
    assert webui.main(["--lang", "fr_FR", "--no-browser"]) == 2
    assert "fr_FR" in capsys.readouterr().err
    fake_gpu("RTX:zero")
    assert webui.main(["--no-browser"]) == 2
    assert "GSV_FAKE_GPU" in capsys.readouterr().err


def test_first_page_is_served_on_localhost(tmp_path) -> None:
    """`python webui.py` serves its page on 127.0.0.1, with no network (none exists here).

    How fast is measured by bench/bench_first_page.py (docs/benchmarks.md), not here.
    """
    port = free_port()
    with running_ui(ui_command("--port", str(port), "--workspace", str(tmp_path))) as ui:
        assert b"GSV Studio" in wait_for_page(ui, port)


OFFLINE_PROBE = r"""
import http.client, os, socket, subprocess, sys, time, urllib.request
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
        except (OSError, http.client.HTTPException):  # not up yet (see wait_for_page)
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
