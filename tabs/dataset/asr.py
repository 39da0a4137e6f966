"""Transcribe section: clips folder → `.list` with funasr or faster-whisper (``asr_job``).

Layout and handlers only. ``section(ctx)`` builds the "2. Transcribe (ASR)" accordion;
``wire(area, ctx, stops, list_box)`` connects it, and a finished run puts its `.list` into
``list_box`` (the proofreading section's list path), so the next step opens it. Settings
are validated by ``AsrOptions`` (a ``ConfigError`` naming the field shows under the
controls); a missing model file is named with its folder; a clip that fails is listed and
the others go on (X-5). Stop keeps the finished clips: Transcribe again continues.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.dataset.asr import LANGUAGES, PRECISIONS
from gsv_core.dataset.asr_job import AsrResult, transcribe_folder
from gsv_core.dataset.asr_ui import (
    AUTO,
    clips_folder,
    default_list,
    device_choices,
    model_choices,
    options_from_values,
)
from gsv_core.errors import GsvError
from gsv_core.i18n import Translator
from tabs.common import AppContext, error_markdown
from tabs.infer.run import StopRequests

FAILURES_SHOWN = 20   # failures and warnings listed by name; the rest are counted
STOP_PREFIX = "asr:"


@dataclass
class AsrArea:
    input_dir: gr.Textbox
    output_list: gr.Textbox
    model: gr.Dropdown
    engine: gr.Dropdown
    language: gr.Dropdown
    precision: gr.Dropdown
    device: gr.Dropdown
    download: gr.Checkbox
    run: gr.Button
    stop: gr.Button
    result: gr.Markdown

    def settings(self) -> list[gr.components.Component]:
        """The controls ``run_asr`` reads, in its argument order."""
        return [self.input_dir, self.output_list, self.model, self.language, self.engine,
                self.precision, self.device, self.download]


def section(ctx: AppContext) -> AsrArea:
    """The "2. Transcribe (ASR)" accordion (replaces the placeholder section)."""
    t = ctx.t
    with gr.Accordion(t("2. Transcribe (ASR)"), open=False):
        return build(ctx)


def build(ctx: AppContext) -> AsrArea:
    t = ctx.t
    with gr.Row():
        input_dir = gr.Textbox(label=t("Clips folder"), elem_id="asr-input",
                               placeholder=str(ctx.workspace.slicer_dir / "…"),
                               info=t("The folder of clips to transcribe (its top level), "
                                      "e.g. the slices folder above."))
        output_list = gr.Textbox(label=t("Label file (.list)"), elem_id="asr-output",
                                 placeholder=str(ctx.workspace.asr_dir / "….list"),
                                 info=t("Filled in as output/asr_opt/<folder name>.list; an "
                                        "existing different file is kept as .bak."))
    with gr.Row():
        model = gr.Dropdown(model_choices(ctx.workspace), value=None, allow_custom_value=True,
                            label=t("Model folder"), elem_id="asr-model",
                            info=t("A SenseVoiceSmall, Paraformer-zh or faster-whisper folder "
                                   "(docs/asr.md), or a hub id / Whisper size such as "
                                   "large-v3 to download; folders in pretrained_models/asr "
                                   "are listed first."))
        engine = gr.Dropdown([(t("from the model folder"), AUTO), ("funasr", "funasr"),
                              ("faster-whisper", "whisper")], value=AUTO, label=t("Engine"),
                             elem_id="asr-engine",
                             info=t("funasr reads SenseVoice and Paraformer folders, "
                                    "faster-whisper CTranslate2 folders."))
        language = gr.Dropdown(list(LANGUAGES), value="zh", label=t("Language"),
                               elem_id="asr-language",
                               info=t("auto labels each clip with the language heard; "
                                      "Paraformer-zh is Mandarin only."))
    with gr.Row():
        precision = gr.Dropdown(list(PRECISIONS), value=AUTO, label=t("Precision"),
                                elem_id="asr-precision",
                                info=t("auto: Whisper float16 on a GPU, int8 on the CPU; "
                                       "funasr float32. float16 needs a GPU."))
        device = gr.Dropdown(device_choices(ctx.profile), value=AUTO, label=t("Device"),
                             elem_id="asr-device",
                             info=t("auto uses the GPU when CUDA works, else the CPU."))
        download = gr.Checkbox(False, label=t("Download a hub model"), elem_id="asr-download",
                               info=t("When the model is a hub id (owner/name), fetch it "
                                      "from huggingface.co into pretrained_models/asr."))
    with gr.Row():
        run = gr.Button(t("Transcribe"), variant="primary", elem_id="asr-run")
        stop = gr.Button(t("Stop"), variant="stop", elem_id="asr-stop")
    result = gr.Markdown(elem_id="asr-result")
    return AsrArea(input_dir, output_list, model, engine, language, precision, device,
                   download, run, stop, result)


def default_output(ctx: AppContext, input_dir: str, output_list: str) -> dict:
    """Fill in the label file from the clips folder's name, unless the user typed one."""
    if output_list and output_list.strip():
        return gr.update()
    path = default_list(ctx.workspace, input_dir)
    return gr.update(value=path) if path else gr.update()


