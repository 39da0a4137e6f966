"""Training tab, run section: start SoVITS, GPT or both, follow the job, stop it, listen.

Layout and events only. ``gsv_core.train.run_form`` turns the tab's clamped controls into
the runs to start (or says what blocks them, and what will run); ``gsv_core.train.launch``
starts the background job (SoVITS then GPT in one queue; one job per card); and
``gsv_core.train.watch_view`` folds the job's events into what is shown here. A
``gr.Timer`` follows the job (every :data:`POLL_S` seconds while one runs), so the page
stays live without a handler held open, and on page load the section re-attaches to a
training still running (or shows the experiment's last one): a reload loses nothing.

Everything a user typed wrong, and every way a job ends, is said in the Markdown texts,
never in a toast. "Listen (A/B)" fills the Inference tab's A/B section with this run's
exported SoVITS epochs and switches to that tab (the components are found by their element
ids; when the Inference tab is not in the page, the message says where to go instead).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from gsv_core.errors import GsvError
from gsv_core.guidelines import TrainingLimits
from gsv_core.hardware import GpuSample, sample_gpus
from gsv_core.i18n import Translator, mark
from gsv_core.train.loss_plot import loss_figure
from gsv_core.train.run_form import (
    Which,
    blockers_text,
    build_run,
    first_training,
    plan_text,
)
from gsv_core.train.watch_view import (
    KIND_NAMES,
    TrainingSnapshot,
    WatcherCache,
    exported_rows,
    log_text,
    monitor_text,
    status_text,
    training_to_show,
    watch_rules,
)
from tabs.common import AppContext, LiveRefresh, error_markdown, rule_anchor, user_edit

logger = logging.getLogger(__name__)

POLL_S = 2.0          # the timer's period while a job runs: the heartbeat comes every few s
LOG_LINES = 200
AB_IDS = {"experiment": "infer-ab-experiment", "epochs": "infer-ab-epochs", "box": "infer-ab"}
START_LABELS = {"sovits": mark("Start SoVITS training"), "gpt": mark("Start GPT training"),
                "both": mark("Start both (SoVITS, then GPT)")}

LimitsOf = Callable[..., TrainingLimits]   # the tab's control values → the engine's limits


@dataclass
class RunArea:
    start_sovits: gr.Button
    start_gpt: gr.Button
    start_both: gr.Button
    stop: gr.Button
    safety: gr.Checkbox
    compile: gr.Checkbox   # SoVITS: torch.compile with CUDA graphs
    plan: gr.Markdown
    message: gr.Markdown
    status: gr.Markdown
    bar: gr.HTML
    monitor: gr.Markdown
    plot: gr.Plot
    log: gr.Textbox
    exported: gr.Dataframe
    listen: gr.Button
    job_dir: gr.State      # the folder of the job this page follows ("" before any)
    drawn: gr.State        # how many loss points the plot shows (redrawn only when it grows)
    timer: gr.Timer

    def follow_outputs(self) -> list[gr.components.Component]:
        """What ``follow`` returns, in order."""
        return [self.status, self.bar, self.monitor, self.plot, self.log, self.exported,
                self.drawn, self.timer]


def start_button(ctx: AppContext, which: Which) -> gr.Button:
    """One of the Start buttons, placed where the caller builds it (SoVITS's and GPT's sit in
    their columns)."""
    return gr.Button(ctx.t(START_LABELS[which]), variant="primary",
                     elem_id=f"train-start-{which}")


def build(ctx: AppContext, start_sovits: gr.Button, start_gpt: gr.Button) -> RunArea:
    """The rest of the section, under the two columns of controls."""
    t = ctx.t
    gr.Markdown("### " + t("3. Run"))
    plan = gr.Markdown(elem_id="train-run-plan")
    safety = gr.Checkbox(value=False, elem_id="train-safety",
                         label=t("I have read the safety notice above (H-4)"),
                         info=t("Asked once, before the first training run in this "
                                "workspace: training loads the computer fully for a long "
                                "time."))
    compile_box = gr.Checkbox(
        value=False, elem_id="train-compile",
        label=t("Compile SoVITS for speed (experimental; NVIDIA GPU, Linux)"),
        info=t("torch.compile with CUDA graphs: about 40 % more SoVITS steps a second on an "
               "H200 (docs/benchmarks.md), after a few minutes of compiling at the start, so "
               "worth it for runs longer than about ten minutes. Where it cannot compile "
               "(no NVIDIA GPU, no Triton, several processes), the plan says why and it "
               "trains uncompiled."))
    with gr.Row():
        start_both = start_button(ctx, "both")
        stop = gr.Button(t("Stop"), variant="stop", elem_id="train-stop")
    message = gr.Markdown(elem_id="train-run-message")
    status = gr.Markdown(elem_id="train-run-status")
    bar = gr.HTML(elem_id="train-run-bar")
    monitor = gr.Markdown(elem_id="train-monitor")
    with gr.Accordion(t("What to watch while training"), open=False):
        gr.Markdown("\n".join(f"- [{entry.rule}](#{rule_anchor(entry.rule)}) **{t(entry.title)}**: "
                              f"{t(entry.summary)}" for entry in watch_rules()))
    plot = gr.Plot(label=t("Losses (R-5: below about 30 rounds they mean little; listen)"),
                   elem_id="train-loss-plot")
    log = gr.Textbox(label=t("Log"), lines=8, max_lines=16, interactive=False, autoscroll=True,
                     elem_id="train-log",
                     info=t("What the training says: saves, exports, resumes, warnings."))
    exported = gr.Dataframe(headers=[t("Model"), t("Round"), t("Step"), t("Loss"), t("File")],
                            value=[], interactive=False, wrap=True, elem_id="train-exported",
                            label=t("Exported weights (newest last)"))
    listen = gr.Button(t("Listen (A/B): compare the exported SoVITS rounds"),
                       elem_id="train-listen")
    return RunArea(start_sovits, start_gpt, start_both, stop, safety, compile_box, plan,
                   message, status,
                   bar, monitor, plot, log, exported, listen, gr.State(""), gr.State(-1),
                   gr.Timer(POLL_S, active=False))


# --- what is shown ----------------------------------------------------------------------------

def bar_html(snapshot: TrainingSnapshot | None) -> str:
    """A plain progress bar (the whole queue), or nothing before a job."""
    if snapshot is None:
        return ""
    fraction = snapshot.fraction
    value = "" if fraction is None else f' value="{fraction:.4f}"'
    percent = "" if fraction is None else f" {fraction * 100:.0f} %"
    return (f'<div class="train-bar"><progress max="1"{value} style="width:100%">'
            f"</progress>{percent}</div>")


def _points(snapshot: TrainingSnapshot) -> int:
    return sum(len(points) for kind in snapshot.losses
               for points in snapshot.loss_series(kind).values())


def _samples(ctx: AppContext) -> list[GpuSample]:
    """The cards' readings now; none (and a line in the log) when the driver cannot answer,
    so a monitor hiccup never interrupts following the job."""
    if not ctx.profile.gpus:
        return []
    try:
        return sample_gpus(ctx.profile)
    except Exception:   # NVML or the torch fallback failed: the readings are left out
        logger.warning("reading the GPUs failed", exc_info=True)
        return []


def render(ctx: AppContext, snapshot: TrainingSnapshot, drawn: int) -> tuple:
    """``follow_outputs`` for one snapshot; the plot is redrawn only when it has new points."""
    t = ctx.t
    points = _points(snapshot)
    if points != drawn:
        figure = loss_figure({kind: snapshot.loss_series(kind) for kind in ("sovits", "gpt")},
                             t)
        plot = gr.update(value=figure)
    else:
        plot = gr.update()
    running = not snapshot.finished
    monitor = monitor_text(_samples(ctx) if running else [], snapshot.gpus, t,
                           last_event_s=snapshot.last_event_s, now_s=time.time(),
                           running=running)
    return (status_text(snapshot, t), bar_html(snapshot), monitor, plot,
            log_text(snapshot, t, lines=LOG_LINES), exported_rows(snapshot), points,
            gr.Timer(active=running))


def idle(text: str = "") -> tuple:
    """``follow_outputs`` when there is no job to show."""
    return (text, "", "", gr.update(value=None), "", [], -1, gr.Timer(active=False))


# --- handlers ---------------------------------------------------------------------------------

def plan_refresh(ctx: AppContext, limits_of: LimitsOf, experiment: str | None,
                 safety: bool, *values: object, compile_sovits: bool = False
                 ) -> tuple[str, dict]:
    """"What will run" (both models) and the safety checkbox, shown before the first run."""
    limits = limits_of(*values)
    first = first_training(ctx.workspace)
    form = build_run(ctx.workspace, (experiment or "").strip(), limits, "both",
                     safety_acknowledged=bool(safety), first_run=first,
                     compile_sovits=bool(compile_sovits))
    text = plan_text(form, ctx.t)
    if form.blockers:
        text += "\n\n" + blockers_text(form.blockers, ctx.t)
    return text, gr.update(visible=first)


def start(ctx: AppContext, watchers: WatcherCache, limits_of: LimitsOf, which: Which,
          experiment: str | None, safety: bool, *values: object,
          start_lock: threading.Lock | None = None, compile_sovits: bool = False) -> tuple:
    """Start ``which`` for the tab's values; (message, job folder, *follow outputs)."""
    t = ctx.t
    limits = limits_of(*values)
    with start_lock or threading.Lock():
        form = build_run(ctx.workspace, (experiment or "").strip(), limits, which,
                         safety_acknowledged=bool(safety),
                         first_run=first_training(ctx.workspace),
                         compile_sovits=bool(compile_sovits))
        if not form.ready:
            return (blockers_text(form.blockers, t), gr.update(), *[gr.update()] * 7,
                    gr.update())
        from gsv_core.train import launch  # imports torch (through gsv_core.prepare)

        try:
            handle = launch.start_training(form.configs)
        except GsvError as error:   # the card is busy (the job is named), a file is missing
            return (error_markdown(error, t), gr.update(), *[gr.update()] * 7, gr.update())
    snapshot = watchers.get(handle).poll()
    note = "▶️ " + t("Started: {models}.", models=", ".join(
        t(mark("{model} ({rounds} rounds, batch {batch})"), model=KIND_NAMES[config.kind],
          rounds=config.epochs, batch=config.batch_size) for config in form.configs))
    return (note, str(handle.job_dir), *render(ctx, snapshot, -1))


