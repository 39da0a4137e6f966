"""Sampling and pacing: top-k, top-p, temperature, repetition penalty, speed, pause, seed.

The sliders pass typed values on unjudged (``GovernedSlider``), so a value out of range
reaches ``InferenceOptions.validate`` and comes back as the tab's one error message, naming
the field and its range, instead of a Gradio toast. Defaults are upstream's (api_v2.py and
inference_webui.py at 48b1a01).
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.infer.options import RANDOM_SEED
from tabs.common import AppContext
from tabs.governed import GovernedNumber, GovernedSlider


@dataclass
class SamplingInputs:
    top_k: GovernedSlider
    top_p: GovernedSlider
    temperature: GovernedSlider
    repetition_penalty: GovernedSlider
    speed: GovernedSlider
    pause_s: GovernedSlider
    seed: GovernedNumber
    random_seed: gr.Checkbox

    def components(self) -> list[gr.components.Component]:
        return [self.top_k, self.top_p, self.temperature, self.repetition_penalty, self.speed,
                self.pause_s, self.seed, self.random_seed]


def build(ctx: AppContext) -> SamplingInputs:
    t = ctx.t
    with gr.Row():
        top_k = GovernedSlider(1, 100, value=15, step=1, label=t("Top-k"),
                               elem_id="infer-top-k",
                               info=t("Sample from the k most likely tokens (default 15)."))
        top_p = GovernedSlider(0.05, 1.0, value=1.0, step=0.05, label=t("Top-p"),
                               elem_id="infer-top-p",
                               info=t("Sample from the smallest set of tokens whose "
                                      "probability reaches p (1: off)."))
        temperature = GovernedSlider(0.05, 1.0, value=1.0, step=0.05, label=t("Temperature"),
                                     elem_id="infer-temperature",
                                     info=t("Lower is steadier, higher is livelier."))
        repetition_penalty = GovernedSlider(
            1.0, 2.0, value=1.35, step=0.05, label=t("Repetition penalty"),
            elem_id="infer-repetition-penalty",
            info=t("Discourages repeating the same sounds; upstream's default is 1.35."))
    with gr.Row():
        speed = GovernedSlider(0.6, 1.65, value=1.0, step=0.05, label=t("Speed"),
                               elem_id="infer-speed", info=t("Speaking rate of the output."))
        pause_s = GovernedSlider(0.0, 1.0, value=0.3, step=0.01,
                                 label=t("Pause between segments (s)"),
                                 elem_id="infer-pause",
                                 info=t("Silence inserted between the segments of the text."))
        seed = GovernedNumber(value=RANDOM_SEED, precision=0, label=t("Seed"),
                              elem_id="infer-seed",
                              info=t("The same seed, text and settings give the same audio. "
                                     "Empty or −1: random."))
        random_seed = gr.Checkbox(True, label=t("Random seed"), elem_id="infer-random-seed",
                                  info=t("Pick a new seed each time; the seed used is shown "
                                         "with the result, to reproduce it."))
    return SamplingInputs(top_k, top_p, temperature, repetition_penalty, speed, pause_s, seed,
                          random_seed)


def seed_value(seed: float | None, random_seed: bool) -> int | float:
    """The seed to ask for: ``RANDOM_SEED`` when random is ticked or the box is empty; a
    typed fraction is passed on for ``InferenceOptions.validate`` to refuse."""
    if random_seed or seed is None:
        return RANDOM_SEED
    return int(seed) if float(seed).is_integer() else seed
