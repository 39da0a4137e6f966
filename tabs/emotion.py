"""Emotion tab: tag every clip with emotion2vec, proofread the tags (E-1).

Layout and events only: classification runs as a job (``gsv_core.emotion.job``), the
proofreading edits and filters are ``gsv_core.emotion.review``, the figure is
``gsv_core.emotion.plots``, the batch limit is the E-1 rule.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from gsv_core.emotion.results import LABELS, read_results, results_path
from gsv_core.emotion.review import (
    ALL_LABELS,
    LABEL_TEXT,
    correct_tag,
    counts,
    filtered,
    mark_reviewed,
    next_unreviewed,
    table_rows,
)
from gsv_core.errors import GsvError
from gsv_core.guidelines import (
    EMOTION_BALANCE_MIN_SHARE,
    dataset_from_fields,
    emotion_advice,
)
from tabs.common import (
    AppContext,
    GovernedControl,
    error_markdown,
    follow_job,
    governed_control,
    governed_update,
    notice_markdown,
    refresh_live,
)

Progress = Callable[..., object]


@dataclass
class EmotionTab:
    advice_md: gr.Markdown
    model_dir: gr.Textbox
    list_path: gr.Textbox
    batch: GovernedControl
    again: gr.Checkbox
    embeddings: gr.Checkbox
    run: gr.Button
    stop: gr.Button
    status: gr.Markdown
    label_filter: gr.Dropdown
    below: gr.Slider
    unreviewed_only: gr.Checkbox
    show: gr.Button
    counts_md: gr.Markdown
    plot: gr.Plot
    table: gr.Dataframe
    clip: gr.State          # the path of the clip being proofread ("" for none)
    clip_md: gr.Markdown
    audio: gr.Audio
    tag: gr.Dropdown
    mark: gr.Button
    next_clip: gr.Button
    export: gr.Button
    export_md: gr.Markdown

    def filters(self) -> list[gr.components.Component]:
        return [self.list_path, self.label_filter, self.below, self.unreviewed_only]

    def view_outputs(self) -> list[gr.components.Component]:
        return [self.table, self.counts_md, self.plot]

    def clip_outputs(self) -> list[gr.components.Component]:
        return [self.clip, self.clip_md, self.audio, self.tag]


def _label_choices(t: Callable[..., str]) -> list[tuple[str, str]]:
    return [(t(LABEL_TEXT[label]), label) for label in LABELS]


def build(ctx: AppContext) -> EmotionTab:
    from gsv_core.emotion.job import batch_limit

    t = ctx.t
    advice_md = gr.Markdown(elem_id="emotion-advice")
    with gr.Row():
        model_dir = gr.Textbox(label=t("emotion2vec model folder"),
                               value=str(ctx.workspace.emotion2vec_dir), elem_id="emotion-model",
                               info=t("A local FunASR model folder (config.yaml, model.pt, "
                                      "tokens.txt), e.g. emotion2vec_plus_large."))
        list_path = gr.Textbox(label=t("Label file (.list)"),
                               value=str(ctx.workspace.default_list_file),
                               elem_id="emotion-list", info=t("The clips to classify."))
    with gr.Row():
        batch = governed_control(batch_limit(ctx.profile),
                                 t("Clips classified together"), t, "emotion-batch",
                                 fixed_default=True)
        again = gr.Checkbox(value=False, label=t("Classify every clip again"),
                            elem_id="emotion-again",
                            info=t("Otherwise only clips without a tag are classified; "
                                   "corrections and review marks are kept either way."))
        embeddings = gr.Checkbox(value=False, label=t("Keep the embeddings"),
                                 elem_id="emotion-embeddings",
                                 info=t("Also save each clip's emotion2vec embedding beside "
                                        "the list (.emotion.embeddings.npz), for later use."))
    with gr.Row():
        run = gr.Button(t("Classify emotions"), variant="primary", elem_id="emotion-run")
        stop = gr.Button(t("Stop"), variant="stop", elem_id="emotion-stop")
    status = gr.Markdown(elem_id="emotion-status")
    gr.Markdown("### " + t("Proofread the tags"))
    with gr.Row():
        label_filter = gr.Dropdown([(t("all emotions"), ALL_LABELS), *_label_choices(t)],
                                   value=ALL_LABELS, label=t("Show"), elem_id="emotion-filter",
                                   info=t("Only the clips tagged with this emotion."))
        below = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label=t("Confidence below"),
                          elem_id="emotion-below",
                          info=t("Only the tags the model was less sure of; the least sure "
                                 "come first."))
        unreviewed_only = gr.Checkbox(value=False, label=t("Unreviewed only"),
                                      elem_id="emotion-unreviewed",
                                      info=t("Hide the tags already proofread."))
        show = gr.Button(t("Show the tags"), elem_id="emotion-show", scale=0)
    counts_md = gr.Markdown(elem_id="emotion-counts")
    plot = gr.Plot(label=t("Emotions of the dataset"), elem_id="emotion-plot")
    with gr.Row():
        with gr.Column(scale=3):
            table = gr.Dataframe(headers=[t("Clip"), t("Emotion"), t("Confidence"),
                                          t("Reviewed"), t("Path")], value=[],
                                 interactive=False, wrap=True, elem_id="emotion-table",
                                 label=t("Tags (click a row to proofread it)"))
        with gr.Column(scale=2):
            clip_md = gr.Markdown(elem_id="emotion-clip")
            audio = gr.Audio(type="filepath", interactive=False, label=t("Listen"),
                             elem_id="emotion-audio")
            tag = gr.Dropdown(_label_choices(t), value=None, label=t("Emotion of this clip"),
                              elem_id="emotion-tag",
                              info=t("Choosing one corrects the tag and marks it reviewed."))
            with gr.Row():
                mark = gr.Button(t("Mark reviewed"), elem_id="emotion-mark")
                next_clip = gr.Button(t("Next unreviewed"), elem_id="emotion-next")
    gr.Markdown(t("Export writes a copy of the list with the emotion in its speaker field, one "
                  "list per emotion, and reference candidates per emotion for the Inference "
                  "tab; the list itself is never changed."))
    export_button = gr.Button(t("Export emotion lists and references"),
                              elem_id="emotion-export")
    export_md = gr.Markdown(elem_id="emotion-export-status")
    ctx.emotion_list, ctx.emotion_counts = list_path, counts_md
    return EmotionTab(advice_md, model_dir, list_path, batch, again, embeddings, run, stop,
                      status,
                      label_filter, below, unreviewed_only, show, counts_md, plot, table,
                      gr.State(""), clip_md, audio, tag, mark, next_clip, export_button,
                      export_md)


def refresh(ctx: AppContext, minutes: float | None, p95_slice_s: float | None,
            clip_count: float | None, quality: str | None, reviewed_pct: float | None) -> str:
    advice = emotion_advice(dataset_from_fields(minutes, p95_slice_s, clip_count, quality,
                                                reviewed_pct).summary)
    return notice_markdown(advice.reasons, ctx.t, "⭐" if advice.recommended else "ℹ️")


def refresh_batch(ctx: AppContext, requested: float | None) -> tuple:
    from gsv_core.emotion.job import batch_limit

    return governed_update(batch_limit(ctx.profile, requested), ctx.t)


# --- the view ---------------------------------------------------------------------------------

def view(ctx: AppContext, list_path: str | None, label: str, below: float | None,
         unreviewed_only: bool) -> tuple:
    """(table, counts, figure) of the list's tags through the filters."""
    from gsv_core.emotion.plots import distribution_figure

    t = ctx.t
    if not list_path:
        return [], "", None
    rows = read_results(results_path(list_path))
    if not rows:
        return [], "ℹ️ " + t("No emotion tags for this list yet: classify it first."), None
    shown = filtered(rows, label or ALL_LABELS, None if below is None or below >= 1 else below,
                     bool(unreviewed_only))
    done = counts(rows)
    text = t("{reviewed} of {total} tags reviewed ({corrected} corrected); {shown} shown.",
             reviewed=done.reviewed, total=done.total, corrected=done.corrected,
             shown=len(shown))
    return table_rows(shown), text + "\n\n" + balance_markdown(ctx, rows), \
        distribution_figure(rows, t)


