"""The report's plots: one bar per length bin, one point per measured clip, outliers apart."""

from __future__ import annotations

import io

from gsv_core.dataset.quality import ClipQuality, build_report
from gsv_core.dataset.quality_measures import AudioMeasures
from gsv_core.dataset.quality_plots import quality_figures


def clip(name: str, duration_s: float, lufs: float | None) -> ClipQuality:
    measures = AudioMeasures(duration_s=duration_s, peak_dbfs=-3.0, clipped_fraction=0.0,
                             lufs=lufs, speech_dbfs=-20.0, noise_floor_dbfs=-70.0,
                             snr_db=50.0, silence_ratio=0.2, reverb_s=0.1)
    return ClipQuality(path=name, duration_s=duration_s, sample_rate=32000, channels=1,
                       measures=measures)


def test_figures_show_every_measured_clip_and_mark_outliers() -> None:
    report = build_report([clip("a.wav", 4.2, -23.0), clip("b.wav", 9.6, -24.0),
                           clip("c.wav", 9.9, -22.5), clip("d.wav", 20.0, -40.0),
                           ClipQuality(path="e.wav", problems=("unreadable",))])
    figures = quality_figures(report)
    bars = figures.lengths.axes[0].patches
    assert sum(bar.get_height() for bar in bars) == 4            # e.wav is not measured
    heights = {round(bar.get_x()): bar.get_height() for bar in bars if bar.get_height()}
    assert heights == {4: 1, 9: 2, 20: 1}
    normal, outliers = figures.loudness.axes[0].collections[-2:]
    assert len(normal.get_offsets()) == 3 and len(outliers.get_offsets()) == 1
    assert tuple(outliers.get_offsets()[0]) == (4.0, -40.0)
    buffer = io.BytesIO()
    figures.loudness.savefig(buffer, format="png")               # renders without pyplot
    assert buffer.getvalue()[:4] == b"\x89PNG"


def test_an_empty_report_still_draws() -> None:
    figures = quality_figures(build_report([]))
    assert len(figures.loudness.axes[0].collections) == 0
    assert sum(bar.get_height() for bar in figures.lengths.axes[0].patches) == 0
