"""A/B listening in the Inference tab (R-5): ticked epochs rendered with one seed, labelled.

In process with the real engine on the tiny models; two "epochs" of an experiment are links
to the tiny SoVITS fixture under upstream's export names (so both must sound the same when
the seed is shared). ``gsv_core.infer.ab`` does the rendering.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile

from gsv_core.infer.history import results_folder
from tabs.infer import compare, run
from tabs.infer.sections import compare as compare_section
from tabs.infer.sections.compare import AB_SLOTS
from tests.infer_fixtures import infer_setup  # noqa: F401
from tests.integration.test_ui_infer import make_context, values


@pytest.fixture(scope="module")
def setup(request):
    return request.getfixturevalue("infer_setup")


@pytest.fixture(scope="module")
def ab(setup):
    """The context, a runtime, and two exported epochs of experiment 'tiny'."""
    ws = setup.workspace
    ws.sovits_weights_dir.mkdir(parents=True, exist_ok=True)
    epochs = []
    for epoch in (2, 1):
        path = ws.sovits_weights_dir / f"tiny_e{epoch}_s{epoch * 4}.pth"
        if not path.exists():
            path.symlink_to(setup.sovits_path)
        epochs.append(path)
    ctx = make_context(ws)
    runtime = run.InferRuntime(engine=run.EngineSlot(ctx), stops=run.StopRequests(),
                               results=results_folder())
    return ctx, runtime


def render(ab, setup, shown=None, checkpoints=None, **changes):
    ctx, runtime = ab
    message, files, *players = compare.render(ctx, runtime, shown, checkpoints,
                                              *values(setup, **changes))
    assert len(players) == AB_SLOTS
    return message, files, players


def test_experiment_pick_ticks_its_epochs_lowest_first(ab) -> None:
    ctx, _ = ab
    update = compare_section.pick_experiment(ctx, "tiny")
    assert [label for label, _ in update["choices"]] == ["epoch 1", "epoch 2"]
    assert update["value"] == [value for _, value in update["choices"]]


def test_epochs_render_side_by_side_with_one_seed(ab, setup) -> None:
    pytest.importorskip("gsv_core.infer.ab", reason="gsv_core.infer.ab has not landed")
    ctx, _ = ab
    checkpoints = compare_section.pick_experiment(ctx, "tiny")["value"]
    message, files, players = render(ab, setup, checkpoints=checkpoints, text="你好世界。",
                                     seed=None, random_seed=True)
    assert message.startswith("✅") and "2 epochs" in message
    shown = [p for p in players if p.get("visible")]
    # labelled with the epoch (and " · loss …" when the training log has it)
    assert [p["label"].split(" · ")[0] for p in shown] == ["Epoch 1", "Epoch 2"]
    first, second = (soundfile.read(p["value"])[0] for p in shown)
    np.testing.assert_array_equal(first, second)  # same weights, one seed: same audio
    assert files == [p["value"] for p in shown]
    # the next comparison replaces the files of this one
    render(ab, setup, shown=files, checkpoints=checkpoints[:1], text="你好世界。", seed=3)
    assert not any(os.path.exists(f) for f in files)


@pytest.mark.parametrize("count", [0, AB_SLOTS + 1])
def test_too_few_or_too_many_epochs_is_one_error_message(ab, setup, count) -> None:
    message, files, players = render(ab, setup, shown=["kept.wav"],
                                     checkpoints=[str(setup.sovits_path)] * count)
    assert message.startswith("❌") and f"{count} epochs are ticked" in message
    assert "➡️" in message and files == ["kept.wav"]
    assert all(p == {"__type__": "update"} for p in players)  # the last comparison stays
