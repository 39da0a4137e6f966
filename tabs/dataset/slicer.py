"""Slicer section: cut long recordings at silences into 32 kHz slices (``slice_job``).

Layout and handlers. The settings are validated on Slice by ``SlicerOptions`` (a
``ConfigError`` naming the field shows under the controls); the job spreads the files
over one process per CPU core, and one bad file is listed, never the end of the batch (X-5).
The collapsed "Clean up first (optional)" group adds vocal separation and denoise before
the cut (``gsv_core.dataset.cleanup_ui``); a step that cannot run here is named in the result
with what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.dataset.cleanup_ui import cleanup_from_values
from gsv_core.dataset.denoise import DEFAULT_STRENGTH, STRENGTH_RANGE
from gsv_core.dataset.slice_job import SliceJobResult, default_output_dir, slice_audio
from gsv_core.dataset.slicer import SlicerOptions
from gsv_core.errors import ConfigError, GsvError
from gsv_core.guidelines import slice_length_limit
from gsv_core.i18n import Translator
from tabs.common import AppContext, GovernedControl, error_markdown, governed_control

FAILURES_SHOWN = 20   # failures listed by name; the rest are counted
SLICER_SETTINGS = 8   # settings() before the clean-up controls (options_from_values' arguments)


@dataclass
class SlicerArea:
    input_path: gr.Textbox
    output_dir: gr.Textbox
    slice_length: GovernedControl
    threshold_db: gr.Slider
    min_length_ms: gr.Slider
    min_interval_ms: gr.Slider
    hop_ms: gr.Slider
    max_sil_kept_ms: gr.Slider
    normalize_max: gr.Slider
    alpha: gr.Slider
    denoise: gr.Checkbox
    denoise_strength: gr.Slider
    separate_model: gr.Textbox
    keep_cleaned: gr.Checkbox
    run: gr.Button
    stop: gr.Button
    result: gr.Markdown

    def settings(self) -> list[gr.components.Component]:
        """The controls ``run_slicer`` reads after the paths, in its argument order: the
        ``SLICER_SETTINGS`` slicer settings, then the clean-up controls."""
        return [self.slice_length.slider, self.threshold_db, self.min_length_ms,
                self.min_interval_ms, self.hop_ms, self.max_sil_kept_ms, self.normalize_max,
                self.alpha, self.denoise, self.denoise_strength, self.separate_model,
                self.keep_cleaned]


def build(ctx: AppContext) -> SlicerArea:
    t = ctx.t
    defaults = SlicerOptions()
    with gr.Row():
        input_path = gr.Textbox(label=t("Recordings (file or folder)"), elem_id="slice-input",
                                info=t("Long recordings to cut at silences; a folder is "
                                       "searched with its sub-folders (wav, flac, ogg, mp3, "
                                       "m4a and video files)."))
        output_dir = gr.Textbox(label=t("Slices folder"), elem_id="slice-output",
                                placeholder=str(ctx.workspace.slicer_dir / "…"),
                                info=t("Where the slices are written; filled in as "
                                       "output/slicer_opt/<input name> when you give the "
                                       "recordings. Existing files are never overwritten."))
    with gr.Row():
        slice_length = governed_control(slice_length_limit(), t("Maximum slice length (s)"),
                                        t, "slice-length", fixed_default=True)
        threshold_db = gr.Slider(-100, 0, value=defaults.threshold_db, step=1,
                                 label=t("Silence threshold (dB)"), elem_id="slice-threshold",
                                 info=t("Quieter than this counts as silence; raise it for "
                                        "noisy audio."))
        min_length_ms = gr.Slider(100, 20000, value=defaults.min_length_ms, step=100,
                                  label=t("Minimum slice length (ms)"),
                                  elem_id="slice-min-length",
                                  info=t("A slice is only cut off once it is this long; "
                                         "at least the minimum silence."))
    with gr.Row():
        min_interval_ms = gr.Slider(10, 5000, value=defaults.min_interval_ms, step=10,
                                    label=t("Minimum silence to cut (ms)"),
                                    elem_id="slice-min-interval",
                                    info=t("Shorter pauses never split a sentence; at least "
                                           "one hop."))
        hop_ms = gr.Slider(1, 100, value=defaults.hop_ms, step=1, label=t("Hop (ms)"),
                           elem_id="slice-hop",
                           info=t("Step of the loudness measure: cuts fall on this grid."))
        max_sil_kept_ms = gr.Slider(10, 5000, value=defaults.max_sil_kept_ms, step=10,
                                    label=t("Silence kept at the edges (ms)"),
                                    elem_id="slice-max-sil",
                                    info=t("How much of each silence stays around a slice; "
                                           "at least one hop."))
    with gr.Row():
        normalize_max = gr.Slider(0.05, 1.0, value=defaults.normalize_max, step=0.05,
                                  label=t("Peak level after slicing"),
                                  elem_id="slice-normalize",
                                  info=t("Slices are normalised to this peak amplitude."))
        alpha = gr.Slider(0, 1, value=defaults.alpha, step=0.05,
                          label=t("Share of the normalised signal"), elem_id="slice-alpha",
                          info=t("0 keeps the original level, 1 fully normalises "
                                 "(GPT-SoVITS: 0.25)."))
    denoise, denoise_strength, separate_model, keep_cleaned = _cleanup_controls(ctx)
    with gr.Row():
        run = gr.Button(t("Slice"), variant="primary", elem_id="slice-run")
        stop = gr.Button(t("Stop"), variant="stop", elem_id="slice-stop")
    result = gr.Markdown(elem_id="slice-result")
    return SlicerArea(input_path, output_dir, slice_length, threshold_db, min_length_ms,
                      min_interval_ms, hop_ms, max_sil_kept_ms, normalize_max, alpha, denoise,
                      denoise_strength, separate_model, keep_cleaned, run, stop, result)


def _cleanup_controls(ctx: AppContext) -> tuple[gr.Checkbox, gr.Slider, gr.Textbox,
                                                gr.Checkbox]:
    """The collapsed "Clean up first (optional)" group: off unless the user opens it."""
    t = ctx.t
    low, high = STRENGTH_RANGE
    with gr.Accordion(t("Clean up first (optional)"), open=False, elem_id="slice-cleanup"):
        with gr.Row():
            denoise = gr.Checkbox(False, label=t("Reduce background noise"),
                                  elem_id="slice-denoise",
                                  info=t("Removes steady noise (hiss, hum, fans) from each "
                                         "recording before it is cut. Not for music, "
                                         "reverb or other voices."))
            denoise_strength = gr.Slider(low, high, value=DEFAULT_STRENGTH, step=0.05,
                                         label=t("Denoise strength"),
                                         elem_id="slice-denoise-strength",
                                         info=t("Share of the noise removed; 1 removes all "
                                                "it can, lower keeps more of the room "
                                                "sound."))
        with gr.Row():
            separate_model = gr.Textbox(label=t("Vocal separation model (optional)"),
                                        elem_id="slice-separate-model",
                                        placeholder="…/model_bs_roformer_ep_317_sdr_12.9755.ckpt",
                                        info=t("A local UVR/MDX/Roformer model file to keep "
                                               "only the voice (or remove reverb/echo) "
                                               "first. Its folder also needs "
                                               "download_checks.json and the model's data "
                                               "files; nothing is downloaded. Empty: no "
                                               "separation."))
            keep_cleaned = gr.Checkbox(False, label=t("Keep the cleaned recordings"),
                                       elem_id="slice-keep-cleaned",
                                       info=t("Saves each cleaned recording in "
                                              "output/cleanup_opt/<input name> to listen to; "
                                              "otherwise it is removed after slicing. Your "
                                              "recordings are never changed."))
    return denoise, denoise_strength, separate_model, keep_cleaned


def default_output(ctx: AppContext, input_path: str, output_dir: str) -> dict:
    """Fill in the slices folder from the recordings' name, unless the user typed one."""
    if (output_dir and output_dir.strip()) or not input_path or not input_path.strip():
        return gr.update()
    try:
        return gr.update(value=str(default_output_dir(ctx.workspace, input_path.strip())))
    except GsvError:
        return gr.update()


