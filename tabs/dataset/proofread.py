"""Proofreading section: a paged table of the clips of one `.list`, every edit saved at once.

Layout and handlers over ``gsv_core.dataset.proofread.ProofreadSession``. Each request opens
the list from disk again, so what the page shows is what the files hold: a browser reload,
a second tab or an app restart sees the same edits. Rows carry the clip names they show,
and the session refuses an edit when the clip at that row has another name meanwhile.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from gsv_core.dataset.proofread import (
    DEFAULT_PAGE_SIZE,
    MIN_SPLIT_PIECE_S,
    Page,
    ProofreadSession,
)
from gsv_core.dataset.ui_support import clip_audio, list_files, reviewed_percent
from gsv_core.errors import DatasetError, GsvError
from gsv_core.i18n import Translator, mark
from tabs.common import AppContext, error_markdown

PAGE_SIZE = DEFAULT_PAGE_SIZE
_REASONS = {"deleted": mark("deleted"), "merged": mark("merged"), "split": mark("split")}
LANGUAGES = ("zh", "en", "ja", "ko", "yue")   # what ProofreadSession.edit accepts


@dataclass
class ClipRow:
    """One row of the table; hidden when the page has fewer clips."""

    group: gr.Group
    audio: gr.Audio
    text: gr.Textbox
    language: gr.Dropdown
    reviewed: gr.Checkbox
    split_at: gr.Number
    second_text: gr.Textbox
    split: gr.Button
    merge: gr.Button
    delete: gr.Button

    def outputs(self) -> list[gr.components.Component]:
        """What ``render`` sets for this row, in order."""
        return [self.group, self.audio, self.text, self.language, self.reviewed,
                self.split_at, self.second_text]


@dataclass
class ProofreadArea:
    list_path: gr.Textbox
    found: gr.Dropdown
    rescan: gr.Button
    open: gr.Button
    message: gr.Markdown
    progress: gr.HTML
    page: gr.Number
    page_label: gr.Markdown
    previous_page: gr.Button
    next_page: gr.Button
    previous_unreviewed: gr.Button
    next_unreviewed: gr.Button
    names: gr.State       # the clip names the rows show, top to bottom
    rows: list[ClipRow]
    removed: gr.Dropdown  # clips taken out of the list (deleted, merged, split)
    restore: gr.Button

    def page_outputs(self) -> list[gr.components.Component]:
        """What ``render`` returns, in order."""
        return [self.message, self.progress, self.page, self.page_label, self.names,
                *(part for row in self.rows for part in row.outputs()), self.removed]


@dataclass
class ProofreadRuntime:
    """One lock for every proofreading edit of this app: two edits of one list in flight at
    once (a text left by clicking "reviewed") would otherwise race on its hash check."""

    lock: threading.Lock = field(default_factory=threading.Lock)


def _row(t: Translator, number: int) -> ClipRow:
    with gr.Group(visible=False, elem_id=f"proof-row-{number}") as group:
        with gr.Row(equal_height=True):
            audio = gr.Audio(type="numpy", interactive=False, scale=2,
                             elem_id=f"proof-audio-{number}")
            text = gr.Textbox(label=t("Text"), scale=4, elem_id=f"proof-text-{number}",
                              info=t("What the clip says; saved when you leave the box or "
                                     "press Enter."))
            language = gr.Dropdown(list(LANGUAGES), label=t("Language"), scale=1,
                                   elem_id=f"proof-language-{number}",
                                   info=t("The clip's language (Q-5)."))
            reviewed = gr.Checkbox(label=t("Reviewed"), scale=1,
                                   elem_id=f"proof-reviewed-{number}",
                                   info=t("Checked by a person (R-3, D-3)."))
        with gr.Row(equal_height=True):
            split_at = gr.Number(label=t("Split at (s)"), minimum=0, scale=1,
                                 elem_id=f"proof-split-at-{number}",
                                 info=t("Where to cut; each piece keeps at least 0.25 s."))
            second_text = gr.Textbox(label=t("Text after the cut"), scale=3,
                                     elem_id=f"proof-second-text-{number}",
                                     info=t("A split needs the words of the second piece; "
                                            "the text box above keeps the first piece's."))
            split = gr.Button(t("Split"), scale=1, size="sm", elem_id=f"proof-split-{number}")
            merge = gr.Button(t("Merge with next"), scale=1, size="sm",
                              elem_id=f"proof-merge-{number}")
            delete = gr.Button(t("Delete"), scale=1, size="sm", variant="stop",
                               elem_id=f"proof-delete-{number}")
    return ClipRow(group, audio, text, language, reviewed, split_at, second_text, split,
                   merge, delete)


def build(ctx: AppContext) -> ProofreadArea:
    t = ctx.t
    found_lists = [str(path) for path in list_files(ctx.workspace)]
    with gr.Row(equal_height=True):
        list_path = gr.Textbox(
            label=t("Label file (.list)"), scale=4, elem_id="proof-list",
            value=found_lists[0] if found_lists else str(ctx.workspace.default_list_file),
            info=t("wav_path|speaker|language|text, one clip per line (GPT-SoVITS format)."))
        found = gr.Dropdown(found_lists, value=None, label=t("Lists in this workspace"),
                            scale=3, elem_id="proof-found",
                            info=t("The .list files under output/asr_opt and "
                                   "output/slicer_opt; picking one fills in the path."))
        rescan = gr.Button(t("Look again"), scale=0, size="sm")
        open_button = gr.Button(t("Open"), variant="primary", scale=0, elem_id="proof-open")
    message = gr.Markdown(elem_id="proof-message")
    progress = gr.HTML(elem_id="proof-progress")
    with gr.Row(equal_height=True):
        previous_page = gr.Button(t("◀ Previous page"), size="sm")
        page = gr.Number(value=1, precision=0, minimum=1, label=t("Page"), scale=0,
                         elem_id="proof-page", info=t("Type a page number and press Enter."))
        page_label = gr.Markdown(elem_id="proof-page-label")
        next_page = gr.Button(t("Next page ▶"), size="sm")
        previous_unreviewed = gr.Button(t("◀ Previous unreviewed"), size="sm",
                                        elem_id="proof-previous-unreviewed")
        next_unreviewed = gr.Button(t("Next unreviewed ▶"), size="sm",
                                    elem_id="proof-next-unreviewed")
    names = gr.State([])
    rows = [_row(t, number) for number in range(PAGE_SIZE)]
    with gr.Row(equal_height=True):
        removed = gr.Dropdown([], value=None, label=t("Removed clips"), scale=4,
                              elem_id="proof-removed",
                              info=t("Clips deleted, merged or split, newest last; their audio "
                                     "is still on disk."))
        restore = gr.Button(t("Restore"), scale=0, elem_id="proof-restore")
    return ProofreadArea(list_path, found, rescan, open_button, message, progress, page,
                         page_label, previous_page, next_page, previous_unreviewed,
                         next_unreviewed, names, rows, removed, restore)


# ---- handlers ------------------------------------------------------------------------

def open_session(list_path: str | None) -> ProofreadSession:
    """The session of ``list_path`` as it is on disk now.

    Raises:
        DatasetError: no path, or the list cannot be opened (``ProofreadSession``).
    """
    if not list_path or not list_path.strip():
        raise DatasetError("No label file is chosen.",
                           "Type the path of a .list file, or pick one of this workspace's.")
    return ProofreadSession(Path(list_path.strip()).expanduser())


def progress_html(t: Translator, session: ProofreadSession | None) -> str:
    """The "N of M reviewed" bar."""
    if session is None:
        return ""
    done = session.progress()
    text = t("{reviewed} of {total} reviewed", reviewed=done.reviewed, total=done.total)
    return (f'<progress value="{done.reviewed}" max="{max(done.total, 1)}" '
            f'style="width:100%"></progress><div class="proof-count">{html.escape(text)}</div>')


def _row_updates(t: Translator, page: Page | None, number: int) -> list[dict]:
    if page is None or number >= len(page.items):
        return [gr.update(visible=False), gr.update(value=None), gr.update(value=""),
                gr.update(value=None), gr.update(value=False), gr.update(value=None),
                gr.update(value="")]
    item = page.items[number]
    clip = item.clip
    label = f"{item.index + 1}. {clip.name}"
    if not item.audio_exists:
        label += " — " + t("audio missing")
    issues = " ".join(issue.message for issue in item.issues)
    language = clip.language if clip.language in LANGUAGES else None
    audio = clip_audio(clip.audio_path) if item.audio_exists else None
    if audio is None:
        split_info = t("The audio cannot be read: it cannot be split.")
    else:
        duration_s = len(audio[1]) / audio[0]
        split_info = t("Between {first:.2f} and {last:.2f} s: each piece keeps at least "
                       "{piece:g} s.", first=MIN_SPLIT_PIECE_S, piece=MIN_SPLIT_PIECE_S,
                       last=max(duration_s - MIN_SPLIT_PIECE_S, 0.0))
    return [gr.update(visible=True),
            gr.update(value=audio, label=label),
            gr.update(value=clip.text, label=t("Text") + f" · {clip.name}",
                      info=("⚠️ " + issues) if issues else
                      t("What the clip says; saved when you leave the box or press Enter.")),
            gr.update(value=language),
            gr.update(value=item.reviewed),
            gr.update(value=None, info=split_info),
            gr.update(value="")]


def render(ctx: AppContext, session: ProofreadSession | None, page_number: float | None,
           message: str = "") -> tuple:
    """The whole table for one page (``ProofreadArea.page_outputs`` order)."""
    t = ctx.t
    page = session.page(int(page_number or 1), PAGE_SIZE) if session is not None else None
    if page is None:
        label = ""
    elif page.clip_count == 0:
        label = t("The list holds no clip.")
    else:
        label = t("Page {page} of {pages} · clips {first}–{last} of {count}", page=page.number,
                  pages=page.page_count, first=page.items[0].index + 1,
                  last=page.items[-1].index + 1, count=page.clip_count)
    names = [item.clip.name for item in page.items] if page is not None else []
    rows = [update for number in range(PAGE_SIZE) for update in _row_updates(t, page, number)]
    removed = ([(f"{record.name} — {t(_REASONS[record.reason])}", record.name)
                for record in session.removed] if session is not None else [])
    return (message, progress_html(t, session), page.number if page else 1, label, names,
            *rows, gr.update(choices=removed, value=None))


def _failed(ctx: AppContext, error: GsvError, page_number: float | None, list_path: str) -> tuple:
    """The page as it is on disk, with the error above it (never a pop-up)."""
    try:
        session = open_session(list_path)
    except GsvError:
        session = None
    return render(ctx, session, page_number, error_markdown(error, ctx.t))


def show_page(ctx: AppContext, runtime: ProofreadRuntime, list_path: str,
              page_number: float | None) -> tuple:
    """Open the list and show page ``page_number`` (clamped to the pages there are)."""
    with runtime.lock:
        try:
            return render(ctx, open_session(list_path), page_number)
        except GsvError as error:
            return render(ctx, None, 1, error_markdown(error, ctx.t))


def _row_index(names: list[str], row: int, page_number: float | None) -> tuple[int, str]:
    """The clip index and name a row showed when it was drawn."""
    if row >= len(names):
        raise DatasetError("This row shows no clip any more.", "Open the list again.")
    return (int(page_number or 1) - 1) * PAGE_SIZE + row, names[row]


def edit_clip(ctx: AppContext, runtime: ProofreadRuntime, row: int, list_path: str,
              page_number: float | None, names: list[str], text: str | None,
              language: str | None) -> str:
    """Save a row's text or language; returns the message line ("" when nothing changed)."""
    with runtime.lock:
        try:
            index, name = _row_index(names, row, page_number)
            session = open_session(list_path)
            before = session.clips[index] if index < len(session.clips) else None
            clip = session.edit(index, text=text, language=language, expected_name=name)
        except GsvError as error:
            return error_markdown(error, ctx.t)
    if clip == before:
        return ""
    return "✅ " + ctx.t("Saved clip {number} ({name}).", number=index + 1, name=name)


