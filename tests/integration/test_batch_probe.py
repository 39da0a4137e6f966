"""The auto batch probe (gsv_core.train.batch_probe) on the CPU with the tiny models.

A CPU never runs out of memory, so a real probe here fits every size up to the data's item
count; the search's memory edge is checked with a stand-in for the GPU's out-of-memory error
(``fits`` below, and a SoVITS step that raises torch.OutOfMemoryError above a batch size:
the one thing that cannot happen on this machine). Everything else is the real trainer code
on files in upstream's layout.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch

from gsv_core.jobs import start_job
from gsv_core.prepare import ExperimentFiles
from gsv_core.train.batch_probe import probe_batch
from gsv_core.train.config import TrainConfig
from gsv_core.train.probe_results import ProbeResult, load_probe, probe_path
from gsv_core.workspace import Workspace
from tests.infer_fixtures import tiny_fixture
from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits

EXPERIMENT = "probe voice"


class Recorder:
    """A TrainReporter that keeps what it is told."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.logs: list[str] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.progress_calls = 0
        self.stop_after = stop_after

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self.progress_calls += 1

    def log(self, message: str, level: str = "info") -> None:
        self.logs.append(message)

    def metric(self, name: str, value: float, step: int) -> None:
        pass

    def emit(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))

    def should_stop(self) -> bool:
        return self.stop_after is not None and self.progress_calls >= self.stop_after


@pytest.fixture
def space(tmp_path: Path) -> Workspace:
    write_formatted_experiment(tmp_path, EXPERIMENT, clips=2)   # each SoVITS try costs seconds
    write_tiny_pretrained_sovits(Workspace(tmp_path).pretrained_v2_dir)
    return Workspace(tmp_path)


def config(space: Workspace, kind: str, **changes: Any) -> TrainConfig:
    values = dict(kind=kind, workspace=str(space.root), experiment=EXPERIMENT, epochs=1,
                  batch_size=1, save_every=1, device="cpu",
                  pretrained_s1=str(tiny_fixture("gpt_v2.ckpt")))
    return TrainConfig(**{**values, **changes})


def test_sovits_probe_on_the_cpu_fits_every_item_and_saves_a_matching_result(space):
    reporter = Recorder()
    result = probe_batch(config(space, "sovits"), reporter, start=1)
    assert (result.largest_fit, result.first_failure, result.limited_by) == (2, None, "clips")
    assert [size for size, fitted, _ in result.tried] == [1, 2]
    assert all(fitted for _, fitted, _ in result.tried)
    assert (result.card, result.memory_gb) == ("CPU", None)
    files = ExperimentFiles.of(space, EXPERIMENT)
    saved = json.loads(probe_path(files, "sovits", False).read_text(encoding="utf-8"))
    assert saved["largest_fit"] == 2
    assert load_probe(files, "sovits", False, "CPU", None) == result
    assert load_probe(files, "sovits", False, "NVIDIA GeForce RTX 4090", 24) is None
    assert reporter.events == [("batch_probe", {"probe": asdict(result)})]
    assert "Largest sovits batch that fits: 2" in reporter.logs[-1]


def test_a_changed_dataset_makes_the_saved_probe_stale(space):
    probe_batch(config(space, "sovits"), Recorder(), start=2)
    files = ExperimentFiles.of(space, EXPERIMENT)
    assert load_probe(files, "sovits", False, "CPU", None) is not None
    rows = files.name2text.read_text(encoding="utf-8").splitlines()
    files.name2text.write_text("\n".join(rows[:2]) + "\n", encoding="utf-8")
    assert load_probe(files, "sovits", False, "CPU", None) is None


def test_out_of_memory_above_a_size_is_the_edge_and_later_tries_still_run(space, monkeypatch):
    """The GPU's out-of-memory error, raised by a wrapped real step (it cannot happen here)."""
    from gsv_core.train.sovits import SovitsStep

    real_call = SovitsStep.__call__

    def step_that_runs_out(self, batch):
        if batch.size > 1:
            raise torch.OutOfMemoryError("CUDA out of memory (stand-in)")
        return real_call(self, batch)

    monkeypatch.setattr(SovitsStep, "__call__", step_that_runs_out)
    result = probe_batch(config(space, "sovits"), Recorder(), start=2)
    assert (result.largest_fit, result.first_failure, result.limited_by) == (1, 2, "memory")
    assert [(size, fitted) for size, fitted, _ in result.tried] == [(2, False), (1, True)]


def test_a_stop_ends_the_probe_with_what_it_knows(space):
    result = probe_batch(config(space, "sovits"), Recorder(stop_after=1), start=1)
    assert (result.largest_fit, result.limited_by) == (1, "stopped")


def test_gpt_probe_with_and_without_dpo(space):
    plain = probe_batch(config(space, "gpt"), Recorder(), start=1, ceiling=3)
    assert (plain.largest_fit, plain.limited_by) == (2, "clips")
    dpo = probe_batch(config(space, "gpt", dpo=True), Recorder(), start=1, ceiling=1)
    assert (dpo.largest_fit, dpo.limited_by, dpo.dpo) == (1, "ceiling", True)
    files = ExperimentFiles.of(space, EXPERIMENT)
    assert probe_path(files, "gpt", True) != probe_path(files, "gpt", False)
    assert load_probe(files, "gpt", True, "CPU", None) == dpo
    assert load_probe(files, "gpt", False, "CPU", None) == plain


def test_the_probe_runs_as_a_background_job(space):
    run = asdict(config(space, "sovits"))
    run["gpus"] = list(run["gpus"])
    handle = start_job("gsv_core.train.batch_probe:run_probe",
                       {"config": run, "start": 1, "ceiling": 1},
                       folder=space.root / "jobs", label="batch probe")
    status = handle.wait(timeout_s=600)
    assert status.state == "succeeded", status
    result = ProbeResult(**{**status.result, "tried": tuple(tuple(t) for t in
                                                            status.result["tried"])})
    assert result.largest_fit == 1 and result.limited_by == "ceiling"
    assert load_probe(ExperimentFiles.of(space, EXPERIMENT), "sovits", False,
                                  "CPU", None) == result
