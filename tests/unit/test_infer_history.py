"""The session history: newest first, at most 10, files of dropped results deleted."""

from __future__ import annotations

import numpy as np
import soundfile

from gsv_core.infer.history import HISTORY_LIMIT, SessionHistory, record

RATE = 32000


def tone(seconds: float, amplitude: float = 0.5) -> np.ndarray:
    samples = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * 220 * samples)).astype(np.float32)


def test_record_writes_a_playable_wav_and_puts_it_first(tmp_path) -> None:
    history = record(SessionHistory(), tone(0.5), RATE, "first", {"top-k": 15}, 7, tmp_path)
    history = record(history, tone(0.25), RATE, "second", {"top-k": 5}, 8, tmp_path)
    newest = history.entries[0]
    assert [e.text for e in history.entries] == ["second", "first"]
    assert [e.number for e in history.entries] == [2, 1]
    assert newest.settings == (("top-k", "5"),) and newest.seed == 8
    assert newest.duration_s == 0.25
    audio, rate = soundfile.read(newest.audio_path, dtype="float32")
    assert rate == RATE and soundfile.info(newest.audio_path).subtype == "PCM_16"
    np.testing.assert_allclose(audio, tone(0.25), atol=1 / 32767 + 1e-6)


def test_only_the_last_ten_are_kept_and_dropped_files_are_deleted(tmp_path) -> None:
    folder = tmp_path / "results"
    history = SessionHistory()
    for n in range(HISTORY_LIMIT + 3):
        history = record(history, tone(0.05), RATE, f"text {n}", {}, n, folder)
    assert len(history.entries) == HISTORY_LIMIT == 10
    assert [e.text for e in history.entries] == [f"text {n}" for n in range(12, 2, -1)]
    assert sorted(folder.iterdir()) == sorted(e.audio_path for e in history.entries)
    assert history.recorded == 13


def test_loud_audio_is_clipped_not_wrapped(tmp_path) -> None:
    history = record(SessionHistory(), tone(0.1, amplitude=3.0), RATE, "loud", {}, 1, tmp_path)
    audio, _ = soundfile.read(history.entries[0].audio_path, dtype="float32")
    assert audio.max() > 0.99 and audio.min() < -0.99  # clipped at full scale
    assert np.all(np.diff(np.sign(audio[:40])) >= 0)  # the first rising edge never wraps


def test_two_sessions_sharing_the_folder_keep_their_own_files(tmp_path) -> None:
    folder = tmp_path / "results"
    alice = record(SessionHistory(), tone(0.1), RATE, "alice", {}, 1, folder)
    bob = record(SessionHistory(), tone(0.2), RATE, "bob", {}, 1, folder)  # also result 1
    assert alice.entries[0].audio_path != bob.entries[0].audio_path
    for _ in range(HISTORY_LIMIT):  # bob's old results drop off; alice's file stays
        bob = record(bob, tone(0.05), RATE, "bob again", {}, 1, folder)
    assert soundfile.info(alice.entries[0].audio_path).frames == len(tone(0.1))
