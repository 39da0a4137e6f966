"""Where to cut a recording into slices: at silences, then long slices at their quietest point.

Our own implementation of the behaviour of upstream's ``tools/slicer2.py`` (facts in
shared/research/upstream-pipeline.md §2), so a user gets the slices GPT-SoVITS would give
with the same settings:

- loudness is a frame RMS every ``hop_ms``, over a window of ``min(min_interval, 4 hops)``
  centred on the frame and zero-padded at the ends (librosa's framing);
- a frame is silent when its RMS is below ``threshold_db`` (dBFS);
- a silent run is cut when it lasts at least ``min_interval_ms`` and the slice so far is at
  least ``min_length_ms`` long, or when it is leading silence longer than ``max_sil_kept_ms``;
- a run up to ``max_sil_kept`` is cut at its quietest frame; up to twice that, at most
  ``max_sil_kept`` is kept on each side; a longer one loses its middle;
- trailing silence is trimmed.

Differences from upstream, each deliberate:

- a slice still longer than ``max_slice_s`` (rule Q-4, default 10 s) is re-cut into the
  fewest pieces that fit, each cut at the quietest frame that keeps every piece between
  ``min_length`` and the maximum (one or two more pieces when that lets every cut fall in
  silence; see ``_split_long``); upstream keeps overlong slices, and its trainer later
  silently drops them;
- inconsistent parameters are a ``ConfigError`` naming the field (upstream raises a bare
  ``ValueError``) and the dB/ms values are range-checked;
- a slice's end offset is its real last sample, never past the end of the file;
- RMS comes from a running sum of squares rather than framed copies of the signal, and
  decisions are taken once per silent run rather than once per frame (same result, and an
  hour of audio is analysed in well under a second).

Sample offsets are at the rate the audio is given in (32 kHz in the slicing job).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from gsv_core.errors import ConfigError
from gsv_core.guidelines.dataset_rules import slice_length_limit
from gsv_core.guidelines.tables import REFERENCE_SLICE_S

__all__ = [
    "FrameGrid",
    "SlicerOptions",
    "find_slices",
    "frame_rms",
    "normalize_slice",
]

THRESHOLD_DB_RANGE = (-100.0, 0.0)  # upstream's slider; above 0 dBFS nothing is ever silent
HOP_MS_RANGE = (1.0, 100.0)         # upstream's slider
ENERGY_BLOCK = 1 << 22              # samples squared and summed at once (32 MB of float64)
RECUT_EXTRA_PIECES = 2              # Q-4 re-cut: pieces beyond the fewest tried to cut in silence


@dataclass(frozen=True)
class SlicerOptions:
    """How to slice; the defaults are those of upstream's web UI (not of its ``Slicer`` class).

    Validated on construction: every problem is a ConfigError naming the field.
    """

    threshold_db: float = -34.0    # RMS below this (dBFS) is silence
    min_length_ms: float = 4000.0  # a slice is only cut off once it is at least this long
    min_interval_ms: float = 300.0  # the shortest silence that is cut
    hop_ms: float = 10.0           # RMS frame step: cut positions lie on this grid
    max_sil_kept_ms: float = 500.0  # at most this much silence is kept at a cut
    # longer slices are re-cut at their quietest point; None turns it off. The allowed
    # range is the guideline engine's (slice_length_limit: 3-15 s).
    max_slice_s: float | None = REFERENCE_SLICE_S
    normalize_max: float = 0.9     # peak of the normalised part of the mix
    alpha: float = 0.25            # share of the peak-normalised signal in the output mix
    # Vocal separation / de-reverb / denoising before slicing: slice_job.CleanupOptions.

    def __post_init__(self) -> None:
        _validate(self)


def _config_error(field: str, problem: str, advice: str, rule: str | None = None) -> ConfigError:
    return ConfigError(f"Slicer setting {field}: {problem}", advice, rule=rule)


def _validate(options: SlicerOptions) -> None:
    numbers = {name: getattr(options, name) for name in (
        "threshold_db", "min_length_ms", "min_interval_ms", "hop_ms", "max_sil_kept_ms",
        "normalize_max", "alpha")}
    if options.max_slice_s is not None:
        numbers["max_slice_s"] = options.max_slice_s
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            raise _config_error(name, f"{value!r} is not a number.", "Give a finite number.")
    low, high = THRESHOLD_DB_RANGE
    if not low <= options.threshold_db <= high:
        raise _config_error("threshold_db", f"{options.threshold_db:g} dB is outside "
                            f"{low:g}..{high:g} dB.", "Try -34 dB (upstream's default); "
                            "raise it (e.g. -30) to cut more, lower it (e.g. -40) to cut less.")
    low, high = HOP_MS_RANGE
    if not low <= options.hop_ms <= high:
        raise _config_error("hop_ms", f"{options.hop_ms:g} ms is outside {low:g}..{high:g} ms.",
                            "Use 10 ms (upstream's default).")
    if not options.min_interval_ms >= options.hop_ms:
        raise _config_error("min_interval_ms", f"{options.min_interval_ms:g} ms is shorter "
                            f"than hop_ms ({options.hop_ms:g} ms).",
                            "The shortest silence must span at least one hop; use 300 ms.")
    if not options.min_length_ms >= options.min_interval_ms:
        raise _config_error("min_length_ms", f"{options.min_length_ms:g} ms is shorter than "
                            f"min_interval_ms ({options.min_interval_ms:g} ms).",
                            "A slice must be at least as long as the shortest silence cut; "
                            "use 4000 ms.")
    if not options.max_sil_kept_ms >= options.hop_ms:
        raise _config_error("max_sil_kept_ms", f"{options.max_sil_kept_ms:g} ms is shorter "
                            f"than hop_ms ({options.hop_ms:g} ms).", "Use 500 ms.")
    if not 0.0 < options.normalize_max <= 1.0:
        raise _config_error("normalize_max", f"{options.normalize_max:g} is outside (0, 1].",
                            "Use 0.9: the peak, as a fraction of full scale.")
    if not 0.0 <= options.alpha <= 1.0:
        raise _config_error("alpha", f"{options.alpha:g} is outside 0..1.",
                            "Use 0.25: 0 keeps the original level, 1 fully normalises.")
    if options.max_slice_s is not None:
        _validate_max_slice(options)


def _validate_max_slice(options: SlicerOptions) -> None:
    limit = slice_length_limit(options.max_slice_s)
    value = options.max_slice_s
    if not limit.min <= value <= limit.max:
        raise _config_error("max_slice_s", f"{value:g} s is outside {limit.min:g}..{limit.max:g} "
                            "s.", f"About {limit.default:g} s per slice is the reference; "
                            "overlong slices blow up training memory.", rule="Q-4")
    if value * 1000.0 < options.min_length_ms:
        raise _config_error("max_slice_s", f"{value:g} s is shorter than min_length_ms "
                            f"({options.min_length_ms:g} ms).",
                            "Lower min_length_ms or raise max_slice_s.", rule="Q-4")


@dataclass(frozen=True)
class FrameGrid:
    """The slicer's settings converted to samples and frames at one sample rate.

    Rounded as upstream rounds them, so cut positions land on the same frames.
    """

    hop_samples: int
    win_samples: int
    min_length_frames: int
    min_interval_frames: int
    max_sil_kept_frames: int
    max_slice_frames: int | None  # rounded down, so a re-cut slice is never over the limit
    threshold: float              # linear RMS

    @classmethod
    def from_options(cls, options: SlicerOptions, sample_rate: int) -> FrameGrid:
        hop = max(1, round(sample_rate * options.hop_ms / 1000))
        min_interval_samples = sample_rate * options.min_interval_ms / 1000
        max_slice = (None if options.max_slice_s is None
                     else int(options.max_slice_s * sample_rate // hop))
        return cls(
            hop_samples=hop,
            win_samples=min(round(min_interval_samples), 4 * hop),
            min_length_frames=round(sample_rate * options.min_length_ms / 1000 / hop),
            min_interval_frames=round(min_interval_samples / hop),
            max_sil_kept_frames=round(sample_rate * options.max_sil_kept_ms / 1000 / hop),
            max_slice_frames=max_slice,
            threshold=10.0 ** (options.threshold_db / 20.0),
        )


def frame_rms(audio: np.ndarray, hop_samples: int, win_samples: int) -> np.ndarray:
    """RMS of centred, zero-padded windows every ``hop_samples``; ``[frames]`` float64.

    Frame ``i`` covers samples ``[i*hop - win//2, i*hop - win//2 + win)``; samples outside
    the signal count as zeros (the mean is always over ``win`` samples), and there are
    ``1 + (samples + 2*(win//2) - win) // hop`` frames, as with librosa's centred framing.
    """
    samples = audio.shape[0]
    half = win_samples // 2
    n_frames = max(0, 1 + (samples + 2 * half - win_samples) // hop_samples)
    starts = np.arange(n_frames, dtype=np.int64) * hop_samples - half
    lo = np.clip(starts, 0, samples)
    hi = np.clip(starts + win_samples, 0, samples)
    energy = _energy_at(audio, lo, hi)
    return np.sqrt(np.maximum(energy, 0.0) / win_samples)


def _energy_at(audio: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """``sum(audio[lo[j]:hi[j]]**2)`` for each j, from a running sum of squares.

    The running sum is built block by block in float64 (an hour at 32 kHz would be 0.9 GB
    at once). ``lo`` and ``hi`` are each non-decreasing, which lets each block answer the
    positions that fall inside it with one searchsorted.
    """
    result = np.zeros(lo.shape[0], dtype=np.float64)
    carry = 0.0
    samples = audio.shape[0]
    # cumulative energy before sample k is needed at k = lo (subtracted) and k = hi (added)
    for start in range(0, samples, ENERGY_BLOCK):
        block = audio[start:start + ENERGY_BLOCK].astype(np.float64)
        running = np.concatenate(([carry], carry + np.cumsum(block * block)))
        end = start + block.shape[0]
        for positions, sign in ((hi, 1.0), (lo, -1.0)):
            first, last = np.searchsorted(positions, [start, end], side="left")
            if start + block.shape[0] >= samples:
                last = positions.shape[0]  # the last block also answers k == samples
            result[first:last] += sign * running[positions[first:last] - start]
        carry = float(running[-1])
    return result


def _silent_runs(rms: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """``(start, end)`` frame ranges of consecutive frames below ``threshold``."""
    silent = np.concatenate(([False], rms < threshold, [False]))
    edges = np.flatnonzero(np.diff(silent.astype(np.int8)))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _argmin(rms: np.ndarray, start: int, stop: int) -> int:
    """Frame of the lowest RMS in ``rms[start:stop]`` (the first one on ties)."""
    return start + int(np.argmin(rms[start:stop]))


def _silence_cuts(rms: np.ndarray, grid: FrameGrid) -> list[tuple[int, int]]:
    """The ``(drop_from, drop_to)`` frame ranges removed at each cut, in order."""
    total = rms.shape[0]
    keep = grid.max_sil_kept_frames
    cuts: list[tuple[int, int]] = []
    clip_start = 0
    for start, end in _silent_runs(rms, grid.threshold):
        if end == total:  # trailing silence: handled below
            if total - start >= grid.min_interval_frames:
                last = min(total, start + keep)
                cuts.append((_argmin(rms, start, last + 1), total + 1))
            break
        # ``end`` is the first loud frame after the run, where upstream decides
        leading = start == 0 and end > keep
        long_enough = end - start >= grid.min_interval_frames \
            and end - clip_start >= grid.min_length_frames
        if not leading and not long_enough:
            continue
        if end - start <= keep:
            pos = _argmin(rms, start, end + 1)
            cuts.append((0, pos) if start == 0 else (pos, pos))
            clip_start = pos
        elif end - start <= 2 * keep:
            pos = _argmin(rms, end - keep, start + keep + 1)
            pos_l = _argmin(rms, start, start + keep + 1)
            pos_r = _argmin(rms, end - keep, end + 1)
            if start == 0:
                cuts.append((0, pos_r))
                clip_start = pos_r
            else:
                cuts.append((min(pos_l, pos), max(pos_r, pos)))
                clip_start = max(pos_r, pos)
        else:
            pos_l = _argmin(rms, start, start + keep + 1)
            pos_r = _argmin(rms, end - keep, end + 1)
            cuts.append((0, pos_r) if start == 0 else (pos_l, pos_r))
            clip_start = pos_r
    return cuts


def _kept_ranges(cuts: list[tuple[int, int]], total: int) -> list[tuple[int, int]]:
    """The frame ranges between the removed ones (empty ranges dropped)."""
    if not cuts:
        return [(0, total)]
    ranges = []
    if cuts[0][0] > 0:
        ranges.append((0, cuts[0][0]))
    ranges.extend((left[1], right[0]) for left, right in pairwise(cuts))
    if cuts[-1][1] < total:
        ranges.append((cuts[-1][1], total))
    return [(a, b) for a, b in ranges if b > a]


def _quietest(rms: np.ndarray, start: int, stop: int) -> int:
    """Frame of the lowest RMS in ``rms[start:stop]`` for a Q-4 re-cut. Ties (digital
    silence reads exactly 0 at pauses and at stop consonants alike) go to the first frame of
    the longest run of tied frames: a pause between words outlasts a stop closure."""
    window = rms[start:stop]
    tied = np.concatenate(([False], window == window.min(), [False]))
    edges = np.flatnonzero(np.diff(tied.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    return start + int(starts[int(np.argmax(ends - starts))])


def _pieces(begin: int, end: int, count: int, limit: int, rms: np.ndarray,
            grid: FrameGrid) -> list[tuple[int, int]]:
    """Cut ``[begin, end)`` into ``count`` pieces within ``[shortest, limit]`` frames.

    A cut may only go where the left piece lies within ``[shortest, limit]`` and the rest
    can still become the remaining pieces; ``shortest`` is ``min_length``, or
    ``length // count`` when ``count`` pieces of ``min_length`` do not fit (a min_length
    over half the maximum), so the window is never empty.
    """
    shortest = min(max(1, grid.min_length_frames), (end - begin) // count)
    pieces = []
    while count > 1:
        after = count - 1  # pieces still to make from what follows the cut
        lo = max(begin + shortest, end - after * limit)
        hi = min(begin + limit, end - after * shortest)
        cut = _quietest(rms, lo, hi + 1)
        pieces.append((begin, cut))
        begin, count = cut, after
    pieces.append((begin, end))
    return pieces


def _split_long(begin: int, end: int, rms: np.ndarray, grid: FrameGrid) -> list[tuple[int, int]]:
    """Cut ``[begin, end)`` (frames) into pieces of at most ``max_slice_frames`` (Q-4), each
    cut at the quietest frame it may take.

    The fewest pieces are preferred, but when one of their cuts would fall on sound (not
    below the silence threshold) up to ``RECUT_EXTRA_PIECES`` more pieces (each still at
    least min_length) are tried, and the first count whose cuts all fall in silence is
    taken: a length just under two maxima leaves the fewest pieces almost no choice of where
    to cut, often mid-word, while one more piece can cut at the pauses. When no count
    manages that, the fewest pieces are kept.
    """
    limit = grid.max_slice_frames
    length = end - begin
    if limit is None or length <= limit:
        return [(begin, end)]
    fewest = math.ceil(length / limit)
    first = _pieces(begin, end, fewest, limit, rms, grid)
    for count in range(fewest, fewest + RECUT_EXTRA_PIECES + 1):
        if count > fewest and count * grid.min_length_frames > length:
            break
        pieces = first if count == fewest else _pieces(begin, end, count, limit, rms, grid)
        if all(rms[cut] < grid.threshold for _, cut in pieces[:-1]):
            return pieces
    return first


def find_slices(audio: np.ndarray, sample_rate: int,
                options: SlicerOptions) -> list[tuple[int, int]]:
    """Where to cut mono ``audio`` ``[samples]``: ``(start, end)`` sample offsets, in order.

    Slices never overlap and never extend past the signal; silence dropped at a cut lies
    between consecutive slices. An empty signal gives no slices.
    """
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"find_slices expects mono audio [samples], got shape {audio.shape}")
    if audio.shape[0] == 0:
        return []
    grid = FrameGrid.from_options(options, sample_rate)
    rms = frame_rms(audio, grid.hop_samples, grid.win_samples)
    total = rms.shape[0]
    frames = []
    for begin, end in _kept_ranges(_silence_cuts(rms, grid), total):
        frames.extend(_split_long(begin, end, rms, grid))
    samples = audio.shape[0]
    hop = grid.hop_samples
    slices = [(begin * hop, min(samples, end * hop)) for begin, end in frames]
    return [(start, end) for start, end in slices if end > start]


def normalize_slice(chunk: np.ndarray, options: SlicerOptions) -> np.ndarray:
    """Upstream's peak-normalisation mix: ``x/peak*(normalize_max*alpha) + (1-alpha)*x``.

    A chunk louder than full scale is first scaled to a peak of 1 (upstream divides by
    the peak but then mixes with the undivided peak, which leaves such chunks too quiet);
    a chunk of digital silence is returned unchanged (upstream divides by zero). float32.
    """
    chunk = np.asarray(chunk, dtype=np.float32)
    peak = float(np.max(np.abs(chunk))) if chunk.size else 0.0
    if peak == 0.0:
        return chunk.copy()
    if peak > 1.0:
        chunk = chunk / peak
        peak = 1.0
    gain = options.normalize_max * options.alpha / peak + (1.0 - options.alpha)
    return (chunk * np.float32(gain)).astype(np.float32, copy=False)
