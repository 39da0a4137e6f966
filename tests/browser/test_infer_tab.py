"""The Inference tab in a real browser: pick the tiny models, upload a reference, generate.

The workspace is laid out as a user's: ``GPT_weights_v2/`` and ``SoVITS_weights_v2/`` hold
links to the tiny fixture models (under upstream's export names), the pretrained BERT and
HuBERT folders are the tiny ones ``tests/infer_fixtures.py`` builds. The GPUs are simulated
(GSV_FAKE_GPU); inference then runs on the CPU.
"""

from __future__ import annotations

from pathlib import Path

from tests.browser.conftest import start_app, stop_app
from tests.fixture_paths import tiny_fixture
from tests.infer_fixtures import REFERENCE_TEXT, build_infer_setup

GPU = "NVIDIA GeForce RTX 4090:24"
TEXT = "你好世界。"
GENERATE_TIMEOUT_MS = 120_000  # the first request loads the models on a loaded 2-core machine
DECODED_DURATION_S = """async url => {
    const bytes = await (await fetch(url)).arrayBuffer();
    const audio = await new OfflineAudioContext(1, 1, 32000).decodeAudioData(bytes);
    return audio.duration;
}"""


def user_workspace(root: Path) -> Path:
    setup = build_infer_setup(root)
    ws = setup.workspace.create()
    (ws.gpt_weights_dir / "tiny-e1.ckpt").symlink_to(tiny_fixture("gpt_v2.ckpt"))
    (ws.sovits_weights_dir / "tiny_e1_s1.pth").symlink_to(tiny_fixture("sovits_v2.pth"))
    return setup.reference_wav


def pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).click()


def test_generate_plays_the_result_and_lists_it_in_the_history(page, tmp_path) -> None:
    from playwright.sync_api import expect

    reference = user_workspace(tmp_path / "ws")
    process, url = start_app(GPU, tmp_path / "ws", tmp_path / "server.log")
    try:
        page.goto(url)
        page.get_by_role("tab", name="Inference").click()
        pick(page, "infer-gpt-weights", "tiny · epoch 1 (tiny-e1.ckpt)")
        pick(page, "infer-sovits-weights", "tiny · epoch 1 (tiny_e1_s1.pth)")
        page.locator("#infer-ref-audio input[type=file]").set_input_files(str(reference))
        expect(page.locator("#infer-ref-audio audio").first).to_be_attached(timeout=30_000)
        page.locator("#infer-ref-text textarea").fill(REFERENCE_TEXT)
        page.locator("#infer-target-text textarea").fill(TEXT)
        page.locator("#infer-generate").click()

        expect(page.locator("#infer-message")).to_contain_text("seed",
                                                               timeout=GENERATE_TIMEOUT_MS)
        expect(page.locator("#infer-message")).to_contain_text("✅")
        # The player has a source the browser decodes: the waveform knows its length, and
        # the file behind the player's download link decodes as audio.
        expect(page.locator("#infer-result #duration")).not_to_have_text("0:00")
        source = page.locator("#infer-result a.download-link").get_attribute("href")
        decoded_s = page.evaluate(DECODED_DURATION_S, source)
        assert decoded_s > 0.3
        history = page.locator("#infer-history-0-text")
        expect(history).to_contain_text(TEXT)
        expect(history).to_contain_text("tiny-e1.ckpt")
        expect(page.locator("#infer-history-0-audio audio").first).to_be_attached()
        expect(page.locator("#infer-history-empty")).to_be_hidden()
        assert page.locator(".toast-body").count() == 0  # no Gradio error pop-up
    finally:
        stop_app(process)
