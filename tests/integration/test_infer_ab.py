"""A/B listening with the real engine and the tiny models (CPU).

The "epochs" are links to the one tiny SoVITS fixture under upstream's export names (never
copies): with one seed they must render the same audio, which is what shows that every
epoch got the same seed. To see the engine load the previous weights back, the previous
file must be another path than the epochs: a hard link (same file, own path) gives that; on
a file system where the fixture cannot be hard-linked that test is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gsv_core.errors import ModelMissing
from gsv_core.infer import InferenceEngine
from gsv_core.infer.ab import experiment_checkpoints, render_epochs
from gsv_core.infer.options import InferenceOptions
from gsv_core.workspace import Workspace
from tests import infer_fixtures

infer_setup = infer_fixtures.infer_setup

TEXT = "你好世界。"
LOG = ("2026-11-30 10:00:00,000\tvoice\tINFO\tTrain Epoch: 10 [0%]\n"
       "2026-11-30 10:00:00,000\tvoice\tINFO\t[2.0, 1.0, 2.0, 3.0, 0.5, 0.25, 90, 0.0001]\n")


@pytest.fixture
def ab_workspace(tmp_path: Path, infer_setup) -> Workspace:
    workspace = Workspace(tmp_path / "ws").create()
    for name in ("voice_e10_s100.pth", "voice_e2_s20.pth"):
        (workspace.sovits_weights_dir / name).symlink_to(infer_setup.sovits_path)
    workspace.experiment_dir("voice").mkdir(parents=True)
    (workspace.experiment_dir("voice") / "train.log").write_text(LOG, encoding="utf-8")
    return workspace


def _engine(workspace: Workspace, setup, sovits: Path) -> InferenceEngine:
    engine = InferenceEngine(workspace, device="cpu", bert_dir=setup.bert_dir,
                             hubert_dir=setup.hubert_dir)
    engine.load_gpt(setup.gpt_path)
    engine.load_sovits(sovits)
    return engine


def test_epochs_render_with_one_seed_labelled_by_epoch_and_loss(ab_workspace,
                                                                infer_setup) -> None:
    engine = _engine(ab_workspace, infer_setup, infer_setup.sovits_path)
    gpt = engine.gpt_model
    calls = []
    checkpoints = experiment_checkpoints(ab_workspace, "voice")
    renders = render_epochs(engine, checkpoints, infer_setup.reference(), TEXT,
                            InferenceOptions(seed=-1),
                            progress=lambda done, count: calls.append((done, count)))
    assert [r.checkpoint.name for r in renders] == ["voice_e2_s20.pth", "voice_e10_s100.pth"]
    assert [r.epoch for r in renders] == [2, 10]
    assert renders[0].loss is None
    assert renders[1].loss == pytest.approx(1.0 + 2.0 + 3.0 + 0.5 + 0.25)
    assert calls == [(1, 2), (2, 2)]
    seeds = {r.synthesis.seed for r in renders}
    assert len(seeds) == 1 and seeds != {-1}
    first, second = (r.synthesis.audio for r in renders)
    assert first.size > 0 and np.array_equal(first, second)  # same weights, same seed
    assert engine.gpt_model is gpt


def test_previous_weights_come_back_also_after_a_failure(ab_workspace, infer_setup,
                                                         tmp_path: Path) -> None:
    previous = tmp_path / "mine" / "picked_in_the_tab.pth"
    previous.parent.mkdir()
    try:
        os.link(infer_setup.sovits_path, previous)
    except OSError as exc:
        pytest.skip(f"cannot hard-link the fixture here ({exc})")
    engine = _engine(ab_workspace, infer_setup, previous)
    assert engine.sovits_path == previous.resolve()
    epochs = experiment_checkpoints(ab_workspace, "voice")
    renders = render_epochs(engine, epochs[:1], infer_setup.reference(), TEXT,
                            InferenceOptions(seed=3))
    assert renders[0].synthesis.seed == 3
    assert engine.sovits_path == previous.resolve()

    missing = ab_workspace.sovits_weights_dir / "voice_e3_s30.pth"
    with pytest.raises(ModelMissing):
        render_epochs(engine, [epochs[0], missing], infer_setup.reference(), TEXT,
                      InferenceOptions(seed=3))
    assert engine.sovits_path == previous.resolve()
