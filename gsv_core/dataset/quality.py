"""The dataset quality report (Q-1, Q-4): per-clip measures, checks with verdicts, a summary.

``analyse_list`` reads a `.list` (every line problem becomes a report problem, see
``annotations``), measures each clip (``quality_measures``) and applies the checks below,
each with its threshold in ``gsv_core/guidelines/tables.py``; a failed check lists its
clips. ``report_to_dict`` gives the JSON that ``gsv-studio quality --json`` prints, and its
``summary`` is what the guideline engine reads (``gsv-studio plan --dataset-report``):

    check             fails when                                threshold (QUALITY_ + ...)
    unreadable        the audio cannot be decoded
    missing_audio     a line's audio file does not exist
    bad_line          a line is not ``wav|speaker|LANG|text``
    unknown_language  a language other than zh en ja ko yue (Q-5)
    duplicate_name    two lines name audio with the same file name
    clipping          share of samples at full scale above      CLIPPED_FRACTION_MAX
    loudness_outlier  LUFS this far from the median (3+ clips)  LUFS_OUTLIER_DB
    noisy             SNR estimate below                        SNR_MIN_DB
    reverberant       decay-time estimate above                 REVERB_MAX_S
    too_long          longer than (Q-4)                         SLICE_FLAG_S (no prefix)
    too_short         shorter than                              CLIP_MIN_S
    mostly_silent     silence ratio above                       SILENCE_RATIO_MAX
    sample_rate       source sample rate below                  MIN_SAMPLE_RATE
    channels          more channels (a warning: mixed to mono)  MAX_CHANNELS

The verdict is "good" when no check but ``channels`` failed and at least one clip was
measured, else "poor".
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gsv_core.dataset.annotations import LabelList, read_list
from gsv_core.dataset.quality_measures import (
    AudioMeasures,
    is_clipped,
    loudness_outliers,
    measure_audio,
)
from gsv_core.guidelines.tables import (
    QUALITY_CLIP_MIN_S,
    QUALITY_CLIPPED_FRACTION_MAX,
    QUALITY_LUFS_OUTLIER_DB,
    QUALITY_MAX_CHANNELS,
    QUALITY_MIN_SAMPLE_RATE,
    QUALITY_REVERB_MAX_S,
    QUALITY_SILENCE_RATIO_MAX,
    QUALITY_SNR_MIN_DB,
    SLICE_FLAG_S,
)

__all__ = [
    "AUDIO_SUFFIXES",
    "CHECKS",
    "ClipQuality",
    "Problem",
    "QualityReport",
    "QualitySummary",
    "analyse_files",
    "analyse_list",
    "build_report",
    "measure_clip",
    "report_to_dict",
]

Progress = Callable[[int, int, str], None]
ShouldStop = Callable[[], bool]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")   # what soundfile (libsndfile) decodes
WARNING_CHECKS = frozenset({"channels"})              # reported, but the verdict stays good

# Each check's message; {n} is the number of clips, the other fields its threshold.
CHECKS: dict[str, str] = {
    "unreadable": "{n} clip(s) cannot be decoded: re-export them as WAV or remove them.",
    "missing_audio": "{n} line(s) name audio that does not exist: choose the audio folder "
                     "or fix the paths.",
    "bad_line": "{n} line(s) are not 'audio|speaker|language|text': fix or delete them.",
    "unknown_language": "{n} line(s) have a language other than ZH, EN, JA, KO, YUE (Q-5): "
                        "set each clip's language.",
    "duplicate_name": "{n} line(s) repeat an audio file name: rename the files or delete "
                      "the repeated lines.",
    "clipping": "{n} clip(s) are clipped (more than {max:.2%} of samples at full scale): "
                "re-record or remove them; lowering the volume does not undo clipping.",
    "loudness_outlier": "{n} clip(s) are more than {max:g} dB louder or quieter than the "
                        "median clip (Q-1: uniform loudness): normalise or re-record them.",
    "noisy": "{n} clip(s) have speech less than {min:g} dB above the noise floor (Q-1): "
             "denoise them or remove them.",
    "reverberant": "{n} clip(s) sound reverberant (decay estimate over {max:g} s, Q-1): "
                   "de-reverb them or record in a drier room.",
    "too_long": "{n} clip(s) are longer than {max:g} s (Q-4): re-slice them.",
    "too_short": "{n} clip(s) are shorter than {min:g} s: merge them with a neighbour or "
                 "remove them.",
    "mostly_silent": "{n} clip(s) are more than {max:.0%} silence: trim or remove them.",
    "sample_rate": "{n} clip(s) come from audio below {min} Hz: they lack the high band "
                   "SoVITS learns at 32 kHz; use the original recordings if you have them.",
    "channels": "{n} clip(s) have more than {max} channel(s): they are averaged to mono for "
                "training; check that the mix sounds right.",
}
_THRESHOLDS: dict[str, dict[str, float]] = {
    "clipping": {"max": QUALITY_CLIPPED_FRACTION_MAX},
    "loudness_outlier": {"max": QUALITY_LUFS_OUTLIER_DB},
    "noisy": {"min": QUALITY_SNR_MIN_DB},
    "reverberant": {"max": QUALITY_REVERB_MAX_S},
    "too_long": {"max": SLICE_FLAG_S},
    "too_short": {"min": QUALITY_CLIP_MIN_S},
    "mostly_silent": {"max": QUALITY_SILENCE_RATIO_MAX},
    "sample_rate": {"min": QUALITY_MIN_SAMPLE_RATE},
    "channels": {"max": QUALITY_MAX_CHANNELS},
}


@dataclass(frozen=True)
class ClipQuality:
    """One clip's measures and the checks it failed; measures are None where not measured."""

    path: str
    duration_s: float = 0.0
    sample_rate: int = 0
    channels: int = 0
    measures: AudioMeasures | None = None
    problems: tuple[str, ...] = ()
    error: str = ""            # why the clip could not be read (unreadable / missing_audio)


