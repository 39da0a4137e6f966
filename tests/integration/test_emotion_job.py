"""Emotion classification as a job (gsv_core.emotion.job) and from the shell (emotion/cli.py),
with the tiny random emotion2vec_plus folder through the real funasr path (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.cli import main
from gsv_core.emotion.job import batch_limit, classification_plan, start_classification
from gsv_core.emotion.results import read_results, results_path
from gsv_core.errors import ModelMissing
from gsv_core.hardware import detect_machine
from gsv_core.workspace import Workspace
from tests import emotion_fixtures
from tests.emotion_fixtures import make_list

pytestmark = pytest.mark.slow
offline, tiny_model = emotion_fixtures.offline, emotion_fixtures.tiny_model

CPU = detect_machine({"GSV_FAKE_GPU": "cpu"})


def test_the_plan_takes_the_cpu_batch_and_says_why_a_gpu_is_not_used():
    plan = classification_plan(CPU)
    assert (plan.device, plan.batch.value, plan.batch.binding.rule) == ("cpu", 4, "E-1")
    card = detect_machine({"GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"})
    on_card = classification_plan(card)   # this torch has no CUDA: the CPU, and why
    assert on_card.device == "cpu" and "RTX 4090" in on_card.note


def test_the_uis_batch_limit_follows_the_largest_card_without_asking_torch():
    card = detect_machine({"GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"})
    assert batch_limit(card).max == 42          # (24 GB - 3 GB) / 0.5 GB a clip (E-1)
    assert batch_limit(card, 99).value == 42
    assert batch_limit(CPU).max == 4


def test_the_job_classifies_the_list_with_progress(tiny_model, tmp_path):
    list_path = make_list(tmp_path)
    handle = start_classification(Workspace(tmp_path / "ws"), list_path, tiny_model,
                                  classification_plan(CPU))
    status = handle.wait(timeout_s=600)
    assert status.state == "succeeded", (status.cause, status.details)
    assert status.result["classified"] == 4 and status.result["problems"] == []
    progress = [e.data for e in handle.events()[0] if e.kind == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == 4
    assert len(read_results(results_path(list_path))) == 4


def test_a_missing_model_folder_is_refused_before_any_job(tmp_path):
    with pytest.raises(ModelMissing, match="does not exist"):
        start_classification(Workspace(tmp_path / "ws"), make_list(tmp_path),
                             tmp_path / "no model", classification_plan(CPU))
    assert not (tmp_path / "ws" / "output" / "jobs").exists()


def test_the_command_tags_the_list_and_honours_its_exit_codes(tiny_model, tmp_path, capsys,
                                                              offline):
    list_path = make_list(tmp_path)
    assert main(["emotion", str(list_path), "--model", str(tiny_model), "--device",
                 "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(results_path(list_path))
    assert sum(int(line.split("\t")[1]) for line in out[1:]) == 4
    assert main(["emotion", str(list_path), "--model", str(tiny_model), "--device", "cpu",
                 "--batch", "99"]) == 2
    assert "--batch 99 is beyond the limit (1 to 4)" in capsys.readouterr().err
    assert main(["emotion", str(list_path), "--model", str(tmp_path / "typo")]) == 2
    (Path(tmp_path) / "clips" / "clip_3.wav").write_bytes(b"broken")
    assert main(["emotion", str(list_path), "--model", str(tiny_model), "--device", "cpu",
                 "--again"]) == 1
    assert "line 4:" in capsys.readouterr().err
