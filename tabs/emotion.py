"""Emotion tab: tag every clip with emotion2vec, proofread the tags (E-1).

Classification arrives in a later release; the recommendation already follows
the dataset summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.guidelines import dataset_from_fields, emotion_advice
from tabs.common import (
    AppContext,
    not_available_button,
    notice_markdown,
    refresh_live,
)


@dataclass
class EmotionTab:
    advice_md: gr.Markdown


def build(ctx: AppContext) -> EmotionTab:
    t = ctx.t
    advice_md = gr.Markdown(elem_id="emotion-advice")
    with gr.Row():
        gr.Textbox(label=t("emotion2vec model folder"),
                   value=str(ctx.workspace.emotion2vec_dir),
                   info=t("A local FunASR model folder (config.yaml, model.pt, tokens.txt)."))
        gr.Textbox(label=t("Label file (.list)"),
                   value=str(ctx.workspace.default_list_file),
                   info=t("The clips to classify."))
    with gr.Row():
        gr.Slider(0.0, 1.0, value=0.5, step=0.05, label=t("Minimum confidence"),
                  info=t("Tags below this score are marked for review."))
        gr.Checkbox(value=True, label=t("Review uncertain tags first"),
                    info=t("Sort the proofreading list by confidence, lowest first."))
    with gr.Row():
        later = t("arrives with the emotion release")
        not_available_button(t("Classify emotions"), later, t)
        not_available_button(t("Proofread tags"), later, t)
    return EmotionTab(advice_md)


def refresh(ctx: AppContext, minutes: float | None, p95_slice_s: float | None,
            clip_count: float | None, quality: str | None, reviewed_pct: float | None) -> str:
    advice = emotion_advice(dataset_from_fields(minutes, p95_slice_s, clip_count, quality,
                                                reviewed_pct).summary)
    return notice_markdown(advice.reasons, ctx.t, "⭐" if advice.recommended else "ℹ️")


def wire(tab: EmotionTab, ctx: AppContext) -> None:
    assert ctx.dataset is not None, "build the dataset tab before wiring the emotion tab"
    refresh_live(ctx, ctx.dataset.components(), [tab.advice_md], refresh)
