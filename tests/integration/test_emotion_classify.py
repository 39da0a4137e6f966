"""emotion2vec classification (gsv_core.emotion.classify) through the real funasr code path.

The model is a tiny random emotion2vec_plus folder in the layout funasr's AutoModel loads
(tests/emotion_fixtures.py): labels are random, so the checks are on structure — every clip
gets a label and nine scores that sum to one, in the list's order, resumable, with a
person's corrections kept. Every socket connection to anything but this machine fails the
test (``offline``): nothing may go to a hub.
"""

from __future__ import annotations

import math
import socket
from pathlib import Path

import pytest

from gsv_core.dataset.annotations import Clip, write_list
from gsv_core.emotion.classify import Emotion2vec, classify_list
from gsv_core.emotion.results import LABELS, read_results, results_path, write_results
from gsv_core.errors import ModelMissing
from tests.emotion_fixtures import build_tiny_emotion2vec
from tests.infer_fixtures import write_voiced_wav

pytestmark = pytest.mark.slow   # funasr's import takes 10-16 s, once per session


@pytest.fixture
def offline(monkeypatch):
    """Refuse every connection that leaves this machine (and record the attempts)."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") \
                and not host.startswith("/"):
            attempts.append(address)
            raise OSError(f"network access in a test: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield attempts
    assert attempts == [], f"the test tried to go online: {attempts}"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_emotion2vec(tmp_path_factory.mktemp("emotion2vec") / "tiny")


@pytest.fixture(scope="module")
def model(tiny_model) -> Emotion2vec:
    return Emotion2vec(tiny_model)


def make_list(root: Path, seconds=(1.2, 2.0, 0.8, 1.5)) -> Path:
    clips = []
    for index, length in enumerate(seconds):
        path = write_voiced_wav(root / "clips" / f"clip_{index}.wav", length, 32_000, seed=index)
        clips.append(Clip(str(path), "spk", "zh", "你好。", path))
    list_path = root / "voice.list"
    write_list(list_path, clips)
    return list_path


def test_every_clip_gets_a_label_and_nine_scores_in_list_order(model, tmp_path, offline):
    list_path = make_list(tmp_path)
    result = classify_list(list_path, model, batch_size=3)
    assert (result.classified, result.kept, result.problems) == (4, 0, [])
    rows = read_results(results_path(list_path))
    assert [Path(r.path).name for r in rows] == [f"clip_{i}.wav" for i in range(4)]
    for row in rows:
        assert len(row.scores) == len(LABELS) and math.isclose(sum(row.scores), 1, abs_tol=1e-3)
        assert row.label == LABELS[max(range(9), key=row.scores.__getitem__)]
        assert row.score == max(row.scores)


def test_one_at_a_time_gives_the_scores_of_a_batch(model, tmp_path):
    list_path = make_list(tmp_path)
    classify_list(list_path, model, batch_size=4)
    batched = read_results(results_path(list_path))
    classify_list(list_path, model, batch_size=1, again=True)
    single = read_results(results_path(list_path))
    for a, b in zip(batched, single, strict=True):
        assert a.label == b.label
        assert max(abs(x - y) for x, y in zip(a.scores, b.scores, strict=True)) < 1e-4


def test_a_corrupt_and_a_too_short_clip_are_reported_and_the_rest_finish(model, tmp_path):
    list_path = make_list(tmp_path)
    clips = list(Path(tmp_path / "clips").glob("*.wav"))
    (tmp_path / "clips" / "clip_1.wav").write_bytes(b"RIFF not audio")
    write_voiced_wav(tmp_path / "clips" / "clip_2.wav", 0.01, 32_000)
    result = classify_list(list_path, model, batch_size=8)
    assert len(clips) == 4 and result.classified == 2
    assert [(p.line_number, Path(p.path).name) for p in result.problems] == [
        (2, "clip_1.wav"), (3, "clip_2.wav")]
    assert "25 ms" in result.problems[1].message
    assert result.exit_code == 1
    assert len(read_results(results_path(list_path))) == 2


def test_a_stopped_run_keeps_its_clips_and_the_next_one_continues(model, tmp_path):
    list_path = make_list(tmp_path)
    asked = []
    first = classify_list(list_path, model, batch_size=2,
                          should_stop=lambda: asked.append(1) or len(asked) > 1)
    assert first.stopped and first.classified == 2
    assert len(read_results(results_path(list_path))) == 2
    loads = []
    second = classify_list(list_path, lambda: loads.append(1) or model, batch_size=2)
    assert (second.kept, second.classified, second.stopped) == (2, 2, False)
    assert loads == [1]
    third = classify_list(list_path, lambda: loads.append(1) or model, batch_size=2)
    assert (third.kept, third.classified) == (4, 0) and loads == [1]   # no model needed


def test_corrections_and_review_marks_survive_classifying_again(model, tmp_path):
    from dataclasses import replace

    list_path = make_list(tmp_path)
    classify_list(list_path, model)
    path = results_path(list_path)
    rows = read_results(path)
    rows[1] = replace(rows[1], reviewed=True, corrected="happy")
    write_results(path, rows)
    classify_list(list_path, model, again=True)
    again = read_results(path)
    assert (again[1].reviewed, again[1].corrected, again[1].final_label) == (True, "happy",
                                                                             "happy")
    assert not again[0].reviewed


def test_a_folder_that_is_not_emotion2vec_is_refused_before_funasr(tmp_path, offline):
    (tmp_path / "model").mkdir()
    with pytest.raises(ModelMissing, match=r"lacks config\.yaml, model\.pt, tokens\.txt"):
        Emotion2vec(tmp_path / "model")
    with pytest.raises(ModelMissing, match="does not exist"):
        Emotion2vec(tmp_path / "typo")
