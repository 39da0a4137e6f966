"""The Inference tab in a real browser: pick the tiny models, upload a reference, generate.

The workspace is laid out as a user's: ``GPT_weights_v2/`` and ``SoVITS_weights_v2/`` hold
links to the tiny fixture models (under upstream's export names), the pretrained BERT and
HuBERT folders are the tiny ones ``tests/infer_fixtures.py`` builds. The GPUs are simulated
(GSV_FAKE_GPU); inference then runs on the CPU. One server serves both tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import screenshot, start_app, stop_app
from tests.fixture_paths import tiny_fixture
from tests.infer_fixtures import REFERENCE_TEXT, build_infer_setup

GPU = "NVIDIA GeForce RTX 4090:24"
TEXT = "你好世界。"
RENDER_TIMEOUT_MS = 120_000  # the first request loads the models on a loaded 2-core machine
DECODED_DURATION_S = """async url => {
    const bytes = await (await fetch(url)).arrayBuffer();
    const audio = await new OfflineAudioContext(1, 1, 32000).decodeAudioData(bytes);
    return audio.duration;
}"""


def user_workspace(root: Path) -> Path:
    """The tiny models under a user's folder names; returns the reference clip."""
    setup = build_infer_setup(root)
    ws = setup.workspace.create()
    (ws.gpt_weights_dir / "tiny-e1.ckpt").symlink_to(tiny_fixture("gpt_v2.ckpt"))
    (ws.sovits_weights_dir / "tiny_e1_s1.pth").symlink_to(tiny_fixture("sovits_v2.pth"))
    return setup.reference_wav


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """(URL, reference clip) of one app on the tiny workspace."""
    root = tmp_path_factory.mktemp("infer-ui")
    reference = user_workspace(root / "ws")
    process, url = start_app(GPU, root / "ws", root / "server.log")
    yield url, reference
    stop_app(process)


def pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).click()


def fill_the_request(page, url: str, reference: Path) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("tab", name="Inference").click()
    pick(page, "infer-gpt-weights", "tiny · epoch 1 (tiny-e1.ckpt)")
    pick(page, "infer-sovits-weights", "tiny · epoch 1 (tiny_e1_s1.pth)")
    page.locator("#infer-ref-audio input[type=file]").set_input_files(str(reference))
    expect(page.locator("#infer-ref-audio audio").first).to_be_attached(timeout=30_000)
    page.locator("#infer-ref-text textarea").fill(REFERENCE_TEXT)
    page.locator("#infer-target-text textarea").fill(TEXT)


def test_generate_plays_the_result_and_lists_it_in_the_history(page, served,
                                                               tmp_path: Path) -> None:
    from playwright.sync_api import expect

    fill_the_request(page, *served)
    page.locator("#infer-generate").click()
    expect(page.locator("#infer-message")).to_contain_text("seed", timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#infer-message")).to_contain_text("✅")
    # The player has a source the browser decodes: the waveform knows its length, and
    # the file behind the player's download link decodes as audio.
    expect(page.locator("#infer-result #duration")).not_to_have_text("0:00")
    source = page.locator("#infer-result a.download-link").get_attribute("href")
    assert page.evaluate(DECODED_DURATION_S, source) > 0.3
    history = page.locator("#infer-history-0-text")
    expect(history).to_contain_text(TEXT)
    expect(history).to_contain_text("tiny-e1.ckpt")
    expect(page.locator("#infer-history-0-audio audio").first).to_be_attached()
    expect(page.locator("#infer-history-empty")).to_be_hidden()
    screenshot(page, tmp_path, "inference.png")
    assert page.locator(".toast-body").count() == 0  # no Gradio error pop-up


@pytest.mark.skipif(shutil.which("ffmpeg") is None,
                    reason="streaming audio needs ffmpeg (run-tests.sh installs it as root)")
def test_stream_plays_in_the_browser_and_lands_in_the_history(page, served) -> None:
    from playwright.sync_api import expect

    fill_the_request(page, *served)
    page.locator("#infer-stream").click()
    expect(page.locator("#infer-message")).to_contain_text("✅", timeout=RENDER_TIMEOUT_MS)
    # The live player received the streamed audio as a source it could decode.
    page.wait_for_function(
        "() => [...document.querySelectorAll('#infer-live audio')]"
        ".some(a => a.src && a.duration > 0.3)", timeout=30_000)
    expect(page.locator("#infer-history-0-text")).to_contain_text(TEXT)
    assert page.locator(".toast-body").count() == 0


def test_a_temperature_typed_above_the_slider_renders_with_the_value_the_box_shows(
        page, served) -> None:
    """Issue 8: typing 5 into the temperature box (slider 0.05–1; the API accepts up to 10).
    The browser clamps the box to 1 when it is left, and Generate reads 1: the engine renders
    with 1 (the history says so), and the line under the slider says 5 became 1."""
    from playwright.sync_api import expect

    fill_the_request(page, *served)
    # the batch size is a governed control, filled in by the page-load refresh
    expect(page.locator("#infer-batch")).to_contain_text("H-2", timeout=20_000)
    page.locator("#infer-temperature input[type=number]").fill("5")
    page.locator("#infer-generate").click()
    expect(page.locator("#infer-message")).to_contain_text("✅", timeout=RENDER_TIMEOUT_MS)
    expect(page.locator("#infer-history-0-text")).to_contain_text("temperature 1 ·")
    expect(page.locator("#infer-temperature")).to_contain_text("5 → 1")
    expect(page.locator("#infer-temperature input[type=number]")).to_have_value("1")
    assert page.locator(".toast-body").count() == 0


def test_stopping_the_app_deletes_its_results_and_gradios_copies_of_them(
        page, tmp_path, monkeypatch) -> None:
    """Issue 8: result files do not outlive the app, neither ours nor the copies Gradio
    serves them from (its cache). Stopped with SIGTERM, as a service manager or ``kill``
    does; Ctrl+C takes the same path."""
    from playwright.sync_api import expect

    from gsv_core.infer.history import RESULTS_PREFIX

    temp, cache = tmp_path / "tmp", tmp_path / "gradio-cache"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # where the app makes its results folder
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    reference = user_workspace(tmp_path / "ws")
    process, url = start_app(GPU, tmp_path / "ws", tmp_path / "server.log")
    try:
        fill_the_request(page, url, reference)
        page.locator("#infer-generate").click()
        expect(page.locator("#infer-message")).to_contain_text("✅", timeout=RENDER_TIMEOUT_MS)
        [folder] = temp.glob(RESULTS_PREFIX + "*")
        assert list(folder.glob("result-*.wav")) and list(cache.rglob("result-*.wav"))
    finally:
        stop_app(process)
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert not folder.exists(), log
    assert list(cache.rglob("result-*.wav")) == [], log


def test_the_text_as_it_will_be_read_follows_edits_and_the_readings_choice(
        page, served) -> None:
    from playwright.sync_api import expect

    url, _ = served
    page.goto(url)
    page.get_by_role("tab", name="Inference").click()
    page.locator("#infer-target-text textarea").fill("电池5000mAh，支持120W快充。")
    read_as = page.locator("#infer-read-as")
    expect(read_as).to_contain_text("Will be read as", timeout=30_000)
    expect(read_as).to_contain_text("五千毫安时")
    page.locator("#infer-readings").get_by_text("As upstream GPT-SoVITS does").click()
    expect(read_as).not_to_contain_text("毫安", timeout=30_000)
    page.locator("#infer-target-text textarea").fill("")
    expect(read_as).not_to_contain_text("Will be read as", timeout=30_000)
    assert page.locator(".toast-body").count() == 0
