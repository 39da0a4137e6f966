"""Dataset tab: slice, transcribe, proofread, measure, summarise and format a dataset.

Layout and events only: ``slicer``, ``asr``, ``proofread``, ``quality`` and ``format`` build
their sections and hold their handlers; the work is ``gsv_core.dataset``'s (and
``gsv_core.prepare``'s, in a background job, for formatting). The dataset summary is what
every other tab's limits read (``ctx.dataset``): the quality report and the review marks
fill it in ("measured"), and the user may still type over a field ("overridden").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import gradio as gr

from gsv_core.dataset.ui_support import FIELDS, field_sources, list_files
from gsv_core.guidelines import (
    dataset_from_fields,
    dataset_length_advice,
    emotion_advice,
    slice_length_limit,
)
from gsv_core.i18n import Translator, mark
from tabs.common import (
    AppContext,
    DatasetInputs,
    GovernedControl,
    StopRequests,
    echo_update,
    governed_update,
    notice_markdown,
    reason_markdown,
    refresh_live,
    user_edit,
    why_accordion,
    why_markdown,
)
from tabs.dataset import asr, proofread, quality, slicer
from tabs.dataset import format as formatting
from tabs.dataset.asr import AsrArea
from tabs.dataset.format import FormatArea
from tabs.dataset.proofread import ProofreadArea, ProofreadRuntime
from tabs.dataset.quality import QualityArea
from tabs.dataset.slicer import SlicerArea
from tabs.governed import GovernedNumber, GovernedSlider


@dataclass
class DatasetTab:
    inputs: DatasetInputs
    slice_length: GovernedControl
    slice_why: gr.Markdown
    advice_md: gr.Markdown
    slicer: SlicerArea
    asr: AsrArea
    proofread: ProofreadArea
    quality: QualityArea
    measured: gr.State          # the fields measured so far (``ui_support.FIELDS`` keys)
    provenance: gr.Markdown     # which summary field is measured, overridden or typed
    formatting: FormatArea

    def outputs(self) -> list[gr.components.Component]:
        """What ``refresh`` returns, in order."""
        return [*self.slice_length.outputs(), self.slice_why, self.advice_md,
                *self.inputs.components()]


def _slicer_section(ctx: AppContext) -> tuple[SlicerArea, gr.Markdown]:
    t = ctx.t
    with gr.Accordion(t("1. Slice long recordings"), open=True):
        area = slicer.build(ctx)
        slice_why = why_accordion(t, "slice-why")
    return area, slice_why


# The summary fields' own explanations, shown while their value is fine (``field_infos``).
MINUTES_INFO = mark("All clips together (Q-3, E-1, R-3). Empty: not measured.")
P95_INFO = mark("Longer slices lower the batch limits (B-4, Q-4). Empty: not measured.")
CLIPS_INFO = mark("Lines in the .list file; a batch holds at most this many clips (B-8). "
                  "Empty: not counted.")
QUALITY_INFO = mark("Noise, reverb, loudness, clipping (Q-1); gates DPO (D-3) and high SoVITS "
                    "rounds (R-3).")
REVIEWED_INFO = mark("Share of transcripts a person has checked (D-3, R-3).")


def _summary_section(ctx: AppContext) -> tuple[DatasetInputs, gr.Markdown]:
    t = ctx.t
    with gr.Accordion(t("5. Dataset summary"), open=True):
        gr.Markdown(t("Filled in by the quality report and the reviewed marks (measured); "
                      "type over a field to override it. Every tab's limits follow it."))
        provenance = gr.Markdown(provenance_markdown(t, {}, {}), elem_id="ds-provenance")
        with gr.Row():
            minutes = GovernedNumber(label=t("Total duration (minutes)"), value=None,
                                     placeholder=t("not measured"), info=t(MINUTES_INFO),
                                     elem_id="ds-minutes")
            p95 = GovernedNumber(label=t("95th-percentile slice length (s)"), value=None,
                                 placeholder=t("not measured"), info=t(P95_INFO),
                                 elem_id="ds-p95")
            clips = GovernedNumber(label=t("Number of clips"), value=None,
                                   placeholder=t("not counted"), info=t(CLIPS_INFO),
                                   elem_id="ds-clips")
        with gr.Row():
            quality = gr.Dropdown([(t("unknown"), "unknown"), (t("good"), "good"),
                                   (t("poor"), "poor")], value="unknown",
                                  label=t("Quality check verdict"), info=t(QUALITY_INFO),
                                  elem_id="ds-quality")
            reviewed = GovernedSlider(0, 100, value=0, step=1, label=t("Labels proofread (%)"),
                                      info=t(REVIEWED_INFO), elem_id="ds-reviewed")
    return DatasetInputs(minutes, p95, clips, quality, reviewed), provenance


_FIELD_LABELS = (mark("Total duration (minutes)"), mark("95th-percentile slice length (s)"),
                 mark("Number of clips"), mark("Quality check verdict"),
                 mark("Labels proofread (%)"))


def provenance_markdown(t: Translator, measured: dict, shown: dict) -> str:
    """Which summary field holds a measured value, an override, or a value typed by hand."""
    sources = field_sources(measured or {}, shown)
    lines = []
    for name, label in zip(FIELDS, _FIELD_LABELS, strict=True):
        source = sources[name]
        if source == "measured":
            state = t("measured")
        elif source == "overridden":
            value = measured[name]
            state = t("overridden (measured: {value})",
                      value=t("not measured") if value is None else
                      (f"{value:g}" if isinstance(value, float) else value))
        else:
            state = t("typed by hand (not measured yet)")
        lines.append(f"- {t(label)}: {state}")
    origin = (measured or {}).get("source") or (measured or {}).get("reviewed_source")
    head = t("Measured from {list}:", list=f"`{origin}`") if origin else t("Nothing measured "
                                                                            "yet:")
    return head + "\n" + "\n".join(lines)


def show_provenance(ctx: AppContext, measured: dict, *values: object) -> str:
    return provenance_markdown(ctx.t, measured, dict(zip(FIELDS, values, strict=True)))


def build(ctx: AppContext) -> DatasetTab:
    t = ctx.t
    slicer_area, slice_why = _slicer_section(ctx)
    asr_area = asr.section(ctx)
    with gr.Accordion(t("3. Proofread the labels"), open=True):
        proofread_area = proofread.build(ctx)
    with gr.Accordion(t("4. Quality report"), open=True):
        quality_area = quality.build(ctx)
    inputs, provenance = _summary_section(ctx)
    advice_md = gr.Markdown(elem_id="dataset-advice")
    format_area = formatting.section(ctx)
    measured = gr.State({})
    ctx.dataset = inputs
    return DatasetTab(inputs, slicer_area.slice_length, slice_why, advice_md, slicer_area,
                      asr_area, proofread_area, quality_area, measured, provenance,
                      format_area)


def field_problems(t: Translator, minutes: float | None, p95_slice_s: float | None,
                   clip_count: float | None, quality: str | None,
                   reviewed_pct: float | None) -> list[str]:
    """Why each summary field's value was refused ("" when it was not), as Markdown.

    The engine checks each field on its own here, so a refusal lands under the field it
    is about (the others given as not measured).
    """
    fields = [minutes, p95_slice_s, clip_count, quality, reviewed_pct]
    problems = []
    for index in range(len(fields)):
        alone = [value if position == index else None for position, value in enumerate(fields)]
        problems.append(" ".join(reason_markdown(reason, t)
                                 for reason in dataset_from_fields(*alone).problems))
    return problems


def field_infos(t: Translator, problems: list[str]) -> list[dict]:
    """Each summary field's ``info``: its explanation, or why its value was refused."""
    infos = (MINUTES_INFO, P95_INFO, CLIPS_INFO, QUALITY_INFO, REVIEWED_INFO)
    return [gr.update(info="⚠️ " + problem if problem else t(info))
            for problem, info in zip(problems, infos, strict=True)]


