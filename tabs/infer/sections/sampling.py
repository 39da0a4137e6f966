"""Sampling and pacing: top-k, top-p, temperature, repetition penalty, speed, pause, seed,
and the batch size (segments decoded together).

The sliders' ranges and defaults are upstream's inference UI's (inference_webui.py at
48b1a01); ``InferenceOptions.validate`` accepts the API's wider ranges. A value typed outside
a slider's range is clamped to it by the browser when the box is left, and the line under
the slider says so (``tabs.common.echo_range``): the value in the box is the value rendered.
The sliders pass values on unjudged (``GovernedSlider``), so no value ever makes a Gradio
toast: what the browser cannot clamp (a fraction of top-k, from the API) reaches ``validate``
and comes back as the tab's one error message. The batch size is governed by the guideline
rule (``gsv_core.guidelines.inference_batch_limit``), read for the device the engine will use
without loading it.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.guidelines import Limit, decide_device
from gsv_core.hardware import MachineProfile
from gsv_core.infer.options import RANDOM_SEED, batch_size_limit
from tabs.common import AppContext, GovernedControl, governed_control, governed_update
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
    batch: GovernedControl

    def components(self) -> list[gr.components.Component]:
        """The values ``run.read_request`` reads, in its order."""
        return [self.top_k, self.top_p, self.temperature, self.repetition_penalty, self.speed,
                self.pause_s, self.seed, self.random_seed, self.batch.slider]

    def sliders(self) -> list[GovernedSlider]:
        """The plain sliders (fixed ranges); the batch size is governed instead."""
        return [self.top_k, self.top_p, self.temperature, self.repetition_penalty, self.speed,
                self.pause_s]


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
    with gr.Row():
        batch = governed_control(batch_limit(ctx.profile), t("Batch size (segments)"), t,
                                 "infer-batch")
    return SamplingInputs(top_k, top_p, temperature, repetition_penalty, speed, pause_s, seed,
                          random_seed, batch)


def engine_device(profile: MachineProfile) -> str:
    """The device the tab's engine runs on: the guideline pick; the CPU for simulated cards
    (GSV_FAKE_GPU only shapes the limits, nothing runs on them)."""
    return "cpu" if profile.is_fake else decide_device(profile).inference_device


def batch_limit(profile: MachineProfile, requested: float | None = None) -> Limit:
    """The batch size rule for the engine's device, read without making the engine."""
    return batch_size_limit(profile, engine_device(profile), requested)


def refresh_batch(ctx: AppContext, requested: float | None) -> tuple[dict, dict]:
    """Clamp the batch size typed (None: the default) and say why: ``batch.outputs()``."""
    return governed_update(batch_limit(ctx.profile, requested), ctx.t)


def seed_value(seed: float | None, random_seed: bool) -> int | float:
    """The seed to ask for: ``RANDOM_SEED`` when random is ticked or the box is empty; a
    typed fraction is passed on for ``InferenceOptions.validate`` to refuse."""
    if random_seed or seed is None:
        return RANDOM_SEED
    return int(seed) if float(seed).is_integer() else seed
