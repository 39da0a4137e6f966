"""The API on the UI's own port, and ``webui.py --api`` alone (issue 8 item 4).

Both start the real program in a child process on a free port (no simulated GPU: the engine
runs on this machine's CPU) with a workspace of tiny models (tests/infer_fixtures.py).
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import soundfile as sf

from tests.infer_fixtures import REFERENCE_TEXT, InferSetup, infer_setup

__all__ = ["infer_setup"]

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
START_WAIT_S = 240.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _program(args: list[str], port: int, log_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if k != "GSV_FAKE_GPU"}
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, str(REPO / "webui.py"), *args],
                                   stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_WAIT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"the program exited early:\n{log_path.read_text()}")
            try:
                if httpx.get(f"{url}/openapi.json", timeout=5).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer on {url}:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _weights_in_workspace(setup: InferSetup) -> tuple[str, str]:
    """The tiny weights inside the workspace, where API paths may point (a hard link where the
    file system allows, else a copy)."""
    names = []
    for source, folder in ((setup.gpt_path, setup.workspace.gpt_weights_dir),
                           (setup.sovits_path, setup.workspace.sovits_weights_dir)):
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / source.name
        if not target.exists():
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        names.append(str(target.relative_to(setup.workspace.root)))
    return names[0], names[1]


def _synthesise_through(url: str, setup: InferSetup) -> None:
    gpt, sovits = _weights_in_workspace(setup)
    with httpx.Client(base_url=url, timeout=300) as client:
        assert client.get("/set_gpt_weights", params={"weights_path": gpt}).json() == {
            "message": "success"}
        assert client.get("/set_sovits_weights", params={"weights_path": sovits}).json() == {
            "message": "success"}
        response = client.post("/tts", json={
            "text": "今天天气很不错。", "text_lang": "zh", "ref_audio_path": "ref/voice_4s.wav",
            "prompt_text": REFERENCE_TEXT, "prompt_lang": "zh", "seed": 1})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "audio/wav"
        assert sf.info(io.BytesIO(response.content)).subtype == "PCM_16"
        missing = client.get("/tts", params={"text": "x", "ref_audio_path": "ref/voice_4s.wav"})
        assert missing.status_code == 400 and "text_lang" in missing.json()["message"]


def test_tts_answers_on_the_uis_port(infer_setup: InferSetup, tmp_path: Path) -> None:
    port = _free_port()
    with _program(["--port", str(port), "--no-browser", "--workspace",
                   str(infer_setup.workspace.root)], port, tmp_path / "ui.log") as url:
        page = httpx.get(url + "/", timeout=30)
        assert page.status_code == 200 and "<html" in page.text.lower()  # the UI is there
        _synthesise_through(url, infer_setup)


def test_api_alone_with_webui_api(infer_setup: InferSetup, tmp_path: Path) -> None:
    port = _free_port()
    with _program(["--api", "--port", str(port), "--workspace",
                   str(infer_setup.workspace.root)], port, tmp_path / "api.log") as url:
        index = httpx.get(url + "/", timeout=30)
        assert index.status_code == 200 and "/tts" in index.json()["endpoints"]
        _synthesise_through(url, infer_setup)


def test_api_port_defaults_to_upstreams_9880() -> None:
    import webui

    args = webui.build_parser().parse_args(["--api"])
    assert not args.port_given and webui.API_PORT == 9880
    assert webui.build_parser().parse_args(["--api", "--port", "9001"]).port_given
    from gsv_core.api import API_PORT

    assert API_PORT == webui.API_PORT


def test_api_and_share_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    import webui

    assert webui.main(["--api", "--share"]) == 2
    assert "--share" in capsys.readouterr().err
