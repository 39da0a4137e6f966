"""Resume checkpoints: atomic, newest intact wins, damaged ones skipped but kept."""

from __future__ import annotations

import torch

from gsv_core.train.resume import find_resume_points, load_newest, save_resume


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
