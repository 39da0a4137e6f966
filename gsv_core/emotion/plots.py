"""The Emotion tab's figure: clips per emotion, and how sure the model was (matplotlib, Agg).

Left, the clips per final label (corrections count as the label a person chose), the
reviewed part drawn darker; right, a histogram of the model's top score, so a user sees at
a glance how many tags are doubtful and worth proofreading first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gsv_core.emotion.results import LABELS, EmotionRow
from gsv_core.emotion.review import LABEL_TEXT
from gsv_core.i18n import mark

__all__ = ["distribution_figure"]

Translate = Callable[..., str]
_BINS = [i / 10 for i in range(11)]


def distribution_figure(rows: Sequence[EmotionRow], t: Translate) -> Figure:
    figure = Figure(figsize=(9, 3.2), layout="constrained")
    FigureCanvasAgg(figure)
    counts, ax_scores = figure.subplots(1, 2, width_ratios=(3, 2))
    totals = [sum(r.final_label == label for r in rows) for label in LABELS]
    reviewed = [sum(r.final_label == label and r.reviewed for r in rows) for label in LABELS]
    positions = range(len(LABELS))
    counts.bar(positions, totals, color="#f6b26b", label=t(mark("tagged")))
    counts.bar(positions, reviewed, color="#e06666", label=t(mark("reviewed")))
    counts.set_xticks(list(positions), [t(LABEL_TEXT[label]) for label in LABELS], rotation=35,
                      ha="right", fontsize=8)
    counts.set_ylabel(t(mark("clips")))
    counts.set_title(t(mark("Clips per emotion")), fontsize=10)
    counts.legend(fontsize=8)
    ax_scores.hist([r.score for r in rows], bins=_BINS, color="#6fa8dc")
    ax_scores.set_xlabel(t(mark("model confidence (top score)")))
    ax_scores.set_ylabel(t(mark("clips")))
    ax_scores.set_title(t(mark("How sure the model was")), fontsize=10)
    return figure
