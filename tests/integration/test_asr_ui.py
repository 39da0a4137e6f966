"""The Dataset tab's Transcribe section: its handler on a tiny SenseVoice, its layout.

The handler is the one ``wire`` connects; the model is a tiny random SenseVoiceSmall built
offline (tests/asr_fixtures.py), so only the structure of the result is checked.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from gsv_core.dataset.annotations import read_list
from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.workspace import Workspace
from tabs.common import AppContext
from tabs.dataset import asr
from tabs.infer.run import StopRequests
from tests import asr_fixtures
from tests.asr_fixtures import clips_folder

tiny_sensevoice = asr_fixtures.tiny_sensevoice

pytestmark = pytest.mark.slow  # builds tiny models (funasr import ~10 s on first use)



@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine({"GSV_FAKE_GPU": "cpu"}),
                      workspace=Workspace(tmp_path / "ws"), app=app)


def no_progress(fraction, desc=None) -> None:
    del fraction, desc


def test_transcribing_fills_the_list_box_and_lists_the_failure(ctx: AppContext, tmp_path: Path,
                                                               tiny_sensevoice: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 2, corrupt=True)
    output = asr.default_output(ctx, str(folder), "")["value"]
    assert output == str(ctx.workspace.asr_dir / "voice.list")
    seen: list[tuple] = []
    message, list_update = asr.run_asr(
        ctx, str(folder), output, str(tiny_sensevoice), "ko", "auto", "auto", "auto", False,
        should_stop=lambda: False, progress=lambda fraction, desc=None: seen.append(fraction))
    assert list_update["value"] == output
    assert message.startswith("⚠️") and "2 clips in" in message
    assert "`bad.wav`" in message and "1 clip(s) failed" in message
    assert {c.language for c in read_list(output).clips} == {"ko"}
    assert seen[-1] == (3, 3)


def test_a_missing_model_file_is_named_and_nothing_is_written(ctx: AppContext,
                                                              tmp_path: Path) -> None:
    folder = clips_folder(tmp_path / "voice", 1)
    model = tmp_path / "SenseVoiceSmall"
    model.mkdir()
    (model / "config.yaml").write_text("model: SenseVoiceSmall\ntokenizer: "
                                       "SentencepiecesTokenizer\nfrontend_conf: {fs: 16000}\n")
    message, list_update = asr.run_asr(ctx, str(folder), "", str(model), "zh", "auto", "auto",
                                       "auto", False, should_stop=lambda: False,
                                       progress=no_progress)
    assert message.startswith("❌") and str(model) in message
    assert "model.pt, am.mvn, bpe.model are missing" in message
    assert list_update == gr.update()
    assert not ctx.workspace.asr_dir.exists() or not any(ctx.workspace.asr_dir.iterdir())


def test_empty_fields_say_what_to_fill_in(ctx: AppContext) -> None:
    message, _ = asr.run_asr(ctx, "", "", "", "zh", "auto", "auto", "auto", False,
                             should_stop=lambda: False, progress=no_progress)
    assert message.startswith("❌") and "no model folder" in message


def test_the_section_builds_wires_and_explains_every_control(ctx: AppContext) -> None:
    model_dir = ctx.workspace.root / "GPT_SoVITS" / "pretrained_models" / "asr" / "broken"
    model_dir.mkdir(parents=True)  # incomplete: not offered
    with gr.Blocks() as app:
        ctx.app = app
        area = asr.section(ctx)
        list_box = gr.Textbox(label="list", info="the proofreading list")
        event = asr.wire(area, ctx, StopRequests(), list_box)
    assert event is not None
    from gsv_core.dataset.asr_models import RECOMMENDED

    assert [value for _, value in area.model.choices] == list(RECOMMENDED)
    kinds = (gr.Textbox, gr.Dropdown, gr.Checkbox)
    controls = [b for b in app.blocks.values() if isinstance(b, kinds)]
    assert len(controls) == 9   # the section's 8, and the list box
    assert [b.label for b in controls if not b.info] == []
    assert [value for _, value in area.device.choices] == ["auto", "cpu"]
