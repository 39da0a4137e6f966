"""A/B listening without models: which files are an experiment's epochs and in what order,
and the training loss per epoch read from upstream's ``train.log`` and our JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsv_core.infer.ab import epoch_losses, experiment_checkpoints
from gsv_core.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws").create()


def _touch(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"")


def test_epochs_sort_by_number_not_by_name(workspace: Workspace) -> None:
    _touch(workspace.sovits_weights_dir, "voice_e10_s200.pth", "voice_e9_s180.pth",
           "voice_e2_s40.pth", "voice_e100_s2000.pth", "other_e5_s10.pth", "voice.pth",
           "voice_e3_s60.ckpt")
    _touch(workspace.gpt_weights_dir, "voice-e4.ckpt")
    names = [p.name for p in experiment_checkpoints(workspace, "voice")]
    assert names == ["voice_e2_s40.pth", "voice_e9_s180.pth", "voice_e10_s200.pth",
                     "voice_e100_s2000.pth"]


def test_an_experiment_named_like_a_prefix_keeps_its_own_epochs(workspace: Workspace) -> None:
    _touch(workspace.sovits_weights_dir, "voice_e1_s5.pth", "voice_e2_s9_e3_s12.pth",
           "voice_e2_s9.pth")
    assert [p.name for p in experiment_checkpoints(workspace, "voice")] == [
        "voice_e1_s5.pth", "voice_e2_s9.pth"]
    assert [p.name for p in experiment_checkpoints(workspace, "voice_e2_s9")] == [
        "voice_e2_s9_e3_s12.pth"]


def test_an_experiment_without_exports_has_no_epochs(workspace: Workspace) -> None:
    assert experiment_checkpoints(workspace, "nothing") == []


UPSTREAM_LOG = """\
2026-11-30 10:00:00,000\tvoice\tINFO\t{'train': {'log_interval': 100}}
2026-11-30 10:00:01,000\tvoice\tINFO\tloaded pretrained G
2026-11-30 10:00:02,000\tvoice\tINFO\tTrain Epoch: 1 [0%]
2026-11-30 10:00:02,000\tvoice\tINFO\t[2.5, 3.0, 10.0, 20.0, 1.0, 2.0, 0, 0.0001]
2026-11-30 10:00:03,000\tvoice\tINFO\tTrain Epoch: 1 [50%]
2026-11-30 10:00:03,000\tvoice\tINFO\t[2.4, 2.0, 8.0, 18.0, 1.0, 1.0, 100, 0.0001]
2026-11-30 10:00:04,000\tvoice\tINFO\tsaving ckpt voice_e1:Success.
2026-11-30 10:00:04,000\tvoice\tINFO\t====> Epoch: 1
2026-11-30 10:00:05,000\tvoice\tINFO\tTrain Epoch: 2 [0%]
2026-11-30 10:00:05,000\tvoice\tINFO\t[2.3, 1.0, 7.0, 15.0, 0.5, 0.5, 200, 9.99e-05]
2026-11-30 10:00:06,000\tvoice\tINFO\tTrain Epoch: 3 [0%]
2026-11-30 10:00:06,000\tvoice\tINFO\t[2.2, 1.0, 7.0, 15.0, 0.5, 0.5, 300, 9.98e-05]
2026-11-30 11:00:00,000\tvoice\tINFO\tloaded D
2026-11-30 11:00:01,000\tvoice\tINFO\tTrain Epoch: 3 [0%]
2026-11-30 11:00:01,000\tvoice\tINFO\t[2.2, 1.0, 6.0, 14.0, 0.5, 0.5, 300, 9.98e-05]
"""


def test_upstream_log_gives_the_mean_generator_loss_of_each_epoch(
        workspace: Workspace) -> None:
    folder = workspace.experiment_dir("voice")
    folder.mkdir(parents=True)
    (folder / "train.log").write_text(UPSTREAM_LOG, encoding="utf-8")
    losses = epoch_losses(workspace, "voice")
    # generator total = loss_gen + loss_fm + loss_mel + kl_ssl + loss_kl (not loss_disc)
    assert losses[1] == pytest.approx(((3 + 10 + 20 + 1 + 2) + (2 + 8 + 18 + 1 + 1)) / 2)
    assert losses[2] == pytest.approx(1 + 7 + 15 + 0.5 + 0.5)
    # epoch 3 was logged again after a resume: the resumed run's value
    assert losses[3] == pytest.approx(1 + 6 + 14 + 0.5 + 0.5)
    assert set(losses) == {1, 2, 3}


def test_our_json_lines_give_the_loss_and_win_over_upstream(workspace: Workspace) -> None:
    folder = workspace.experiment_dir("voice")
    folder.mkdir(parents=True)
    (folder / "train.log").write_text(UPSTREAM_LOG, encoding="utf-8")
    events = [
        {"event": "epoch", "model": "sovits", "epoch": 2, "loss": 11.5},
        {"event": "epoch", "model": "gpt", "epoch": 2, "loss": 99.0},
        {"event": "epoch", "epoch": 4, "loss": 10.25},
        {"event": "step", "model": "sovits", "step": 5},
        {"event": "epoch", "model": "sovits", "epoch": 5, "loss": "nan"},
        {"event": "epoch", "model": "sovits", "epoch": True, "loss": 1.0},
        {"event": "epoch", "model": "sovits", "epoch": 4, "loss": 10.0},
    ]
    text = "\n".join(json.dumps(e) for e in events) + '\n{"epoch": 6, "lo'  # half-written
    (folder / "events.jsonl").write_text(text, encoding="utf-8")
    losses = epoch_losses(workspace, "voice")
    assert losses[2] == 11.5  # ours, not upstream's 24, not the GPT's 99
    assert losses[4] == 10.0  # the last line of an epoch wins
    assert losses[1] == pytest.approx(33.0)  # upstream's, where ours has nothing
    assert 5 not in losses and 6 not in losses


def test_no_log_no_losses(workspace: Workspace) -> None:
    assert epoch_losses(workspace, "voice") == {}
    workspace.experiment_dir("voice").mkdir(parents=True)
    assert epoch_losses(workspace, "voice") == {}