def balance_markdown(ctx: AppContext, rows: list) -> str:
    """The emotion balance: each emotion's share of the minutes, and those too rare (E-1)."""
    from gsv_core.emotion.export import clip_durations
    from gsv_core.emotion.results import balance

    t = ctx.t
    found = balance(rows, clip_durations(rows))
    shares = ", ".join(f"{t(LABEL_TEXT[label])} {found.minutes[label]:.1f} min "
                       f"({found.shares[label]:.0%})" for label in LABELS
                       if found.minutes[label] > 0)
    text = t("Minutes per emotion: {shares}.", shares=shares) if shares else ""
    if found.rare:
        text += "\n\n⚠️ " + t("Under {share:.0%} of the minutes: {emotions}. The voice will "
                                "rarely sound like that; record more of it if it matters.",
                                share=EMOTION_BALANCE_MIN_SHARE,
                                emotions=", ".join(t(LABEL_TEXT[label]) for label in found.rare))
    return text


def export(ctx: AppContext, list_path: str) -> str:
    from gsv_core.emotion.export import export_emotions

    t = ctx.t
    try:
        result = export_emotions(list_path)
    except GsvError as error:
        return error_markdown(error, t)
    files = "\n".join(f"- `{path}`" for path in result.written)
    emotions = ", ".join(f"{t(LABEL_TEXT[label])} {len(items)}"
                         for label, items in result.candidates.items())
    return ("✅ " + t("Written beside the list (the list itself is unchanged):") + "\n" + files
            + "\n\n" + t("Reference candidates (3 to 10 s) per emotion: {emotions}.",
                           emotions=emotions or "–"))