def _listed(items: list[str], total: int) -> list[str]:
    return items + ([f"- … (+{total - len(items)})"] if total > len(items) else [])


def result_markdown(t: Translator, result: AsrResult) -> str:
    """What the job did: the list, failures with what to do, warnings, a stop."""
    head = "✅ " if result.ok and not result.warnings else "⚠️ "
    parts = []
    if result.written is not None:
        where = (t("on {device} ({precision})", device=result.device,
                   precision=result.precision) if result.device else t("no model needed"))
        parts.append(head + t("{count} clips in {list}: {new} transcribed {where}, {reused} "
                              "from the previous run.", count=len(result.clips),
                              list=f"`{result.list_path}`", new=result.transcribed,
                              where=where, reused=result.reused))
        if result.written.backup:
            parts.append(t("The previous file is kept as {backup}.",
                           backup=f"`{result.written.backup}`"))
    if result.device_note:
        parts.append("ℹ️ " + t("The CPU was used: {why}.", why=result.device_note))
    if result.failures:
        items = [f"- `{failure.path.name}`: {failure.message}"
                 + (f" ➡️ {failure.advice}" if failure.advice else "")
                 for failure in result.failures[:FAILURES_SHOWN]]
        parts.append("\n".join([t("{count} clip(s) failed and are not in the list (the next "
                                  "run tries them again):", count=len(result.failures)),
                                *_listed(items, len(result.failures))]))
    if result.warnings:
        items = [f"- {warning}" for warning in result.warnings[:FAILURES_SHOWN]]
        parts.append("\n".join([t("Check these labels:"),
                                *_listed(items, len(result.warnings))]))
    if result.not_started:
        parts.append("⏹ " + t("Stopped: {count} clip(s) not started; Transcribe again "
                             "continues (finished clips are kept).",
                             count=len(result.not_started)))
    if not parts:
        parts.append("⚠️ " + t("No clip could be transcribed."))
    return "\n\n".join(parts)


def run_asr(ctx: AppContext, input_dir: str, output_list: str, model: str, language: str,
            engine: str, precision: str, device: str, download: bool, *,
            should_stop: object, progress: object) -> tuple[str, dict]:
    """Transcribe; returns the result Markdown and the update for the proofreading list box
    (the new `.list` when one was written)."""
    t = ctx.t
    try:
        options = options_from_values(model, language, engine, precision, device, download)
        folder = clips_folder(ctx.workspace, input_dir)

        def report(done: int, total: int, message: str) -> None:
            progress((done, total), desc=message)  # type: ignore[operator]

        result = transcribe_folder(folder, options, workspace=ctx.workspace,
                                   output=(output_list or "").strip() or None,
                                   progress=report, profile=ctx.profile,
                                   should_stop=should_stop)  # type: ignore[arg-type]
    except GsvError as error:
        return error_markdown(error, t), gr.update()
    produced = gr.update(value=str(result.list_path)) if result.written else gr.update()
    return result_markdown(t, result), produced


def wire(area: AsrArea, ctx: AppContext, stops: StopRequests,
         list_box: gr.Textbox) -> gr.events.Dependency:
    """Connect the section; a written `.list` goes into ``list_box``. Returns the
    Transcribe event, so the caller can chain what follows (e.g. opening the list)."""
    gr.on([area.input_dir.submit, area.input_dir.blur], lambda folder, out: default_output(
          ctx, folder, out), inputs=[area.input_dir, area.output_list],
          outputs=[area.output_list], show_progress="hidden")
    controls = area.settings()

    # A set of inputs: the handler gets one dict, so it can also take Gradio's request and
    # progress (Gradio passes those only to positional parameters), as the slicer does.
    def run(data: dict, request: gr.Request, progress=gr.Progress()) -> tuple:  # noqa: B008
        session = STOP_PREFIX + request.session_hash
        stops.clear(session)
        return run_asr(ctx, *(data[c] for c in controls),
                       should_stop=stops.checker(session), progress=progress)

    event = area.run.click(run, inputs=set(controls), outputs=[area.result, list_box],
                           concurrency_id="dataset-asr", concurrency_limit=1)

    def stop(request: gr.Request) -> None:
        stops.request(STOP_PREFIX + request.session_hash)

    area.stop.click(stop, queue=False)
    return event
