"""Actions and results: generate, stream and stop; the message line; the audio; the history.

The history is ``HISTORY_LIMIT`` fixed slots (a text line and a player each), shown as the
session's results fill them, so no component is created at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.i18n import Translator
from gsv_core.infer.ffmpeg import StreamingSupport, streaming_support
from gsv_core.infer.history import HISTORY_LIMIT, HistoryEntry, SessionHistory
from tabs.common import AppContext


@dataclass
class HistorySlot:
    summary: gr.Markdown
    audio: gr.Audio


@dataclass
class OutputArea:
    generate: gr.Button
    stream: gr.Button
    stop: gr.Button
    streaming_notice: gr.Markdown
    message: gr.Markdown
    result: gr.Audio
    live: gr.Audio
    history: gr.State
    history_empty: gr.Markdown
    slots: list[HistorySlot]

    def history_outputs(self) -> list[gr.components.Component]:
        return [self.history_empty, *(c for s in self.slots for c in (s.summary, s.audio))]


def streaming_markdown(support: StreamingSupport, t: Translator) -> str:
    if support.available:
        return ""
    return "⚠️ " + t("Streaming is off: it needs the ffmpeg program, which was not found. "
                     "Generate works without it.") + " " + t(support.install_hint)


def build(ctx: AppContext) -> OutputArea:
    t = ctx.t
    support = streaming_support()
    with gr.Row():
        generate = gr.Button(t("Generate"), variant="primary", elem_id="infer-generate")
        stream = gr.Button(t("Stream"), variant="secondary", elem_id="infer-stream",
                           interactive=support.available)
        stop = gr.Button(t("Stop"), variant="stop", elem_id="infer-stop")
    streaming_notice = gr.Markdown(streaming_markdown(support, t), elem_id="infer-streaming")
    message = gr.Markdown(elem_id="infer-message")
    result = gr.Audio(type="filepath", interactive=False, label=t("Result"),
                      elem_id="infer-result", buttons=["download"])
    live = gr.Audio(streaming=True, autoplay=True, interactive=False,
                    label=t("Live stream"), elem_id="infer-live", visible=support.available)
    history = gr.State(SessionHistory())
    with gr.Accordion(t("History of this session (last {n})", n=HISTORY_LIMIT), open=True,
                      elem_id="infer-history"):
        history_empty = gr.Markdown(t("No results yet in this session."),
                                    elem_id="infer-history-empty")
        slots = []
        for index in range(HISTORY_LIMIT):
            with gr.Row(equal_height=True):
                summary = gr.Markdown(visible=False, elem_id=f"infer-history-{index}-text")
                audio = gr.Audio(type="filepath", interactive=False, visible=False,
                                 show_label=False, buttons=["download"],
                                 elem_id=f"infer-history-{index}-audio")
            slots.append(HistorySlot(summary, audio))
    return OutputArea(generate, stream, stop, streaming_notice, message, result, live, history,
                      history_empty, slots)


def entry_markdown(entry: HistoryEntry, t: Translator) -> str:
    settings = " · ".join(f"{name} {value}" for name, value in entry.settings)
    return (f"**#{entry.number}** ({entry.duration_s:.1f} s) — {entry.text}\n\n"
            f"<small>{settings}</small>")


def history_updates(history: SessionHistory, t: Translator) -> list[dict]:
    """Updates for ``OutputArea.history_outputs()``: filled slots shown, the rest hidden."""
    updates = [gr.update(visible=not history.entries)]
    for index in range(HISTORY_LIMIT):
        if index < len(history.entries):
            entry = history.entries[index]
            updates += [gr.update(value=entry_markdown(entry, t), visible=True),
                        gr.update(value=str(entry.audio_path), visible=True)]
        else:
            updates += [gr.update(visible=False), gr.update(value=None, visible=False)]
    return updates