def open_clip(ctx: AppContext, list_path: str | None, clip: str | None) -> tuple:
    """(clip state, its text, its audio, its tag) for the clip at ``clip``."""
    rows = {r.path: r for r in read_results(results_path(list_path))} if list_path else {}
    row = rows.get(clip or "")
    if row is None:
        return "", "", None, gr.update(value=None)
    t = ctx.t
    state = t("reviewed") if row.reviewed else t("not reviewed yet")
    text = f"**{row.path}**: {t(LABEL_TEXT[row.final_label])} ({row.score:.2f}, {state})"
    return row.path, text, row.path, gr.update(value=row.final_label)


def selected(ctx: AppContext, list_path: str, table: object, event: gr.SelectData) -> tuple:
    """A click on a table row opens that clip (its path is the row's last cell)."""
    try:
        row = event.index[0] if isinstance(event.index, (list, tuple)) else int(event.index)
        values = table.values.tolist() if hasattr(table, "values") else table  # type: ignore[union-attr]
        clip = str(values[row][-1])  # type: ignore[index]
    except (IndexError, TypeError, ValueError):
        return open_clip(ctx, list_path, None)
    return open_clip(ctx, list_path, clip)


def _edited(ctx: AppContext, action: Callable[[], object], list_path: str, clip: str,
            filters: tuple, move_on: bool) -> tuple:
    t = ctx.t
    try:
        action()
    except GsvError as error:
        return (error_markdown(error, t), *open_clip(ctx, list_path, clip),
                *view(ctx, *filters))
    following = clip
    if move_on:
        rows = filtered(read_results(results_path(list_path)), filters[1] or ALL_LABELS)
        nxt = next_unreviewed(rows, clip)
        following = nxt.path if nxt is not None else clip
    return ("", *open_clip(ctx, list_path, following), *view(ctx, *filters))


# --- running --------------------------------------------------------------------------------

def classify(ctx: AppContext, list_path: str, model_dir: str, batch: float | None,
             again: bool, embeddings: bool, progress: Progress) -> str:
    """Start the classification job and follow it to its end (progress bar)."""
    from gsv_core.emotion.job import classification_plan, start_classification

    t = ctx.t
    try:
        plan = classification_plan(ctx.profile, batch=batch)
        handle = start_classification(ctx.workspace, list_path, model_dir, plan,
                                      again=bool(again), embeddings=bool(embeddings))
    except GsvError as error:
        return error_markdown(error, t)
    return job_text(ctx, follow_job(handle, progress, t))