def set_reviewed(ctx: AppContext, runtime: ProofreadRuntime, row: int, list_path: str,
                 page_number: float | None, names: list[str], reviewed: bool,
                 measured: dict) -> tuple:
    """Save a row's reviewed mark: (message, progress bar, measured fields, reviewed % box)."""
    with runtime.lock:
        try:
            index, name = _row_index(names, row, page_number)
            session = open_session(list_path)
            session.mark_reviewed(index, bool(reviewed), expected_name=name)
        except GsvError as error:
            return (error_markdown(error, ctx.t), gr.update(), measured, gr.update())
    return ("", progress_html(ctx.t, session), *_measured_review(session, measured))


def _measured_review(session: ProofreadSession, measured: dict) -> tuple[dict, dict]:
    """The measured share reviewed, into the summary's state and its box."""
    percent = reviewed_percent(session.progress())
    return ({**(measured or {}), "reviewed_pct": percent,
             "reviewed_source": str(session.list_path)},
            gr.update(value=percent))


def opened(ctx: AppContext, runtime: ProofreadRuntime, list_path: str,
           page_number: float | None, measured: dict) -> tuple:
    """Open a list: its page, then its share reviewed into the summary (measured)."""
    with runtime.lock:
        try:
            session = open_session(list_path)
        except GsvError as error:
            return (*render(ctx, None, 1, error_markdown(error, ctx.t)), measured, gr.update())
        return (*render(ctx, session, page_number), *_measured_review(session, measured))