def refresh(ctx: AppContext, slice_length_s: float | None, minutes: float | None,
            p95_slice_s: float | None, clip_count: float | None, quality: str | None,
            reviewed_pct: float | None) -> tuple:
    """Re-clamp the slice length, restate the dataset advice (Q-3, Q-4, E-1), refuse nonsense.

    Returns ``DatasetTab.outputs`` in order.
    """
    t = ctx.t
    fields = (minutes, p95_slice_s, clip_count, quality, reviewed_pct)
    dataset = dataset_from_fields(*fields).summary
    limit = slice_length_limit(slice_length_s, dataset)
    advice = [*dataset_length_advice(dataset).reasons, *emotion_advice(dataset).reasons]
    problems = field_problems(t, *fields)
    infos = field_infos(t, problems)[:-1]  # the share is echoed below
    # The slider's box clamps a typed 150 to 100 on screen, while the engine refuses it and
    # counts 0 %: the box shows the share the limits are computed with, and why.
    reviewed = echo_update(reviewed_pct, round(100 * dataset.reviewed_fraction, 6),
                           t(REVIEWED_INFO), problems[-1] or None, t)
    return (*governed_update(limit, t), why_markdown([(t("Slice length"), limit)], t),
            notice_markdown(advice, t), *infos, reviewed)


