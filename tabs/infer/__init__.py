"""Inference tab: text to speech from a reference clip with your or the official models.

Layout and events only (``sections/`` build the parts, ``run`` holds the handlers); the
weight lists come from ``gsv_core.infer.catalog``, the history from
``gsv_core.infer.history``, synthesis from ``gsv_core.infer.engine``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import gradio as gr

from gsv_core.infer.history import remove_results, results_folder
from tabs.common import AppContext, echo_range, refresh_live
from tabs.infer import compare, run
from tabs.infer.sections import compare as compare_section
from tabs.infer.sections import models, output, reference, sampling, text
from tabs.infer.sections.compare import CompareArea
from tabs.infer.sections.models import ModelPickers
from tabs.infer.sections.output import OutputArea
from tabs.infer.sections.reference import ReferenceInputs
from tabs.infer.sections.sampling import SamplingInputs
from tabs.infer.sections.text import TargetInputs

__all__ = ["InferTab", "build", "refresh", "wire"]


@dataclass
class InferTab:
    models: ModelPickers
    reference: ReferenceInputs
    target: TargetInputs
    sampling: SamplingInputs
    output: OutputArea
    compare: CompareArea

    def request_inputs(self) -> list[gr.components.Component]:
        """The controls ``run.read_request`` reads, in its argument order."""
        return [self.models.gpt, self.models.sovits, *self.reference.components(),
                *self.target.components(), *self.sampling.components(), self.target.readings]


def build(ctx: AppContext) -> InferTab:
    t = ctx.t
    picks = models.build(ctx)
    with gr.Row():
        with gr.Column():
            gr.Markdown("### " + t("Reference"))
            ref = reference.build(ctx)
        with gr.Column():
            gr.Markdown("### " + t("Text"))
            target = text.build(ctx)
    with gr.Accordion(t("Sampling and pacing"), open=True):
        sampler = sampling.build(ctx)
    out = output.build(ctx)
    ab = compare_section.build(ctx)
    return InferTab(picks, ref, target, sampler, out, ab)


def refresh(ctx: AppContext, gpt: str | None = None, sovits: str | None = None) -> tuple:
    """Re-list the weight files: (GPT update, SoVITS update, "no models" notice)."""
    return models.refresh(ctx, gpt, sovits)


def wire(tab: InferTab, ctx: AppContext) -> None:
    runtime = run.InferRuntime(engine=run.EngineSlot(ctx), stops=run.StopRequests(),
                               results=results_folder())
    ctx.inference_engine = runtime.engine.get
    ctx.on_close.append(partial(remove_results, runtime.results))
    out = tab.output
    ab = tab.compare
    tab.models.refresh.click(partial(refresh, ctx), inputs=[tab.models.gpt, tab.models.sovits],
                             outputs=tab.models.outputs()).then(
        partial(reference.refresh, ctx),
        outputs=[tab.reference.dataset_clip, tab.reference.emotion_clip]).then(
        partial(compare_section.refresh, ctx), inputs=[ab.experiment],
        outputs=[ab.experiment, ab.epochs])
    ab.experiment.select(partial(compare_section.pick_experiment, ctx), inputs=[ab.experiment],
                         outputs=[ab.epochs])
    tab.reference.dataset_clip.select(partial(reference.pick_clip, ctx),
                                      inputs=[tab.reference.dataset_clip],
                                      outputs=[tab.reference.text, tab.reference.language])
    tab.reference.emotion_clip.select(partial(reference.pick_emotion, ctx),
                                      inputs=[tab.reference.emotion_clip],
                                      outputs=[tab.reference.dataset_clip, tab.reference.text,
                                               tab.reference.language])
    for slider in tab.sampling.sliders():
        echo_range(slider, ctx.t)
    refresh_live(ctx, [tab.sampling.batch.slider], tab.sampling.batch.outputs(),
                 sampling.refresh_batch)
    target = tab.target
    # The preview follows every edit; only the newest counts (a keystroke outdates the last).
    gr.on([target.text.change, target.language.change, target.cut_method.change,
           target.readings.change], partial(text.read_as, ctx),
          inputs=target.preview_inputs(), outputs=[target.read_as],
          trigger_mode="always_last", show_progress="hidden")
    controls = tab.request_inputs()
    # A set: the handler gets one dict, so it can also take Gradio's request and progress,
    # which Gradio passes only to positional parameters.
    inputs = {out.history, *controls}
    history_outputs = [out.history, *out.history_outputs()]

    def generate(data: dict, request: gr.Request, progress=gr.Progress()):  # noqa: B008
        return run.generate(ctx, runtime, data[out.history], *(data[c] for c in controls),
                            request=request, progress=progress)

    def stream(data: dict, request: gr.Request):
        yield from run.stream(ctx, runtime, data[out.history], *(data[c] for c in controls),
                              request=request)

    def stop(request: gr.Request) -> None:
        run.stop(runtime, request)

    def render_epochs(data: dict, progress=gr.Progress()):  # noqa: B008
        return compare.render(ctx, runtime, data[ab.shown], data[ab.epochs],
                              *(data[c] for c in controls), progress=progress)

    out.generate.click(
        generate, inputs=inputs, outputs=[out.message, out.result, *history_outputs],
        concurrency_id=run.ENGINE_QUEUE, concurrency_limit=1)
    stream_event = out.stream.click(
        stream, inputs=inputs, outputs=[out.message, out.live, out.result, *history_outputs],
        concurrency_id=run.ENGINE_QUEUE, concurrency_limit=1)
    # The stop flag ends a whole render between segments; a stream is also cancelled, so its
    # chunks stop at once. Not queued behind the render it stops.
    out.stop.click(stop, cancels=[stream_event], queue=False)
    ab.render.click(render_epochs, inputs={ab.shown, ab.epochs, *controls},
                    outputs=[ab.message, ab.shown, *ab.players], concurrency_id=run.ENGINE_QUEUE,
                    concurrency_limit=1)
