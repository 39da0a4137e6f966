"""Models in the UI: the inference dropdowns and the pretrained download with its progress.

The hub is a local folder (tests/fake_hub.py): the real one cannot be reached here.
"""

from __future__ import annotations

import gradio as gr
import pytest

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.workspace import Workspace
from tabs import infer, system
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
        self.calls: list[tuple[tuple[int, int], str]] = []

    def __call__(self, fraction: tuple[int, int], desc: str = "") -> None:
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
    before = system.models_markdown(context.workspace, context.t)
    assert before.count("⚠️") == 5 and f"{V2}/s2G2333k.pth" in before
    progress = RecordingProgress()
    models_md, message = system.download_models(context, progress)
    assert message == f"Downloaded {len(HUB_FILES)} files from lj1995/GPT-SoVITS."
    assert "⚠️" not in models_md and models_md.count("✅") == 5
    assert [call[0] for call in progress.calls] == [(i, len(HUB_FILES))
                                                    for i in range(len(HUB_FILES))]
    assert all(call[1].startswith("Downloading ") for call in progress.calls)
    assert system.download_models(context, RecordingProgress())[1] == (
        "Every pretrained model is present.")


def test_failed_download_shows_message_and_advice(context, fake_hub, tmp_path) -> None:
    (tmp_path / "hub" / V2 / "s2D2333k.pth").unlink()  # the hub lacks this file
    models_md, message = system.download_models(context, RecordingProgress())
    assert message.startswith("❌ Could not download") and "s2D2333k.pth" in message
    assert "➡️" in message  # the advice: what to do next
    assert "✅ SoVITS v2 pretrained generator" in models_md  # what finished stays
