"""SoVITS fine-tuning end to end on the CPU with the tiny fixture as the pretrained generator
and a narrow random discriminator file (tests/train_fixtures.py).

One run of 3 rounds × 2 steps (four clips, ``min_items`` 1 so no repeat, batch 2, save every
2 rounds) is shared by most tests. The fixture's training segment is cut to 8 frames (5120
samples) in a derived copy of the file and the discriminator is 1/16 of upstream's width, so
a step takes well under a second on two cores; everything else is the real recipe. Only the
out-of-memory test fakes something: a CUDA OOM, which a CPU cannot produce.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from gsv_core.errors import DatasetError, ModelMissing, OutOfMemory
from gsv_core.models.checkpoint import load_sovits, read_checkpoint_dict
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train import sovits as sovits_module
from gsv_core.train.config import TrainConfig
from gsv_core.train.resume import find_resume_points
from gsv_core.train.sovits import (
    LOSS_NAMES,
    SovitsStep,
    TrainPrecision,
    build_optimizers,
    load_discriminator,
    load_generator,
    train_sovits,
)
from gsv_core.train.sovits_data import SovitsDataset, collate, read_clips
from tests.fixture_paths import tiny_fixture
from tests.train_fixtures import (
    NARROW_DISCRIMINATOR,
    write_formatted_experiment,
    write_tiny_pretrained_sovits,
)

CLIPS = 4  # two batches of two a round


@dataclass
class Recorder:
    """A TrainReporter that keeps every call; ``stop_after`` steps it asks to stop."""

    stop_after: int | None = None
    events: list[tuple[str, Any]] = field(default_factory=list)
    stop_checks: int = 0

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self.events.append(("progress", (done, total, message)))

    def log(self, message: str, level: str = "info") -> None:
        self.events.append(("log", (level, message)))

    def metric(self, name: str, value: float, step: int) -> None:
        self.events.append(("metric", (name, value, step)))

    def emit(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))

    def should_stop(self) -> bool:
        self.stop_checks += 1
        return self.stop_after is not None and self.stop_checks >= self.stop_after

    def of(self, kind: str) -> list[Any]:
        return [data for k, data in self.events if k == kind]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Removed after the module (pytest keeps three old temp folders); the tiny pretrained
    pair is in ``pretrained/``."""
    root = tmp_path_factory.mktemp("sovits-train")
    write_tiny_pretrained_sovits(root / "pretrained")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _generator(workspace: Path) -> Path:
    return workspace / "pretrained" / "s2G2333k.pth"


def _discriminator(workspace: Path) -> Path:
    return workspace / "pretrained" / "s2D2333k.pth"


def _config(workspace: Path, experiment: str, epochs: int, **changes: Any) -> TrainConfig:
    base = TrainConfig(kind="sovits", workspace=str(workspace), experiment=experiment,
                       epochs=epochs, batch_size=2, save_every=2, device="cpu",
                       pretrained_s2g=str(_generator(workspace)),
                       pretrained_s2d=str(_discriminator(workspace)),
                       extra={"min_items": 1})
    return replace(base, **changes)


@pytest.fixture(scope="module")
def run(workspace: Path) -> dict:
    write_formatted_experiment(workspace, "tiny voice", clips=CLIPS)
    reporter = Recorder()
    result = train_sovits(_config(workspace, "tiny voice", 3), reporter)
    return {"result": result, "reporter": reporter}


def test_the_given_discriminator_is_used_at_its_files_width(run, workspace):
    warnings = [m for level, m in run["reporter"].of("log") if level == "warning"]
    assert not any("discriminator" in m for m in warnings), warnings
    narrow = load_discriminator(_discriminator(workspace))
    assert narrow.discriminators[0].conv_post.weight_v.shape[1] == 1024 // NARROW_DISCRIMINATOR


