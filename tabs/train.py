"""Training tab: SoVITS then GPT, every control clamped live to the guidelines.

Layout and events only. ``gsv_core.guidelines.training_limits`` decides every
range; ``refresh`` renders its answer whenever the card, DPO, the dataset
summary or a control changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.guidelines import TrainingLimits, recommend, training_limits
from gsv_core.i18n import mark
from tabs.common import (
    AUTO_GPU,
    AppContext,
    dataset_summary,
    gpu_choices,
    gpu_index,
    limit_slider,
    limit_update,
    not_available_button,
    notice_markdown,
    refresh_live,
    why_markdown,
)

COMING_IN = mark("arrives with the trainer release")


@dataclass
class TrainTab:
    gpu: gr.Dropdown
    device_md: gr.Markdown
    heat_md: gr.Markdown
    experiment: gr.Textbox
    sovits_batch: gr.Slider
    sovits_epochs: gr.Slider
    sovits_save_every: gr.Slider
    lr_weight: gr.Slider
    sovits_why: gr.Markdown
    dpo: gr.Checkbox
    dpo_confirm: gr.Checkbox
    gpt_batch: gr.Slider
    gpt_epochs: gr.Slider
    gpt_save_every: gr.Slider
    gpt_why: gr.Markdown
    warnings_md: gr.Markdown
    goal: gr.Radio
    apply_plan: gr.Button

    def value_inputs(self) -> list[gr.components.Component]:
        """The inputs of ``refresh``, in its argument order (before the dataset fields)."""
        return [self.gpu, self.dpo, self.dpo_confirm, self.sovits_batch, self.sovits_epochs,
                self.sovits_save_every, self.lr_weight, self.gpt_batch, self.gpt_epochs,
                self.gpt_save_every]

    def outputs(self) -> list[gr.components.Component]:
        return [self.sovits_batch, self.sovits_epochs, self.sovits_save_every, self.lr_weight,
                self.gpt_batch, self.gpt_epochs, self.gpt_save_every, self.dpo, self.dpo_confirm,
                self.device_md, self.heat_md, self.sovits_why, self.gpt_why, self.warnings_md]


def build(ctx: AppContext) -> TrainTab:
    t = ctx.t
    limits = training_limits(ctx.profile)
    gr.Markdown(t("Train SoVITS first, then GPT. A round is one pass over every clip; a step "
                  "is one optimizer update (T-1)."))
    with gr.Row():
        gpu = gr.Dropdown(gpu_choices(ctx.profile, t), value=AUTO_GPU, label=t("Training GPU"),
                          info=t("Limits follow the chosen card's memory (B-1, B-2, B-3)."),
                          elem_id="train-gpu")
        experiment = gr.Textbox(label=t("Experiment name"), value="my_voice",
                                info=t("Names may contain any language and spaces (X-1); use a "
                                       "new name for a new voice (T-6)."))
    with gr.Row(equal_height=True):
        goal = gr.Radio([(t("Best quality"), "best"), (t("Fast training"), "fast")],
                        value="best", label=t("Goal"), elem_id="train-goal",
                        info=t("Best quality turns DPO on when the card and the dataset allow "
                               "it (D-1..D-3); fast training keeps it off."))
        apply_plan = gr.Button(t("Use the recommended plan"), variant="primary", scale=0,
                               elem_id="train-apply-plan")
    device_md = gr.Markdown(elem_id="train-device")
    heat_md = gr.Markdown(notice_markdown(limits.heat.reasons, t, "⚠️"), elem_id="train-heat")
    with gr.Row():
        with gr.Column():
            gr.Markdown("### " + t("1. SoVITS"))
            sovits_batch = limit_slider(limits.sovits_batch, t("SoVITS batch size"), t,
                                        "sovits-batch")
            sovits_epochs = limit_slider(limits.sovits_epochs, t("SoVITS rounds (epochs)"), t,
                                         "sovits-epochs")
            sovits_save_every = limit_slider(limits.sovits_save_every,
                                             t("Save every N rounds (SoVITS)"), t,
                                             "sovits-save-every")
            lr_weight = limit_slider(limits.lr_weight, t("Text module learning-rate weight"), t,
                                     "lr-weight")
            sovits_why = gr.Markdown(elem_id="sovits-why")
            not_available_button(t("Start SoVITS training"), t(COMING_IN), t)
        with gr.Column():
            gr.Markdown("### " + t("2. GPT"))
            dpo = gr.Checkbox(value=False, label=t("DPO training"),
                              info=t("Fewer swallowed or repeated words; over 2x the memory and "
                                     "about 4x slower (D-1)."), elem_id="gpt-dpo")
            dpo_confirm = gr.Checkbox(value=False, visible=False, elem_id="gpt-dpo-confirm",
                                      label=t("I accept the DPO risks for this dataset"),
                                      info=t("Unchecked or unproofread data makes DPO worse "
                                             "(D-3)."))
            gpt_batch = limit_slider(limits.gpt_batch, t("GPT batch size"), t, "gpt-batch")
            gpt_epochs = limit_slider(limits.gpt_epochs, t("GPT rounds (epochs)"), t,
                                      "gpt-epochs")
            gpt_save_every = limit_slider(limits.gpt_save_every, t("Save every N rounds (GPT)"),
                                          t, "gpt-save-every")
            gpt_why = gr.Markdown(elem_id="gpt-why")
            not_available_button(t("Start GPT training"), t(COMING_IN), t)
    warnings_md = gr.Markdown(elem_id="train-warnings")
    tab = TrainTab(gpu, device_md, heat_md, experiment, sovits_batch, sovits_epochs,
                   sovits_save_every, lr_weight, sovits_why, dpo, dpo_confirm, gpt_batch,
                   gpt_epochs, gpt_save_every, gpt_why, warnings_md, goal, apply_plan)
    ctx.gpu_choice = gpu
    return tab


def render(limits: TrainingLimits, ctx: AppContext, dpo_confirmed: bool) -> tuple:
    """Every output of the tab for one set of limits, in ``TrainTab.outputs`` order."""
    t = ctx.t
    advice = limits.dpo
    dpo_info = notice_markdown(advice.reasons[:1], t, "").strip()
    if not advice.available:
        dpo_info = " ".join(r.text(t) for r in advice.reasons if r.rule == "D-2")
    device = limits.decision
    device_lines = notice_markdown(device.reasons, t) + "\n\n" + notice_markdown(
        limits.schedule.reasons, t)
    sovits_why = why_markdown([(t("Batch"), limits.sovits_batch),
                               (t("Rounds"), limits.sovits_epochs),
                               (t("Save every"), limits.sovits_save_every),
                               (t("LR weight"), limits.lr_weight)], t)
    gpt_why = why_markdown([(t("Batch"), limits.gpt_batch), (t("Rounds"), limits.gpt_epochs),
                            (t("Save every"), limits.gpt_save_every)], t, advice.reasons)
    return (
        limit_update(limits.sovits_batch, t), limit_update(limits.sovits_epochs, t),
        limit_update(limits.sovits_save_every, t), limit_update(limits.lr_weight, t),
        limit_update(limits.gpt_batch, t), limit_update(limits.gpt_epochs, t),
        limit_update(limits.gpt_save_every, t),
        gr.update(value=limits.dpo_on, interactive=advice.available, info=dpo_info),
        gr.update(visible=limits.dpo_on and advice.needs_confirmation,
                  value=dpo_confirmed and limits.dpo_on),
        device_lines, notice_markdown(limits.heat.reasons, t, "⚠️"), sovits_why, gpt_why,
        notice_markdown(limits.warnings, t, "⚠️"),
    )


def refresh(ctx: AppContext, gpu: int | None, dpo: bool, dpo_confirmed: bool,
            sovits_batch: float, sovits_epochs: float, sovits_save_every: float,
            lr_weight: float, gpt_batch: float, gpt_epochs: float, gpt_save_every: float,
            minutes: float | None, p95_slice_s: float | None, clip_count: float | None,
            quality: str | None, reviewed_pct: float | None) -> tuple:
    """Re-clamp every control to the guidelines for the current card, DPO and dataset."""
    limits = training_limits(
        ctx.profile, dataset_summary(minutes, p95_slice_s, clip_count, quality, reviewed_pct),
        gpu_index=gpu_index(gpu), dpo=bool(dpo), sovits_batch=sovits_batch,
        gpt_batch=gpt_batch, sovits_epochs=sovits_epochs, gpt_epochs=gpt_epochs,
        lr_weight=lr_weight, sovits_save_every=sovits_save_every,
        gpt_save_every=gpt_save_every)
    return render(limits, ctx, bool(dpo_confirmed))


def apply_recommended(ctx: AppContext, gpu: int | None, goal: str, minutes: float | None,
                      p95_slice_s: float | None, clip_count: float | None, quality: str | None,
                      reviewed_pct: float | None) -> tuple:
    """Set every control to the guideline engine's recommended plan for ``goal``."""
    plan = recommend(ctx.profile, dataset_summary(minutes, p95_slice_s, clip_count, quality,
                                                  reviewed_pct),
                     goal, gpu_index=gpu_index(gpu))
    return render(plan.limits, ctx, dpo_confirmed=False)


def wire(tab: TrainTab, ctx: AppContext) -> None:
    assert ctx.dataset is not None, "build the dataset tab before wiring the training tab"
    refresh_live(ctx, tab.value_inputs() + ctx.dataset.components(), tab.outputs(), refresh)

    def plan_handler(*values: object) -> tuple:
        return apply_recommended(ctx, *values)

    tab.apply_plan.click(plan_handler, inputs=[tab.gpu, tab.goal, *ctx.dataset.components()],
                         outputs=tab.outputs(), show_progress="hidden")
