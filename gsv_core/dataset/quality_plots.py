"""The quality report's plots for the Dataset tab: slice lengths and loudness per clip.

Figures are built with ``matplotlib.figure.Figure`` directly, not ``pyplot``: no global
figure registry, so the UI's worker threads can draw at the same time, and nothing needs
closing. The tab shows them (``gr.Plot``); this module draws, it holds no UI code.
matplotlib is imported on the first drawing, not with the module: the Dataset tab imports
this module while the page is built, and matplotlib costs every app start about half a
second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from gsv_core.dataset.quality import QualityReport
from gsv_core.guidelines.tables import (
    QUALITY_CLIP_MIN_S,
    QUALITY_LUFS_OUTLIER_DB,
    REFERENCE_SLICE_S,
    SLICE_FLAG_S,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["QualityFigures", "quality_figures"]

_BIN_S = 1.0                 # histogram bins of one second
_FIGSIZE = (6.4, 3.2)        # inches; the tab scales them to its width


@dataclass(frozen=True)
class QualityFigures:
    lengths: Figure          # histogram of clip lengths with the Q-4 marks
    loudness: Figure         # LUFS per clip, the median and the outlier band


def _lengths_figure(durations: list[float]) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=_FIGSIZE, layout="constrained")
    axes = figure.add_subplot()
    top = max([SLICE_FLAG_S + _BIN_S, *durations])
    edges = np.arange(np.floor(top / _BIN_S) + 2) * _BIN_S   # the longest clip gets its own bin
    axes.hist(durations, bins=edges, color="tab:blue")
    for x, label, color in ((QUALITY_CLIP_MIN_S, "too short", "tab:orange"),
                            (REFERENCE_SLICE_S, "reference", "tab:green"),
                            (SLICE_FLAG_S, "too long (Q-4)", "tab:red")):
        axes.axvline(x, color=color, linestyle="--", linewidth=1, label=f"{label} {x:g} s")
    axes.set_xlabel("clip length (s)")
    axes.set_ylabel("clips")
    axes.legend(loc="upper right", fontsize="small")
    return figure


def _loudness_figure(lufs: list[float | None]) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=_FIGSIZE, layout="constrained")
    axes = figure.add_subplot()
    index = [i for i, value in enumerate(lufs, start=1) if value is not None]
    values = np.array([value for value in lufs if value is not None], dtype=float)
    if len(values):
        median = float(np.median(values))
        outlier = np.abs(values - median) > QUALITY_LUFS_OUTLIER_DB
        axes.axhspan(median - QUALITY_LUFS_OUTLIER_DB, median + QUALITY_LUFS_OUTLIER_DB,
                     color="tab:green", alpha=0.15, label="within the outlier band")
        axes.axhline(median, color="tab:green", linewidth=1, label=f"median {median:.1f}")
        axes.scatter(np.array(index)[~outlier], values[~outlier], s=12, color="tab:blue",
                     label="clip")
        axes.scatter(np.array(index)[outlier], values[outlier], s=16, color="tab:red",
                     label="loudness outlier")
        axes.legend(loc="lower right", fontsize="small")
    axes.set_xlabel("clip (order in the list)")
    axes.set_ylabel("integrated loudness (LUFS)")
    return figure


def quality_figures(report: QualityReport) -> QualityFigures:
    """Both plots of a report; clips that could not be measured are left out."""
    measured = [clip for clip in report.clips if clip.measures is not None]
    return QualityFigures(
        lengths=_lengths_figure([clip.duration_s for clip in measured]),
        loudness=_loudness_figure([clip.measures.lufs for clip in measured
                                   if clip.measures is not None]))
