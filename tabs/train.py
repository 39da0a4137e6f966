"""Training tab: SoVITS then GPT, every control clamped live to the guidelines.

Layout and events only. ``gsv_core.guidelines.training_limits`` decides every
range; ``refresh`` renders its answer whenever the card, DPO, the dataset
summary or a control changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.emotion.results import readable_emotion_state
from gsv_core.errors import GsvError
from gsv_core.guidelines import (
    DpoAdvice,
    TrainingLimits,
    dataset_from_fields,
    emotion_notice,
    plan_changes,
    plan_from_fields,
    training_limits,
)
from gsv_core.i18n import Translator
from gsv_core.train.probe_launch import (
    find_probe,
    probe_card,
    probe_job_text,
    probe_lines,
    saved_measurements,
    start_probe,
)
from tabs import train_run
from tabs.common import (
    AUTO_GPU,
    AppContext,
    GovernedControl,
    error_markdown,
    follow_job,
    governed_control,
    governed_update,
    gpu_choices,
    gpu_index,
    notice_markdown,
    reason_markdown,
    refresh_live,
    why_accordion,
    why_markdown,
)


@dataclass
class ProbeArea:
    """The auto batch probe: measure, stop, what was measured, and whether to use it."""

    start: gr.Button
    stop: gr.Button
    status: gr.Markdown     # what the saved probes say (every refresh)
    job: gr.Markdown        # how the last probe run here went
    use_measured: gr.Checkbox


@dataclass
class TrainTab:
    gpu: gr.Dropdown
    device_md: gr.Markdown
    heat_md: gr.Markdown
    experiment: gr.Textbox
    sovits_batch: GovernedControl
    sovits_epochs: GovernedControl
    sovits_save_every: GovernedControl
    lr_weight: GovernedControl
    sovits_why: gr.Markdown
    dpo: gr.Checkbox
    dpo_confirm: gr.Checkbox
    gpt_batch: GovernedControl
    gpt_epochs: GovernedControl
    gpt_save_every: GovernedControl
    gpt_why: gr.Markdown
    warnings_md: gr.Markdown
    goal: gr.Radio
    apply_plan: gr.Button
    plan_md: gr.Markdown
    emotion_md: gr.Markdown
    run: train_run.RunArea
    probe: ProbeArea

    def controls(self) -> list[GovernedControl]:
        """The governed controls, in ``refresh``'s argument order."""
        return [self.sovits_batch, self.sovits_epochs, self.sovits_save_every, self.lr_weight,
                self.gpt_batch, self.gpt_epochs, self.gpt_save_every]

    def value_inputs(self) -> list[gr.components.Component]:
        """The inputs of ``refresh``, in its argument order (before the dataset fields)."""
        return [self.gpu, self.dpo, self.dpo_confirm,
                *(control.slider for control in self.controls()), self.experiment,
                self.probe.use_measured]

    def outputs(self) -> list[gr.components.Component]:
        """What ``render`` returns, in order: every control (slider and fixed), then the texts."""
        return [*(part for control in self.controls() for part in control.outputs()),
                self.dpo, self.dpo_confirm, self.device_md, self.heat_md, self.sovits_why,
                self.gpt_why, self.warnings_md, self.probe.status]


