"""The tabs' event handlers return the clamped updates, in process (no browser).

The GPUs are simulated with GSV_FAKE_GPU (no GPU exists here); everything else is
the real app: real Gradio components, real guideline engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr
import pytest

from gsv_core.guidelines import rule_glossary
from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from tabs import dataset, system, train
from tabs.common import AUTO_GPU, AppContext, reason_markdown, user_edit
from tabs.governed import GovernedNumber, GovernedSlider

# Training-tab refresh arguments after (gpu, dpo, confirm): the current control values.
CONTROLS = {"sovits_batch": 11, "sovits_epochs": 10, "sovits_save_every": 3, "lr_weight": 0.4,
            "gpt_batch": 11, "gpt_epochs": 10, "gpt_save_every": 3}
NO_DATASET = {"minutes": None, "p95_slice_s": None, "clip_count": None, "quality": "unknown",
              "reviewed_pct": 0}
OUTPUTS = [f"{name}{part}" for name in CONTROLS for part in ("", "_fixed")] + [
    "dpo", "dpo_confirm", "device", "heat", "sovits_why", "gpt_why", "warnings", "probe"]
PROBE_INPUTS = {"experiment": "my_voice", "use_measured": False}   # nothing measured here
TWO_CARDS = "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"
DATASET_OUTPUTS = ["slice", "slice_fixed", "slice_why", "advice", "minutes", "p95", "clips",
                   "quality", "reviewed"]


def make_context(t: Translator | None = None) -> AppContext:
    with gr.Blocks() as app:
        pass
    return AppContext(t=t or Translator("en_US"), profile=detect_machine(), workspace=None,
                      app=app)


@pytest.fixture
def context(fake_gpu) -> AppContext:
    fake_gpu(TWO_CARDS)
    return make_context()


def refresh_training(ctx: AppContext, gpu=AUTO_GPU, dpo=False, confirm=False, **changes) -> dict:
    values = {**CONTROLS, **NO_DATASET, **changes}
    result = train.refresh(ctx, gpu, dpo, confirm, *(values[k] for k in CONTROLS),
                           *PROBE_INPUTS.values(), *(values[k] for k in NO_DATASET))
    assert len(result) == len(OUTPUTS)
    return dict(zip(OUTPUTS, result, strict=True))


def refresh_dataset(ctx: AppContext, slice_length=10, **fields) -> dict:
    values = {**NO_DATASET, **fields}
    return dict(zip(DATASET_OUTPUTS, dataset.refresh(ctx, slice_length, *values.values()),
                    strict=True))


def app_config() -> dict:
    import webui

    return webui.build_app().get_config_file()


def by_elem_id(config: dict) -> dict[str, dict]:
    return {c["props"].get("elem_id"): c for c in config["components"]
            if c.get("props", {}).get("elem_id")}


def test_dpo_toggle_lowers_the_gpt_batch_maximum_and_clamps_the_value(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    ctx = make_context()
    off = refresh_training(ctx, dpo=False)
    assert (off["gpt_batch"]["maximum"], off["gpt_batch"]["value"]) == (11, 11)
    on = refresh_training(ctx, dpo=True)
    assert (on["gpt_batch"]["maximum"], on["gpt_batch"]["value"]) == (6, 6)
    assert "11 → 6 (clamped)" in on["gpt_batch"]["info"] and "D-2" in on["gpt_batch"]["info"]
    assert "11 → 6 (clamped)" in on["gpt_why"]
    # Unknown quality and unproofread labels: DPO stays on but asks for a confirmation (D-3),
    # and the confirmation is part of the engine's input: unconfirmed, training is blocked.
    assert on["dpo"]["value"] is True and on["dpo_confirm"]["visible"] is True
    assert "⛔" in on["warnings"] and "D-3" in on["warnings"]
    confirmed = refresh_training(ctx, dpo=True, confirm=True)
    assert confirmed["dpo_confirm"]["value"] is True and "⛔" not in confirmed["warnings"]


def test_selecting_a_smaller_gpu_reclamps_everything(context) -> None:
    result = refresh_training(context, gpu=1, dpo=True)
    assert result["sovits_batch"]["maximum"] == 5 and result["sovits_batch"]["value"] == 5
    # GPT trains on the other card at the same time (H-3), so its limits are GPU 0's.
    assert result["gpt_batch"]["maximum"] == 6 and "GPU 1" in result["device"]
    assert "H-3" in result["device"]


def test_a_single_value_limit_is_a_read_only_number(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 3060:12")
    result = refresh_training(make_context(), dpo=True)
    # 12 GB with DPO allows GPT batch 1 only: a read-only number, the slider hidden (item 8).
    assert result["gpt_batch"]["visible"] is False and result["gpt_batch"]["value"] == 1
    fixed = result["gpt_batch_fixed"]
    assert fixed["visible"] is True and fixed["value"] == 1 and "D-2" in fixed["info"]


def test_a_card_without_dpo_turns_the_toggle_off_and_explains(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 3070:8")
    result = refresh_training(make_context(), dpo=True, gpt_batch=9)
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


def test_chinese_ui_gives_chinese_reasons(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    zh = Translator("zh_CN")
    ctx = make_context(zh)
    binding = train.current_limits(ctx, AUTO_GPU, True, False, *CONTROLS.values(),
                                   *PROBE_INPUTS.values(), *NO_DATASET.values()).gpt_batch.binding
    info = refresh_training(ctx, dpo=True)["gpt_batch"]["info"]
    assert zh(binding.key).format(**binding.params) in info and "[D-2]" in info


def test_dataset_tab_clamps_the_slice_length(context) -> None:
    result = refresh_dataset(context, 30, minutes=90, p95_slice_s=18, clip_count=800,
                             quality="good", reviewed_pct=100)
    assert (result["slice"]["maximum"], result["slice"]["value"]) == (15, 15)
    assert "30 → 15 (clamped)" in result["slice"]["info"]
    assert "30 → 15 (clamped)" in result["slice_why"] and "Q-4" in result["slice_why"]
    assert "Q-3" in result["advice"] and "E-1" in result["advice"]


def test_system_tab_states_every_rule_for_the_chosen_card(context) -> None:
    decision, rules = system.refresh(context, 1, True, *NO_DATASET.values())
    assert "GPU 1" in decision
    for rule in ("B-1", "B-3", "D-1", "D-2", "H-4", "R-1", "R-4"):
        assert f"[{rule}](#rule-{rule.lower()}):" in rules + decision
    # The decision's own lines are not repeated in the list below it.
    decision_lines = {line.removeprefix("ℹ️ ") for line in decision.split("\n\n")}
    assert not decision_lines & {line.removeprefix("- ") for line in rules.split("\n")}


# Item 1: typed, emptied or garbled values reach the engine, which clamps and says so.

@pytest.mark.parametrize(("payload", "expected"), [(99, 99.0), ("99", 99.0), (None, None),
                                                   ("", None), ("abc", None), (True, None),
                                                   (float("inf"), None), (2.5, 2.5)])
def test_governed_components_pass_the_raw_value_on(payload, expected) -> None:
    slider, number = GovernedSlider(1, 5), GovernedNumber(minimum=0)
    assert slider.preprocess(payload) == expected and number.preprocess(payload) == expected


def test_gradios_own_slider_refuses_what_the_governed_one_passes_on() -> None:
    """Why the subclass exists: this is the toast users saw."""
    with pytest.raises(gr.Error, match="greater than maximum"):
        gr.Slider(1, 5).preprocess(99)
    assert GovernedSlider(1, 5).preprocess(99) == 99


def test_governed_components_render_and_describe_themselves_as_gradios() -> None:
    slider = GovernedSlider(1, 14, value=None, step=1)
    assert slider.get_block_name() == "slider" and slider.api_info() == gr.Slider(
        1, 14).api_info()
    assert GovernedNumber().get_block_name() == "number"
    assert slider.value is None  # so the ↺ button sends None: "the current default"
    assert GovernedNumber(value=None).value == ""  # shown empty, not as 0


def test_importing_the_components_rewrites_no_file() -> None:
    """Gradio writes a stub beside modules defining components; ours is already current."""
    import importlib

    import tabs.governed

    stub = Path(tabs.governed.__file__).with_suffix(".pyi")
    before = stub.read_text()
    importlib.reload(tabs.governed)
    assert stub.read_text() == before


@pytest.mark.parametrize(("typed", "head"), [(99, "99 → 14 (clamped)"), (0, "0 → 1 (clamped)"),
                                             (None, "Set to the default 11 (allowed 1–14)")])
def test_typed_out_of_range_or_empty_values_are_clamped_with_the_reason(fake_gpu, typed,
                                                                        head) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    update = refresh_training(make_context(), sovits_batch=typed)["sovits_batch"]
    assert update["value"] == (14 if typed == 99 else 1 if typed == 0 else 11)
    assert update["info"].startswith(head) and "B-1" in update["info"]


def test_dataset_number_boxes_accept_any_typed_value(context) -> None:
    for minutes in (-5, 1e9, "abc", None):
        result = refresh_dataset(context, 40, minutes=minutes)
        assert "40 → 15 (clamped)" in result["slice"]["info"]


# Item 2: one request per user edit, the latest edit last.

def test_each_control_refreshes_on_the_event_that_fires_once_per_user_edit(fake_gpu) -> None:
    fake_gpu(TWO_CARDS)
    config = app_config()
    ids = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
    refreshes = [d for d in config["dependencies"]
                 if any(ids.get(target) == "train-gpu" for target, _ in d["targets"])]
    assert len(refreshes) == 2  # the training and the System tab
    for dependency in refreshes:
        events = {ids.get(target): event for target, event in dependency["targets"]}
        assert events["train-gpu"] == "select"  # a dropdown fires 'input' twice per pick
        assert dependency["trigger_mode"] == "multiple"  # no edit dropped or overwritten
    training = next(d for d in refreshes if len(d["outputs"]) == len(OUTPUTS))
    events = {ids.get(target): event for target, event in training["targets"]}
    assert events["sovits-batch"] == events["gpt-batch"] == "release"
    assert events["gpt-dpo"] == "input" and events["ds-minutes"] == "input"
    assert {"ds-p95", "ds-quality", "ds-reviewed", "sovits-epochs", "gpt-epochs"} <= set(events)
    outputs = {ids.get(o) for o in training["outputs"]}
    assert {"gpt-batch", "gpt-batch-fixed", "sovits-batch", "gpt-dpo", "gpt-dpo-confirm"} <= (
        outputs)


def test_user_edit_picks_the_single_fire_event() -> None:
    with gr.Blocks():
        dropdown, slider, box = gr.Dropdown(["a"]), GovernedSlider(1, 2), gr.Number()
    assert user_edit(dropdown).event_name == "select"
    assert user_edit(slider).event_name == "release"
    assert user_edit(box).event_name == "input"


# Item 3: the binding rule under the control, the full list collapsed, nothing twice.

def test_the_binding_rule_is_named_under_the_control(context) -> None:
    result = refresh_training(context, p95_slice_s=30)
    info = result["sovits_batch"]["info"]
    assert "[B-4]" in info and "[B-1]" not in info  # long slices bind, not the table row
    assert result["sovits_why"].index("B-4") < result["sovits_why"].index("B-5")


def test_the_clamped_line_leads_and_no_reason_is_shown_twice(context) -> None:
    result = refresh_training(context, sovits_batch=99, dpo=True)
    assert result["sovits_why"].split("\n")[0] == "- **Batch: 99 → 14 (clamped)**"
    assert result["dpo"]["info"].startswith("[D-1](#rule-d-1): ")  # the engine's D-1 text
    page = [result[k] for k in ("device", "heat", "warnings", "sovits_why", "gpt_why")]
    page.append(result["dpo"]["info"])
    lines = [re.sub(r"^(- |ℹ️ |⚠️ |⛔ )", "", line).split(" · ")[-1]
             for text in page for line in re.split(r"\n+", text) if line]
    assert len(lines) == len(set(lines)), [x for x in lines if lines.count(x) > 1]


def test_each_section_has_a_collapsed_why_box(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    config = app_config()
    boxes = [c for c in config["components"] if c["type"] == "accordion"
             and c["props"].get("elem_id", "").endswith("-why-box")]
    assert {b["props"]["elem_id"] for b in boxes} == {"sovits-why-box", "gpt-why-box",
                                                      "slice-why-box"}
    assert all(b["props"]["open"] is False for b in boxes)


# Item 4: ↺ lands on the current default inside the current range.

def test_reset_sends_none_and_gets_the_current_default(context) -> None:
    config = by_elem_id(app_config())
    assert config["sovits-batch"]["props"].get("value") is None
    small = refresh_training(context, gpu=1, sovits_batch=None, gpt_batch=None)
    assert small["sovits_batch"]["value"] == 5 and small["sovits_batch"]["maximum"] == 5
    big = refresh_training(context, gpu=0, sovits_batch=None)
    assert big["sovits_batch"]["value"] == 11 < big["sovits_batch"]["maximum"]


# Item 5: the plan says what it changed, and every tab refreshes after it.

def test_recommended_plan_says_what_it_changed_and_why(context) -> None:
    clean = {**NO_DATASET, "minutes": 90, "p95_slice_s": 9, "clip_count": 700,
             "quality": "good", "reviewed_pct": 100}
    values = {**CONTROLS, "sovits_epochs": 60}
    result = train.apply_recommended(context, "best", 0, False, False, *values.values(),
                                     *PROBE_INPUTS.values(), *clean.values())
    assert len(result) == len(OUTPUTS) + 1
    outputs, summary = dict(zip(OUTPUTS, result[:-1], strict=True)), result[-1]
    assert outputs["dpo"]["value"] is True and outputs["sovits_epochs"]["value"] == 10
    assert "DPO on" in summary and "[D-1]" in summary
    assert "SoVITS rounds 60 → 10" in summary and "[R-2]" in summary
    again = train.apply_recommended(context, "best", 0, True, False,
                                    *(u["value"] for u in result[:len(OUTPUTS) - 8:2]),
                                    *PROBE_INPUTS.values(), *clean.values())
    assert again[-1] == "The controls already follow the recommended plan."


@pytest.mark.parametrize(("goal", "dpo", "gpt_max"), [("best", True, 6), ("fast", False, 11)])
def test_recommended_plan_sets_every_control(fake_gpu, goal: str, dpo: bool,
                                             gpt_max: int) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    clean = {"minutes": 90, "p95_slice_s": 9, "clip_count": 700, "quality": "good",
             "reviewed_pct": 100}
    result = train.apply_recommended(make_context(), goal, AUTO_GPU, False, False,
                                     *CONTROLS.values(), *PROBE_INPUTS.values(),
                                     *clean.values())
    outputs = dict(zip(OUTPUTS, result[:-1], strict=True))
    assert outputs["dpo"]["value"] is dpo and outputs["gpt_batch"]["maximum"] == gpt_max
    assert outputs["sovits_batch"]["value"] == 11 and outputs["sovits_epochs"]["value"] == 10
    assert outputs["sovits_epochs"]["maximum"] == 100  # clean, proofread, over an hour
    assert outputs["dpo_confirm"]["visible"] is False  # clean data needs no D-3 confirmation


def test_every_tab_refreshes_after_the_plan(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    config = app_config()
    ids = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
    deps = config["dependencies"]
    plan = next(d for d in deps if any(ids.get(t) == "train-apply-plan"
                                       for t, _ in d["targets"]))
    after = [d for d in deps if d["trigger_after"] == plan["id"]]
    refreshed = {ids.get(o) for d in after for o in d["outputs"]}
    assert {"system-rules", "system-decision", "emotion-advice", "dataset-advice",
            "sovits-batch"} <= refreshed


# Item 6: unknown is empty, impossible is refused next to its field.

def test_unknown_dataset_fields_render_empty(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    config = by_elem_id(app_config())
    for elem_id in ("ds-minutes", "ds-p95", "ds-clips"):
        assert config[elem_id]["props"]["value"] == ""
        assert config[elem_id]["props"]["placeholder"]


@pytest.mark.parametrize(("field", "value", "output"), [
    ("minutes", -5, "minutes"), ("minutes", 1e9, "minutes"), ("clip_count", 2.5, "clips"),
    ("p95_slice_s", -1, "p95")])
def test_impossible_dataset_values_are_refused_next_to_the_field(context, field, value,
                                                                 output) -> None:
    result = refresh_dataset(context, **{field: value})
    assert result[output]["info"].startswith("⚠️") and "not possible" in result[output]["info"]
    others = [name for name in ("minutes", "p95", "clips") if name != output]
    assert not any(result[name]["info"].startswith("⚠️") for name in others)
    assert "Q-3: Dataset length not measured" in result["advice"].replace("[Q-3](#rule-q-3)",
                                                                          "Q-3") or (
        field != "minutes")


def test_empty_fields_are_not_measured_rather_than_zero(context) -> None:
    result = refresh_dataset(context, minutes="", p95_slice_s="", clip_count="")
    assert not any(result[name]["info"].startswith("⚠️") for name in ("minutes", "p95",
                                                                       "clips"))
    assert "not measured" in result["advice"]


# Item 7: rule ids link to a glossary written by the engine, in both languages.

def test_the_system_tab_has_a_glossary_every_reason_links_to(context) -> None:
    english = system.glossary_markdown(Translator("en_US"))
    for entry in rule_glossary():
        assert f'<a id="rule-{entry.rule.lower()}"></a>**{entry.rule} · {entry.title}**' in (
            english)
    zh = Translator("zh_CN")
    chinese = system.glossary_markdown(zh)
    assert all(f"{zh(entry.title)}** — {zh(entry.summary)}" in chinese
               for entry in rule_glossary())
    info = refresh_training(context)["sovits_batch"]["info"]
    for rule in re.findall(r"\[([A-Z]-\d+)\]\(#rule-", info):
        assert f'id="rule-{rule.lower()}"' in english


def test_reason_markdown_links_the_rule_id() -> None:
    from gsv_core.guidelines import Reason

    text = reason_markdown(Reason("B-4", "Scaled by {n}.", {"n": 2}), Translator("en_US"))
    assert text == "[B-4](#rule-b-4): Scaled by 2."


# Items 8 and 9: fixed values are read-only numbers; the CPU is called the CPU.

@pytest.mark.parametrize("spec", ["cpu", "mps", "NVIDIA GeForce GTX 1050 Ti:4",
                                  "NVIDIA GeForce GTX 1060 6GB:6", None])
def test_the_app_builds_with_fixed_batch_controls(spec, fake_gpu) -> None:
    """Batch limits of 1..1 (CPU fallback, 6 GB cards) show a read-only number, not a slider.

    ``None`` is this machine's real hardware (no GPU on CI).
    """
    if spec is not None:
        fake_gpu(spec)
    config = by_elem_id(app_config())
    slider, fixed = config["sovits-batch"]["props"], config["sovits-batch-fixed"]["props"]
    if slider["visible"]:
        assert slider["maximum"] > slider["minimum"] and not fixed["visible"]
    else:
        assert fixed["visible"] and fixed["value"] == 1 and fixed["interactive"] is False
        assert fixed["info"].startswith("Fixed at 1")


def test_fixed_limits_render_as_read_only_numbers(fake_gpu) -> None:
    fake_gpu("cpu")
    result = refresh_training(make_context(), sovits_batch=4, gpt_batch=3)
    for name in ("sovits_batch", "gpt_batch"):
        slider, fixed = result[name], result[f"{name}_fixed"]
        assert slider["visible"] is False and slider["value"] == 1  # handlers read the slider
        assert fixed["visible"] is True and fixed["value"] == 1
        assert fixed["info"].startswith("4 → 1 (clamped)" if name == "sovits_batch"
                                        else "3 → 1 (clamped)")
        assert "H-2" in fixed["info"]


def test_cpu_mode_speaks_of_the_cpu(fake_gpu) -> None:
    fake_gpu("cpu")
    ctx = make_context()
    result = refresh_training(ctx)
    assert "GPU temperature" not in result["heat"] and "H-4" in result["heat"]
    config = by_elem_id(app_config())
    gpu = config["train-gpu"]["props"]
    assert gpu["label"] == "Training device" and "CPU" in gpu["choices"][0][0]


def test_a_mixed_machine_never_says_no_usable_gpu(fake_gpu) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce GTX 1050 Ti:4")
    ctx = make_context()
    for gpu in (AUTO_GPU, 0, 1):
        device = refresh_training(ctx, gpu=gpu)["device"]
        assert "No usable GPU" not in device and "No GPU here can train" not in device
        assert "GPU 0" in device or "4090" in device


def test_the_clip_count_caps_the_batch_and_says_so(context) -> None:
    """Item 6: "Number of clips" affects a rule (B-8), shown under the batch it caps."""
    result = refresh_training(context, gpu=0, clip_count=3)
    batch = result["sovits_batch"]
    assert batch["maximum"] == 3 and "[B-8]" in batch["info"] and "[B-1]" not in batch["info"]


def test_a_refused_proofread_share_shows_the_share_the_limits_use(context) -> None:
    """Item 6: the slider's box clamps a typed 150 to 100 on screen; the engine refuses it
    and counts 0 %, so the box must show 0 next to the refusal, not a 100 nobody uses."""
    refused = refresh_dataset(context, reviewed_pct=150)["reviewed"]
    assert refused["value"] == 0 and "'150'" in refused["info"]
    accepted = refresh_dataset(context, reviewed_pct=50)["reviewed"]
    assert accepted["value"] == 50 and "⚠️" not in accepted["info"]


def test_the_training_tab_states_e1_for_the_emotion_tabs_list(context, tmp_path) -> None:
    from gsv_core.dataset.annotations import Clip, write_list
    from gsv_core.emotion.results import LABELS, EmotionRow, results_path, write_results

    clips = [Clip(f"/c/{i}.wav", "spk", "zh", "你好。", tmp_path / f"{i}.wav") for i in range(4)]
    list_path = tmp_path / "voice.list"
    write_list(list_path, clips)
    fields = list(NO_DATASET.values())
    assert train.emotion_markdown(context, str(list_path), *fields) == ""   # short, untagged
    hours = [120, *fields[1:]]
    assert "not classified yet (0 of 4 clips)" in train.emotion_markdown(
        context, str(list_path), *hours)
    scores = tuple(1 / len(LABELS) for _ in LABELS)
    write_results(results_path(list_path), [
        EmotionRow(clip.wav, "neutral", scores[0], scores, reviewed=i < 1)
        for i, clip in enumerate(clips)])
    text = train.emotion_markdown(context, str(list_path), *fields)
    assert "Emotions classified; 1 of 4 tags reviewed." in text and str(list_path) in text
    assert train.emotion_markdown(context, "", *hours).startswith("⭐")   # no list: the advice


def test_the_preflight_list_gives_each_item_its_icon_and_fix(fake_gpu, tmp_path) -> None:
    from gsv_core.preflight import Check, Preflight
    from gsv_core.workspace import Workspace

    ctx = make_context()
    result = Preflight((Check("disk", "fail", "{free} GB free.", "Free some space.",
                              {"free": 3.5}),
                        Check("heat", "info", "Keep it cool.", rule="H-4")))
    text = system.preflight_markdown(result, ctx.t)
    assert text.splitlines()[0] == "⚠️ 1 item(s) need attention."
    assert "- ❌ 3.5 GB free. **Free some space.**" in text
    assert "- ℹ️ [H-4](#rule-h-4): Keep it cool." in text
    ctx.workspace = Workspace(tmp_path / "ws")    # no pretrained models: it opens
    listing, opened = system.preflight_update(ctx)
    assert opened["open"] is True and "Pretrained models missing" in listing
    green = system.preflight_markdown(Preflight((Check("ram", "ok", "32 GB."),)), ctx.t)
    assert green.startswith("✅ Everything is ready.")
    from gsv_core.i18n import Translator

    ja = Translator("ja_JP")  # a list of model titles: each title translated, then joined
    missing = Preflight((Check("models", "fail", "Pretrained models missing: {missing}.",
                               params={"missing": ("GPT v2 pretrained model",
                                                   "Chinese HuBERT (chinese-hubert-base)")}),))
    shown = system.preflight_markdown(missing, ja)
    assert ja("GPT v2 pretrained model") in shown and ja("GPT v2 pretrained model") != \
        "GPT v2 pretrained model" and "('" not in shown


def test_the_settings_tab_saves_or_says_what_is_wrong(fake_gpu, tmp_path) -> None:
    from gsv_core.settings import LaunchSettings, load_settings
    from gsv_core.workspace import Workspace
    from tabs import settings

    ctx = make_context()
    ctx.workspace = Workspace(tmp_path / "ws")
    status, problems = settings.saved_message(ctx, "zh_CN", " 127.0.0.1 ", 9900.0, False,
                                              "dark", "bf16")
    assert status.startswith("✅ Saved to") and problems == ""
    assert load_settings(ctx.workspace.root) == (
        LaunchSettings(lang="zh_CN", port=9900, open_browser=False, theme="dark",
                       train_precision="bf16"), ())
    for port in (None, 80.5, 0):
        refused, _ = settings.saved_message(ctx, "en_US", "127.0.0.1", port, True)
        assert refused.startswith("❌ Not saved: Setting 'port' is")
    assert load_settings(ctx.workspace.root)[0].port == 9900   # the saved file is kept
    assert "toggle('dark', true)" in settings.theme_js("dark")
    assert "toggle('dark', false)" in settings.theme_js("light")


def test_the_training_experiment_follows_the_formatted_one() -> None:
    from tabs.train import followed_name

    config = app_config()
    ids = {props["elem_id"]: c["id"] for c in config["components"]
           if (props := c.get("props", {})).get("elem_id")}
    follows = [d for d in config["dependencies"]
               if (ids["format-experiment"], "change") in map(tuple, d["targets"])
               and ids["train-experiment"] in d["outputs"]]
    assert len(follows) == 1
    assert followed_name(" 小明 voice ")["value"] == "小明 voice"
    assert "value" not in followed_name("  ")  # a blank name leaves the Training tab's
