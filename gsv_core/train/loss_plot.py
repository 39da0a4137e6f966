"""The training tab's loss figure: every loss of each model over its optimizer steps.

One axis per model (SoVITS, GPT: their losses have different scales and step counts), one
line per loss, a legend that names each, the x axis labelled in steps (T-1: a step is one
optimizer update, not a round). Drawn with matplotlib's Agg canvas (no display, no GUI
toolkit), so it works in the server's worker threads; the caller passes the figure to
``gr.Plot`` and the figure is closed by being garbage-collected (it is never registered
with pyplot's global figure manager).

Long runs have tens of thousands of points per curve; a curve is thinned to at most
:data:`MAX_POINTS` evenly spaced points (the last one always kept), which a plot a few
hundred pixels wide cannot tell apart and which keeps the redraw cheap while training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from gsv_core.i18n import mark

if TYPE_CHECKING:  # matplotlib is imported at the first plot, not while the page is built
    from matplotlib.figure import Figure

__all__ = ["MAX_POINTS", "loss_figure", "thin"]

MAX_POINTS = 1500
KIND_TITLES = {"sovits": "SoVITS", "gpt": "GPT"}

Series = Mapping[str, Sequence[tuple[int, float]]]


def thin(points: Sequence[tuple[int, float]], limit: int = MAX_POINTS) -> list[tuple[int, float]]:
    """At most ``limit`` points, evenly spaced over the sequence, the last always kept."""
    if len(points) <= limit:
        return list(points)
    stride = len(points) / (limit - 1)
    picked = [points[min(int(i * stride), len(points) - 1)] for i in range(limit - 1)]
    return [*picked, points[-1]]


def loss_figure(losses: Mapping[str, Series], t: Callable[..., str],
                kinds: Sequence[str] = ("sovits", "gpt")) -> Figure | None:
    """The figure for ``losses`` (``{kind: {loss name: [(step, value), ...]}}``), one axis per
    kind that has a point; None when nothing was reported yet (the tab shows no plot).

    Non-finite values (a loss that became NaN) are left out of the lines and counted in the
    axis title, so the plot does not hide that something went wrong.
    """
    shown = [kind for kind in kinds if any(losses.get(kind, {}).values())]
    if not shown:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2 * len(shown)), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(shown), 1, squeeze=False)[:, 0]
    for axis, kind in zip(axes, shown, strict=True):
        bad = 0
        for name, points in sorted(losses[kind].items()):
            finite = [(s, v) for s, v in points if math.isfinite(v)]
            bad += len(points) - len(finite)
            if not finite:
                continue
            drawn = thin(finite)
            axis.plot([s for s, _ in drawn], [v for _, v in drawn], label=name, linewidth=1.2)
        title = KIND_TITLES.get(kind, kind)
        if bad:
            title += " · " + t(mark("{count} non-finite value(s) left out"), count=bad)
        axis.set_title(title)
        axis.set_xlabel(t(mark("step (optimizer updates)")))
        axis.set_ylabel(t(mark("loss")))
        axis.grid(True, alpha=0.3)
        if axis.lines:
            axis.legend(loc="upper right", fontsize="small", ncols=min(len(axis.lines), 3))
    return figure