def build(ctx: AppContext) -> TrainTab:
    t = ctx.t
    limits = training_limits(ctx.profile)
    gr.Markdown(t("Train SoVITS first, then GPT. A round is one pass over every clip; a step "
                  "is one optimizer update (T-1)."))
    with gr.Row():
        gpu = gr.Dropdown(gpu_choices(ctx.profile, t), value=AUTO_GPU,
                          label=t("Training device"),
                          info=t("Limits follow the chosen card's memory (B-1, B-2, B-3).")
                          if limits.decision.on_gpu else
                          t("No GPU here can train: training runs on the CPU (H-2)."),
                          elem_id="train-gpu")
        experiment = gr.Textbox(label=t("Experiment name"), value="my_voice", interactive=True,
                                elem_id="train-experiment",
                                info=t("Names may contain any language and spaces (X-1); use a "
                                       "new name for a new voice (T-6)."))
    with gr.Row(equal_height=True):
        goal = gr.Radio([(t("Best quality"), "best"), (t("Fast training"), "fast")],
                        value="best", label=t("Goal"), elem_id="train-goal",
                        info=t("Best quality turns DPO on when the card and the dataset allow "
                               "it (D-1..D-3); fast training keeps it off."))
        apply_plan = gr.Button(t("Use the recommended plan"), variant="primary", scale=0,
                               elem_id="train-apply-plan")
    plan_md = gr.Markdown(elem_id="train-plan")
    emotion_md = gr.Markdown(elem_id="train-emotion")
    device_md = gr.Markdown(elem_id="train-device")
    heat_md = gr.Markdown(notice_markdown(limits.heat.reasons, t, "⚠️"), elem_id="train-heat")
    with gr.Row():
        with gr.Column():
            gr.Markdown("### " + t("1. SoVITS"))
            sovits_batch = governed_control(limits.sovits_batch, t("SoVITS batch size"), t,
                                            "sovits-batch")
            sovits_epochs = governed_control(limits.sovits_epochs, t("SoVITS rounds (epochs)"),
                                             t, "sovits-epochs")
            sovits_save_every = governed_control(limits.sovits_save_every,
                                                 t("Save every N rounds (SoVITS)"), t,
                                                 "sovits-save-every")
            lr_weight = governed_control(limits.lr_weight, t("Text module learning-rate weight"),
                                         t, "lr-weight")
            sovits_why = why_accordion(t, "sovits-why")
            start_sovits = train_run.start_button(ctx, "sovits")
        with gr.Column():
            gr.Markdown("### " + t("2. GPT"))
            dpo = gr.Checkbox(value=False, label=t("DPO training"),
                              info=dpo_info(limits.dpo, t, set()), elem_id="gpt-dpo")
            dpo_confirm = gr.Checkbox(value=False, visible=False, elem_id="gpt-dpo-confirm",
                                      label=t("I accept the DPO risks for this dataset"),
                                      info=t("Unchecked or unproofread data makes DPO worse "
                                             "(D-3)."))
            gpt_batch = governed_control(limits.gpt_batch, t("GPT batch size"), t, "gpt-batch")
            gpt_epochs = governed_control(limits.gpt_epochs, t("GPT rounds (epochs)"), t,
                                          "gpt-epochs")
            gpt_save_every = governed_control(limits.gpt_save_every,
                                              t("Save every N rounds (GPT)"), t, "gpt-save-every")
            gpt_why = why_accordion(t, "gpt-why")
            start_gpt = train_run.start_button(ctx, "gpt")
    warnings_md = gr.Markdown(elem_id="train-warnings")
    probe = build_probe(ctx)
    run = train_run.build(ctx, start_sovits, start_gpt)
    tab = TrainTab(gpu, device_md, heat_md, experiment, sovits_batch, sovits_epochs,
                   sovits_save_every, lr_weight, sovits_why, dpo, dpo_confirm, gpt_batch,
                   gpt_epochs, gpt_save_every, gpt_why, warnings_md, goal, apply_plan, plan_md,
                   emotion_md, run, probe)
    ctx.gpu_choice = gpu
    ctx.dpo = dpo
    return tab


