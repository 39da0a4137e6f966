"""The reference: a clip (uploaded or picked from a dataset ``.list``), what it says and in
which language, the prompt-free switch, and extra clips whose timbre is averaged in."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.i18n import Translator
from gsv_core.infer.catalog import (
    DatasetClip,
    EmotionReference,
    dataset_clips,
    emotion_references,
)
from tabs.common import AppContext
from tabs.infer.choices import TEXT_LANGUAGES


@dataclass
class ReferenceInputs:
    audio: gr.Audio
    dataset_clip: gr.Dropdown
    emotion_clip: gr.Dropdown   # fills dataset_clip, text and language; not a run input
    text: gr.Textbox
    language: gr.Dropdown
    prompt_free: gr.Checkbox
    extra_audio: gr.File

    def components(self) -> list[gr.components.Component]:
        """In the order ``run`` takes them."""
        return [self.audio, self.dataset_clip, self.text, self.language, self.prompt_free,
                self.extra_audio]


def language_dropdown(t: Translator, label: str, info: str, elem_id: str) -> gr.Dropdown:
    """One language-mode picker (the reference's and the target text's are alike)."""
    return gr.Dropdown([(t(name), mode) for name, mode in TEXT_LANGUAGES], value="all_zh",
                       label=label, info=info, elem_id=elem_id)


def _clip_choices(clips: list[DatasetClip]) -> list[tuple[str, str]]:
    return [(f"{clip.list_file.stem} · {clip.audio_path.name} — {clip.text[:60]}",
             str(clip.audio_path)) for clip in clips]


def _emotion_choices(t: Translator, found: list[EmotionReference]) -> list[tuple[str, str]]:
    from gsv_core.emotion.review import LABEL_TEXT

    return [(f"{t(LABEL_TEXT.get(ref.emotion, ref.emotion))} · {ref.clip.audio_path.name} "
             f"({ref.score:.2f}) — {ref.clip.text[:50]}", str(ref.clip.audio_path))
            for ref in found]


def build(ctx: AppContext) -> ReferenceInputs:
    t = ctx.t
    audio = gr.Audio(type="filepath", sources=["upload", "microphone"],
                     label=t("Reference audio (3–10 s)"), elem_id="infer-ref-audio")
    dataset_clip = gr.Dropdown(
        _clip_choices(dataset_clips(ctx.workspace)), value=None, allow_custom_value=False,
        label=t("…or a clip of your dataset"), elem_id="infer-ref-clip",
        info=t("Clips of output/asr_opt/*.list; picking one fills in its text and language. "
               "An uploaded clip takes precedence."))
    emotion_clip = gr.Dropdown(
        _emotion_choices(t, emotion_references(ctx.workspace)), value=None,
        label=t("…or a reference that sounds"), elem_id="infer-ref-emotion",
        info=t("The Emotion tab's reference candidates per emotion (export them there): "
               "picking one takes that clip, its text and its language."))
    text = gr.Textbox(label=t("Reference text"), lines=2, elem_id="infer-ref-text",
                      info=t("Exactly what the reference clip says."))
    language = language_dropdown(t, t("Reference language"),
                                 t("The language of the reference text."), "ref-language")
    prompt_free = gr.Checkbox(
        False, label=t("Prompt-free (no reference text)"), elem_id="infer-prompt-free",
        info=t("Use only the voice of the clip, not its words: for a clip without a "
               "transcript. The result follows the reference less closely."))
    extra_audio = gr.File(file_count="multiple", file_types=["audio"], type="filepath",
                          label=t("Extra reference clips (optional)"),
                          elem_id="infer-extra-refs")
    gr.Markdown(t("Extra clips of the same voice: their timbre is averaged with the "
                  "reference's, for a steadier voice."), elem_classes=["gsv-info"])
    return ReferenceInputs(audio, dataset_clip, emotion_clip, text, language, prompt_free,
                           extra_audio)


def pick_clip(ctx: AppContext, audio_path: str | None) -> tuple[dict, dict]:
    """Fill in the text and language of the picked dataset clip (unchanged when none)."""
    for clip in dataset_clips(ctx.workspace):
        if str(clip.audio_path) == audio_path:
            return gr.update(value=clip.text), gr.update(value=clip.language)
    return gr.update(), gr.update()


def pick_emotion(ctx: AppContext, audio_path: str | None) -> tuple[dict, dict, dict]:
    """The picked candidate becomes the dataset clip, with its text and language."""
    for ref in emotion_references(ctx.workspace):
        if str(ref.clip.audio_path) == audio_path:
            return (gr.update(value=audio_path), gr.update(value=ref.clip.text),
                    gr.update(value=ref.clip.language))
    return gr.update(), gr.update(), gr.update()


def refresh(ctx: AppContext) -> tuple[dict, dict]:
    """New choices for the dataset clip and the emotion reference pickers."""
    return (gr.update(choices=_clip_choices(dataset_clips(ctx.workspace))),
            gr.update(choices=_emotion_choices(ctx.t, emotion_references(ctx.workspace))))