def wire(tab: DatasetTab, ctx: AppContext) -> None:
    refresh_live(ctx, [tab.slice_length.slider, *tab.inputs.components()], tab.outputs(),
                 refresh)
    fields = tab.inputs.components()
    provenance = {"fn": partial(show_provenance, ctx), "inputs": [tab.measured, *fields],
                  "outputs": [tab.provenance], "show_progress": "hidden"}
    gr.on([user_edit(component) for component in fields], **provenance)
    stops = StopRequests()
    _wire_slicer(tab.slicer, ctx, stops)
    asr.wire(tab.asr, ctx, stops, tab.proofread.list_path)
    _wire_proofread(tab, ctx, provenance)
    _wire_quality(tab, ctx, stops, provenance)
    formatting.wire(tab.formatting, ctx, tab.proofread.list_path)


def _stop_button(button: gr.Button, stops: StopRequests, prefix: str) -> None:
    def stop(request: gr.Request) -> None:
        stops.request(prefix + request.session_hash)

    button.click(stop, queue=False)


def _wire_slicer(area: SlicerArea, ctx: AppContext, stops: StopRequests) -> None:
    gr.on([area.input_path.submit, area.input_path.blur], partial(slicer.default_output, ctx),
          inputs=[area.input_path, area.output_dir], outputs=[area.output_dir],
          show_progress="hidden")

    controls = [area.input_path, area.output_dir, *area.settings()]

    # A set of inputs: the handler gets one dict, so it can also take Gradio's request and
    # progress, which Gradio passes only to positional parameters (as the Inference tab).
    def run(data: dict, request: gr.Request, progress=gr.Progress()) -> str:  # noqa: B008
        session = "slice:" + request.session_hash
        stops.clear(session)
        return slicer.run_slicer(ctx, *(data[c] for c in controls),
                                 should_stop=stops.checker(session), progress=progress)

    area.run.click(run, inputs=set(controls), outputs=[area.result],
                   concurrency_id="dataset-slice", concurrency_limit=1)
    _stop_button(area.stop, stops, "slice:")


