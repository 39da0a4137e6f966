"""Models in the UI: the inference dropdowns and the Settings tab's pretrained download
with its progress and stop button.

The hub is a loopback server (tests/fake_hub.py): the real one cannot be reached here.
"""

from __future__ import annotations

import threading
import time

import gradio as gr
import pytest

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.models.download import DownloadRun
from gsv_core.workspace import Workspace
from tabs import infer, models
from tabs.common import AppContext
from tests.fake_hub import HUB_FILES, V2


@pytest.fixture
def context(tmp_path, fake_gpu) -> AppContext:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine(),
                      workspace=Workspace(tmp_path / "ws").create(), app=app)


class RecordingProgress:
    """Stands in for gr.Progress, which only reports to a browser session."""

    def __init__(self) -> None:
        self.calls: list[tuple[float | None, str]] = []

    def __call__(self, fraction: float | None, desc: str = "") -> None:
        self.calls.append((fraction, desc))


def test_model_dropdowns_list_trained_weights_then_official(context) -> None:
    ws = context.workspace
    gpt_update, sovits_update, notice = infer.refresh(context)
    assert gpt_update["choices"] == [] and gpt_update["value"] is None
    assert str(ws.gpt_weights_dir) in notice  # says where to put the files
    (ws.gpt_weights_dir / "alice-e10.ckpt").write_bytes(b"x")
    (ws.sovits_weights_dir / "alice_e10_s200.pth").write_bytes(b"x")
    (ws.pretrained_v2_dir).mkdir(parents=True)
    (ws.pretrained_v2_dir / "s2G2333k.pth").write_bytes(b"x")
    gpt_update, sovits_update, notice = infer.refresh(context)
    assert gpt_update["choices"] == [("alice · epoch 10 (alice-e10.ckpt)",
                                      str(ws.gpt_weights_dir / "alice-e10.ckpt"))]
    official = str(ws.pretrained_v2_dir / "s2G2333k.pth")
    assert [value for _, value in sovits_update["choices"]] == [
        str(ws.sovits_weights_dir / "alice_e10_s200.pth"), official]  # trained, then official
    assert sovits_update["choices"][1][0] == "Official pretrained (s2G2333k.pth)"
    assert notice == ""


def test_download_fetches_what_is_missing_with_progress(context, fake_hub) -> None:
    before = models.models_markdown(context.workspace, context.t)
    assert before.count("⚠️") == 5 and f"{V2}/s2G2333k.pth" in before
    progress = RecordingProgress()
    run = DownloadRun()
    models_md, message = models.download_models(context, run, fake_hub.endpoint, progress)
    assert message == f"✅ Downloaded {len(HUB_FILES)} files from lj1995/GPT-SoVITS."
    assert "⚠️" not in models_md and models_md.count("✅") == 5
    fractions = [fraction for fraction, _ in progress.calls]
    assert all(0 < f <= 1 for f in fractions) and fractions.count(1.0) == len(HUB_FILES)
    first, last = progress.calls[0][1], progress.calls[-1][1]
    assert first.startswith(f"Downloading {HUB_FILES[0]} (file 1 of {len(HUB_FILES)}): ")
    assert f"(file {len(HUB_FILES)} of {len(HUB_FILES)})" in last and last.endswith(" MB")
    assert models.download_models(context, run, fake_hub.endpoint, RecordingProgress())[1] == (
        "Every pretrained model is present.")


def test_failed_download_shows_message_and_advice(context, fake_hub, tmp_path) -> None:
    (tmp_path / "hub" / V2 / "s2D2333k.pth").unlink()  # the hub lacks this file
    models_md, message = models.download_models(context, DownloadRun(), fake_hub.endpoint,
                                                RecordingProgress())
    assert message.startswith("❌ Could not download") and "s2D2333k.pth" in message
    assert "➡️" in message  # the advice: what to do next
    assert "✅ SoVITS v2 pretrained generator" in models_md  # what finished stays


def test_a_wrong_download_address_is_said_without_fetching(context, fake_hub) -> None:
    _, message = models.download_models(context, DownloadRun(), "hub.example.org",
                                        RecordingProgress())
    assert message.startswith("❌ Not downloaded: the download address is 'hub.example.org'")
    assert fake_hub.requests == []


def test_stop_ends_a_running_download_and_a_second_one_waits(context, fake_hub) -> None:
    fake_hub.hold = threading.Event()  # every file comes one chunk at a time, on release
    run = DownloadRun()
    assert models.stop_download(context, run) == "No download is running."
    results: list[tuple[str, str]] = []
    worker = threading.Thread(target=lambda: results.append(models.download_models(
        context, run, fake_hub.endpoint, RecordingProgress())))
    worker.start()
    deadline = time.monotonic() + 60
    while not fake_hub.gets() and time.monotonic() < deadline:
        time.sleep(0.05)  # wait for the first file to start
    assert fake_hub.gets(), "the download never started"
    assert models.download_models(context, run, fake_hub.endpoint, RecordingProgress())[1] \
        .startswith("A download is already running")
    assert models.stop_download(context, run) == "Stopping the download…"
    fake_hub.hold.set()
    worker.join(timeout=60)
    models_md, message = results[0]
    assert message.startswith(f"⏹️ Stopped before {HUB_FILES[0]} was complete.")
    assert models_md.count("⚠️") == 5  # nothing half-written counts as present
    fake_hub.hold = None
    assert models.download_models(context, run, fake_hub.endpoint, RecordingProgress())[1] \
        .startswith("✅ Downloaded")  # the run is free again


def test_the_app_uses_the_saved_models_folder_of_its_workspace(tmp_path, fake_gpu) -> None:
    import webui
    from gsv_core.settings import LaunchSettings, save_settings

    fake_gpu("NVIDIA GeForce RTX 4090:24")
    install = tmp_path / "GPT-SoVITS" / "GPT_SoVITS" / "pretrained_models"
    (install / V2).mkdir(parents=True)
    (install / V2 / "s2G2333k.pth").write_bytes(b"x")
    save_settings(tmp_path / "ws", LaunchSettings(models_dir=str(install)))
    config = webui.build_app(workspace=tmp_path / "ws").get_config_file()
    props = {c["props"].get("elem_id"): c["props"] for c in config["components"]
             if c.get("props", {}).get("elem_id")}
    assert f"`{install}`" in props["settings-models"]["value"]
    assert "✅ SoVITS v2 pretrained generator" in props["settings-models"]["value"]
    assert props["settings-models-dir"]["value"] == str(install)
