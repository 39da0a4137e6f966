"""The session history: newest first, at most 10, files of dropped results deleted; the
results folder removed at exit, and abandoned ones of earlier runs at start."""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile

from gsv_core.infer.history import (
    HISTORY_LIMIT,
    RESULTS_PREFIX,
    SessionHistory,
    record,
    remove_results,
    remove_stale_results,
    results_folder,
)

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


# -- the results folder: removed at exit, abandoned ones removed at start -----------------

DAY_S = 24 * 3600


def old_folder(root: Path, name: str, age_s: float, now_s: float, owner: dict | None) -> Path:
    """A results folder with one result file, last changed ``age_s`` before ``now_s``."""
    folder = root / f"{RESULTS_PREFIX}{name}"
    folder.mkdir()
    result = folder / "result-0001-seed1-x.wav"
    result.write_bytes(b"RIFF")
    if owner is not None:
        (folder / "owner.json").write_text(json.dumps(owner), encoding="utf-8")
    for path in folder.iterdir():
        os.utime(path, (now_s - age_s, now_s - age_s))
    os.utime(folder, (now_s - age_s, now_s - age_s))
    return folder


def this_process() -> dict:
    return {"pid": os.getpid(), "started": psutil.Process().create_time()}


def finished_process() -> dict:
    """The owner record of a process that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return {"pid": int(child.stdout), "started": 1.0}


def test_a_new_results_folder_names_its_owner_and_goes_at_exit(tmp_path, monkeypatch) -> None:
    registered = []
    monkeypatch.setattr(atexit, "register", lambda fn, *args: registered.append((fn, args)))
    folder = results_folder(tmp_path)
    assert folder.parent == tmp_path and folder.name.startswith(RESULTS_PREFIX)
    assert json.loads((folder / "owner.json").read_text()) == this_process()
    record(SessionHistory(), tone(0.05), RATE, "a", {}, 1, folder)
    assert registered == [(remove_results, (folder,))]
    fn, args = registered[0]
    fn(*args)  # what the interpreter does at exit
    assert not folder.exists()
    remove_results(folder)  # twice (exit after a normal close) is fine


def test_start_removes_folders_of_apps_that_are_gone_and_keeps_running_ones(tmp_path) -> None:
    now_s = 1_800_000_000.0
    running = old_folder(tmp_path, "running", 3 * DAY_S, now_s, this_process())
    crashed = old_folder(tmp_path, "crashed", 60, now_s, finished_process())
    # the same process id, now used by a process that started later: its owner is gone
    reused = old_folder(tmp_path, "reused", 60, now_s,
                        {"pid": os.getpid(), "started": this_process()["started"] - 3600})
    assert remove_stale_results(tmp_path, now_s=now_s) == [crashed, reused]
    assert running.exists() and not crashed.exists() and not reused.exists()


def test_folders_without_an_owner_go_only_after_a_day_unchanged(tmp_path) -> None:
    now_s = 1_800_000_000.0
    ancient = old_folder(tmp_path, "ancient", DAY_S + 60, now_s, owner=None)
    recent = old_folder(tmp_path, "recent", DAY_S - 60, now_s, owner=None)
    garbled = old_folder(tmp_path, "garbled", 60, now_s, owner=None)
    (garbled / "owner.json").write_text("{not json", encoding="utf-8")
    os.utime(garbled / "owner.json", (now_s - 60, now_s - 60))
    # a result written a minute ago keeps an otherwise old folder
    touched = old_folder(tmp_path, "touched", 3 * DAY_S, now_s, owner=None)
    os.utime(next(touched.glob("*.wav")), (now_s - 60, now_s - 60))
    other = tmp_path / "someone-elses-folder"
    other.mkdir()
    os.utime(other, (now_s - 9 * DAY_S, now_s - 9 * DAY_S))
    assert remove_stale_results(tmp_path, now_s=now_s) == [ancient]
    assert recent.exists() and garbled.exists() and touched.exists() and other.exists()


def test_a_link_named_like_a_results_folder_is_never_followed(tmp_path) -> None:
    now_s = 1_800_000_000.0
    target = old_folder(tmp_path, "target", 3 * DAY_S, now_s, finished_process())
    target = target.rename(tmp_path / "kept")
    (tmp_path / f"{RESULTS_PREFIX}link").symlink_to(target)
    assert remove_stale_results(tmp_path, now_s=now_s) == []
    assert (target / "owner.json").exists()


def test_a_new_folder_sweeps_the_abandoned_ones_first(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(atexit, "register", lambda fn, *args: None)
    crashed = old_folder(tmp_path, "crashed", 60, time.time(), finished_process())
    folder = results_folder(tmp_path)
    assert not crashed.exists() and folder.exists()