def build_probe(ctx: AppContext) -> ProbeArea:
    t = ctx.t
    with gr.Accordion(t("Measure the batch sizes on this card (auto batch probe)"), open=False,
                      elem_id="train-probe-box"):
        gr.Markdown(t("The tables are for 10 s slices on a typical card. The probe runs a few "
                      "real training steps on this experiment's longest clips at growing batch "
                      "sizes until the card runs out of memory (SoVITS, then GPT with the DPO "
                      "setting above; a few minutes). The limits then use the smaller of the "
                      "table and the measurement (B-6)."))
        status = gr.Markdown(elem_id="train-probe-status")
        job = gr.Markdown(elem_id="train-probe-job")
        use_measured = gr.Checkbox(value=False, label=t("Use the measured batch sizes"),
                                   elem_id="train-use-measured",
                                   info=t("Let the batch go up to what the probe measured on "
                                          "this card, even above the tables."))
        with gr.Row():
            start = gr.Button(t("Measure the largest batches"), elem_id="train-probe")
            stop = gr.Button(t("Stop measuring"), variant="stop", elem_id="train-probe-stop")
    return ProbeArea(start, stop, status, job, use_measured)


def dpo_info(advice: DpoAdvice, t: Translator, shown: set[str]) -> str:
    """The DPO toggle's ``info``: what DPO costs (D-1), or why it is not possible (D-2)."""
    rule = "D-1" if advice.available else "D-2"
    lines = [reason for reason in advice.reasons if reason.rule == rule]
    shown.update(reason.text() for reason in lines)
    return " ".join(reason_markdown(reason, t) for reason in lines)


def render(limits: TrainingLimits, ctx: AppContext) -> tuple:
    """Every output of the tab for one set of limits, in ``TrainTab.outputs`` order.

    The visible texts (device, heat, warnings, blockers) claim their reasons first; the two
    collapsed "Why these limits?" lists then leave out what the page already says.
    """
    t = ctx.t
    advice = limits.dpo
    shown: set[str] = set()
    toggle_info = dpo_info(advice, t, shown)
    device_lines = "\n\n".join(part for part in (
        notice_markdown(limits.decision.reasons, t, shown=shown),
        notice_markdown(limits.schedule.reasons, t, shown=shown)) if part)
    heat = notice_markdown(limits.heat.reasons, t, "⚠️", shown=shown)
    warnings = "\n\n".join(part for part in (
        notice_markdown(limits.blockers, t, "⛔", shown=shown),
        notice_markdown(limits.warnings, t, "⚠️", shown=shown)) if part)
    sovits_why = why_markdown([(t("Batch"), limits.sovits_batch),
                               (t("Rounds"), limits.sovits_epochs),
                               (t("Save every"), limits.sovits_save_every),
                               (t("LR weight"), limits.lr_weight)], t, shown=shown)
    gpt_why = why_markdown([(t("Batch"), limits.gpt_batch), (t("Rounds"), limits.gpt_epochs),
                            (t("Save every"), limits.gpt_save_every)], t, advice.reasons,
                           shown=shown)
    controls = (limits.sovits_batch, limits.sovits_epochs, limits.sovits_save_every,
                limits.lr_weight, limits.gpt_batch, limits.gpt_epochs, limits.gpt_save_every)
    return (
        *(update for limit in controls for update in governed_update(limit, t)),
        gr.update(value=limits.dpo_on, interactive=advice.available, info=toggle_info),
        gr.update(visible=limits.dpo_on and advice.needs_confirmation,
                  value=limits.dpo_confirmed and limits.dpo_on),
        device_lines, heat, sovits_why, gpt_why, warnings,
    )


