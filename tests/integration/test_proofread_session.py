"""Proofreading on generated WAVs: merge, split, delete/restore, persistence, stale lists."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from gsv_core.dataset.annotations import read_list
from gsv_core.dataset.proofread import ProofreadSession, StaleListError
from gsv_core.dataset.review_store import load_review
from gsv_core.errors import DatasetError
from gsv_core.guidelines.dataset_input import dataset_from_fields

RATE = 32000


def _tone(seconds: float, freq: float, *, seed: int) -> np.ndarray:
    """int16 mono samples: a tone plus a little noise, different per clip."""
    t = np.arange(round(seconds * RATE)) / RATE
    noise = np.random.default_rng(seed).normal(0, 0.01, t.shape)
    return np.round((0.3 * np.sin(2 * np.pi * freq * t) + noise) * 32767).astype(np.int16)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """``voice.list`` over four 32 kHz int16 clips in ``clips/``; returns the list path."""
    folder = tmp_path / "clips"
    folder.mkdir()
    lines = []
    for number, (seconds, lang, text) in enumerate(
            [(2.0, "ZH", "你好。"), (1.5, "ZH", "世界。"), (3.0, "EN", "Hello there."),
             (2.5, "EN", "General Kenobi.")]):
        name = f"rec.wav_{number:010d}_{number + 1:010d}.wav"
        soundfile.write(folder / name, _tone(seconds, 220 + 50 * number, seed=number), RATE,
                        subtype="PCM_16")
        lines.append(f"{name}|rec|{lang}|{text}")
    path = tmp_path / "voice.list"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _session(list_path: Path) -> ProofreadSession:
    return ProofreadSession(list_path, audio_dir=list_path.parent / "clips")


def _samples(path: Path) -> np.ndarray:
    return soundfile.read(path, dtype="int16")[0]


def test_split_is_lossless_keeps_the_original_and_survives_a_new_session(
        dataset: Path) -> None:
    session = _session(dataset)
    original = session.clips[2]
    before = _samples(original.audio_path)
    first, second = session.split(2, 1.25, "Hello", "there.")
    stem = Path(original.name).stem
    assert (first.name, second.name) == (f"{stem}_01.wav", f"{stem}_02.wav")
    assert original.audio_path.read_bytes() and np.array_equal(
        _samples(original.audio_path), before)        # the original is untouched
    pieces = [_samples(first.audio_path), _samples(second.audio_path)]
    assert len(pieces[0]) == round(1.25 * RATE)
    assert np.array_equal(np.concatenate(pieces), before)
    assert soundfile.info(first.audio_path).subtype == "PCM_16"

    again = _session(dataset)                          # a restart reads the same list
    assert [c.name for c in again.clips][2:4] == [first.name, second.name]
    assert [c.text for c in again.clips][2:4] == ["Hello", "there."]
    assert again.clips[2].audio_path == first.audio_path
    assert again.clips[2:4] == session.clips[2:4]   # the session's view is the file's
    assert again.issues == ()
    assert [(r.name, r.reason, r.replaced_by) for r in again.removed] == [
        (original.name, "split", (first.name, second.name))]


@pytest.mark.parametrize("at_s", [0.0, 0.1, 2.9, 3.0, 4.0, -1.0, float("nan")])
def test_split_refuses_a_time_outside_or_too_near_the_ends(dataset: Path, at_s: float) -> None:
    session = _session(dataset)
    files_before = sorted(p.name for p in (dataset.parent / "clips").iterdir())
    with pytest.raises(DatasetError) as error:
        session.split(2, at_s, "a", "b")
    assert "3.00 s" in error.value.message and "between 0.25 s and 2.75 s" in error.value.advice
    assert sorted(p.name for p in (dataset.parent / "clips").iterdir()) == files_before
    assert len(_session(dataset).clips) == 4


def test_split_names_skip_files_and_clips_that_exist(dataset: Path) -> None:
    folder = dataset.parent / "clips"
    session = _session(dataset)
    stem = Path(session.clips[0].name).stem
    (folder / f"{stem}_02.wav").write_bytes(b"someone else's file")
    first, second = session.split(0, 1.0, "你", "好。")
    assert (first.name, second.name) == (f"{stem}_03.wav", f"{stem}_04.wav")
    assert (folder / f"{stem}_02.wav").read_bytes() == b"someone else's file"
    # splitting the restored original again must not reuse the names now in the list
    session.delete(0)
    session.delete(0)
    session.restore(f"{stem}.wav")
    third, fourth = session.split(0, 1.0, "你", "好。")
    assert (third.name, fourth.name) == (f"{stem}_05.wav", f"{stem}_06.wav")


def test_merge_writes_a_new_file_with_a_crossfade_and_keeps_both_originals(
        dataset: Path) -> None:
    session = _session(dataset)
    a, b = session.clips[0], session.clips[1]
    data_a, data_b = _samples(a.audio_path), _samples(b.audio_path)
    merged = session.merge(0, crossfade_s=0.01)
    fade = round(0.01 * RATE)
    assert merged.name == f"{Path(a.name).stem}_merged.wav"
    assert merged.text == "你好。世界。"            # Chinese: joined without a space
    out = _samples(merged.audio_path)
    assert len(out) == len(data_a) + len(data_b) - fade
    assert np.array_equal(out[:len(data_a) - fade], data_a[:-fade])
    assert np.array_equal(out[len(data_a):], data_b[fade:])
    middle = out[len(data_a) - fade:len(data_a)]      # between the two, never beyond either
    low = np.minimum(data_a[-fade:], data_b[:fade]).astype(int) - 1
    high = np.maximum(data_a[-fade:], data_b[:fade]).astype(int) + 1
    assert np.all((low <= middle) & (middle <= high))
    assert np.array_equal(_samples(a.audio_path), data_a)
    assert np.array_equal(_samples(b.audio_path), data_b)
    again = _session(dataset)
    assert [c.name for c in again.clips] == [merged.name] + [c.name for c in session.clips[1:]]
    assert {r.name for r in again.removed} == {a.name, b.name}


def test_merge_without_crossfade_is_plain_concatenation_and_english_gets_a_space(
        dataset: Path) -> None:
    session = _session(dataset)
    c, d = session.clips[2], session.clips[3]
    merged = session.merge(2, crossfade_s=0.0)
    assert merged.text == "Hello there. General Kenobi."
    assert np.array_equal(_samples(merged.audio_path),
                          np.concatenate([_samples(c.audio_path), _samples(d.audio_path)]))


def test_merge_refuses_other_languages_the_last_clip_and_other_formats(dataset: Path) -> None:
    session = _session(dataset)
    with pytest.raises(DatasetError, match="different languages"):
        session.merge(1)                               # ZH then EN
    with pytest.raises(DatasetError, match="no next clip"):
        session.merge(3)
    soundfile.write(session.clips[3].audio_path, _tone(2.5, 300, seed=9), 16000)
    with pytest.raises(DatasetError, match="differ in format"):
        session.merge(2)
    assert len(_session(dataset).clips) == 4
    assert not list((dataset.parent / "clips").glob("*_merged*"))


def test_merged_name_is_free_even_when_taken_on_disk(dataset: Path) -> None:
    session = _session(dataset)
    stem = Path(session.clips[2].name).stem
    (dataset.parent / "clips" / f"{stem}_merged.wav").write_bytes(b"keep me")
    merged = session.merge(2)
    assert merged.name == f"{stem}_merged_2.wav"
    assert (dataset.parent / "clips" / f"{stem}_merged.wav").read_bytes() == b"keep me"


def test_delete_keeps_the_audio_and_restore_puts_the_line_back(dataset: Path) -> None:
    session = _session(dataset)
    gone = session.clips[1]
    session.mark_reviewed(1)
    record = session.delete(1, expected_name=gone.name)
    assert gone.audio_path.is_file()
    assert gone.name not in [c.name for c in read_list(dataset).clips]
    assert session.progress().reviewed == 0
    again = _session(dataset)
    assert [r.name for r in again.removed] == [record.name]
    assert again.restore(gone.name) == 1
    assert again.clips[1] == gone                  # line 2 again, as it was
    assert again.progress().reviewed == 1          # its mark came back with it
    assert _session(dataset).removed == ()
    with pytest.raises(DatasetError, match="No removed clip"):
        again.restore(gone.name)


def test_edits_on_a_list_changed_on_disk_are_refused(dataset: Path) -> None:
    session = _session(dataset)
    other = _session(dataset)
    other.edit(0, text="您好。")                    # another tab saved first
    with pytest.raises(StaleListError) as error:
        session.edit(1, text="世界！")
    assert "changed on disk" in error.value.message and "Reload" in error.value.advice
    with pytest.raises(StaleListError):
        session.mark_reviewed(0)                   # the review file changed too
    assert [c.text for c in read_list(dataset).clips][:2] == ["您好。", "世界。"]
    files_before = sorted(p.name for p in (dataset.parent / "clips").iterdir())
    with pytest.raises(StaleListError):
        session.split(2, 1.0, "a", "b")            # refused before any file is written
    assert sorted(p.name for p in (dataset.parent / "clips").iterdir()) == files_before
    session.reload()
    session.edit(1, text="世界！")
    assert [c.text for c in read_list(dataset).clips][:2] == ["您好。", "世界！"]


def test_hand_edit_of_the_list_is_refused_then_backed_up_on_the_next_write(
        dataset: Path) -> None:
    session = _session(dataset)
    session.edit(0, text="一")
    session.edit(0, text="二")
    backups = sorted(p.name for p in dataset.parent.glob("voice.list.bak*"))
    assert backups == ["voice.list.bak"]           # the user's file once, not every edit
    hand = dataset.read_text(encoding="utf-8").replace("二", "手")
    dataset.write_text(hand, encoding="utf-8")
    with pytest.raises(StaleListError):
        session.edit(0, text="三")
    session.reload()
    session.edit(0, text="三")
    backups = sorted(p.name for p in dataset.parent.glob("voice.list.bak*"))
    assert backups == ["voice.list.bak", "voice.list.bak.1"]
    assert (dataset.parent / "voice.list.bak.1").read_text(encoding="utf-8") == hand


def test_reviewed_fraction_survives_a_restart_and_feeds_the_guidelines(dataset: Path) -> None:
    session = _session(dataset)
    for index in range(4):
        session.mark_reviewed(index)
    session.mark_reviewed(2, reviewed=False)
    again = _session(dataset)
    progress = again.progress()
    assert (progress.reviewed, progress.total, progress.fraction) == (3, 4, 0.75)
    state, _ = load_review(dataset.parent / "voice.review.json")
    assert state.reviewed == {again.clips[i].name for i in (0, 1, 3)}
    summary = dataset_from_fields(1, 3.0, 4, "good", progress.percent).summary
    assert summary.reviewed_fraction == 0.75 and not summary.fully_reviewed
    again.mark_reviewed(2)
    done = dataset_from_fields(1, 3.0, 4, "good", again.progress().percent).summary
    assert done.fully_reviewed


def test_a_list_made_on_windows_keeps_its_path_style_and_finds_the_new_clips(
        dataset: Path) -> None:
    text = dataset.read_text(encoding="utf-8")
    dataset.write_text("".join(f"D:\\data\\{line}\n" for line in text.splitlines()),
                       encoding="utf-8")
    session = _session(dataset)
    merged = session.merge(2)
    assert merged.wav == f"D:\\data\\{merged.name}"
    assert merged.audio_path == dataset.parent / "clips" / merged.name
    again = _session(dataset)
    assert again.issues == ()
    assert again.clips[2].audio_path == merged.audio_path


def test_duration_comes_from_the_file_and_a_missing_file_is_a_clear_error(
        dataset: Path) -> None:
    session = _session(dataset)
    assert session.duration_s(2) == 3.0
    session.clips[1].audio_path.unlink()
    with pytest.raises(DatasetError, match="Cannot read the audio"):
        session.duration_s(1)
    with pytest.raises(DatasetError, match="Cannot read the audio"):
        session.merge(0)
    assert session.page(1).items[1].audio_exists is False