def follow(ctx: AppContext, watchers: WatcherCache, job_dir: str | None,
           drawn: int | None) -> tuple:
    """One timer tick: the followed job now; the timer stops once the job has ended."""
    if not job_dir:
        return idle()
    try:
        watcher = watchers.attach(job_dir)
    except GsvError as error:   # the job's folder was removed meanwhile
        return idle(error_markdown(error, ctx.t))
    return render(ctx, watcher.poll(), -1 if drawn is None else drawn)


def attach(ctx: AppContext, watchers: WatcherCache, experiment: str | None) -> tuple:
    """On page load: the training running now, else the experiment's last one;
    (job folder, *follow outputs)."""
    handle = training_to_show(ctx.workspace, (experiment or "").strip() or None)
    if handle is None:
        return ("", *idle())
    return (str(handle.job_dir), *render(ctx, watchers.get(handle).poll(), -1))


def stop(ctx: AppContext, watchers: WatcherCache, job_dir: str | None) -> str:
    """Stop the followed training. The first press asks it to stop (it ends after the step
    it is in and writes a save point, however long that step takes: on a CPU one can take
    longer than any fixed wait); a second press ends it at once, losing the steps since the
    last save point. The next timer tick shows how it ended."""
    t = ctx.t
    if not job_dir:
        return "ℹ️ " + t("No training is being followed here.")
    handle = watchers.attach(job_dir).handle
    status = handle.status()
    if status.finished:
        return "ℹ️ " + t("This training has already ended.")
    if not status.stop_requested:
        handle.request_stop()
        return "⏹ " + t("Stop asked: the training ends after the step it is in and writes a "
                        "save point. Press Stop again to end it at once (the steps since the "
                        "last save point are then lost).")
    handle.stop(grace_s=0.0)
    return "⏹ " + t("The training was ended at once.")


