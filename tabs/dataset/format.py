"""Format section: the chosen `.list` → ``logs/<experiment>/`` training files, as a background job.

Layout and handlers only. ``section(ctx)`` builds the "6. Format for training" accordion;
``wire(area, ctx, list_box)`` connects it to the proofreading section's list box (the list
that is formatted). The job (``gsv_core.prepare.job``) runs in a child process: Start
follows it with a progress bar until it ends, Stop ends it (the finished part is kept), and
on page load or "Show the last run" the section shows the experiment's running job (and
follows it) or its last one, so a reload loses nothing. What is typed wrong, and every way
the job can end, is said in the status text under the buttons, never in a toast; clips that
failed are listed in the table below it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gradio as gr

from gsv_core.dataset.format_ui import (
    AUTO,
    PRECISION_CHOICES,
    READINGS_CHOICES,
    default_experiment,
    device_choices,
    failure_rows,
    find_format_job,
    format_args,
    start_format,
)
from gsv_core.errors import GsvError
from gsv_core.i18n import Translator, mark
from gsv_core.job_watch import JobSnapshot, JobWatcher
from gsv_core.jobs import JobHandle
from tabs.common import AppContext, error_markdown, follow_job

DETAIL_LINES = 20   # lines of an error's details (bad list lines, a crash's stderr) shown

STEP_LABELS = {"text": mark("labels and BERT"), "audio": mark("HuBERT and 32 kHz audio"),
               "semantic": mark("semantic codes")}


@dataclass
class FormatArea:
    experiment: gr.Textbox
    readings: gr.Dropdown
    devices: gr.Dropdown
    precision: gr.Dropdown
    start: gr.Button
    stop: gr.Button
    show_last: gr.Button
    status: gr.Markdown
    failures: gr.Dataframe
    auto_name: gr.State   # the experiment name last filled in from the list's name

    def settings(self) -> list[gr.components.Component]:
        """The controls ``start_formatting`` reads after the list path, in its order."""
        return [self.experiment, self.readings, self.devices, self.precision]

    def outputs(self) -> list[gr.components.Component]:
        return [self.status, self.failures]


def section(ctx: AppContext) -> FormatArea:
    """The "6. Format for training" accordion."""
    with gr.Accordion(ctx.t("6. Format for training"), open=False):
        return build(ctx)


def build(ctx: AppContext) -> FormatArea:
    t = ctx.t
    gr.Markdown(t("Formats the label file chosen in section 3 into logs/<experiment>/, the "
                  "files GPT-SoVITS trains from. It runs in the background: you may reload "
                  "the page; a second run reuses what is unchanged."))
    with gr.Row():
        experiment = gr.Textbox(label=t("Experiment name"), elem_id="format-experiment",
                                info=t("The folder under logs/ that training reads; filled in "
                                       "from the label file's name. Any language and spaces, "
                                       "no slashes."))
        readings = gr.Dropdown(list(READINGS_CHOICES), value=READINGS_CHOICES[0],
                               label=t("Readings"), elem_id="format-readings",
                               info=t("improved reads numbers, units, times and URLs as a "
                                      "person would; upstream keeps GPT-SoVITS's reading."))
    with gr.Row():
        devices = gr.Dropdown(device_choices(ctx.profile), value=[AUTO], multiselect=True,
                              label=t("Device(s)"), elem_id="format-devices",
                              info=t("auto uses the first GPU, else the CPU; choose several "
                                     "GPUs to share the work between them."))
        precision = gr.Dropdown(list(PRECISION_CHOICES), value=AUTO, label=t("Precision"),
                                elem_id="format-precision",
                                info=t("auto: fp16 features on a GPU, as GPT-SoVITS; fp32 on "
                                       "the CPU. fp16 needs a GPU."))
    with gr.Row():
        start = gr.Button(t("Format for training"), variant="primary", elem_id="format-run")
        stop = gr.Button(t("Stop"), variant="stop", elem_id="format-stop")
        show_last = gr.Button(t("Show the last run"), elem_id="format-show-last")
    status = gr.Markdown(elem_id="format-status")
    failures = gr.Dataframe(headers=[t("Line"), t("Clip"), t("Step"), t("Message")], value=[],
                            interactive=False, wrap=True, visible=False,
                            label=t("Clips that failed (left out; the others are formatted)"),
                            elem_id="format-failures", column_widths=["8%", "22%", "20%", "50%"])
    ctx.format_experiment = experiment
    return FormatArea(experiment, readings, devices, precision, start, stop, show_last, status,
                      failures, gr.State(""))


# --- what the status says ---------------------------------------------------------------------

def _details(text: str) -> str:
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    if not lines:
        return ""
    shown = lines[:DETAIL_LINES] + ([f"… (+{len(lines) - DETAIL_LINES})"]
                                    if len(lines) > DETAIL_LINES else [])
    return "```\n" + "\n".join(shown) + "\n```"


def problem_markdown(t: Translator, error: GsvError) -> str:
    """A refused start: the message, the advice, and its details (the bad lines)."""
    return "\n\n".join(filter(None, [error_markdown(error, t), _details(error.details)]))


def _counts(t: Translator, result: Mapping[str, Any]) -> str:
    computed, reused = result.get("computed") or {}, result.get("reused") or {}
    steps = "; ".join(t("{step}: {computed} computed, {reused} reused", step=t(label),
                        computed=computed.get(step, 0), reused=reused.get(step, 0))
                      for step, label in STEP_LABELS.items())
    removed = int(result.get("removed") or 0)
    if removed:
        steps += " · " + t("{count} clip(s) no longer in the list removed", count=removed)
    return steps


def _timing(t: Translator, result: Mapping[str, Any]) -> str:
    seconds = result.get("seconds") or {}
    if not seconds:
        return ""
    phases = " · ".join(f"{phase} {value:.1f} s" for phase, value in seconds.items())
    devices = ", ".join(result.get("devices") or [])
    return t("Time per phase ({devices}): {phases}", devices=devices or "?", phases=phases)


def _started(snapshot: JobSnapshot) -> str:
    if snapshot.created_at is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(snapshot.created_at))


def status_markdown(t: Translator, snapshot: JobSnapshot) -> str:
    """The status text of a formatting job: running, formatted (with failures), stopped, or
    failed with its cause and what to do."""
    experiment = f"`{snapshot.args.get('experiment', '?')}`"
    status = snapshot.status
    result: Mapping[str, Any] = status.result if isinstance(status.result, Mapping) else {}
    folder = f"`{result.get('folder', '')}`"
    when = _started(snapshot)
    if snapshot.status.state == "running":
        doing = snapshot.message or t("starting")
        if snapshot.steps is not None and snapshot.steps[1]:
            doing += f" ({snapshot.steps[0]}/{snapshot.steps[1]})"
        head = (t("Stopping the formatting of {experiment}…", experiment=experiment)
                if snapshot.status.stop_requested else
                t("Formatting {experiment} (started {when}): {doing}", experiment=experiment,
                  when=when, doing=doing))
        return "⏳ " + head
    if snapshot.status.state == "succeeded":
        failures = result.get("failures") or []
        if failures:
            head = "⚠️ " + t("{experiment} formatted in {folder}, but {count} of {clips} clip(s) "
                             "failed and were left out (listed below); fix them and format "
                             "again, the rest is reused.", experiment=experiment, folder=folder,
                             count=len(failures), clips=result.get("clips", "?"))
        else:
            head = "✅ " + t("{experiment}: {clips} clips formatted in {folder}.",
                             experiment=experiment, clips=result.get("clips", "?"),
                             folder=folder)
        return "\n\n".join(filter(None, [head, _counts(t, result), _timing(t, result)]))
    if snapshot.status.state == "stopped":
        parts = ["⏹ " + t("The formatting of {experiment} was stopped (started {when}); what "
                         "was finished is kept, and formatting again continues from there.",
                         experiment=experiment, when=when)]
        if result:
            parts.append(_counts(t, result))
        return "\n\n".join(parts)
    parts = ["❌ " + t("The formatting of {experiment} failed: {cause}", experiment=experiment,
                      cause=snapshot.status.cause)]
    if snapshot.status.advice:
        parts.append("➡️ " + snapshot.status.advice)
        parts.append(_details(snapshot.log_text("error")))
    else:  # not an error the library raised on purpose: show where it ended, and the log
        parts.append(t("This is unexpected. The job's log is {log}.",
                       log=f"`{snapshot.job_dir / 'stderr.log'}`"))
        parts.append(_details("\n".join(snapshot.status.details.splitlines()[-DETAIL_LINES:])))
    return "\n\n".join(filter(None, parts))


def failures_update(snapshot: JobSnapshot | None) -> dict:
    """The failures table: the clips that failed, hidden when there are none."""
    rows = failure_rows(snapshot.status.result if snapshot is not None
                        and isinstance(snapshot.status.result, Mapping) else None)
    return gr.update(value=rows, visible=bool(rows))


# --- handlers ---------------------------------------------------------------------------------

Progress = Callable[..., object]   # gr.Progress: progress((done, total), desc=...)


def follow(ctx: AppContext, handle: JobHandle, progress: Progress,
           note: str = "") -> tuple[str, dict]:
    """Follow ``handle`` until it ends, moving the progress bar; the final status and table."""
    t = ctx.t

    final = follow_job(handle, progress, t)
    text = status_markdown(t, final)
    return ("ℹ️ " + note + "\n\n" + text if note else text), failures_update(final)


def start_formatting(ctx: AppContext, list_path: str | None, experiment: str | None,
                     readings: str | None, devices: list[str] | str | None,
                     precision: str | None, *, progress: Progress,
                     start_lock: threading.Lock | None = None) -> tuple[str, dict]:
    """Start (or join, when it already runs) the experiment's formatting and follow it."""
    t = ctx.t
    try:
        args = format_args(ctx.workspace, ctx.profile, list_path, experiment, readings,
                           devices, precision)
        with start_lock or threading.Lock():
            handle, joined = start_format(ctx.workspace, args)
    except GsvError as error:
        return problem_markdown(t, error), failures_update(None)
    note = t("This experiment was already being formatted; that run is shown (its settings "
             "are the ones it was started with).") if joined else ""
    return follow(ctx, handle, progress, note)


