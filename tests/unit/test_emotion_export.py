"""Exporting emotion tags (gsv_core.emotion.export): list variants and reference candidates."""

from __future__ import annotations

import json

import pytest

from gsv_core.dataset.annotations import Clip, read_list, write_list
from gsv_core.emotion.export import export_emotions, read_references, references_path
from gsv_core.emotion.results import LABELS, EmotionRow, results_path, write_results
from gsv_core.errors import ConfigError
from tests.infer_fixtures import write_voiced_wav

SECONDS = {"a.wav": 4.0, "b.wav": 5.0, "c.wav": 2.0, "d.wav": 6.0, "e.wav": 4.5}
TAGS = {"a.wav": ("happy", 0.9, ""), "b.wav": ("happy", 0.7, ""), "c.wav": ("happy", 0.95, ""),
        "d.wav": ("sad", 0.5, "happy"), "e.wav": ("sad", 0.8, "")}


@pytest.fixture
def tagged(tmp_path):
    clips = []
    for index, (name, seconds) in enumerate(SECONDS.items()):
        path = write_voiced_wav(tmp_path / "clips" / name, seconds, 16_000, seed=index)
        clips.append(Clip(str(path), "anna", "zh", f"第{index}句。", path))
    list_path = tmp_path / "voice.list"
    write_list(list_path, clips)
    rows = []
    for clip in clips:
        label, score, corrected = TAGS[clip.audio_path.name]
        scores = tuple(score if name == label else (1 - score) / 8 for name in LABELS)
        rows.append(EmotionRow(clip.wav, label, score, scores, reviewed=bool(corrected),
                               corrected=corrected))
    write_results(results_path(list_path), rows)
    return list_path


def test_variants_carry_the_final_emotion_and_the_original_is_untouched(tagged):
    before = tagged.read_bytes()
    result = export_emotions(tagged)
    assert tagged.read_bytes() == before
    names = sorted(p.name for p in result.written)
    assert names == ["voice.emotion.list", "voice.happy.list", "voice.references.json",
                     "voice.sad.list"]
    speakers = [c.speaker for c in read_list(tagged.with_name("voice.emotion.list")).clips]
    assert speakers == ["anna-happy", "anna-happy", "anna-happy", "anna-happy", "anna-sad"]
    happy = read_list(tagged.with_name("voice.happy.list")).clips
    assert [c.audio_path.name for c in happy] == ["a.wav", "b.wav", "c.wav", "d.wav"]
    assert {c.speaker for c in happy} == {"anna"}


def test_reference_candidates_are_3_to_10_s_most_confident_first(tagged):
    export_emotions(tagged)
    references = read_references(tagged)
    happy = [c.path.rsplit("/", 1)[-1] for c in references["happy"]]
    assert happy == ["d.wav", "a.wav", "b.wav"]   # corrected first; c.wav is only 2 s
    assert references["happy"][0].text == "第3句。" and references["happy"][0].reviewed
    assert [c.path.rsplit("/", 1)[-1] for c in references["sad"]] == ["e.wav"]
    saved = json.loads(references_path(tagged).read_text(encoding="utf-8"))
    assert set(saved) == {"happy", "sad"}


def test_an_exported_file_edited_by_hand_is_backed_up_before_it_is_replaced(tagged):
    export_emotions(tagged)
    variant = tagged.with_name("voice.sad.list")
    variant.write_text("my own notes\n", encoding="utf-8")
    export_emotions(tagged)
    backups = [p for p in tagged.parent.iterdir() if p.name.startswith("voice.sad.list")
               and p != variant]
    assert backups and backups[0].read_text(encoding="utf-8") == "my own notes\n"


def test_a_list_without_tags_is_an_error(tmp_path):
    (tmp_path / "voice.list").write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match="no emotion tags"):
        export_emotions(tmp_path / "voice.list")