def job_text(ctx: AppContext, snapshot: object) -> str:
    t = ctx.t
    status = snapshot.status  # type: ignore[attr-defined]
    if status.state == "failed":
        return "❌ " + t("Classification failed: {cause}", cause=status.cause) + (
            f"\n\n{status.advice}" if status.advice else "")
    result = status.result if isinstance(status.result, dict) else {}
    problems = result.get("problems") or []
    lines = [("⏹ " + t("Stopped; the tagged clips are kept (classify again to continue)."))
             if status.state == "stopped" or result.get("stopped") else
             "✅ " + t("{classified} clips tagged now, {kept} kept from before.",
                       classified=result.get("classified", 0), kept=result.get("kept", 0))]
    lines += ["⚠️ " + t("Line {line}: {path}: {message}", line=p["line_number"],
                        path=p["path"], message=p["message"]) for p in problems]
    return "\n\n".join(lines)


def stop(ctx: AppContext) -> str:
    from gsv_core.emotion.job import find_classification

    handle = find_classification(ctx.workspace)
    if handle is None or not handle.is_running():
        return "ℹ️ " + ctx.t("Nothing is being classified.")
    handle.stop()
    return "⏹ " + ctx.t("Stopped; the tagged clips are kept (classify again to continue).")


def wire(tab: EmotionTab, ctx: AppContext) -> None:
    assert ctx.dataset is not None, "build the dataset tab before wiring the emotion tab"
    refresh_live(ctx, ctx.dataset.components(), [tab.advice_md], refresh)
    refresh_live(ctx, [tab.batch.slider], tab.batch.outputs(), refresh_batch)
    filters = tab.filters()
    start_lock = threading.Lock()

    def run(list_path: str, model_dir: str, batch: float | None, again: bool,
            embeddings: bool, progress=gr.Progress()) -> str:  # noqa: B008
        with start_lock:   # two clicks start one job at a time
            return classify(ctx, list_path, model_dir, batch, again, embeddings, progress)

    tab.run.click(run, inputs=[tab.list_path, tab.model_dir, tab.batch.slider, tab.again,
                               tab.embeddings],
                  outputs=[tab.status], concurrency_id="emotion-run",
                  concurrency_limit=None).then(
        lambda *values: view(ctx, *values), inputs=filters, outputs=tab.view_outputs(),
        show_progress="hidden")
    tab.stop.click(lambda: stop(ctx), outputs=[tab.status], concurrency_id="emotion-stop",
                   concurrency_limit=None, show_progress="hidden")
    gr.on([tab.show.click, tab.label_filter.select, tab.below.release,
           tab.unreviewed_only.input, ctx.app.load],
          lambda *values: view(ctx, *values), inputs=filters, outputs=tab.view_outputs(),
          show_progress="hidden")
    def picked(list_path: str, table: object, event: gr.SelectData) -> tuple:
        return selected(ctx, list_path, table, event)

    tab.table.select(picked, inputs=[tab.list_path, tab.table], outputs=tab.clip_outputs(),
                     show_progress="hidden")
    edit_outputs = [tab.status, *tab.clip_outputs(), *tab.view_outputs()]

    def retag(list_path: str, clip: str, label: str | None, *values: object) -> tuple:
        return _edited(ctx, lambda: correct_tag(list_path, clip, label or ""), list_path,
                       clip, (list_path, *values), move_on=False)

    def marked(list_path: str, clip: str, *values: object) -> tuple:
        return _edited(ctx, lambda: mark_reviewed(list_path, clip), list_path, clip,
                       (list_path, *values), move_on=True)

    def following(list_path: str, clip: str, label: str) -> tuple:
        rows = filtered(read_results(results_path(list_path)), label or ALL_LABELS) \
            if list_path else []
        nxt = next_unreviewed(rows, clip)
        return open_clip(ctx, list_path, nxt.path if nxt is not None else None)

    tab.tag.select(retag, inputs=[tab.list_path, tab.clip, tab.tag, *filters[1:]],
                   outputs=edit_outputs, show_progress="hidden")
    tab.mark.click(marked, inputs=[tab.list_path, tab.clip, *filters[1:]],
                   outputs=edit_outputs, show_progress="hidden")
    tab.export.click(lambda list_path: export(ctx, list_path), inputs=[tab.list_path],
                     outputs=[tab.export_md], show_progress="hidden")
    tab.next_clip.click(following, inputs=[tab.list_path, tab.clip, tab.label_filter],
                        outputs=tab.clip_outputs(), show_progress="hidden")