def show_last_run(ctx: AppContext, experiment: str | None, *,
                  progress: Progress) -> tuple[str, dict, dict]:
    """The experiment's running formatting (followed until it ends) or its last one; with no
    experiment typed, the workspace's. Also fills in the experiment name when it was empty."""
    t = ctx.t
    name = (experiment or "").strip() or None
    handle = find_format_job(ctx.workspace, name)
    if handle is None:
        text = (t("{experiment} has not been formatted here yet.", experiment=f"`{name}`")
                if name else "")
        return text, failures_update(None), gr.update()
    found = str(handle.args.get("experiment") or "")
    filled = gr.update(value=found) if not name and found else gr.update()
    text, table = follow(ctx, handle, progress)
    return text, table, filled


def stop_formatting(ctx: AppContext, experiment: str | None) -> tuple[str, dict]:
    """Stop the experiment's running formatting (any running one when none is typed); blocks
    until it has ended, then shows how it ended."""
    t = ctx.t
    name = (experiment or "").strip() or None
    handle = find_format_job(ctx.workspace, name)
    if handle is None or not handle.is_running():
        said = (t("Nothing is being formatted for {experiment}.", experiment=f"`{name}`")
                if name else t("Nothing is being formatted."))
        return "ℹ️ " + said, gr.update()
    handle.stop()
    snapshot = JobWatcher(handle).poll()
    return status_markdown(t, snapshot), failures_update(snapshot)