@dataclass(frozen=True)
class Problem:
    """A failed check: which clips, and what to do."""

    check: str
    clips: tuple[str, ...]
    message: str
    details: tuple[str, ...] = ()   # one line per clip or line (line numbers, errors)


@dataclass(frozen=True)
class QualitySummary:
    """What the guideline engine reads (``DatasetSummary`` fields: minutes, p95, clips, Q-1)."""

    clips: int                 # clips that could be measured
    minutes: float
    p95_slice_s: float
    lufs_spread_db: float      # loudest minus quietest clip (LUFS); 0 with fewer than 2
    verdict: str               # "good" | "poor"
    sample_rates: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()


@dataclass(frozen=True)
class QualityReport:
    clips: tuple[ClipQuality, ...]
    summary: QualitySummary
    problems: tuple[Problem, ...] = field(default=())


def _clip_checks(clip: ClipQuality) -> list[str]:
    """The per-clip checks ``clip`` fails (loudness_outlier needs the others: build_report)."""
    m = clip.measures
    if m is None:
        return []
    failed = []
    if is_clipped(m.clipped_fraction):
        failed.append("clipping")
    if m.snr_db is not None and m.snr_db < QUALITY_SNR_MIN_DB:
        failed.append("noisy")
    if m.reverb_s is not None and m.reverb_s > QUALITY_REVERB_MAX_S:
        failed.append("reverberant")
    if clip.duration_s > SLICE_FLAG_S:
        failed.append("too_long")
    if clip.duration_s < QUALITY_CLIP_MIN_S:
        failed.append("too_short")
    if m.silence_ratio > QUALITY_SILENCE_RATIO_MAX:
        failed.append("mostly_silent")
    if clip.sample_rate < QUALITY_MIN_SAMPLE_RATE:
        failed.append("sample_rate")
    if clip.channels > QUALITY_MAX_CHANNELS:
        failed.append("channels")
    return failed


