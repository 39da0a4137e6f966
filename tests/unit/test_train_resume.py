"""Resume checkpoints: atomic, newest intact wins, damaged ones skipped but kept."""

from __future__ import annotations

import pytest
import torch

from gsv_core.train.resume import (
    find_resume_points,
    load_newest,
    load_optimizer_state,
    save_resume,
)


def test_newest_intact_checkpoint_wins_and_old_ones_are_pruned(tmp_path):
    for epoch, step in ((1, 10), (2, 20), (3, 30)):
        save_resume(tmp_path, "sovits", epoch, step, {"model": {"w": torch.full((2,), epoch)}})
    points = find_resume_points(tmp_path, "sovits")
    assert [(p.epoch, p.step) for p in points] == [(3, 30), (2, 20)]
    point, state = load_newest(tmp_path, "sovits")
    assert (point.epoch, point.step) == (3, 30)
    assert torch.equal(state["model"]["w"], torch.full((2,), 3))


def test_a_damaged_newest_file_is_skipped_with_a_warning_and_left_in_place(tmp_path):
    save_resume(tmp_path, "gpt", 1, 5, {"x": 1})
    newest = save_resume(tmp_path, "gpt", 2, 9, {"x": 2})
    newest.write_bytes(newest.read_bytes()[:40])  # cut short, as a failing disk would
    warnings: list[str] = []
    point, state = load_newest(tmp_path, "gpt", warn=warnings.append)
    assert (point.epoch, state["x"]) == (1, 1)
    assert newest.exists() and newest.name in warnings[0]


def test_kinds_do_not_mix_and_nothing_is_none(tmp_path):
    assert load_newest(tmp_path, "sovits") is None
    save_resume(tmp_path, "gpt", 1, 1, {})
    assert load_newest(tmp_path, "sovits") is None
    assert not list((tmp_path / "resume").glob(".*.tmp"))


def _trained_adamw(fused: bool) -> tuple[torch.nn.Parameter, torch.optim.AdamW]:
    param = torch.nn.Parameter(torch.arange(4.0))
    optimizer = torch.optim.AdamW([param], lr=0.1, fused=fused)
    for _ in range(2):
        param.grad = torch.ones(4)
        optimizer.step()
    return param, optimizer


@pytest.mark.parametrize("saved_fused, run_fused", [(False, True), (True, False)])
def test_an_optimizer_state_loads_into_this_runs_kind_of_adamw(saved_fused, run_fused):
    _, saved = _trained_adamw(saved_fused)
    state = saved.state_dict()
    param = torch.nn.Parameter(torch.arange(4.0))
    optimizer = torch.optim.AdamW([param], lr=0.1, fused=run_fused)
    load_optimizer_state(optimizer, state)
    group = optimizer.param_groups[0]
    assert bool(group["fused"]) is run_fused  # Optimizer.load_state_dict takes the saved flag
    counters = optimizer.state[param]
    assert counters["step"].dtype == torch.float32 and float(counters["step"]) == 2.0
    assert counters["step"].device == param.device
    assert torch.equal(counters["exp_avg"], saved.state[saved.param_groups[0]["params"][0]]
                       ["exp_avg"])
    param.grad = torch.ones(4)
    optimizer.step()  # the kept implementation runs on the loaded state
    assert float(optimizer.state[param]["step"]) == 3.0
