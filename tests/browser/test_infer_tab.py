"""The Inference tab in a real browser: pick the tiny models, upload a reference, generate.

The workspace is laid out as a user's: ``GPT_weights_v2/`` and ``SoVITS_weights_v2/`` hold
links to the tiny fixture models (under upstream's export names), the pretrained BERT and
HuBERT folders are the tiny ones ``tests/infer_fixtures.py`` builds. The GPUs are simulated
(GSV_FAKE_GPU); inference then runs on the CPU. One server serves every test (an app start
and the first model load are the biggest costs here); the test that stops it runs last, and a
test after it would get a fresh one.
"""

from __future__ import annotations

import shutil
import subprocess
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


class App:
    """The module's app on the tiny workspace, started when first asked for and again after
    a test stopped it. Each start has its own temporary folder (where the app makes its
    results folder), Gradio cache and log, so the stop test sees only its run's files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reference = user_workspace(root / "ws")
        self.process: subprocess.Popen | None = None
        self.started = 0
        self.url = ""

    def run_dir(self, name: str) -> Path:
        """The current start's folder ``name`` (tmp, gradio-cache) or file (server.log)."""
        return self.root / f"run-{self.started}" / name

    def serve(self) -> tuple[str, Path]:
        """(URL, reference clip), starting the app when it is not running."""
        if self.process is None or self.process.poll() is not None:
            self.started += 1
            self.run_dir("tmp").mkdir(parents=True)
            with pytest.MonkeyPatch.context() as env:
                env.setenv("TMPDIR", str(self.run_dir("tmp")))
                env.setenv("GRADIO_TEMP_DIR", str(self.run_dir("gradio-cache")))
                self.process, self.url = start_app(GPU, self.root / "ws",
                                                   self.run_dir("server.log"))
        return self.url, self.reference

    def stop(self) -> None:
        if self.process is not None:
            stop_app(self.process)
            self.process = None


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[App]:
    served = App(tmp_path_factory.mktemp("infer-ui"))
    yield served
    served.stop()


@pytest.fixture
def served(app: App) -> tuple[str, Path]:
    """(URL, reference clip) of the module's app, running."""
    return app.serve()


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


def test_stopping_the_app_deletes_its_results_and_gradios_copies_of_them(
        page, app: App) -> None:
    """Issue 8: result files do not outlive the app, neither ours nor the copies Gradio
    serves them from (its cache). Stopped with SIGTERM, as a service manager or ``kill``
    does; Ctrl+C takes the same path. Last in the module: it stops the module's app."""
    from playwright.sync_api import expect

    from gsv_core.infer.history import RESULTS_PREFIX

    url, reference = app.serve()
    # where this run of the app makes its results folder, and Gradio's cache
    temp, cache, log_path = (app.run_dir(name) for name in ("tmp", "gradio-cache",
                                                             "server.log"))
    try:
        fill_the_request(page, url, reference)
        page.locator("#infer-generate").click()
        expect(page.locator("#infer-message")).to_contain_text("✅", timeout=RENDER_TIMEOUT_MS)
        [folder] = temp.glob(RESULTS_PREFIX + "*")
        assert list(folder.glob("result-*.wav")) and list(cache.rglob("result-*.wav"))
    finally:
        app.stop()
    log = log_path.read_text(errors="replace")
    assert not folder.exists(), log
    assert list(cache.rglob("result-*.wav")) == [], log
