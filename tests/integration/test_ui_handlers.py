"""The tabs' event handlers return the clamped updates, in process (no browser).

The GPUs are simulated with GSV_FAKE_GPU (no GPU exists here); everything else is
the real app: real Gradio components, real guideline engine.
"""

from __future__ import annotations

import gradio as gr
import pytest

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from tabs import dataset, system, train
from tabs.common import AUTO_GPU, AppContext

# Training-tab refresh arguments after (gpu, dpo, confirm): the current control values.
CONTROLS = {"sovits_batch": 11, "sovits_epochs": 10, "sovits_save_every": 3, "lr_weight": 0.4,
            "gpt_batch": 11, "gpt_epochs": 10, "gpt_save_every": 3}
NO_DATASET = {"minutes": None, "p95_slice_s": None, "clip_count": None, "quality": "unknown",
              "reviewed_pct": 0}
OUTPUTS = ["sovits_batch", "sovits_epochs", "sovits_save_every", "lr_weight", "gpt_batch",
           "gpt_epochs", "gpt_save_every", "dpo", "dpo_confirm", "device", "heat", "sovits_why",
           "gpt_why", "warnings"]


@pytest.fixture
def context(fake_gpu) -> AppContext:
    fake_gpu("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12")
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine(), workspace=None, app=app)


def refresh_training(ctx: AppContext, gpu=AUTO_GPU, dpo=False, confirm=False, **changes) -> dict:
    values = {**CONTROLS, **NO_DATASET, **changes}
    result = train.refresh(ctx, gpu, dpo, confirm, *(values[k] for k in CONTROLS),
                           *(values[k] for k in NO_DATASET))
    assert len(result) == len(OUTPUTS)
    return dict(zip(OUTPUTS, result, strict=True))


def test_dpo_toggle_lowers_the_gpt_batch_maximum_and_clamps_the_value(context) -> None:
    off = refresh_training(context, dpo=False)
    assert (off["gpt_batch"]["maximum"], off["gpt_batch"]["value"]) == (11, 11)
    on = refresh_training(context, dpo=True)
    assert (on["gpt_batch"]["maximum"], on["gpt_batch"]["value"]) == (6, 6)
    assert "D-2" in on["gpt_batch"]["info"]
    assert "11 → 6 (clamped)" in on["gpt_why"]
    # Unknown quality and unproofread labels: DPO stays on but asks for a confirmation (D-3).
    assert on["dpo"]["value"] is True and on["dpo_confirm"]["visible"] is True
    assert "D-3" in on["warnings"]


def test_selecting_a_smaller_gpu_reclamps_everything(context) -> None:
    result = refresh_training(context, gpu=1, dpo=True)
    assert result["sovits_batch"]["maximum"] == 5 and result["sovits_batch"]["value"] == 5
    # 12 GB with DPO allows GPT batch 1 only: shown fixed (one step wide, read-only).
    gpt = result["gpt_batch"]
    assert (gpt["value"], gpt["interactive"]) == (1, False) and "Fixed at 1" in gpt["info"]
    assert "GPU 1" in result["device"] and "H-3" in result["device"]