def listen(ctx: AppContext, watchers: WatcherCache, job_dir: str | None,
           ab_found: bool) -> tuple[str, dict, dict, dict]:
    """Fill the Inference tab's A/B section with this run's exported SoVITS rounds (the
    newest ones that fit); (message, experiment update, epochs update, accordion update)."""
    t = ctx.t
    none = (gr.update(), gr.update(), gr.update())
    if not job_dir:
        return "ℹ️ " + t("Start or open a training first."), *none
    snapshot = watchers.attach(job_dir).poll()
    files = [weight.path for weight in snapshot.exported_of("sovits")]
    if not files:
        return "ℹ️ " + t("No SoVITS weights were exported by this run yet (A/B compares "
                         "SoVITS rounds; GPT files are picked in the Inference tab)."), *none
    experiment = snapshot.experiment
    if not ab_found:
        return "ℹ️ " + t("Open the Inference tab → A/B listening, choose {experiment} and "
                         "tick the rounds.", experiment=f"`{experiment}`"), *none
    from tabs.infer.sections import compare as compare_section

    experiment_update, epochs_update = compare_section.refresh(ctx, experiment)
    offered = {str(Path(value).resolve()): value
               for _, value in epochs_update.get("choices") or []}
    ticked = [offered[key] for key in (str(Path(f).resolve()) for f in files) if key in offered]
    ticked = ticked[-compare_section.AB_SLOTS:]
    epochs_update["value"] = ticked
    text = "🎧 " + t("{count} exported round(s) of {experiment} are ticked in the Inference "
                    "tab's A/B listening: enter a reference and a text there, then render.",
                    count=len(ticked), experiment=f"`{experiment}`")
    return text, experiment_update, epochs_update, gr.update(open=True)