def limits_pair(ctx: AppContext, gpu: int | None, dpo: bool, dpo_confirmed: bool,
                sovits_batch: float | None, sovits_epochs: float | None,
                sovits_save_every: float | None, lr_weight: float | None,
                gpt_batch: float | None, gpt_epochs: float | None,
                gpt_save_every: float | None, experiment: str | None, use_measured: bool,
                minutes: float | None, p95_slice_s: float | None, clip_count: float | None,
                quality: str | None, reviewed_pct: float | None,
                ) -> tuple[TrainingLimits, TrainingLimits, dict[str, object]]:
    """The engine's limits for the tab's current values (None: empty box → the default):
    with the batch probes saved for the chosen card and experiment, without them, and those
    measurements (``training_limits``' ``*_measured`` arguments, {} when there are none)."""
    dataset = dataset_from_fields(minutes, p95_slice_s, clip_count, quality, reviewed_pct)

    def limits(**measured: object) -> TrainingLimits:
        return training_limits(
            ctx.profile, dataset.summary, gpu_index=gpu_index(gpu), dpo=bool(dpo),
            dpo_confirmed=bool(dpo_confirmed), sovits_batch=sovits_batch, gpt_batch=gpt_batch,
            sovits_epochs=sovits_epochs, gpt_epochs=gpt_epochs, lr_weight=lr_weight,
            sovits_save_every=sovits_save_every, gpt_save_every=gpt_save_every,
            **measured)  # type: ignore[arg-type]

    rules = limits()
    measured = saved_measurements(ctx.workspace, (experiment or "").strip(),
                                  probe_card(ctx.profile, rules), bool(use_measured))
    return (limits(**measured) if measured else rules), rules, measured


def current_limits(ctx: AppContext, *values: object) -> TrainingLimits:
    """The limits the controls follow (``limits_pair``'s first)."""
    return limits_pair(ctx, *values)[0]  # type: ignore[arg-type]


def probe_markdown(ctx: AppContext, experiment: object, limits: TrainingLimits,
                   rules: TrainingLimits) -> str:
    lines = probe_lines(ctx.workspace, (str(experiment or "")).strip(), ctx.profile, limits,
                        rules, ctx.t)
    return "\n".join(f"- {line}" for line in lines)


def refresh(ctx: AppContext, *values: object) -> tuple:
    """Re-clamp every control to the guidelines for the current card, DPO, dataset and the
    card's saved batch probes.

    ``values`` are ``TrainTab.value_inputs`` then the dataset fields (``limits_pair``).
    """
    limits, rules, _ = limits_pair(ctx, *values)  # type: ignore[arg-type]
    return (*render(limits, ctx), probe_markdown(ctx, values[10], limits, rules))


def apply_recommended(ctx: AppContext, goal: str, *values: object) -> tuple:
    """Set every control to the recommended plan for ``goal`` and say what changed and why.

    ``values`` are those of ``refresh``; returns ``render``'s outputs, then the change list.
    """
    gpu, *_, experiment, _, minutes, p95_slice_s, clip_count, quality, reviewed_pct = values
    current, rules, measured = limits_pair(ctx, *values)  # type: ignore[arg-type]
    plan = plan_from_fields(ctx.profile, minutes=minutes, p95_slice_s=p95_slice_s,
                            clip_count=clip_count, quality=quality, reviewed_pct=reviewed_pct,
                            goal=goal, gpu_index=gpu_index(gpu), **measured)
    changes = plan_changes(current, plan)
    t = ctx.t
    if changes:
        summary = t("The recommended plan changed:") + "\n" + "\n".join(
            f"- {reason_markdown(reason, t)}" for reason in changes)
    else:
        summary = t("The controls already follow the recommended plan.")
    return (*render(plan.limits, ctx), probe_markdown(ctx, experiment, plan.limits, rules),
            summary)


def emotion_markdown(ctx: AppContext, list_path: str | None, *fields: object) -> str:
    """E-1 for the Emotion tab's list: recommended, done, and how much was reviewed (empty
    when the rule has nothing to say: under an hour and nothing classified).

    ``fields`` are the dataset summary's (``DatasetInputs.components`` order).
    """
    dataset = dataset_from_fields(*fields).summary  # type: ignore[arg-type]
    state = readable_emotion_state(list_path)
    notice = emotion_notice(dataset, state)
    if not notice.show:
        return ""
    text = notice_markdown(notice.reasons, ctx.t, "⭐" if notice.recommended else "🏷️")
    return text + (f" (`{str(list_path).strip()}`)" if state is not None else "")


