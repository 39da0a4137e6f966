"""The trainers' per-epoch loss log is what A/B listening reads (gsv_core.infer.ab)."""

from __future__ import annotations

import math

from gsv_core.infer.ab import epoch_losses
from gsv_core.train.epoch_log import append_epoch_loss
from gsv_core.workspace import Workspace


def test_epoch_losses_reach_the_ab_labels_and_the_last_line_of_an_epoch_wins(tmp_path):
    space = Workspace(tmp_path)
    folder = space.experiment_dir("我的声音")
    folder.mkdir(parents=True)
    append_epoch_loss(folder, "sovits", 1, 30.5, step=12)
    append_epoch_loss(folder, "sovits", 2, 28.0)
    append_epoch_loss(folder, "gpt", 2, 3.1)  # not a SoVITS epoch: A/B ignores it
    append_epoch_loss(folder, "sovits", 2, 27.5)  # a resumed run repeated epoch 2
    assert append_epoch_loss(folder, "sovits", 3, math.nan) is None
    assert epoch_losses(space, "我的声音") == {1: 30.5, 2: 27.5}
