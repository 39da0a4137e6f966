"""emotion2vec classification (gsv_core.emotion.classify) through the real funasr code path.

The model is a tiny random emotion2vec_plus folder in the layout funasr's AutoModel loads
(tests/emotion_fixtures.py): labels are random, so the checks are on structure — every clip
gets a label and nine scores that sum to one, in the list's order, resumable, with a
person's corrections kept. Every socket connection to anything but this machine fails the
test (``offline``): nothing may go to a hub.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gsv_core.emotion.classify import Emotion2vec, classify_list
from gsv_core.emotion.results import LABELS, read_results, results_path, write_results
from gsv_core.errors import ModelMissing
from tests import emotion_fixtures
from tests.emotion_fixtures import make_list
from tests.infer_fixtures import write_voiced_wav

offline, tiny_model = emotion_fixtures.offline, emotion_fixtures.tiny_model


@pytest.fixture(scope="module")
def model(tiny_model) -> Emotion2vec:
    return Emotion2vec(tiny_model)


pytestmark = pytest.mark.slow   # funasr's import takes 10-16 s, once per session


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


def uneven_clips(tmp_path: Path) -> tuple[Path, list]:
    """Four clips of different lengths (so a batch is padded), as a list and as 16 kHz."""
    from gsv_core.audio import load_audio

    list_path = make_list(tmp_path, seconds=(1.2, 2.0, 1.9, 1.5))
    return list_path, [load_audio(tmp_path / "clips" / f"clip_{i}.wav", 16_000)
                       for i in range(4)]


def assert_same_scores(ours: list[list[float]], theirs: list[list[float]]) -> None:
    """Scores within 5e-3 per label and the same winning label for every clip."""
    for mine, reference in zip(ours, theirs, strict=True):
        assert max(abs(a - b) for a, b in zip(mine, reference, strict=True)) < 5e-3
    assert [max(range(9), key=s.__getitem__) for s in ours] == [
        max(range(9), key=s.__getitem__) for s in theirs]


def test_the_batched_forward_gives_funasrs_one_at_a_time_scores(tiny_model, tmp_path):
    """The batched path (the default on CUDA) against funasr's own, on the same clips."""
    list_path, clips = uneven_clips(tmp_path)
    funasr_path = Emotion2vec(tiny_model, batched=False).classify(clips)
    batched_model = Emotion2vec(tiny_model, batched=True)
    assert_same_scores(batched_model.classify(clips), funasr_path)
    result = classify_list(list_path, batched_model, batch_size=4)
    assert result.classified == 4 and len(read_results(results_path(list_path))) == 4


def test_the_batched_forward_on_cuda_gives_funasrs_cpu_scores(tiny_model, tmp_path):
    """What the Emotion tab runs on a GPU (batched by default there) against funasr's own
    one-at-a-time path on the CPU. Skipped without a CUDA GPU (run on the device tool)."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    _, clips = uneven_clips(tmp_path)
    on_cpu = Emotion2vec(tiny_model, batched=False).classify(clips)
    on_cuda = Emotion2vec(tiny_model, device="cuda")
    assert on_cuda.batched   # the default on CUDA
    assert_same_scores(on_cuda.classify(clips), on_cpu)


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


@pytest.mark.parametrize("batched", [False, True])
def test_embeddings_are_kept_per_clip_and_added_to_on_a_later_run(tiny_model, tmp_path,
                                                                  batched):
    from gsv_core.emotion.classify import embeddings_path, read_embeddings

    list_path = make_list(tmp_path)
    model = Emotion2vec(tiny_model, batched=batched)
    asked = []
    classify_list(list_path, model, batch_size=2, embeddings=True,
                  should_stop=lambda: asked.append(1) or len(asked) > 1)
    first = read_embeddings(embeddings_path(list_path))
    assert len(first) == 2
    classify_list(list_path, model, batch_size=2, embeddings=True)
    vectors = read_embeddings(embeddings_path(list_path))
    assert sorted(Path(p).name for p in vectors) == [f"clip_{i}.wav" for i in range(4)]
    assert {v.shape for v in vectors.values()} == {(32,)}      # the tiny model's width
    assert all(v.dtype.name == "float32" for v in vectors.values())


def test_asking_for_embeddings_later_classifies_the_clips_that_lack_one(model, tmp_path):
    from dataclasses import replace

    from gsv_core.emotion.classify import embeddings_path, read_embeddings

    list_path = make_list(tmp_path)
    classify_list(list_path, model)
    path = results_path(list_path)
    rows = read_results(path)
    rows[0] = replace(rows[0], reviewed=True, corrected="sad")
    write_results(path, rows)
    later = classify_list(list_path, model, embeddings=True)
    assert (later.kept, later.classified) == (0, 4)
    assert len(read_embeddings(embeddings_path(list_path))) == 4
    assert read_results(path)[0].corrected == "sad"       # the correction survives
    again = classify_list(list_path, model, embeddings=True)
    assert (again.kept, again.classified) == (4, 0)

