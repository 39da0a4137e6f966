"""Model pickers: GPT and SoVITS weights (``gsv_core.infer.catalog`` orders them), refresh,
and the "no models found" notice that says where files go."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.i18n import Translator
from gsv_core.infer.catalog import WeightCatalog, WeightFile, weight_catalog
from tabs.common import AppContext


@dataclass
class ModelPickers:
    gpt: gr.Dropdown
    sovits: gr.Dropdown
    refresh: gr.Button
    notice: gr.Markdown

    def outputs(self) -> list[gr.components.Component]:
        return [self.gpt, self.sovits, self.notice]


def weight_label(entry: WeightFile, t: Translator) -> str:
    if entry.official:
        return t("Official pretrained ({name})", name=entry.path.name)
    if entry.epoch is None:
        return entry.path.name
    return t("{experiment} · epoch {epoch} ({file})", experiment=entry.experiment,
             epoch=entry.epoch, file=entry.path.name)


def _choices(entries: tuple[WeightFile, ...], t: Translator) -> list[tuple[str, str]]:
    return [(weight_label(entry, t), str(entry.path)) for entry in entries]


def notice_markdown(catalog: WeightCatalog, t: Translator) -> str:
    """Empty when both lists have a file; else where to put files, per missing kind."""
    lines = []
    if not catalog.gpt:
        lines.append("⚠️ " + t("No GPT models found — put `.ckpt` files in `{folder}` or "
                               "download the official pretrained on the Settings tab.",
                               folder=catalog.gpt_folder))
    if not catalog.sovits:
        lines.append("⚠️ " + t("No SoVITS models found — put `.pth` files in `{folder}` or "
                               "download the official pretrained on the Settings tab.",
                               folder=catalog.sovits_folder))
    return "\n\n".join(lines)


def _keep(current: str | None, choices: list[tuple[str, str]]) -> str | None:
    """The current pick when it is still listed (a refresh must not switch models)."""
    values = [value for _, value in choices]
    return current if current in values else (values[0] if values else None)


def build(ctx: AppContext) -> ModelPickers:
    t = ctx.t
    catalog = weight_catalog(ctx.workspace)
    gpt_choices, sovits_choices = _choices(catalog.gpt, t), _choices(catalog.sovits, t)
    with gr.Row(equal_height=True):
        gpt = gr.Dropdown(
            gpt_choices, value=_keep(None, gpt_choices), label=t("GPT weights"),
            elem_id="infer-gpt-weights",
            info=t("Your GPT_weights_v2/*.ckpt, newest experiment first, or the official "
                   "pretrained GPT (download it on the Settings tab)."))
        sovits = gr.Dropdown(
            sovits_choices, value=_keep(None, sovits_choices), label=t("SoVITS weights"),
            elem_id="infer-sovits-weights",
            info=t("Your SoVITS_weights_v2/*.pth, newest experiment first, or the official "
                   "pretrained SoVITS."))
        refresh_button = gr.Button(t("Refresh model lists"), variant="secondary", scale=0,
                                   elem_id="infer-refresh-models")
    notice = gr.Markdown(notice_markdown(catalog, t), elem_id="infer-models-notice")
    return ModelPickers(gpt, sovits, refresh_button, notice)


def refresh(ctx: AppContext, gpt: str | None = None,
            sovits: str | None = None) -> tuple[dict, dict, str]:
    """Re-list the weight files (after training or a download), keeping the current picks."""
    catalog = weight_catalog(ctx.workspace)
    gpt_choices, sovits_choices = _choices(catalog.gpt, ctx.t), _choices(catalog.sovits, ctx.t)
    return (gr.update(choices=gpt_choices, value=_keep(gpt, gpt_choices)),
            gr.update(choices=sovits_choices, value=_keep(sovits, sovits_choices)),
            notice_markdown(catalog, ctx.t))
