"""Quality section: run the report on the chosen list, show the verdict, problems and plots,
and hand the measured summary to the dataset summary fields (which every tab's limits read).

Layout and handlers over ``gsv_core.dataset.quality.analyse_list`` and ``quality_plots``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from gsv_core.dataset.proofread import ProofreadSession
from gsv_core.dataset.quality import QualityReport, analyse_list
from gsv_core.dataset.quality_plots import quality_figures
from gsv_core.dataset.ui_support import FIELDS, measured_fields, reviewed_percent
from gsv_core.errors import DatasetError, GsvError
from gsv_core.i18n import Translator
from tabs.common import AppContext, error_markdown

CLIPS_SHOWN = 5   # clip names listed per problem before "and N more"


@dataclass
class QualityArea:
    run: gr.Button
    stop: gr.Button
    verdict: gr.Markdown
    problems: gr.Dataframe
    lengths: gr.Plot
    loudness: gr.Plot

    def outputs(self) -> list[gr.components.Component]:
        """What ``run_report`` returns first, in order (then the summary state and fields)."""
        return [self.verdict, self.problems, self.lengths, self.loudness]


def build(ctx: AppContext) -> QualityArea:
    t = ctx.t
    gr.Markdown(t("Measures every clip of the label file chosen above: length, loudness, "
                  "clipping, noise, reverb, silence (Q-1, Q-4). Its summary fills in the "
                  "dataset summary below."))
    with gr.Row():
        run = gr.Button(t("Run the quality report"), variant="primary", elem_id="quality-run")
        stop = gr.Button(t("Stop"), variant="stop", elem_id="quality-stop")
    verdict = gr.Markdown(elem_id="quality-verdict")
    problems = gr.Dataframe(headers=[t("Check"), t("Clips"), t("What to do")],
                            value=[], interactive=False, wrap=True, elem_id="quality-problems",
                            column_widths=["15%", "25%", "60%"],
                            label=t("Problems found"))
    with gr.Row():
        lengths = gr.Plot(label=t("Clip lengths"), elem_id="quality-lengths")
        loudness = gr.Plot(label=t("Loudness per clip"), elem_id="quality-loudness")
    return QualityArea(run, stop, verdict, problems, lengths, loudness)


def verdict_markdown(t: Translator, report: QualityReport, list_path: str) -> str:
    s = report.summary
    head = ("✅ " + t("Verdict: good")) if s.verdict == "good" else ("⚠️ " + t("Verdict: poor"))
    facts = t("{clips} clips, {minutes:.2f} minutes, 95% of clips up to {p95:.1f} s, "
              "loudness spread {spread:.1f} dB", clips=s.clips, minutes=s.minutes,
              p95=s.p95_slice_s, spread=s.lufs_spread_db)
    return f"**{head}** — {facts} · `{Path(list_path).name}`"


def problem_rows(report: QualityReport) -> list[list[str]]:
    """(check, clips, message) per problem; long clip lists are cut after ``CLIPS_SHOWN``."""
    rows = []
    for problem in report.problems:
        names = [Path(clip).name for clip in problem.clips]
        shown = ", ".join(names[:CLIPS_SHOWN])
        if len(names) > CLIPS_SHOWN:
            shown += f" (+{len(names) - CLIPS_SHOWN})"
        rows.append([problem.check, shown, problem.message])
    return rows


def _reviewed(list_path: str) -> float | None:
    """The list's share reviewed, or None when its review marks cannot be read."""
    try:
        return reviewed_percent(ProofreadSession(list_path).progress())
    except GsvError:
        return None


def run_report(ctx: AppContext, list_path: str, measured: dict,
               should_stop: object, progress: object) -> tuple:
    """The report of ``list_path``: (verdict, problems, plot, plot, measured, 5 fields).

    ``progress(fraction, desc=...)`` is Gradio's bar; ``should_stop()`` is asked between
    clips. A stopped report shows nothing measured (a part of the clips would mislead the
    limits) and leaves the summary fields alone.
    """
    t = ctx.t
    unchanged = (measured, *(gr.update() for _ in range(5)))
    try:
        if not list_path or not list_path.strip():
            raise DatasetError("No label file is chosen.",
                               "Choose the .list file in the proofreading section above.")
        path = list_path.strip()

        def report_progress(done: int, total: int, message: str) -> None:
            progress((done, total), desc=message)  # type: ignore[operator]

        report = analyse_list(path, progress=report_progress,
                              should_stop=should_stop)  # type: ignore[arg-type]
    except GsvError as error:
        return (error_markdown(error, t), [], None, None, *unchanged)
    if should_stop():  # type: ignore[operator]
        return ("⏹ " + t("Stopped: the report was not finished, the summary is unchanged."),
                [], None, None, *unchanged)
    figures = quality_figures(report)
    fields = measured_fields(report, _reviewed(path))
    if fields["reviewed_pct"] is None:   # the review file is unreadable: the box stays
        del fields["reviewed_pct"]
    state = {**fields, "source": path, "reviewed_source": path}
    return (verdict_markdown(t, report, path), problem_rows(report), figures.lengths,
            figures.loudness, state,
            *(gr.update(value=fields[name]) if name in fields else gr.update()
              for name in FIELDS))
