"""Inference tab: text to speech from a reference clip with your or the official models.

Synthesis arrives with the inference release; the controls carry the real
parameters and ranges of GPT-SoVITS v2 inference.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.i18n import Translator, mark
from gsv_core.models.registry import inference_models
from gsv_core.workspace import Workspace
from tabs.common import AppContext, not_available_button

# (label, language mode) as GPT-SoVITS v2 names them; the mode is what the text front end takes.
TEXT_LANGUAGES = (
    (mark("Chinese"), "all_zh"),
    (mark("English"), "en"),
    (mark("Japanese"), "all_ja"),
    (mark("Cantonese"), "all_yue"),
    (mark("Korean"), "all_ko"),
    (mark("Chinese-English mix"), "zh"),
    (mark("Japanese-English mix"), "ja"),
    (mark("Cantonese-English mix"), "yue"),
    (mark("Korean-English mix"), "ko"),
    (mark("Multilingual mix"), "auto"),
    (mark("Multilingual mix (Cantonese)"), "auto_yue"),
)
SPLIT_METHODS = (
    (mark("No split"), "cut0"),
    (mark("Every 4 sentences"), "cut1"),
    (mark("Every 50 characters"), "cut2"),
    (mark("At Chinese full stops"), "cut3"),
    (mark("At English full stops"), "cut4"),
    (mark("At every punctuation mark"), "cut5"),
)


@dataclass
class InferTab:
    gpt_weights: gr.Dropdown
    sovits_weights: gr.Dropdown
    refresh_models: gr.Button
    target_text: gr.Textbox


def model_choices(workspace: Workspace, t: Translator) -> tuple[list[tuple[str, str]],
                                                                list[tuple[str, str]]]:
    """(GPT, SoVITS) dropdown entries: the user's weights by file name, then the official ones."""
    models = inference_models(workspace)

    def entries(paths: tuple, official) -> list[tuple[str, str]]:
        return [(t("Official pretrained ({name})", name=p.name) if p == official else p.name,
                 str(p)) for p in paths]

    return entries(models.gpt, models.official_gpt), entries(models.sovits,
                                                             models.official_sovits)


def _language_dropdown(ctx: AppContext, label: str, info: str, elem_id: str) -> gr.Dropdown:
    return gr.Dropdown([(ctx.t(name), mode) for name, mode in TEXT_LANGUAGES], value="all_zh",
                       label=label, info=info, elem_id=elem_id)


def build(ctx: AppContext) -> InferTab:
    t = ctx.t
    gpt_choices, sovits_choices = model_choices(ctx.workspace, t)
    with gr.Row(equal_height=True):
        gpt_weights = gr.Dropdown(
            gpt_choices, value=gpt_choices[0][1] if gpt_choices else None,
            label=t("GPT weights"), elem_id="infer-gpt-weights",
            info=t("Your GPT_weights_v2/*.ckpt or the official pretrained GPT "
                   "(download it on the System tab)."))
        sovits_weights = gr.Dropdown(
            sovits_choices, value=sovits_choices[0][1] if sovits_choices else None,
            label=t("SoVITS weights"), elem_id="infer-sovits-weights",
            info=t("Your SoVITS_weights_v2/*.pth or the official pretrained SoVITS."))
        refresh_models = gr.Button(t("Refresh model lists"), variant="secondary", scale=0)
    with gr.Row():
        with gr.Column():
            gr.Audio(type="filepath", label=t("Reference audio (3–10 s)"))
            gr.Textbox(label=t("Reference text"), lines=2,
                       info=t("Exactly what the reference clip says."))
            _language_dropdown(ctx, t("Reference language"),
                               t("The language of the reference text."), "ref-language")
        with gr.Column():
            target_text = gr.Textbox(label=t("Text to speak"), lines=6,
                                     info=t("Blank lines and runs of punctuation are fine "
                                            "(X-2, X-4)."))
            _language_dropdown(ctx, t("Text language"),
                               t("Mixed modes keep English runs in English."), "text-language")
            gr.Dropdown([(t(name), method) for name, method in SPLIT_METHODS], value="cut1",
                        label=t("Split the text"),
                        info=t("Long text is synthesised piece by piece; decimals such as 3.14 "
                               "are never split (X-3)."))
    with gr.Row():
        gr.Slider(1, 100, value=15, step=1, label=t("Top-k"),
                  info=t("Sample from the k most likely tokens."))
        gr.Slider(0.05, 1.0, value=1.0, step=0.05, label=t("Top-p"),
                  info=t("Sample from the smallest set of tokens whose probability reaches p."))
        gr.Slider(0.05, 1.0, value=1.0, step=0.05, label=t("Temperature"),
                  info=t("Lower is steadier, higher is livelier."))
        gr.Slider(0.6, 1.65, value=1.0, step=0.05, label=t("Speed"),
                  info=t("Speaking rate of the output."))
        gr.Slider(0.1, 0.5, value=0.3, step=0.01, label=t("Pause between sentences (s)"),
                  info=t("Silence inserted between split pieces."))
    not_available_button(t("Synthesise"), t("arrives with the inference release"), t)
    return InferTab(gpt_weights, sovits_weights, refresh_models, target_text)


def refresh(ctx: AppContext) -> tuple[dict, dict]:
    """Re-list the weight files (after training or a download), keeping nothing stale."""
    gpt_choices, sovits_choices = model_choices(ctx.workspace, ctx.t)
    return (gr.update(choices=gpt_choices, value=gpt_choices[0][1] if gpt_choices else None),
            gr.update(choices=sovits_choices,
                      value=sovits_choices[0][1] if sovits_choices else None))


def wire(tab: InferTab, ctx: AppContext) -> None:
    tab.refresh_models.click(lambda: refresh(ctx),
                             outputs=[tab.gpt_weights, tab.sovits_weights])