def change_list(ctx: AppContext, runtime: ProofreadRuntime, action: Callable[..., object],
                done: Callable[[object], str], row: int, list_path: str,
                page_number: float | None, names: list[str], *args: object) -> tuple:
    """Run a delete, merge or split on a row, then redraw the page (the list changed)."""
    with runtime.lock:
        try:
            index, name = _row_index(names, row, page_number)
            session = open_session(list_path)
            result = action(session, index, name, *args)
        except GsvError as error:
            return _failed(ctx, error, page_number, list_path)
        return render(ctx, session, page_number, "✅ " + done(result))


def jump_unreviewed(ctx: AppContext, runtime: ProofreadRuntime, forward: bool, list_path: str,
                    page_number: float | None) -> tuple:
    """Show the page of the next (or previous) unreviewed clip after this page."""
    t = ctx.t
    with runtime.lock:
        try:
            session = open_session(list_path)
        except GsvError as error:
            return render(ctx, None, 1, error_markdown(error, t))
        page = session.page(int(page_number or 1), PAGE_SIZE)
        if forward:
            after = page.items[-1].index if page.items else None
            index = session.next_unreviewed(after)
        else:
            before = page.items[0].index if page.items else None
            index = session.previous_unreviewed(before)
        if index is None:
            return render(ctx, session, page_number, "✅ " + t("Every clip is reviewed."))
        clip = session.clips[index]
        return render(ctx, session, session.page_of(index, PAGE_SIZE),
                      "➡️ " + t("Clip {number} ({name}) is not reviewed yet.",
                                number=index + 1, name=clip.name))