def test_a_card_without_dpo_turns_the_toggle_off_and_explains(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 3070:8")
    with gr.Blocks() as app:
        pass
    ctx = AppContext(t=Translator("en_US"), profile=detect_machine(), workspace=None, app=app)
    result = refresh_training(ctx, dpo=True, gpt_batch=9)
    assert result["dpo"]["value"] is False and result["dpo"]["interactive"] is False
    assert "D-2" in result["dpo"]["info"]
    assert (result["gpt_batch"]["maximum"], result["gpt_batch"]["value"]) == (2, 2)


def test_dataset_summary_changes_reach_the_training_limits(context) -> None:
    long_slices = refresh_training(context, p95_slice_s=20)
    assert long_slices["sovits_batch"]["maximum"] == 7  # B-4: floor(14 * 10/20)
    assert "B-4" in long_slices["sovits_why"] and "Q-4" in long_slices["warnings"]
    clean = refresh_training(context, sovits_epochs=40, minutes=120, quality="good",
                             reviewed_pct=100)
    assert clean["sovits_epochs"]["maximum"] == 100 and clean["sovits_epochs"]["value"] == 40
    locked = refresh_training(context, sovits_epochs=40, minutes=120, quality="good",
                              reviewed_pct=90)
    assert locked["sovits_epochs"]["maximum"] == 15 and locked["sovits_epochs"]["value"] == 15
    assert locked["sovits_save_every"]["maximum"] == 15


def test_chinese_ui_gives_chinese_reasons(context) -> None:
    context.t = Translator("zh_CN")
    result = refresh_training(context, dpo=True)
    assert result["gpt_batch"]["info"] != refresh_training(
        AppContext(Translator("en_US"), context.profile, None, context.app),
        dpo=True)["gpt_batch"]["info"]
    assert "D-2" in result["gpt_batch"]["info"]


def test_dataset_tab_clamps_the_slice_length(context) -> None:
    slider, why, advice = dataset.refresh(context, 30, 90, 18, 800, "good", 100)
    assert (slider["maximum"], slider["value"]) == (15, 15)
    assert "30 → 15 (clamped)" in why and "Q-4" in why
    assert "Q-3" in advice and "E-1" in advice


def test_system_tab_states_every_rule_for_the_chosen_card(context) -> None:
    decision, rules = system.refresh(context, 1, True, *NO_DATASET.values())
    assert "GPU 1" in decision
    # DPO on: the GPT batch is stated by D-2 (the DPO row of B-2).
    for rule in ("B-1", "B-3", "D-1", "D-2", "H-3", "H-4", "R-1", "R-4"):
        assert f"{rule}:" in rules


def test_the_built_app_wires_every_governed_control(fake_gpu) -> None:
    """The handlers above are the ones the page calls: check the event wiring."""
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    import webui

    config = webui.build_app().get_config_file()
    ids = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    training = [d for d in config["dependencies"]
                if ("gpt-dpo" in {ids.get(t[0]) for t in d["targets"]})
                and len(d["outputs"]) == len(OUTPUTS)]
    assert len(training) == 1
    triggers = {ids.get(t[0]) for t in training[0]["targets"]}
    assert {"train-gpu", "gpt-dpo", "sovits-batch", "gpt-batch", "sovits-epochs", "gpt-epochs",
            "ds-minutes", "ds-p95", "ds-quality", "ds-reviewed"} <= triggers
    outputs = {ids.get(o) for o in training[0]["outputs"]}
    assert {"gpt-batch", "sovits-batch", "gpt-dpo", "gpt-dpo-confirm"} <= outputs


@pytest.mark.parametrize(("goal", "dpo", "gpt_max"), [("best", True, 6), ("fast", False, 11)])
def test_recommended_plan_sets_every_control(context, goal: str, dpo: bool,
                                             gpt_max: int) -> None:
    clean = {"minutes": 90, "p95_slice_s": 9, "clip_count": 700, "quality": "good",
             "reviewed_pct": 100}
    result = dict(zip(OUTPUTS, train.apply_recommended(context, AUTO_GPU, goal,
                                                       *clean.values()), strict=True))
    assert result["dpo"]["value"] is dpo and result["gpt_batch"]["maximum"] == gpt_max
    assert result["sovits_batch"]["value"] == 11 and result["sovits_epochs"]["value"] == 10
    assert result["sovits_epochs"]["maximum"] == 100  # clean, proofread, over an hour
    assert result["dpo_confirm"]["visible"] is False  # clean data needs no D-3 confirmation


@pytest.mark.parametrize("spec", ["cpu", "mps", "NVIDIA GeForce GTX 1050 Ti:4",
                                  "NVIDIA GeForce GTX 1060 6GB:6", None])
def test_the_app_builds_on_machines_that_allow_only_batch_1(spec, fake_gpu) -> None:
    """Batch limits of 1..1 (CPU fallback, 6 GB cards) must still give working sliders.

    ``None`` is this machine's real hardware (no GPU on CI).
    """
    if spec is not None:
        fake_gpu(spec)
    import webui

    config = webui.build_app().get_config_file()
    sliders = {c["props"].get("elem_id"): c["props"] for c in config["components"]
               if c["type"] == "slider"}
    batch = sliders["sovits-batch"]
    assert batch["value"] == 1 and batch["minimum"] == 1
    if batch["maximum"] == 2:  # a fixed value is shown one step wide, not editable
        assert batch["interactive"] is False and "Fixed at 1" in batch["info"]


def test_fixed_limits_render_as_read_only_sliders(fake_gpu) -> None:
    fake_gpu("cpu")
    with gr.Blocks() as app:
        pass
    ctx = AppContext(t=Translator("en_US"), profile=detect_machine(), workspace=None, app=app)
    result = refresh_training(ctx, sovits_batch=4, gpt_batch=3)
    for name in ("sovits_batch", "gpt_batch"):
        update = result[name]
        assert (update["minimum"], update["maximum"], update["value"]) == (1, 2, 1)
        assert update["interactive"] is False and update["info"].startswith("Fixed at 1.")
        assert "H-2" in update["info"]