def _wire_proofread(tab: DatasetTab, ctx: AppContext, provenance: dict) -> None:
    area = tab.proofread
    runtime = ProofreadRuntime()
    page_outputs = area.page_outputs()
    where = [area.list_path, area.page]
    summary_out = [tab.measured, tab.inputs.reviewed_pct]
    area.rescan.click(lambda: gr.update(choices=[str(p) for p in list_files(ctx.workspace)]),
                      outputs=[area.found], show_progress="hidden")
    area.found.select(lambda path: path, inputs=[area.found], outputs=[area.list_path],
                      show_progress="hidden")
    opening = gr.on([area.open.click, area.list_path.submit], partial(proofread.opened, ctx,
                                                                      runtime),
                    inputs=[*where, tab.measured], outputs=[*page_outputs, *summary_out])
    ctx.programmatic_changes.append(opening)
    opening.then(**provenance)
    show = partial(proofread.show_page, ctx, runtime)
    area.page.submit(show, inputs=where, outputs=page_outputs)
    area.previous_page.click(lambda path, page: show(path, (page or 1) - 1), inputs=where,
                             outputs=page_outputs)
    area.next_page.click(lambda path, page: show(path, (page or 1) + 1), inputs=where,
                         outputs=page_outputs)
    area.previous_unreviewed.click(partial(proofread.jump_unreviewed, ctx, runtime, False),
                                   inputs=where, outputs=page_outputs)
    area.next_unreviewed.click(partial(proofread.jump_unreviewed, ctx, runtime, True),
                               inputs=where, outputs=page_outputs)
    area.restore.click(partial(proofread.restore_clip, ctx, runtime),
                       inputs=[*where, area.removed], outputs=page_outputs)
    row_where = [*where, area.names]
    for number, row in enumerate(area.rows):
        gr.on([row.text.submit, row.text.blur],
              lambda *v, n=number: proofread.edit_clip(ctx, runtime, n, *v[:3], v[3], None),
              inputs=[*row_where, row.text], outputs=[area.message], show_progress="hidden")
        row.language.select(
            lambda *v, n=number: proofread.edit_clip(ctx, runtime, n, *v[:3], None, v[3]),
            inputs=[*row_where, row.language], outputs=[area.message], show_progress="hidden")
        marked = row.reviewed.input(partial(proofread.set_reviewed, ctx, runtime, number),
                                    inputs=[*row_where, row.reviewed, tab.measured],
                                    outputs=[area.message, area.progress, *summary_out],
                                    show_progress="hidden")
        ctx.programmatic_changes.append(marked)
        marked.then(**provenance)
        change = partial(proofread.change_list, ctx, runtime)
        row.delete.click(partial(change, proofread.delete_action, _said(ctx, mark(
                                 "Deleted {name} (its audio stays on disk).")), number),
                         inputs=row_where, outputs=page_outputs)
        row.merge.click(partial(change, proofread.merge_action,
                                _said(ctx, mark("Merged into the new clip {name}.")), number),
                        inputs=row_where, outputs=page_outputs)
        row.split.click(partial(change, proofread.split_action,
                                _said(ctx, mark("Split into {name} and the next clip "
                                           "(the original file is kept).")), number),
                        inputs=[*row_where, row.split_at, row.text, row.second_text],
                        outputs=page_outputs)


def _said(ctx: AppContext, message: str):
    """The success line of a list change, named after the clip it made or removed."""
    def done(result: object) -> str:
        first = result[0] if isinstance(result, tuple) else result
        return ctx.t(message, name=getattr(first, "name", ""))
    return done


def _wire_quality(tab: DatasetTab, ctx: AppContext, stops: StopRequests,
                  provenance: dict) -> None:
    area = tab.quality

    def run(list_path: str, measured: dict, request: gr.Request,
            progress=gr.Progress()) -> tuple:  # noqa: B008
        session = "quality:" + request.session_hash
        stops.clear(session)
        return quality.run_report(ctx, list_path, measured, stops.checker(session), progress)

    event = area.run.click(run, inputs=[tab.proofread.list_path, tab.measured],
                           outputs=[*area.outputs(), tab.measured, *tab.inputs.components()],
                           concurrency_id="dataset-quality", concurrency_limit=1)
    ctx.programmatic_changes.append(event)
    event.then(**provenance)
    _stop_button(area.stop, stops, "quality:")
