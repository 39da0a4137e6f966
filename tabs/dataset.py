"""Dataset tab: slice, transcribe, proofread, summarise and format a dataset.

Slicing, ASR, proofreading and formatting arrive in later releases; their
controls are laid out with their real parameters so the workflow reads end to
end, and their buttons say they are not available yet. The dataset summary is
filled in by hand for now (the quality check will measure it) and drives the
limits of every other tab.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

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
    echo_update,
    governed_control,
    governed_update,
    not_available_button,
    notice_markdown,
    reason_markdown,
    refresh_live,
    why_accordion,
    why_markdown,
)
from tabs.governed import GovernedNumber, GovernedSlider

ASR_LANGUAGES = ("zh", "yue", "en", "ja", "ko", "auto")


@dataclass
class DatasetTab:
    inputs: DatasetInputs
    slice_length: GovernedControl
    slice_why: gr.Markdown
    advice_md: gr.Markdown

    def outputs(self) -> list[gr.components.Component]:
        """What ``refresh`` returns, in order."""
        return [*self.slice_length.outputs(), self.slice_why, self.advice_md,
                *self.inputs.components()]


def _slicer_section(ctx: AppContext) -> tuple[GovernedControl, gr.Markdown]:
    t = ctx.t
    with gr.Accordion(t("1. Slice long recordings"), open=True):
        with gr.Row():
            gr.Textbox(label=t("Recordings (file or folder)"),
                       info=t("Long recordings to cut at silences; wav, flac, ogg or mp3."))
            gr.Textbox(label=t("Slices folder"),
                       value=str(ctx.workspace.slicer_dir),
                       info=t("Where the slices are written (GPT-SoVITS: output/slicer_opt)."))
        with gr.Row():
            slice_length = governed_control(slice_length_limit(), t("Maximum slice length (s)"),
                                            t, "slice-length")
            gr.Slider(-60, 0, value=-34, step=1, label=t("Silence threshold (dB)"),
                      info=t("Quieter than this counts as silence; raise it for noisy audio."))
            gr.Slider(1000, 20000, value=4000, step=100, label=t("Minimum slice length (ms)"),
                      info=t("Shorter pieces are merged with their neighbour."))
        with gr.Row():
            gr.Slider(50, 2000, value=300, step=10, label=t("Minimum silence to cut (ms)"),
                      info=t("Shorter pauses never split a sentence."))
            gr.Slider(10, 2000, value=500, step=10, label=t("Silence kept at the edges (ms)"),
                      info=t("How much of each silence stays around a slice."))
            gr.Slider(0.1, 1.0, value=0.9, step=0.05, label=t("Peak level after slicing"),
                      info=t("Slices are normalised to this peak amplitude."))
        slice_why = why_accordion(t, "slice-why")
        not_available_button(t("Slice"), t("arrives with the dataset release"), t)
    return slice_length, slice_why


def _asr_section(ctx: AppContext) -> None:
    t = ctx.t
    with gr.Accordion(t("2. Transcribe (ASR)"), open=False):
        with gr.Row():
            gr.Textbox(label=t("Slices folder"), value=str(ctx.workspace.slicer_dir),
                       info=t("The folder of clips to transcribe."))
            gr.Dropdown(list(ASR_LANGUAGES), value="zh", label=t("Language"),
                        info=t("Chinese and Cantonese use FunASR; other languages Faster Whisper."))
            gr.Dropdown(["float32", "float16", "int8"], value="float32", label=t("Precision"),
                        info=t("float16/int8 are faster on a GPU with a small accuracy cost."))
        not_available_button(t("Transcribe"), t("arrives with the dataset release"), t)


# The summary fields' own explanations, shown while their value is fine (``field_infos``).
MINUTES_INFO = mark("All clips together (Q-3, E-1, R-3). Empty: not measured.")
P95_INFO = mark("Longer slices lower the batch limits (B-4, Q-4). Empty: not measured.")
CLIPS_INFO = mark("Lines in the .list file; a batch holds at most this many clips (B-8). "
                  "Empty: not counted.")
QUALITY_INFO = mark("Noise, reverb, loudness, clipping (Q-1); gates DPO (D-3) and high SoVITS "
                    "rounds (R-3).")
REVIEWED_INFO = mark("Share of transcripts a person has checked (D-3, R-3).")


def _summary_section(ctx: AppContext) -> DatasetInputs:
    t = ctx.t
    with gr.Accordion(t("3. Dataset summary"), open=True):
        gr.Markdown(t("Measured by the quality check in a later release; fill it in by hand for "
                      "now. Every tab's limits follow it."))
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
    return DatasetInputs(minutes, p95, clips, quality, reviewed)


def build(ctx: AppContext) -> DatasetTab:
    t = ctx.t
    slice_length, slice_why = _slicer_section(ctx)
    _asr_section(ctx)
    inputs = _summary_section(ctx)
    advice_md = gr.Markdown(elem_id="dataset-advice")
    with gr.Accordion(t("4. Proofread and format for training"), open=False):
        gr.Textbox(label=t("Label file (.list)"),
                   value=str(ctx.workspace.default_list_file),
                   info=t("wav_path|speaker|language|text, one clip per line (GPT-SoVITS format)."))
        with gr.Row():
            later = t("arrives with the dataset release")
            not_available_button(t("Proofread labels"), later, t)
            not_available_button(t("Format for training"), later, t)
    ctx.dataset = inputs
    return DatasetTab(inputs, slice_length, slice_why, advice_md)


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
