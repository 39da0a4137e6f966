"""`gsv-studio plan --emotion-list`: the plan says whether the emotion tags (E-1) were made and
how many were reviewed, from the tags beside the list."""

from __future__ import annotations

import json

from gsv_core.dataset.annotations import Clip, write_list
from gsv_core.emotion.results import LABELS, EmotionRow, emotion_state, results_path, write_results
from gsv_core.plan import main

CARD = ("--gpu", "NVIDIA GeForce RTX 4090:24", "--minutes", "90")


def make_list(tmp_path, tagged: int, reviewed: int):
    clips = [Clip(f"/c/{i}.wav", "spk", "zh", "你好。", tmp_path / f"{i}.wav") for i in range(3)]
    list_path = tmp_path / "voice.list"
    write_list(list_path, clips)
    scores = tuple(1 / len(LABELS) for _ in LABELS)
    write_results(results_path(list_path), [
        EmotionRow(clip.wav, "neutral", scores[0], scores, reviewed=index < reviewed)
        for index, clip in enumerate(clips[:tagged])])
    return list_path


def plan_notes(capsys, list_path) -> tuple[bool, list[str]]:
    assert main([*CARD, "--emotion-list", str(list_path), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    return plan["emotion_classification"], [n for n in plan["notes"] if n.startswith("E-1")]


def test_the_state_counts_the_lists_clips(tmp_path):
    state = emotion_state(make_list(tmp_path, tagged=2, reviewed=1))
    assert (state.classified, state.total, state.reviewed, state.done) == (2, 3, 1, False)


def test_over_an_hour_and_half_tagged_the_plan_still_recommends_it(tmp_path, capsys):
    recommended, notes = plan_notes(capsys, make_list(tmp_path, tagged=2, reviewed=0))
    assert recommended
    assert notes == ["E-1: Over 1 h of audio and emotions not classified yet (2 of 3 clips)."]


def test_all_tagged_the_plan_says_how_many_were_reviewed(tmp_path, capsys):
    recommended, notes = plan_notes(capsys, make_list(tmp_path, tagged=3, reviewed=2))
    assert not recommended
    assert notes == ["E-1: Emotions classified; 2 of 3 tags reviewed."]


def test_a_missing_list_is_a_usage_error(tmp_path, capsys):
    assert main([*CARD, "--emotion-list", str(tmp_path / "none.list")]) == 2
    assert "none.list" in capsys.readouterr().err


def test_an_unreadable_or_unnamed_list_has_no_state(tmp_path):
    from gsv_core.emotion.results import readable_emotion_state

    assert readable_emotion_state(None) is None
    assert readable_emotion_state("  ") is None
    assert readable_emotion_state(tmp_path / "none.list") is None
    (tmp_path / "bad.list").write_bytes(b"\xff\xfe\x00 not a list")
    assert readable_emotion_state(tmp_path / "bad.list") is None
    state = readable_emotion_state(f" {make_list(tmp_path, tagged=3, reviewed=1)} ")
    assert (state.classified, state.total, state.reviewed) == (3, 3, 1)


def test_the_notice_is_the_advice_without_a_state_and_the_state_with_one():
    from gsv_core.guidelines import DatasetSummary, EmotionState, emotion_notice

    long = DatasetSummary(total_duration_s=2 * 3600.0)
    advice = emotion_notice(long, None)
    assert advice.recommended and advice.reasons[0].text().startswith("E-1: Over 1 h of audio:")
    done = emotion_notice(long, EmotionState(classified=3, total=3, reviewed=3))
    assert (done.show, done.recommended) == (True, False)
    assert done.reasons[0].text() == "E-1: Emotions classified; 3 of 3 tags reviewed."