def measure_clip(path: str | os.PathLike[str]) -> ClipQuality:
    """Read one audio file and measure it; a file that cannot be decoded gives
    ``problems=("unreadable",)`` (``("missing_audio",)`` when it does not exist)."""
    import soundfile

    name = os.fspath(path)
    try:
        audio, rate = soundfile.read(name, dtype="float32", always_2d=True)
    except (soundfile.SoundFileError, OSError, RuntimeError, ValueError) as exc:
        check = "missing_audio" if not Path(name).is_file() else "unreadable"
        return ClipQuality(path=name, problems=(check,), error=str(exc))
    if audio.shape[0] == 0:
        return ClipQuality(path=name, sample_rate=rate, channels=audio.shape[1],
                           problems=("unreadable",), error="the file holds no samples")
    if not np.isfinite(audio).all():
        return ClipQuality(path=name, sample_rate=rate, channels=audio.shape[1],
                           problems=("unreadable",),
                           error="the file holds samples that are not numbers (NaN or "
                                 "infinite): a damaged floating-point recording")
    measures = measure_audio(audio, rate)
    clip = ClipQuality(path=name, duration_s=measures.duration_s, sample_rate=rate,
                       channels=audio.shape[1], measures=measures)
    return ClipQuality(**{**clip.__dict__, "problems": tuple(_clip_checks(clip))})


def _measure_all(paths: Sequence[str], progress: Progress | None, should_stop: ShouldStop | None,
                 workers: int) -> list[ClipQuality]:
    """Measure ``paths`` in order, in ``workers`` processes; stops early when asked."""
    results: list[ClipQuality] = []
    total = len(paths)

    def done(clip: ClipQuality) -> None:
        results.append(clip)
        if progress is not None:
            progress(len(results), total, Path(clip.path).name)

    if workers <= 1 or total < 2:
        for path in paths:
            if should_stop is not None and should_stop():
                break
            done(measure_clip(path))
        return results
    # spawn, not fork: the UI process has threads, and a forked child can inherit a held lock.
    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        for clip in pool.map(measure_clip, paths, chunksize=8):
            if should_stop is not None and should_stop():
                pool.shutdown(cancel_futures=True)
                break
            done(clip)
    return results


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else 0.0


def build_report(clips: Sequence[ClipQuality], labels: LabelList | None = None) -> QualityReport:
    """Apply the cross-clip check (loudness), gather problems and the summary."""
    lufs = [c.measures.lufs for c in clips if c.measures and c.measures.lufs is not None]
    _, outliers = loudness_outliers([c.measures.lufs if c.measures else None for c in clips])
    final = []
    for clip, outlier in zip(clips, outliers, strict=True):
        extra = ("loudness_outlier",) if outlier else ()
        final.append(ClipQuality(**{**clip.__dict__, "problems": (*clip.problems, *extra)}))
    by_check: dict[str, list[str]] = {}
    details: dict[str, list[str]] = {}
    for clip in final:
        for check in clip.problems:
            by_check.setdefault(check, []).append(clip.path)
            if clip.error and not (check == "missing_audio" and labels is not None):
                # (a missing clip of a list is told by its line, below)
                details.setdefault(check, []).append(f"{clip.path}: {clip.error}")
    path_of_line = {c.line_number: os.fspath(c.audio_path) for c in labels.clips} if labels else {}
    for issue in labels.issues if labels is not None else ():
        if issue.check == "missing_audio":
            details.setdefault(issue.check, []).append(issue.message)
            continue  # its clip is already listed (measured as missing)
        by_check.setdefault(issue.check, []).append(
            path_of_line.get(issue.line_number, f"line {issue.line_number}"))
        details.setdefault(issue.check, []).append(issue.message)
    problems = tuple(
        Problem(check=check, clips=tuple(by_check[check]),
                message=CHECKS[check].format(n=len(by_check[check]), **_THRESHOLDS.get(check, {})),
                details=tuple(details.get(check, ())))
        for check in CHECKS if check in by_check)
    measured = [c for c in final if c.measures is not None]
    durations = [c.duration_s for c in measured]
    failing = [p for p in problems if p.check not in WARNING_CHECKS]
    summary = QualitySummary(
        clips=len(measured), minutes=sum(durations) / 60,
        p95_slice_s=_percentile(durations, 95),
        lufs_spread_db=max(lufs) - min(lufs) if len(lufs) >= 2 else 0.0,
        verdict="good" if measured and not failing else "poor",
        sample_rates=tuple(sorted({c.sample_rate for c in measured})),
        channels=tuple(sorted({c.channels for c in measured})))
    return QualityReport(clips=tuple(final), summary=summary, problems=problems)


