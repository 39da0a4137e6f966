"""The slicer's warning about a recording whose loudness is far from the others' (Q-1).

Peak normalisation of the slices hides most of such a difference from the quality report of
the slices, so the slicer compares the recordings themselves, with the report's own
comparison (quality_measures.loudness_outliers, QUALITY_LUFS_OUTLIER_DB).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from gsv_core.dataset.quality_measures import (
    LOUDNESS_MIN_CLIPS,
    integrated_lufs,
    loudness_outliers,
)
from gsv_core.dataset.slice_job import slice_audio
from gsv_core.guidelines.tables import QUALITY_LUFS_OUTLIER_DB
from tests.unit.test_slicer_job import SR, speech_like, write_wav


def test_outliers_are_the_values_beyond_the_limit_from_the_median() -> None:
    limit = QUALITY_LUFS_OUTLIER_DB
    median, flags = loudness_outliers([-20.0, -21.0, -20.5 - limit - 0.1, None, -19.0])
    assert median == -20.5   # of the four known values
    assert flags == [False, False, True, False, False]
    _, at_limit = loudness_outliers([-20.0, -20.0, -20.0 - limit, -20.0 + limit])
    assert at_limit == [False, False, False, False]   # "more than" the limit, not "at"


def test_too_few_known_values_have_no_outlier() -> None:
    values = [-20.0] + [-40.0] * (LOUDNESS_MIN_CLIPS - 2) + [None]
    median, flags = loudness_outliers(values)
    assert median is not None and flags == [False] * len(values)
    assert loudness_outliers([]) == (None, [])


def test_integrated_lufs_takes_mono_and_channels_alike() -> None:
    mono = speech_like(3) * 0.5
    assert integrated_lufs(mono, SR) == integrated_lufs(mono[:, None], SR)
    quieter = integrated_lufs(mono * 10 ** (-12 / 20), SR)
    assert abs(integrated_lufs(mono, SR) - quieter - 12.0) < 0.01   # a gain is a dB shift
    assert integrated_lufs(np.zeros(SR, np.float32), SR) is None   # silence: no loudness


def test_a_quiet_recording_is_warned_about_though_its_slices_are_normalised(
        tmp_path: Path) -> None:
    gain = 10 ** (-(QUALITY_LUFS_OUTLIER_DB + 6) / 20)   # well past the limit
    write_wav(tmp_path / "in" / "quiet.wav", speech_like(1) * gain)
    for seed in (2, 3, 4):
        write_wav(tmp_path / "in" / f"normal {seed}.wav", speech_like(seed))
    result = slice_audio(tmp_path / "in", tmp_path / "out", workers=1)
    assert result.ok and len(result.warnings) == 1, result.warnings
    assert result.warnings[0].startswith("quiet.wav: ") and "quieter" in result.warnings[0]
    # why it is told here: the quiet one's slices come out much closer to the others'
    slice_lufs = {s.source.name: integrated_lufs(sf.read(s.path)[0], SR)
                  for s in result.slices}
    assert len(slice_lufs) == 4   # every recording was sliced
    _, flags = loudness_outliers(list(slice_lufs.values()))
    assert not any(flags), slice_lufs


def test_recordings_of_one_loudness_and_a_pair_get_no_warning(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        write_wav(tmp_path / "even" / f"take {seed}.wav", speech_like(seed))
    assert slice_audio(tmp_path / "even", tmp_path / "out1", workers=1).warnings == ()
    write_wav(tmp_path / "pair" / "loud.wav", speech_like(1))
    write_wav(tmp_path / "pair" / "quiet.wav", speech_like(2) * 0.01)   # which one is off?
    assert slice_audio(tmp_path / "pair", tmp_path / "out2", workers=1).warnings == ()


@pytest.mark.parametrize("rate", [16000, 32000, 44100])
@pytest.mark.parametrize("seconds", [0.4, 0.46, 1.75, 12.3])
@pytest.mark.parametrize("channels", [1, 2, 5])
def test_the_loudness_is_pyloudnorms(rate: int, seconds: float, channels: int) -> None:
    """The vectorised gating gives pyloudnorm's value (its last block may run past the end;
    quiet stretches exercise both gates); the caller's array is left as it was."""
    rng = np.random.default_rng(rate + channels)
    audio = (rng.standard_normal((int(rate * seconds), channels)) * 0.1).astype(np.float32)
    audio[: audio.shape[0] // 3] *= 1e-3     # below the relative gate
    audio[-audio.shape[0] // 5:] *= 1e-4     # below the absolute gate
    before = audio.copy()
    expected = pyloudnorm.Meter(rate).integrated_loudness(audio.copy())
    assert integrated_lufs(audio, rate) == pytest.approx(expected, abs=1e-4)
    assert np.array_equal(audio, before)
