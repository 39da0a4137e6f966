"""Proofreading without audio processing: paging, edits, marks, navigation, the review file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsv_core.dataset.proofread import ProofreadSession, ReviewProgress, StaleListError
from gsv_core.dataset.review_store import (
    RemovedClip,
    ReviewState,
    load_review,
    review_path,
    save_review,
)
from gsv_core.errors import DatasetError


def _make_list(tmp_path: Path, count: int) -> Path:
    """A ``.list`` of ``count`` clips whose audio files exist (their content is not read)."""
    for number in range(count):
        (tmp_path / f"c{number:02d}.wav").write_bytes(b"RIFF")
    path = tmp_path / "voice.list"
    path.write_text("".join(f"c{n:02d}.wav|spk|ZH|第{n}句。\n" for n in range(count)),
                    encoding="utf-8")
    return path


def test_review_file_sits_beside_the_list() -> None:
    assert review_path("/d/voice.list") == Path("/d/voice.review.json")
    assert review_path("/d/slicer_opt") == Path("/d/slicer_opt.review.json")


def test_review_state_round_trips_and_keeps_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "v.review.json"
    state = ReviewState(reviewed=frozenset({"b.wav", "a.wav"}),
                        removed=(RemovedClip("c.wav", "c.wav|s|ZH|字", 2, "split",
                                             ("c_01.wav", "c_02.wav")),),
                        list_sha256="0" * 64)
    written_sha = save_review(path, state)
    loaded, sha = load_review(path)
    assert (loaded, sha) == (state, written_sha)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["reviewed"] == ["a.wav", "b.wav"]
    raw["note"] = "from a newer version"
    path.write_text(json.dumps(raw), encoding="utf-8")
    save_review(path, load_review(path)[0])
    assert json.loads(path.read_text(encoding="utf-8"))["note"] == "from a newer version"
    assert load_review(tmp_path / "absent.review.json") == (ReviewState(), None)


@pytest.mark.parametrize("content", [
    "{not json", '["a.wav"]', '{"format": "other", "version": 1}',
    '{"format": "gsv-studio/review", "version": 99}',
    '{"format": "gsv-studio/review", "version": 1, "reviewed": "a.wav"}',
    '{"format": "gsv-studio/review", "version": 1, "removed": [{"name": "a.wav"}]}',
    '{"format": "gsv-studio/review", "version": 1, "removed": '
    '[{"name": "a", "line": "a|s|ZH|t", "index": -1, "reason": "deleted"}]}',
])
def test_a_damaged_review_file_is_an_error_never_a_fresh_start(tmp_path: Path,
                                                               content: str) -> None:
    list_path = _make_list(tmp_path, 2)
    review_path(list_path).write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError) as error:
        ProofreadSession(list_path)
    assert "voice.review.json" in error.value.message and "move it away" in error.value.advice
    assert review_path(list_path).read_text(encoding="utf-8") == content


def test_pages_are_one_based_and_clamped(tmp_path: Path) -> None:
    session = ProofreadSession(_make_list(tmp_path, 23))
    assert session.page_count(10) == 3
    page = session.page(2, 10)
    assert (page.number, page.page_count, page.clip_count) == (2, 3, 23)
    assert [item.index for item in page.items] == list(range(10, 20))
    assert page.items[0].clip.audio_path == tmp_path / "c10.wav"
    assert all(item.audio_exists and not item.reviewed for item in page.items)
    assert [i.index for i in session.page(9, 10).items] == [20, 21, 22]
    assert session.page(0, 10).number == 1
    assert session.page_of(20, 10) == 3
    (tmp_path / "c21.wav").unlink()
    assert [i.audio_exists for i in session.page(3, 10).items] == [True, False, True]
    with pytest.raises(DatasetError, match="Page size"):
        session.page(1, 0)


def test_an_empty_list_has_one_empty_page_and_counts_as_not_reviewed(tmp_path: Path) -> None:
    path = tmp_path / "empty.list"
    path.write_text("", encoding="utf-8")
    session = ProofreadSession(path)
    assert session.page(1).items == () and session.page_count() == 1
    assert session.progress() == ReviewProgress(0, 0) and session.progress().fraction == 0.0
    assert session.next_unreviewed() is None and session.previous_unreviewed() is None


def test_next_and_previous_unreviewed_skip_marked_clips_and_wrap(tmp_path: Path) -> None:
    session = ProofreadSession(_make_list(tmp_path, 5))
    for index in (0, 2, 3):
        session.mark_reviewed(index)
    assert session.next_unreviewed() == 1
    assert session.next_unreviewed(1) == 4
    assert session.next_unreviewed(4) == 1
    assert session.next_unreviewed(4, wrap=False) is None
    assert session.previous_unreviewed() == 4
    assert session.previous_unreviewed(4) == 1
    assert session.previous_unreviewed(1) == 4
    assert session.previous_unreviewed(1, wrap=False) is None
    session.mark_reviewed(1)
    session.mark_reviewed(4)
    assert session.next_unreviewed(2) is None
    assert session.progress().fraction == 1.0


def test_edit_normalises_languages_and_refuses_bad_text(tmp_path: Path) -> None:
    list_path = _make_list(tmp_path, 2)
    session = ProofreadSession(list_path)
    assert session.edit(0, text="  Hi | there  ", language="EN").language == "en"
    assert session.edit(1, language="JP").language == "ja"
    assert session.edit(1, language="yue").text == "第1句。"
    for bad in ({"text": "   "}, {"text": "two\nlines"}, {"language": "AUTO"},
                {"language": "de"}):
        with pytest.raises(DatasetError):
            session.edit(0, **bad)
    assert list_path.read_text(encoding="utf-8") == (
        "c00.wav|spk|EN|Hi | there\nc01.wav|spk|YUE|第1句。\n")


def test_edits_check_the_row_the_user_saw(tmp_path: Path) -> None:
    session = ProofreadSession(_make_list(tmp_path, 3))
    session.delete(0)
    with pytest.raises(StaleListError, match=r"c01\.wav"):
        session.edit(0, text="x", expected_name="c00.wav")
    with pytest.raises(DatasetError, match="no clip 8 "):
        session.mark_reviewed(7)
    assert session.edit(0, text="x", expected_name="c01.wav").text == "x"


def test_restore_refuses_to_duplicate_a_name_in_the_list(tmp_path: Path) -> None:
    list_path = _make_list(tmp_path, 2)
    session = ProofreadSession(list_path)
    session.delete(1)
    with list_path.open("a", encoding="utf-8") as handle:   # the user put it back by hand
        handle.write("c01.wav|spk|ZH|again\n")
    session.reload()
    with pytest.raises(DatasetError, match="already has a clip"):
        session.restore("c01.wav")


def test_a_list_with_lines_that_are_not_clips_is_refused(tmp_path: Path) -> None:
    path = _make_list(tmp_path, 2)
    path.write_text(path.read_text(encoding="utf-8") + "just a note\n", encoding="utf-8")
    with pytest.raises(DatasetError) as error:
        ProofreadSession(path)
    assert "line 3" in error.value.message


def test_fixing_a_language_clears_its_issue_on_the_page(tmp_path: Path) -> None:
    list_path = _make_list(tmp_path, 3)
    list_path.write_text(list_path.read_text(encoding="utf-8").replace(
        "c01.wav|spk|ZH", "c01.wav|spk|AUTO"), encoding="utf-8")
    session = ProofreadSession(list_path)
    row = session.page(1).items[1]
    assert [i.check for i in row.issues] == ["unknown_language"] and row.clip.language == "AUTO"
    assert session.page(1).items[0].issues == ()
    session.edit(1, language="zh")
    assert session.page(1).items[1].issues == () and session.issues == ()


def test_review_and_next_moves_to_the_next_unreviewed_clip(tmp_path: Path) -> None:
    session = ProofreadSession(_make_list(tmp_path, 4))
    session.mark_reviewed(2)
    assert session.review_and_next(1) == 3
    assert session.review_and_next(3) == 0
    assert session.review_and_next(0) is None
    assert ProofreadSession(tmp_path / "voice.list").progress() == ReviewProgress(4, 4)


def test_an_edit_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    list_path = _make_list(tmp_path, 2)
    list_path.write_bytes(list_path.read_bytes().replace(b"\n", b"\r\n"))   # the user's CRLF
    session = ProofreadSession(list_path)
    session.edit(0, text=session.clips[0].text, language="ZH")
    assert b"\r\n" in list_path.read_bytes()
    assert not list(tmp_path.glob("voice.list.bak*")) and not review_path(list_path).exists()
