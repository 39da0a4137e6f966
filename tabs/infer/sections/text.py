"""The target: the text to speak, its language mode, how long text is cut into segments, how
numbers and symbols are read, and the text as it will be read."""

from __future__ import annotations

import re
from dataclasses import dataclass

import gradio as gr

from gsv_core.errors import GsvError
from tabs.common import AppContext, error_markdown
from tabs.infer.choices import SPLIT_METHODS
from tabs.infer.sections.reference import language_dropdown


@dataclass
class TargetInputs:
    text: gr.Textbox
    language: gr.Dropdown
    cut_method: gr.Dropdown
    readings: gr.Radio
    read_as: gr.Markdown

    def components(self) -> list[gr.components.Component]:
        """What ``run.read_request`` reads after the reference (``readings`` comes last of
        all the request's controls: see ``InferTab.request_inputs``)."""
        return [self.text, self.language, self.cut_method]

    def preview_inputs(self) -> list[gr.components.Component]:
        return [self.text, self.language, self.cut_method, self.readings]


def build(ctx: AppContext) -> TargetInputs:
    t = ctx.t
    text = gr.Textbox(label=t("Text to speak"), lines=6, elem_id="infer-target-text",
                      info=t("Blank lines and runs of punctuation are fine (X-2, X-4)."))
    language = language_dropdown(t, t("Text language"),
                                 t("Mixed modes keep English runs in English; the "
                                   "multilingual modes detect each run's language."),
                                 "text-language")
    cut_method = gr.Dropdown(
        [(t(name), method) for name, method in SPLIT_METHODS], value="cut1",
        label=t("Split the text"), elem_id="infer-cut-method",
        info=t("Long text is synthesised segment by segment, the segments decoded together; "
               "decimals such as 3.14 are never split (X-3)."))
    readings = gr.Radio(
        [(t("As a person would"), "improved"), (t("As upstream GPT-SoVITS does"), "upstream")],
        value="improved", label=t("Read numbers, units and links"), elem_id="infer-readings",
        info=t("URLs, units (5000mAh), times, dates, prices, model numbers and Latin words "
               "are read out in words; the upstream choice reproduces GPT-SoVITS exactly."))
    read_as = gr.Markdown("", elem_id="infer-read-as")
    return TargetInputs(text, language, cut_method, readings, read_as)


def read_as(ctx: AppContext, text: str, language: str, cut_method: str, readings: str) -> str:
    """"Will be read as: …", one line per segment, so a misreading can be fixed before a
    render; nothing for an empty box; a segment with nothing readable says so."""
    from gsv_core.infer.preview import reading_preview

    t = ctx.t
    try:
        segments = reading_preview(text or "", language, cut_method, readings)
    except GsvError as exc:
        return error_markdown(exc, t)
    if not segments:
        return ""
    lines = [f"{i}. {_escaped(s.reading.strip())}" if s.spoken
             else f"{i}. *{t('(nothing here is read aloud: left out)')}*"
             for i, s in enumerate(segments, start=1)]
    return "**" + t("Will be read as:") + "**\n\n" + "\n".join(lines)


def _escaped(text: str) -> str:
    """The text shown literally in Markdown (a typed ``*`` or ``<b>`` is not markup)."""
    return re.sub(r"([\\`*_\[\]#<>|~])", r"\\\1", text)