def options_from_values(max_slice_s: float | None, threshold_db: float, min_length_ms: float,
                        min_interval_ms: float, hop_ms: float, max_sil_kept_ms: float,
                        normalize_max: float, alpha: float) -> SlicerOptions:
    """The slicer settings as typed (``ConfigError`` naming the field when inconsistent)."""
    return SlicerOptions(threshold_db=threshold_db, min_length_ms=min_length_ms,
                         min_interval_ms=min_interval_ms, hop_ms=hop_ms,
                         max_sil_kept_ms=max_sil_kept_ms,
                         max_slice_s=slice_length_limit(max_slice_s).value,
                         normalize_max=normalize_max, alpha=alpha)


def result_markdown(t: Translator, result: SliceJobResult) -> str:
    """What the job did: slices written, failures with what to do, files not started."""
    written = sum(s.status != "unchanged" for s in result.slices)
    unchanged = len(result.slices) - written
    head = "✅ " if result.ok and not result.notices and not result.warnings else "⚠️ "
    parts = [head + t("{written} slices written to {folder} ({unchanged} already there), "
                      "{minutes:.1f} minutes of audio.", written=written,
                      folder=f"`{result.output_dir}`", unchanged=unchanged,
                      minutes=result.audio_s / 60)]
    parts.extend("⚠️ " + notice for notice in result.notices)
    parts.extend("⚠️ " + warning for warning in result.warnings)
    if result.cleaned:
        parts.append(t("{count} cleaned recording(s) kept in {folder}.",
                       count=len(result.cleaned), folder=f"`{result.cleaned[0].parent}`"))
    if result.failures:
        items = [f"- `{failure.source.name}`: {failure.message}"
                 + (f" ➡️ {failure.advice}" if failure.advice else "")
                 for failure in result.failures[:FAILURES_SHOWN]]
        if len(result.failures) > FAILURES_SHOWN:
            items.append(f"- … (+{len(result.failures) - FAILURES_SHOWN})")
        parts.append("\n".join([t("{count} file(s) failed and were skipped:",
                                   count=len(result.failures)), *items]))
    if result.not_started:
        parts.append("⏹ " + t("Stopped: {count} file(s) not started; slicing again continues "
                             "(finished slices are kept).", count=len(result.not_started)))
    return "\n\n".join(parts)


def run_slicer(ctx: AppContext, input_path: str, output_dir: str, *settings: object,
               should_stop: object, progress: object) -> str:
    """Slice ``input_path``; returns the result (or the error) as Markdown."""
    t = ctx.t
    try:
        options = options_from_values(*settings[:SLICER_SETTINGS])  # type: ignore[arg-type]
        if not input_path or not input_path.strip():
            raise ConfigError("No recordings are given.",
                              "Type the path of an audio file or a folder of recordings.")
        source = input_path.strip()
        # Without the clean-up values (a caller that predates them): everything off.
        cleanup_values = settings[SLICER_SETTINGS:] or (False, None, None, False)
        cleanup = cleanup_from_values(ctx.workspace, source,
                                      *cleanup_values)  # type: ignore[arg-type]
        out = (output_dir.strip() if output_dir and output_dir.strip()
               else str(default_output_dir(ctx.workspace, source)))

        def report(done: int, total: int, message: str) -> None:
            progress((done, total), desc=message)  # type: ignore[operator]

        result = slice_audio(source, out, options, progress=report,
                             should_stop=should_stop,  # type: ignore[arg-type]
                             cleanup=cleanup)
    except GsvError as error:
        return error_markdown(error, t)
    return result_markdown(t, result)