@pytest.mark.parametrize("where", ["no file", "missing file"])
def test_a_missing_discriminator_trains_from_scratch_at_full_size_with_a_warning(where, tmp_path):
    warnings: list[str] = []
    path = None if where == "no file" else tmp_path / "s2D2333k.pth"
    discriminator = load_discriminator(path, warnings.append)
    assert discriminator.training
    assert discriminator.discriminators[0].conv_post.weight_v.shape[1] == 1024
    assert len(warnings) == 1 and "from scratch" in warnings[0]
    assert ("no file was given" if path is None else str(path)) in warnings[0]


def test_every_save_epoch_and_the_final_one_are_exported(run, workspace):
    result = run["result"]
    assert (result.epoch, result.step, result.stopped) == (3, 6, False)
    names = [Path(p).name for p in result.exported]
    assert names == ["tiny voice_e2_s4.pth", "tiny voice_e3_s6.pth"]  # 3 % 2 != 0: kept
    assert [Path(e["path"]).name for e in run["reporter"].of("exported")] == names
    assert all(Path(p).parent == workspace / "SoVITS_weights_v2" for p in result.exported)
    points = find_resume_points(workspace / "logs" / "tiny voice", "sovits")
    assert [(p.epoch, p.step) for p in points] == [(3, 6), (2, 4)]


def test_exported_weights_load_and_have_the_fixtures_exact_structure(run):
    exported = read_checkpoint_dict(run["result"].exported[-1])
    fixture = read_checkpoint_dict(tiny_fixture("sovits_v2.pth"))
    assert exported["info"] == "3epoch_6iteration"
    assert set(exported) == set(fixture)
    assert set(exported["config"]) == set(fixture["config"])
    mine, theirs = exported["weight"], fixture["weight"]
    assert set(mine) == set(theirs) and not any("enc_q" in k for k in mine)
    assert {k: (v.dtype, v.shape) for k, v in mine.items()} == {
        k: (v.dtype, v.shape) for k, v in theirs.items()}
    changed = [k for k in mine if not torch.equal(mine[k], theirs[k])]
    assert "dec.conv_pre.weight" in changed and "enc_p.text_embedding.weight" in changed
    assert "ssl_proj.weight" not in changed  # frozen, with the quantizer
    model = load_sovits(run["result"].exported[-1])
    assert model.config.inter_channels == 32


def test_progress_metrics_and_heartbeats_use_the_event_vocabulary(run):
    reporter = run["reporter"]
    assert reporter.of("progress")[-1] == (6, 6, "round 3 of 3, step 6 of 6")
    names = {name for name, _, _ in reporter.of("metric")}
    assert names == {f"sovits/{n}" for n in LOSS_NAMES} | {"sovits/lr"}
    values = [v for name, v, _ in reporter.of("metric") if name == "sovits/loss_mel"]
    assert values and all(torch.isfinite(torch.tensor(values)))
    steps = [s for name, _, s in reporter.of("metric") if name == "sovits/loss_mel"]
    assert steps == sorted(steps) and steps[-1] == 6
    lrs = sorted({v for name, v, _ in reporter.of("metric") if name == "sovits/lr"})
    assert lrs == pytest.approx([1e-4 * 0.999875 ** e for e in (3, 2, 1)])
    heartbeat = reporter.of("train_step")[-1]
    assert set(heartbeat) == {"epoch", "epochs", "step", "steps", "epoch_step", "epoch_steps",
                              "samples_per_s", "eta_s", "lr", "gpu_memory_gb"}
    assert (heartbeat["epoch"], heartbeat["step"], heartbeat["epoch_steps"]) == (3, 6, 2)
    assert set(run["result"].final_losses) == set(LOSS_NAMES)


def test_each_finished_epoch_logs_its_mean_generator_loss_for_ab_listening(run, workspace):
    lines = (workspace / "logs" / "tiny voice" / "train-losses.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert [(r["model"], r["epoch"], r["step"]) for r in rows] == [
        ("sovits", 1, 2), ("sovits", 2, 4), ("sovits", 3, 6)]
    assert all(r["loss"] > 0 for r in rows)


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None,
                    reason="the tensorboard package is not installed")
def test_tensorboard_scalars_go_where_upstream_writes_them(run, workspace):
    folder = workspace / "logs" / "tiny voice" / "logs_s2_v2"
    assert any(p.name.startswith("events.out.tfevents") for p in folder.iterdir())


