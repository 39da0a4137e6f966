"""A/B listening (R-5): several exported epochs of one experiment, one text, one seed, side by
side, each labelled with its epoch (and the training loss there when the log has it).

The reference, text and sampling settings are the tab's own; only the SoVITS weights change
from player to player, so a difference is the training's, not the dice's.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.infer.catalog import weight_catalog
from tabs.common import AppContext

AB_SLOTS = 8  # players side by side; more epochs than this do not compare by ear


@dataclass
class CompareArea:
    experiment: gr.Dropdown
    epochs: gr.CheckboxGroup
    render: gr.Button
    message: gr.Markdown
    players: list[gr.Audio]
    shown: gr.State  # this session's A/B files, replaced by the next comparison


def _epoch_choices(ctx: AppContext, experiment: str | None) -> list[tuple[str, str]]:
    if not experiment:
        return []
    return [(ctx.t("epoch {epoch}", epoch=f.epoch), str(f.path))
            for f in weight_catalog(ctx.workspace).sovits_epochs(experiment)]


def build(ctx: AppContext) -> CompareArea:
    t = ctx.t
    experiments = weight_catalog(ctx.workspace).sovits_experiments()
    first = experiments[0] if experiments else None
    with gr.Accordion(t("A/B listening: compare epochs (R-5)"), open=False,
                      elem_id="infer-ab"):
        with gr.Row():
            experiment = gr.Dropdown(
                experiments, value=first, label=t("Experiment"), elem_id="infer-ab-experiment",
                info=t("An experiment with exported SoVITS epochs (SoVITS_weights_v2)."))
            epochs = gr.CheckboxGroup(
                _epoch_choices(ctx, first), label=t("Epochs to compare"),
                elem_id="infer-ab-epochs",
                info=t("Each is rendered with the reference, text, GPT and settings above and "
                       "one seed, at most {n}.", n=AB_SLOTS))
        render = gr.Button(t("Render the epochs"), variant="secondary",
                           elem_id="infer-ab-render")
        message = gr.Markdown(elem_id="infer-ab-message")
        with gr.Row():
            players = [gr.Audio(type="filepath", interactive=False, visible=False,
                                buttons=["download"], elem_id=f"infer-ab-{index}")
                       for index in range(AB_SLOTS)]
    return CompareArea(experiment, epochs, render, message, players, gr.State([]))


def pick_experiment(ctx: AppContext, experiment: str | None) -> dict:
    """The epochs of the picked experiment, all ticked (the usual comparison)."""
    choices = _epoch_choices(ctx, experiment)
    return gr.update(choices=choices, value=[value for _, value in choices])


def refresh(ctx: AppContext, experiment: str | None) -> tuple[dict, dict]:
    experiments = weight_catalog(ctx.workspace).sovits_experiments()
    kept = experiment if experiment in experiments else (experiments[0] if experiments
                                                         else None)
    return gr.update(choices=experiments, value=kept), pick_experiment(ctx, kept)