def wire(tab: TrainTab, ctx: AppContext) -> None:
    assert ctx.dataset is not None, "build the dataset tab before wiring the training tab"
    inputs = tab.value_inputs() + ctx.dataset.components()
    live = refresh_live(ctx, inputs, tab.outputs(), refresh)
    _wire_emotion(tab, ctx)
    _follow_the_formatted_experiment(tab, ctx)

    def plan_handler(goal: str, *values: object) -> tuple:
        return apply_recommended(ctx, goal, *values)

    ctx.programmatic_changes.append(tab.apply_plan.click(
        plan_handler, inputs=[tab.goal, *inputs], outputs=[*tab.outputs(), tab.plan_md],
        show_progress="hidden"))
    train_run.wire(tab.run, ctx, tab.experiment, inputs,
                   lambda *values: current_limits(ctx, *values), after=live)
    wire_probe(tab, ctx, inputs)


def _wire_emotion(tab: TrainTab, ctx: AppContext) -> None:
    """E-1 follows the Emotion tab's list, the dataset summary, and every change of the tags
    (a classification or a review updates the Emotion tab's counts)."""
    assert ctx.dataset is not None and ctx.emotion_list is not None, \
        "build the emotion tab before wiring the training tab"
    inputs = [ctx.emotion_list, *ctx.dataset.components()]
    refresh_live(ctx, inputs, [tab.emotion_md], emotion_markdown)
    if ctx.emotion_counts is not None:
        ctx.emotion_counts.change(lambda *values: emotion_markdown(ctx, *values),
                                  inputs=inputs, outputs=[tab.emotion_md],
                                  show_progress="hidden")


def measure(ctx: AppContext, values: tuple, progress: object) -> str:
    """Start the batch probe on the chosen card and follow it to its end (progress bar)."""
    t = ctx.t
    _, rules, _ = limits_pair(ctx, *values)  # type: ignore[arg-type]
    try:
        handle = start_probe(ctx.workspace, str(values[10] or "").strip(), ctx.profile, rules)
    except GsvError as error:
        return error_markdown(error, t)
    return probe_job_text(follow_job(handle, progress, t), t)  # type: ignore[arg-type]


def stop_measuring(ctx: AppContext, experiment: str | None) -> str:
    handle = find_probe(ctx.workspace, (experiment or "").strip())
    if handle is None or not handle.is_running():
        return "ℹ️ " + ctx.t("No batch probe is running for this experiment.")
    handle.stop()
    from gsv_core.job_watch import JobWatcher

    return probe_job_text(JobWatcher(handle).poll(), ctx.t)


def _follow_the_formatted_experiment(tab: TrainTab, ctx: AppContext) -> None:
    """The experiment name follows the one the Dataset tab formats (filled from the list's
    name, or typed there); it can still be edited here to train another formatted one."""
    if ctx.format_experiment is None:
        return
    follow = ctx.format_experiment.change(followed_name, inputs=[ctx.format_experiment],
                                          outputs=[tab.experiment], show_progress="hidden")
    ctx.programmatic_changes.append(follow)  # a change from code: every tab refreshes after


def followed_name(name: str | None) -> dict:
    """The Training tab's experiment for the Dataset tab's ``name`` (kept when it is blank)."""
    return gr.update(value=name.strip()) if name and name.strip() else gr.update()


def wire_probe(tab: TrainTab, ctx: AppContext, inputs: list) -> None:
    area = tab.probe

    def start(*values: object, progress=gr.Progress()) -> str:  # noqa: B008
        return measure(ctx, values, progress)

    # Then every tab refreshes (chain_refreshes): the limits follow the new measurement.
    ctx.programmatic_changes.append(area.start.click(
        start, inputs=inputs, outputs=[area.job], concurrency_id="train-probe",
        concurrency_limit=None))
    area.stop.click(lambda name: stop_measuring(ctx, name), inputs=[tab.experiment],
                    outputs=[area.job], concurrency_id="train-probe-stop",
                    concurrency_limit=None, show_progress="hidden")