def analyse_list(list_path: str | os.PathLike[str], *,
                 audio_dir: str | os.PathLike[str] | None = None,
                 progress: Progress | None = None, should_stop: ShouldStop | None = None,
                 workers: int = 1) -> QualityReport:
    """The quality report of a `.list` (see the module docstring).

    Raises:
        DatasetError: the list file itself cannot be read (bad lines are report problems).
    """
    labels = read_list(list_path, audio_dir=audio_dir)
    seen: set[str] = set()
    paths = []
    for clip in labels.clips:
        key = os.fspath(clip.audio_path)
        if key not in seen:  # the same file twice is one duplicate_name, measured once
            seen.add(key)
            paths.append(key)
    return build_report(_measure_all(paths, progress, should_stop, workers), labels)


def analyse_files(paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str], *,
                  progress: Progress | None = None, should_stop: ShouldStop | None = None,
                  workers: int = 1) -> QualityReport:
    """The quality report of audio files, or of every audio file in a folder (no labels)."""
    if isinstance(paths, str | os.PathLike) and Path(paths).is_dir():
        folder = Path(paths)
        files = sorted(os.fspath(p) for p in folder.iterdir()
                       if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    elif isinstance(paths, str | os.PathLike):
        files = [os.fspath(paths)]
    else:
        files = [os.fspath(p) for p in paths]
    return build_report(_measure_all(files, progress, should_stop, workers))


def _number(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def report_to_dict(report: QualityReport) -> dict[str, object]:
    """The JSON shape of issue 10 item 7 (keys may be added, never removed or renamed).

    Beyond the issue's keys: each clip's ``noise_floor_dbfs``, the summary's
    ``sample_rates`` and ``channels`` (of the sources), and each problem's ``details``.
    """
    clips = []
    for clip in report.clips:
        m = clip.measures
        clips.append({
            "path": clip.path, "duration_s": round(clip.duration_s, 3),
            "sample_rate": clip.sample_rate, "channels": clip.channels,
            "lufs": _number(m.lufs) if m else None,
            "peak_dbfs": _number(m.peak_dbfs) if m else None,
            "clipped_fraction": _number(m.clipped_fraction, 6) if m else None,
            "snr_db": _number(m.snr_db) if m else None,
            "reverb": _number(m.reverb_s, 3) if m else None,
            "silence_ratio": _number(m.silence_ratio, 4) if m else None,
            "noise_floor_dbfs": _number(m.noise_floor_dbfs) if m else None,
            "problems": list(clip.problems)})
    s = report.summary
    return {
        "clips": clips,
        "summary": {"clips": s.clips, "minutes": round(s.minutes, 3),
                    "p95_slice_s": round(s.p95_slice_s, 3),
                    "lufs_spread_db": round(s.lufs_spread_db, 2), "verdict": s.verdict,
                    "sample_rates": list(s.sample_rates), "channels": list(s.channels)},
        "problems": [{"check": p.check, "clips": list(p.clips), "message": p.message,
                      "details": list(p.details)} for p in report.problems],
    }