def experiment_from_list(list_path: str | None, experiment: str | None,
                         auto_name: str | None) -> tuple[dict, str]:
    """Fill the experiment name from a newly chosen list, unless the user typed their own
    (a name that is not the one filled in last time); returns the update and the new
    filled-in name."""
    if experiment and experiment != auto_name:
        return gr.update(), auto_name or ""
    name = default_experiment(list_path)
    if name is None:
        return gr.update(), auto_name or ""
    return gr.update(value=name), name


def wire(area: FormatArea, ctx: AppContext, list_box: gr.Textbox) -> None:
    """Connect the section; ``list_box`` holds the list to format (the proofreading one)."""
    start_lock = threading.Lock()   # two sessions pressing Start at once start one job
    list_box.change(experiment_from_list, inputs=[list_box, area.experiment, area.auto_name],
                    outputs=[area.experiment, area.auto_name], show_progress="hidden")

    def start(list_path: str, experiment: str, readings: str, devices: list[str],
              precision: str, progress=gr.Progress()) -> tuple:  # noqa: B008
        return start_formatting(ctx, list_path, experiment, readings, devices, precision,
                                progress=progress, start_lock=start_lock)

    # Unlimited: each handler only follows a job (the one-run rule is start_format's), and
    # a session following a long run must not hold up another's Stop or re-attach.
    area.start.click(start, inputs=[list_box, *area.settings()], outputs=area.outputs(),
                     concurrency_id="dataset-format", concurrency_limit=None)

    def show(experiment: str, auto_name: str, progress=gr.Progress()) -> tuple:  # noqa: B008
        text, table, filled = show_last_run(ctx, experiment, progress=progress)
        # A name filled in from the last run is not the user's: a list chosen next replaces it.
        return text, table, filled, filled.get("value", auto_name)

    gr.on([area.show_last.click, ctx.app.load], show, inputs=[area.experiment, area.auto_name],
          outputs=[*area.outputs(), area.experiment, area.auto_name],
          concurrency_id="dataset-format", concurrency_limit=None)
    area.stop.click(lambda experiment: stop_formatting(ctx, experiment),
                    inputs=[area.experiment], outputs=area.outputs(),
                    concurrency_id="dataset-format-stop", concurrency_limit=None,
                    show_progress="hidden")