def test_stop_then_start_again_continues_where_it_stopped_with_the_same_data(run, workspace):
    """Stopped after step 3 (round 2, batch 1 of 2), started again: step 4 runs on the batch
    the uninterrupted run trained on, so its round-2 export is the same, bit for bit. Then
    the newest resume file is damaged and the older one is used instead."""
    write_formatted_experiment(workspace, "again", clips=CLIPS)
    stopping = Recorder(stop_after=3)
    stopped = train_sovits(_config(workspace, "again", 2), stopping)
    assert (stopped.stopped, stopped.epoch, stopped.step, stopped.exported) == (True, 2, 3, ())
    assert [(c["epoch"], c["step"]) for c in stopping.of("checkpoint")] == [(2, 3)]

    again = Recorder()
    resumed = train_sovits(_config(workspace, "again", 2), again)
    assert [(e["epoch"], e["step"]) for e in again.of("resumed")] == [(2, 3)]
    assert (resumed.epoch, resumed.step, resumed.stopped) == (2, 4, False)
    assert {p for _, _, p in again.of("metric")} == {4}  # no step of the stopped run again
    assert Path(resumed.exported[-1]).name == "again_e2_s4.pth"
    mine = read_checkpoint_dict(resumed.exported[-1])["weight"]
    uninterrupted = read_checkpoint_dict(run["result"].exported[0])["weight"]  # e2_s4
    assert all(torch.equal(mine[k], uninterrupted[k]) for k in uninterrupted)

    newest = find_resume_points(workspace / "logs" / "again", "sovits")[0]
    assert (newest.epoch, newest.step) == (2, 4)
    newest.path.write_bytes(newest.path.read_bytes()[:1000])
    fallback = Recorder()
    again_result = train_sovits(_config(workspace, "again", 2), fallback)
    assert [(e["epoch"], e["step"]) for e in fallback.of("resumed")] == [(2, 3)]
    assert any(newest.path.name in m for level, m in fallback.of("log") if level == "warning")
    assert again_result.step == 4


def test_the_loss_goes_down_on_a_fixed_batch(workspace):
    files = ExperimentFiles(workspace / "logs" / "fixed")
    write_formatted_experiment(workspace, "fixed", clips=2)
    clips, _ = read_clips(files, min_items=1)
    batch = collate([SovitsDataset(files, clips, [0, 1])[i] for i in range(2)])
    torch.manual_seed(0)
    generator = load_generator(_generator(workspace))
    discriminator = load_discriminator(_discriminator(workspace))
    optim_g, optim_d, _ = build_optimizers(generator, discriminator, 0.4)
    step = SovitsStep(generator, discriminator, optim_g, optim_d, TrainPrecision("fp32", None),
                      torch.device("cpu"))
    mel = []
    for _ in range(5):
        torch.manual_seed(1)  # the same segments and noise every step
        mel.append(float(step(batch)[LOSS_NAMES.index("loss_mel")]))
    assert mel[-1] < mel[0] * 0.97, mel
    assert all(p.grad is None for p in generator.ssl_proj.parameters())