def restore_clip(ctx: AppContext, runtime: ProofreadRuntime, list_path: str,
                 page_number: float | None, name: str | None) -> tuple:
    """Put a removed clip back where it was and show its page."""
    with runtime.lock:
        try:
            if not name:
                raise DatasetError("No removed clip is chosen.",
                                   "Pick one in 'Removed clips' first.")
            session = open_session(list_path)
            index = session.restore(name)
        except GsvError as error:
            return _failed(ctx, error, page_number, list_path)
        return render(ctx, session, session.page_of(index, PAGE_SIZE),
                      "✅ " + ctx.t("Restored {name} as clip {number}.", name=name,
                                   number=index + 1))


# The three list-changing actions: (session, index, name, *row values) → result.

def delete_action(session: ProofreadSession, index: int, name: str) -> object:
    return session.delete(index, expected_name=name)


def merge_action(session: ProofreadSession, index: int, name: str) -> object:
    following = session.clips[index + 1].name if index + 1 < len(session.clips) else name
    return session.merge(index, expected_names=(name, following))


def split_action(session: ProofreadSession, index: int, name: str, at_s: float | None,
                 first_text: str, second_text: str) -> object:
    if at_s is None:
        raise DatasetError("No split time is given.",
                           "Type the time of the cut in seconds in 'Split at (s)'.")
    return session.split(index, float(at_s), first_text or "", second_text or "",
                         expected_name=name)
