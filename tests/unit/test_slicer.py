"""The slicer's cut positions, settings checks and normalisation (gsv_core/dataset/slicer.py).

Signals are built from exact digital silence and loud noise, so every cut position can be
worked out by hand from the frame geometry at 32 kHz with the default settings:
hop 320 samples, window 1280 centred on ``i*320`` (frame ``i`` covers samples
``[i*320 - 640, i*320 + 640)``), min_interval 30 frames, min_length 400 frames,
max_sil_kept 50 frames. A frame is silent when its window holds (almost) no loud sample.
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsv_core.dataset.slicer import (
    FrameGrid,
    SlicerOptions,
    find_slices,
    frame_rms,
    normalize_slice,
)
from gsv_core.errors import ConfigError
from gsv_core.guidelines import slice_length_limit

SR = 32000


def loud(seconds: float, seed: int = 0) -> np.ndarray:
    """Uniform noise, RMS 0.29 (-11 dBFS): every frame that holds it is far above -34 dB."""
    return np.random.default_rng(seed).uniform(-0.5, 0.5, round(seconds * SR)).astype(np.float32)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SR), dtype=np.float32)


def join(*parts: np.ndarray) -> np.ndarray:
    return np.concatenate(parts)


# --- the defaults and the settings checks ------------------------------------------------

def test_defaults_are_upstream_web_ui_values() -> None:
    options = SlicerOptions()
    assert (options.threshold_db, options.min_length_ms, options.min_interval_ms, options.hop_ms,
            options.max_sil_kept_ms, options.normalize_max, options.alpha) == \
        (-34.0, 4000.0, 300.0, 10.0, 500.0, 0.9, 0.25)


def test_q4_default_maximum_slice_is_the_guideline_engines() -> None:
    assert SlicerOptions().max_slice_s == slice_length_limit().default == 10.0


@pytest.mark.parametrize(("changes", "field"), [
    ({"min_interval_ms": 5.0}, "min_interval_ms"),              # < hop
    ({"min_length_ms": 200.0}, "min_length_ms"),                # < min_interval
    ({"max_sil_kept_ms": 5.0}, "max_sil_kept_ms"),              # < hop
    ({"hop_ms": 0.0}, "hop_ms"),
    ({"hop_ms": 500.0, "min_interval_ms": 500.0}, "hop_ms"),
    ({"threshold_db": 3.0}, "threshold_db"),
    ({"threshold_db": -120.0}, "threshold_db"),
    ({"threshold_db": math.nan}, "threshold_db"),
    ({"min_length_ms": math.inf}, "min_length_ms"),
    ({"alpha": 1.5}, "alpha"),
    ({"alpha": "0.3"}, "alpha"),
    ({"normalize_max": 0.0}, "normalize_max"),
    ({"normalize_max": 1.2}, "normalize_max"),
])
def test_inconsistent_settings_name_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        SlicerOptions(**changes)
    assert f"setting {field}:" in error.value.message
    assert error.value.advice


@pytest.mark.parametrize("changes", [{"max_slice_s": 20.0}, {"max_slice_s": 1.0},
                                     {"max_slice_s": 5.0, "min_length_ms": 6000.0}])
def test_q4_maximum_slice_outside_the_limit_is_refused(changes: dict) -> None:
    with pytest.raises(ConfigError) as error:
        SlicerOptions(**changes)
    assert error.value.rule == "Q-4"
    assert "max_slice_s" in error.value.message


def test_edge_values_are_accepted() -> None:
    SlicerOptions(min_length_ms=100.0, min_interval_ms=100.0, hop_ms=100.0,
                  max_sil_kept_ms=100.0, max_slice_s=None)
    SlicerOptions(max_slice_s=3.0, min_length_ms=3000.0)
    SlicerOptions(max_slice_s=15.0, alpha=0.0, normalize_max=1.0, threshold_db=0.0)


# --- RMS -------------------------------------------------------------------------------

def test_frame_rms_matches_zero_padded_centred_windows() -> None:
    audio = loud(1.013, seed=3) * np.linspace(0, 1, round(1.013 * SR), dtype=np.float32)
    rms = frame_rms(audio, 320, 1280)
    padded = np.pad(audio.astype(np.float64), 640)
    direct = [math.sqrt(np.mean(padded[i * 320:i * 320 + 1280] ** 2)) for i in range(len(rms))]
    assert len(rms) == 1 + len(audio) // 320
    np.testing.assert_allclose(rms, direct, rtol=0, atol=1e-9)


def test_frame_rms_is_the_same_across_energy_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    audio = loud(0.5, seed=4)
    whole = frame_rms(audio, 320, 1280)
    monkeypatch.setattr("gsv_core.dataset.slicer.ENERGY_BLOCK", 1000)  # many blocks
    np.testing.assert_allclose(frame_rms(audio, 320, 1280), whole, rtol=0, atol=1e-12)


# --- cut positions, worked out by hand ----------------------------------------------------

def test_short_silence_is_cut_at_its_quietest_frame() -> None:
    # 5 s loud, 0.4 s of faint noise (-66 dB) with exact zeros at 5.20-5.25 s, 5 s loud.
    # Silent frames: 502 (window starts at 160000, the end of the loud part) to 538;
    # 539 is loud again: 37 frames >= min_interval 30, <= max_sil_kept 50, so one cut at
    # the quietest frame: 522, the first whose window [166400, 167680) is all zeros.
    gap = np.random.default_rng(9).uniform(-0.001, 0.001, round(0.4 * SR)).astype(np.float32)
    gap[round(0.2 * SR):round(0.25 * SR)] = 0.0
    audio = join(loud(5), gap, loud(5, seed=1))
    assert find_slices(audio, SR, SlicerOptions()) == [(0, 522 * 320), (522 * 320, 332800)]


def test_medium_silence_keeps_at_most_max_sil_kept_each_side() -> None:
    # 1 s of zeros: silent frames 502..598 (97 frames, between 50 and 100): the left slice
    # ends at the quietest frame of the run's first 51 (502), the right one starts at the
    # quietest of its last 51 (549): 0.5 s of the silence is dropped, the rest kept.
    audio = join(loud(5), silence(1), loud(5, seed=1))
    assert find_slices(audio, SR, SlicerOptions()) == [(0, 502 * 320), (549 * 320, 352000)]


def test_long_silence_loses_its_middle() -> None:
    # 2 s of zeros: silent frames 502..698 (197 > 100): cut from 502 to 649 (= 699 - 50).
    audio = join(loud(5), silence(2), loud(5, seed=1))
    assert find_slices(audio, SR, SlicerOptions()) == [(0, 502 * 320), (649 * 320, 384000)]


def test_leading_and_trailing_silence_are_trimmed() -> None:
    # Leading zeros, frames 0..98 (> max_sil_kept): the slice starts at the quietest of
    # frames 49..99, i.e. 49. Trailing zeros from frame 602: the slice ends there.
    audio = join(silence(1), loud(5), silence(1))
    assert find_slices(audio, SR, SlicerOptions()) == [(49 * 320, 602 * 320)]


def test_no_cut_while_the_slice_is_shorter_than_min_length() -> None:
    audio = join(loud(2), silence(0.5), loud(5, seed=1))  # the gap comes 2 s in: < 4 s
    assert find_slices(audio, SR, SlicerOptions()) == [(0, audio.shape[0])]


def test_silence_shorter_than_min_interval_is_not_cut() -> None:
    audio = join(loud(4.5), silence(0.2), loud(4.5, seed=1))  # 9.2 s: under the maximum
    assert find_slices(audio, SR, SlicerOptions()) == [(0, audio.shape[0])]


def test_q4_overlong_slice_is_recut_at_the_quietest_point() -> None:
    # 14 s with no cuttable silence and a 0.1 s dip to zero at 7.0 s (too short to be a
    # silence cut). The re-cut window is [4 s, 10 s] (both pieces >= min_length 4 s and
    # the first <= 10 s); its quietest frame is 702, the first whose window is all zeros.
    audio = join(loud(7), silence(0.1), loud(6.9, seed=1))
    assert find_slices(audio, SR, SlicerOptions()) == [(0, 702 * 320), (702 * 320, 448000)]
    assert find_slices(audio, SR, SlicerOptions(max_slice_s=None)) == [(0, 448000)]


def test_q4_recut_respects_the_maximum_everywhere() -> None:
    audio = loud(37.3, seed=5)
    slices = find_slices(audio, SR, SlicerOptions(max_slice_s=7.5))
    assert slices[0][0] == 0 and slices[-1][1] == audio.shape[0]
    assert all(end == start for (_, end), (start, _) in pairwise(slices))  # contiguous
    assert all(end - start <= 7.5 * SR for start, end in slices)
    assert all(end - start >= 4 * SR for start, end in slices)


def test_q4_recut_when_two_min_lengths_do_not_fit() -> None:
    # 11 s (1101 frames) with min_length 8 s and max 10 s: two pieces of 8 s do not fit, so
    # each piece gets at least half (550 frames): the cut lies at frame 550 or 551.
    audio = loud(11, seed=6)
    slices = find_slices(audio, SR, SlicerOptions(min_length_ms=8000.0))
    assert len(slices) == 2
    assert slices[0][1] == slices[1][0] in (550 * 320, 551 * 320)


def test_q4_recut_prefers_the_longest_pause_among_equally_silent_frames() -> None:
    # 14 s with a 60 ms dip at 5 s (zero-RMS frames 502-504: a stop consonant) and a 150 ms
    # pause at 8.06 s (frames 808-819), both too short to be silence cuts: the re-cut takes
    # the first frame of the longer run of zeros, not the first zero.
    audio = join(loud(5), silence(0.06), loud(3), silence(0.15), loud(5.79, seed=1))
    assert find_slices(audio, SR, SlicerOptions()) == [(0, 808 * 320), (808 * 320, 448000)]


def test_q4_recut_takes_one_more_piece_to_cut_in_silence() -> None:
    # 19.9 s with 0.1 s pauses at 2, 4, 6, 8, 12, 14, 16 and 18 s: two pieces would have to
    # be cut within [9.9 s, 10 s], on sound; three pieces can all be cut in pauses.
    lengths = (2.0, 1.9, 1.9, 1.9, 3.9, 1.9, 1.9, 1.9, 1.8)
    parts = [loud(lengths[0])]
    for seed, seconds in enumerate(lengths[1:], start=1):
        parts += [silence(0.1), loud(seconds, seed=seed)]
    audio = join(*parts)
    assert audio.shape[0] == round(19.9 * SR)
    slices = find_slices(audio, SR, SlicerOptions())
    assert len(slices) == 3 and all(end - start <= 10 * SR for start, end in slices)
    pauses = [(2.0, 2.1), (4.0, 4.1), (6.0, 6.1), (8.0, 8.1), (12.0, 12.1), (14.0, 14.1),
              (16.0, 16.1), (18.0, 18.1)]
    for (_, cut), (after, _) in pairwise(slices):
        assert cut == after and any(a < cut / SR < b for a, b in pauses)


def test_empty_and_all_silent_audio() -> None:
    assert find_slices(np.zeros(0, np.float32), SR, SlicerOptions()) == []
    assert find_slices(silence(3), SR, SlicerOptions()) == []


def test_find_slices_refuses_multichannel_audio() -> None:
    with pytest.raises(ValueError, match="mono"):
        find_slices(np.zeros((2, 1000), np.float32), SR, SlicerOptions())


# --- the run-based algorithm equals a frame-by-frame reading of upstream's rules ---------

def _frame_by_frame(audio: np.ndarray, options: SlicerOptions) -> list[tuple[int, int]]:
    """The silence rules of the module docstring applied one frame at a time (as upstream's
    loop does), written independently of the run-based implementation."""
    grid = FrameGrid.from_options(options, SR)
    rms = frame_rms(audio, grid.hop_samples, grid.win_samples)
    keep, total = grid.max_sil_kept_frames, len(rms)
    tags, silent_from, clip_start = [], None, 0
    for i, value in enumerate(rms):
        if value < grid.threshold:
            silent_from = i if silent_from is None else silent_from
            continue
        if silent_from is None:
            continue
        s = silent_from
        silent_from = None
        if not (s == 0 and i > keep) and not (i - s >= grid.min_interval_frames
                                              and i - clip_start >= grid.min_length_frames):
            continue
        low = lambda a, b: a + int(np.argmin(rms[a:b]))  # noqa: E731
        if i - s <= keep:
            p = low(s, i + 1)
            tags.append((0 if s == 0 else p, p))
            clip_start = p
        elif i - s <= 2 * keep:
            p, left, right = low(i - keep, s + keep + 1), low(s, s + keep + 1), low(i - keep, i + 1)
            tags.append((0, right) if s == 0 else (min(left, p), max(right, p)))
            clip_start = right if s == 0 else max(right, p)
        else:
            left, right = low(s, s + keep + 1), low(i - keep, i + 1)
            tags.append((0 if s == 0 else left, right))
            clip_start = right
    if silent_from is not None and total - silent_from >= grid.min_interval_frames:
        end = min(total, silent_from + keep)
        tags.append((silent_from + int(np.argmin(rms[silent_from:end + 1])), total + 1))
    edges = [0] + [x for tag in tags for x in tag] + [total]
    pairs = [(edges[k], edges[k + 1]) for k in range(0, len(edges), 2)]
    hop = grid.hop_samples
    return [(a * hop, min(len(audio), b * hop)) for a, b in pairs
            if b > a and min(len(audio), b * hop) > a * hop]


# (loud?, seconds, seed): silences from 50 ms to 3.5 s cover every branch of the rules
# (shorter than min_interval, up to max_sil_kept, up to twice that, longer)
segment = st.one_of(st.tuples(st.just(True), st.floats(0.3, 6.0), st.integers(0, 2**16)),
                    st.tuples(st.just(False), st.floats(0.05, 3.5), st.integers(0, 2**16)))


@settings(max_examples=150, deadline=None)
@given(st.lists(segment, min_size=1, max_size=8), st.sampled_from([-40.0, -34.0, -20.0]),
       st.sampled_from([300.0, 1000.0]), st.sampled_from([300.0, 1000.0, 4000.0]))
def test_runs_give_the_same_slices_as_frame_by_frame(parts: list, threshold_db: float,
                                                     max_sil_kept_ms: float,
                                                     min_length_ms: float) -> None:
    rng = np.random.default_rng(0)
    # quiet loud parts (0.3x, -21 dB) are silence at -20 dB; silences hold faint noise
    audio = join(*[loud(seconds, seed) * (0.3 if rng.random() < 0.3 else 1.0) if is_loud
                   else silence(seconds) + 0.003 * loud(seconds, seed)
                   for is_loud, seconds, seed in parts])
    options = SlicerOptions(threshold_db=threshold_db, max_sil_kept_ms=max_sil_kept_ms,
                            min_length_ms=min_length_ms, max_slice_s=None)
    assert find_slices(audio, SR, options) == _frame_by_frame(audio, options)


@settings(max_examples=30, deadline=None)
@given(st.lists(segment, min_size=1, max_size=8), st.sampled_from([3.0, 10.0, 15.0]))
def test_slices_are_ordered_disjoint_and_within_the_maximum(parts: list, max_s: float) -> None:
    audio = join(*[loud(seconds, seed) if is_loud else silence(seconds)
                   for is_loud, seconds, seed in parts])
    options = SlicerOptions(max_slice_s=max_s, min_length_ms=min(4000.0, max_s * 1000))
    slices = find_slices(audio, SR, options)
    assert all(0 <= start < end <= len(audio) for start, end in slices)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(slices))
    assert all(end - start <= max_s * SR for start, end in slices)


# --- normalisation ------------------------------------------------------------------------

def test_normalisation_mixes_peak_normalised_and_original() -> None:
    chunk = np.array([0.5, -0.25, 0.1], dtype=np.float32)
    out = normalize_slice(chunk, SlicerOptions())
    # x/0.5 * (0.9*0.25) + 0.75*x = 1.2x
    np.testing.assert_allclose(out, 1.2 * chunk, rtol=1e-6)
    assert out.dtype == np.float32


def test_normalisation_of_silence_and_overloud_chunks() -> None:
    np.testing.assert_array_equal(normalize_slice(np.zeros(4, np.float32), SlicerOptions()),
                                  np.zeros(4, np.float32))
    over = normalize_slice(np.array([2.0, -1.0], np.float32), SlicerOptions())
    np.testing.assert_allclose(over, [0.975, -0.4875], rtol=1e-6)  # peak 1 first, then mixed
    same = normalize_slice(np.array([0.3, -0.1], np.float32), SlicerOptions(alpha=0.0))
    np.testing.assert_allclose(same, [0.3, -0.1], rtol=1e-6)