@pytest.mark.parametrize(("name", "dtype"), [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_mixed_precision_steps_train_with_fp32_losses(workspace, name, dtype):
    """The autocast paths (and fp16's grad scaler) run on the CPU's autocast too; on CUDA the
    same code runs with the card's kernels (see the CUDA test below)."""
    files = ExperimentFiles(workspace / "logs" / "fixed")
    if not files.folder.exists():
        write_formatted_experiment(workspace, "fixed", clips=2)
    clips, _ = read_clips(files, min_items=1)
    batch = collate([SovitsDataset(files, clips, [0, 1])[i] for i in range(2)])
    generator = load_generator(_generator(workspace))
    discriminator = load_discriminator(_discriminator(workspace))
    optim_g, optim_d, _ = build_optimizers(generator, discriminator, 0.4)
    step = SovitsStep(generator, discriminator, optim_g, optim_d, TrainPrecision(name, dtype),
                      torch.device("cpu"))
    before = generator.dec.conv_pre.weight.detach().clone()
    losses = step(batch)
    assert losses.dtype == torch.float32 and torch.isfinite(losses).all()
    assert step.scaler.is_enabled() == (name == "fp16")
    assert generator.dec.conv_pre.weight.dtype == torch.float32  # master weights stay fp32
    if name == "bf16":  # fp16's first step may be skipped by the scaler (inf at scale 65536)
        assert not torch.equal(before, generator.dec.conv_pre.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_training_with_workers_and_pinned_memory(workspace, precision):
    experiment = f"cuda {precision}"
    write_formatted_experiment(workspace, experiment, clips=CLIPS)
    reporter = Recorder()
    config = _config(workspace, experiment, 2, device="cuda", precision=precision,
                     num_workers=2, max_steps=3)
    result = train_sovits(config, reporter)
    assert (result.step, result.epoch) == (3, 2)
    assert any(f", {precision}, on cuda" in m for _, m in reporter.of("log"))
    assert reporter.of("train_step")[-1]["gpu_memory_gb"] > 0
    assert all(torch.isfinite(torch.tensor(list(result.final_losses.values()))))
    assert load_sovits(result.exported[-1]).config.inter_channels == 32


def test_a_missing_formatted_file_is_named_before_any_model_loads(workspace):
    folder = workspace / "logs" / "empty"
    folder.mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"2-name2text\.txt"):
        train_sovits(_config(workspace, "empty", 1, pretrained_s2g="/nowhere/s2G.pth"),
                     Recorder())


def test_a_missing_pretrained_generator_says_where_it_belongs(workspace):
    write_formatted_experiment(workspace, "no model", clips=2)
    with pytest.raises(ModelMissing, match=r"s2G2333k\.pth"):
        train_sovits(_config(workspace, "no model", 1, pretrained_s2g=None), Recorder())


def test_out_of_memory_names_the_batch_and_the_next_one(workspace, monkeypatch):
    """A CUDA out-of-memory error is faked (a CPU cannot raise one)."""
    write_formatted_experiment(workspace, "oom", clips=2)

    def no_memory(self, batch):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(SovitsStep, "__call__", no_memory)
    with pytest.raises(OutOfMemory, match="batch 2") as caught:
        train_sovits(_config(workspace, "oom", 1), Recorder())
    assert caught.value.next_batch_size == 1 and caught.value.rule == "B-6"
    assert sovits_module._out_of_memory(8, RuntimeError()).next_batch_size == 4


def _ddp_worker(rank: int, workspace: str, init_file: str) -> None:
    torch.set_num_threads(1)  # two processes share the machine's cores
    os.environ["LOCAL_RANK"] = str(rank)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        reporter = Recorder()
        config = _config(Path(workspace), "ddp", 1, batch_size=1, max_steps=2,
                         tensorboard=False)
        result = train_sovits(config, reporter)
        summary = {"step": result.step, "exported": list(result.exported),
                   "events": len(reporter.events)}
        Path(workspace, f"rank{rank}.json").write_text(json.dumps(summary))
    finally:
        dist.destroy_process_group()


def test_two_processes_train_one_model_with_ddp_and_only_rank_0_reports_and_saves(workspace):
    """torchrun's setup, two CPU processes over gloo (as a one-GPU machine would run it):
    each rank trains its share of the batches, rank 0 alone reports and writes files."""
    write_formatted_experiment(workspace, "ddp", clips=CLIPS)
    mp.spawn(_ddp_worker, args=(str(workspace), str(workspace / "ddp-init")), nprocs=2)
    first, second = (json.loads((workspace / f"rank{r}.json").read_text()) for r in (0, 1))
    assert first["step"] == second["step"] == 2
    assert [Path(p).name for p in first["exported"]] == ["ddp_e1_s2.pth"]
    assert second["exported"] == [] and second["events"] == 0 and first["events"] > 0
    assert load_sovits(first["exported"][0]).config.inter_channels == 32
