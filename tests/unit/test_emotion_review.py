"""Proofreading emotion tags (gsv_core.emotion.review): filters, corrections, review marks."""

from __future__ import annotations

import pytest

from gsv_core.emotion.plots import distribution_figure
from gsv_core.emotion.results import LABELS, EmotionRow, read_results, results_path, write_results
from gsv_core.emotion.review import (
    correct_tag,
    counts,
    filtered,
    mark_reviewed,
    next_unreviewed,
    table_rows,
)
from gsv_core.errors import ConfigError


def scores_for(label: str, score: float) -> tuple[float, ...]:
    rest = (1 - score) / 8
    return tuple(score if name == label else rest for name in LABELS)


def row(path: str, label: str, score: float, **kw) -> EmotionRow:
    return EmotionRow(path, label, score, scores_for(label, score), **kw)


@pytest.fixture
def list_path(tmp_path):
    path = tmp_path / "voice.list"
    path.write_text("", encoding="utf-8")
    write_results(results_path(path), [row("/c/a.wav", "happy", 0.9),
                                       row("/c/b.wav", "sad", 0.4),
                                       row("/c/c.wav", "happy", 0.55, reviewed=True),
                                       row("/c/d.wav", "neutral", 0.7)])
    return path


def test_filters_keep_a_label_or_low_confidence_least_sure_first(list_path):
    rows = read_results(results_path(list_path))
    assert [r.path[-5:] for r in filtered(rows)] == ["b.wav", "c.wav", "d.wav", "a.wav"]
    assert [r.path[-5:] for r in filtered(rows, "happy")] == ["c.wav", "a.wav"]
    assert [r.path[-5:] for r in filtered(rows, below=0.6)] == ["b.wav", "c.wav"]
    assert [r.path[-5:] for r in filtered(rows, unreviewed_only=True)] == [
        "b.wav", "d.wav", "a.wav"]
    with pytest.raises(ConfigError, match="not an emotion label"):
        filtered(rows, "joyful")


def test_a_correction_is_kept_marked_reviewed_and_undone_by_the_models_label(list_path):
    corrected = correct_tag(list_path, "/c/a.wav", "surprised")
    assert (corrected.final_label, corrected.reviewed, corrected.label) == ("surprised", True,
                                                                            "happy")
    saved = {r.path: r for r in read_results(results_path(list_path))}
    assert saved["/c/a.wav"].corrected == "surprised"
    assert filtered(list(saved.values()), "surprised")[0].path == "/c/a.wav"
    assert table_rows([saved["/c/a.wav"]]) == [["a.wav", "surprised ← happy", 0.9, "✓",
                                                 "/c/a.wav"]]
    undone = correct_tag(list_path, "/c/a.wav", "happy")
    assert (undone.corrected, undone.final_label, undone.reviewed) == ("", "happy", True)


def test_review_marks_and_counts(list_path):
    mark_reviewed(list_path, "/c/b.wav")
    correct_tag(list_path, "/c/d.wav", "angry")
    done = counts(read_results(results_path(list_path)))
    assert (done.reviewed, done.total, done.corrected, done.fraction) == (3, 4, 1, 0.75)
    mark_reviewed(list_path, "/c/b.wav", reviewed=False)
    assert counts(read_results(results_path(list_path))).reviewed == 2


def test_unknown_clips_and_labels_are_errors_that_say_what_to_do(list_path):
    with pytest.raises(ConfigError, match="no emotion tag"):
        mark_reviewed(list_path, "/c/zzz.wav")
    with pytest.raises(ConfigError, match="not an emotion label"):
        correct_tag(list_path, "/c/a.wav", "")


def test_next_unreviewed_goes_on_after_the_clip_and_wraps(list_path):
    rows = filtered(read_results(results_path(list_path)))   # b, c (reviewed), d, a
    assert next_unreviewed(rows, "/c/b.wav").path == "/c/d.wav"
    assert next_unreviewed(rows, "/c/a.wav").path == "/c/b.wav"
    assert next_unreviewed(rows).path == "/c/b.wav"
    assert next_unreviewed([r for r in rows if r.reviewed]) is None


def test_the_figure_counts_clips_per_final_label(list_path):
    correct_tag(list_path, "/c/b.wav", "happy")
    figure = distribution_figure(read_results(results_path(list_path)), lambda text: text)
    bars = figure.axes[0].patches[:len(LABELS)]
    assert [int(bar.get_height()) for bar in bars] == [0, 0, 0, 3, 1, 0, 0, 0, 0]
    reviewed = figure.axes[0].patches[len(LABELS):]
    assert [int(bar.get_height()) for bar in reviewed] == [0, 0, 0, 2, 0, 0, 0, 0, 0]
