"""The target: the text to speak, its language mode and how long text is cut into segments."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from tabs.common import AppContext
from tabs.infer.choices import SPLIT_METHODS
from tabs.infer.sections.reference import language_dropdown


@dataclass
class TargetInputs:
    text: gr.Textbox
    language: gr.Dropdown
    cut_method: gr.Dropdown

    def components(self) -> list[gr.components.Component]:
        return [self.text, self.language, self.cut_method]


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
    return TargetInputs(text, language, cut_method)