# --- wiring -----------------------------------------------------------------------------------

def _find(app: gr.Blocks, elem_id: str) -> gr.components.Component | None:
    for block in app.blocks.values():
        if getattr(block, "elem_id", None) == elem_id:
            return block
    return None


def _switch_tab_js(label: str) -> str:
    """Browser code that clicks the tab button labelled ``label`` (the Inference tab)."""
    return ("() => { for (const b of document.querySelectorAll('button[role=\"tab\"]')) "
            f"if (b.textContent.trim() === {json.dumps(label)}) {{ b.click(); break; }} }}")


def wire(area: RunArea, ctx: AppContext, experiment: gr.Textbox,
         value_inputs: Sequence[gr.components.Component], limits_of: LimitsOf,
         after: gr.events.Dependency) -> None:
    """Connect the section. ``value_inputs`` are the tab's inputs that ``limits_of`` takes
    (controls, then the dataset fields), in its order; ``after`` is the tab's live refresh
    (page load and every user edit of those inputs): the plan text follows each one."""
    t: Translator = ctx.t
    watchers = WatcherCache()
    start_lock = threading.Lock()   # two sessions pressing Start at once start one job
    inputs = [experiment, area.safety, area.compile, *value_inputs]

    def plan_handler(experiment_name: str, safety: bool, compile_sovits: bool,
                     *values: object) -> tuple:
        return plan_refresh(ctx, limits_of, experiment_name, safety, *values,
                            compile_sovits=compile_sovits)

    # After the tab's own refresh (not beside it): one request per edit, in order, as
    # refresh_live answers them; the experiment name counts once typed (blur, Enter).
    # One queue for both: the page-load plan and a name typed right after it answer in the
    # order they were asked, so a slow load plan cannot land last and show the old name.
    after.then(plan_handler, inputs=inputs, outputs=[area.plan, area.safety],
               show_progress="hidden", concurrency_id="train-plan", concurrency_limit=1)
    gr.on([user_edit(area.safety), user_edit(area.compile), experiment.blur,
           experiment.submit], plan_handler,
          inputs=inputs, outputs=[area.plan, area.safety], show_progress="hidden",
          trigger_mode="multiple", concurrency_id="train-plan", concurrency_limit=1)
    # "Use the recommended plan" sets controls from code: the plan text follows it too.
    ctx.live_refreshes.append(LiveRefresh(plan_handler, inputs, [area.plan, area.safety]))

    outputs = [area.message, area.job_dir, *area.follow_outputs()]
    for which, button in (("sovits", area.start_sovits), ("gpt", area.start_gpt),
                          ("both", area.start_both)):
        def handler(experiment_name: str, safety: bool, compile_sovits: bool,
                    *values: object, _which: Which = which) -> tuple:
            return start(ctx, watchers, limits_of, _which, experiment_name, safety, *values,
                         start_lock=start_lock, compile_sovits=compile_sovits)

        button.click(handler, inputs=inputs, outputs=outputs, concurrency_id="train-start",
                     concurrency_limit=None)

    area.timer.tick(lambda job_dir, drawn: follow(ctx, watchers, job_dir, drawn),
                    inputs=[area.job_dir, area.drawn], outputs=area.follow_outputs(),
                    show_progress="hidden", concurrency_id="train-follow",
                    concurrency_limit=None)
    ctx.app.load(lambda name: attach(ctx, watchers, name), inputs=[experiment],
                 outputs=[area.job_dir, *area.follow_outputs()], show_progress="hidden",
                 concurrency_id="train-follow", concurrency_limit=None)
    area.stop.click(lambda job_dir: stop(ctx, watchers, job_dir), inputs=[area.job_dir],
                    outputs=[area.message], concurrency_id="train-stop",
                    concurrency_limit=None, show_progress="hidden")

    ab = {name: _find(ctx.app, elem_id) for name, elem_id in AB_IDS.items()}
    found = all(component is not None for component in ab.values())
    if found:
        event = area.listen.click(lambda job_dir: listen(ctx, watchers, job_dir, True),
                                  inputs=[area.job_dir],
                                  outputs=[area.message, ab["experiment"], ab["epochs"],
                                           ab["box"]], show_progress="hidden")
        event.then(None, js=_switch_tab_js(t("Inference")))
    else:
        area.listen.click(lambda job_dir: listen(ctx, watchers, job_dir, False)[0],
                          inputs=[area.job_dir], outputs=[area.message],
                          show_progress="hidden")
