"""A real Chromium drives the Training tab: DPO, typed values, the GPU choice, fixed values.

Fixtures (server, Chromium) are in conftest.py. Each test checks that no Gradio error
toast appeared: those were the symptom of values the engine never got to clamp.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import TOAST, open_training_tab, screenshot, start_app, stop_app

pytestmark = pytest.mark.browser
TIMEOUT_MS = 10_000
ONE_CARD = "NVIDIA GeForce RTX 4090:24"
TWO_CARDS = "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture(scope="module")
def one_card(tmp_path_factory: pytest.TempPathFactory):
    """One server for the single-card tests: each drives its own browser session, and none
    changes what the server keeps (about 8 s saved per test)."""
    root = tmp_path_factory.mktemp("one-card")
    process, url = start_app(ONE_CARD, root / "workspace", root / "server.log")
    yield url
    stop_app(process, root / "workspace")


def test_dpo_toggle_lowers_gpt_batch_max_in_the_page(one_card, page, tmp_path: Path) -> None:
    open_training_tab(page, one_card)
    gpt_max = page.locator("#gpt-batch input[type=range]")
    expect()(gpt_max).to_have_attribute("max", "11", timeout=TIMEOUT_MS)
    page.locator("#gpt-dpo input[type=checkbox]").check()
    expect()(gpt_max).to_have_attribute("max", "6", timeout=TIMEOUT_MS)
    expect()(page.locator("#gpt-batch input[type=number]")).to_have_value("6")
    expect()(page.locator("#gpt-batch")).to_contain_text("11 → 6 (clamped), D-2")
    screenshot(page, tmp_path, "training-dpo-on.png")
    # Item 5: the plan (DPO off for an unmeasured dataset) says why, and System follows it.
    page.locator("#train-apply-plan").click()
    expect()(page.locator("#train-plan")).to_contain_text("DPO off", timeout=TIMEOUT_MS)
    expect()(gpt_max).to_have_attribute("max", "11", timeout=TIMEOUT_MS)
    # Item 7: a rule id opens its plain-language entry on the System tab.
    page.locator("#gpt-batch a[href='#rule-b-2']").click()
    expect()(page.get_by_role("tab", name="System")).to_have_attribute("aria-selected", "true")
    expect()(page.locator("#system-glossary")).to_be_visible()
    expect()(page.locator("#rule-b-2")).to_be_in_viewport(timeout=TIMEOUT_MS)
    rules = page.locator("#system-rules")
    expect()(rules).to_contain_text("B-2: GPT batch at most 11", timeout=TIMEOUT_MS)
    expect()(rules).not_to_contain_text("DPO on: GPT batch")
    # The pre-flight check: this workspace has no pretrained models, so the page-top list is
    # open with the fix, and the System tab's copy checks again on request.
    expect()(page.locator("#preflight-items")).to_be_visible()
    expect()(page.locator("#preflight-items")).to_contain_text("Pretrained models missing")
    preflight = page.locator("#system-preflight")
    expect()(preflight).to_contain_text("need attention", timeout=TIMEOUT_MS)
    expect()(preflight).to_contain_text("The GPUs are simulated (GSV_FAKE_GPU)")
    page.locator("#system-preflight-again").click()
    expect()(preflight).to_contain_text("Download missing pretrained models", timeout=TIMEOUT_MS)
    assert page.locator(TOAST).count() == 0


def test_typed_emptied_and_garbled_values_are_clamped_with_the_reason(one_card, page,
                                                                       tmp_path: Path) -> None:
    """Items 1, 3, 4: 99 → 14 with B-1, no "Value 99 is greater than maximum" toast."""
    open_training_tab(page, one_card)
    control = page.locator("#sovits-batch")
    box = control.locator("input[type=number]")
    box.fill("99")
    box.press("Tab")  # leaving the box is the edit (the release event)
    expect()(control).to_contain_text("99 → 14 (clamped), B-1", timeout=TIMEOUT_MS)
    expect()(box).to_have_value("14")
    # The collapsed "Why these limits?" box: the clamp first, then the binding rule.
    page.locator("#sovits-why-box").get_by_text("Why these limits?").click()
    first = page.locator("#sovits-why li").first
    expect()(first).to_have_text("Batch: 99 → 14 (clamped)", timeout=TIMEOUT_MS)
    expect()(page.locator("#sovits-why li").nth(1)).to_contain_text("B-1")
    screenshot(page, tmp_path, "typed-99.png")
    box.fill("")
    box.press("Tab")
    expect()(control).to_contain_text("Set to the default 11", timeout=TIMEOUT_MS)
    expect()(box).to_have_value("11")
    box.fill("3")
    box.press("Tab")
    expect()(control).to_contain_text("Allowed 1–14, default 11", timeout=TIMEOUT_MS)
    box.press("Control+a")
    page.keyboard.type("abc")  # a number box takes no letters: it is left empty
    box.press("Tab")
    expect()(box).to_have_value("11", timeout=TIMEOUT_MS)
    box.fill("13")
    box.press("Tab")
    expect()(control).to_contain_text("Allowed 1–14, default 11", timeout=TIMEOUT_MS)
    control.get_by_test_id("reset-button").click()  # ↺: the current default, in range
    expect()(box).to_have_value("11", timeout=TIMEOUT_MS)
    assert page.locator(TOAST).count() == 0


def test_dataset_duration_minus_5_is_refused_next_to_the_field(one_card, page) -> None:
    page.goto(one_card)
    minutes = page.locator("#ds-minutes")
    expect()(minutes.locator("input")).to_have_value("", timeout=TIMEOUT_MS)  # not 0
    minutes.locator("input").fill("-5")
    expect()(minutes).to_contain_text("not possible", timeout=TIMEOUT_MS)
    slice_box = page.locator("#slice-length input[type=number]")
    slice_box.fill("40")
    slice_box.press("Tab")
    expect()(page.locator("#slice-length")).to_contain_text("40 → 15 (clamped)",
                                                            timeout=TIMEOUT_MS)
    assert page.locator(TOAST).count() == 0


def test_switching_the_gpu_refreshes_once_and_pops_no_error(app_url, page,
                                                            tmp_path: Path) -> None:
    """Item 2: one pick is one request per listening tab; the limits follow the new card."""
    url = app_url(TWO_CARDS)
    config = json.loads(page.request.get(url + "config").text())
    gpu_id = next(c["id"] for c in config["components"]
                  if c.get("props", {}).get("elem_id") == "train-gpu")
    # the events the pick itself triggers (not those chained after them, such as the plan)
    direct = {index for index, dep in enumerate(config["dependencies"])
              if [gpu_id, "select"] in [list(target) for target in dep["targets"]]}
    open_training_tab(page, url)
    joins: list[dict] = []
    page.on("request", lambda request: joins.append(json.loads(request.post_data))
            if "queue/join" in request.url else None)
    page.locator("#train-gpu input").click()
    page.get_by_role("option", name="1: NVIDIA GeForce RTX 3060").click()
    batch_max = page.locator("#sovits-batch input[type=range]")
    expect()(batch_max).to_have_attribute("max", "5", timeout=TIMEOUT_MS)
    expect()(page.locator("#train-device")).to_contain_text("GPU 1", timeout=TIMEOUT_MS)
    screenshot(page, tmp_path, "gpu-1.png")
    picks = [join for join in joins if join.get("fn_index") in direct]
    assert len(picks) == 2, picks  # the Training and the System tab, once each
    assert all(join["data"][0] == 1 for join in picks)
    assert page.locator(TOAST).count() == 0


def test_fixed_batch_on_the_cpu_is_a_read_only_number(app_url, page, tmp_path: Path) -> None:
    """Item 8: min = max = 1 shows a number with the reason, not a fake 1…2 slider."""
    open_training_tab(page, app_url("cpu"))
    fixed = page.locator("#sovits-batch-fixed")
    expect()(fixed).to_be_visible(timeout=TIMEOUT_MS)
    expect()(fixed).to_contain_text("Fixed at 1")
    expect()(fixed).to_contain_text("H-2")
    expect()(fixed.locator("input")).to_be_disabled()
    expect()(page.locator("#sovits-batch")).to_be_hidden()
    expect()(page.locator("#train-gpu")).to_contain_text("Training device")
    screenshot(page, tmp_path, "cpu.png")
    assert page.locator(TOAST).count() == 0


def test_a_server_that_never_comes_up_fails_the_test_with_its_output(tmp_path: Path) -> None:
    """Item 22: no dead URL handed to a test; the failure shows why the server died."""
    with pytest.raises(pytest.fail.Exception, match=r"exited with code 2(.|\n)*GSV_FAKE_GPU"):
        start_app("not a gpu spec", tmp_path, tmp_path / "server.log")
