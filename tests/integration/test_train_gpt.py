"""The GPT trainer end to end on CPU: the tiny pretrained GPT fine-tuned on a tiny experiment
written in upstream's layout, with DPO off and on; export in upstream's format (every save
epoch and always the final one); stop and resume to the same weights; the optimizer recipe.

A 2-process DDP run over gloo goes through torchrun, as the CLI launches it.

One uninterrupted run (3 rounds, batch 17: 6 batches a round, 2 steps with the ×4
accumulation) is shared by the tests that only read it. Torch runs single-threaded here: on
a shared 2-core machine its thread pool costs more than it gains for a model this small.
Mocked: only the GPU's out-of-memory error (there is no GPU here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from gsv_core.errors import DatasetError, OutOfMemory
from gsv_core.models.checkpoint import load_gpt, read_checkpoint_dict
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train import gpt as gpt_trainer
from gsv_core.train.config import TrainConfig
from gsv_core.train.gpt import FIRST_STEP_LR, LR, GPTStepper, export_path, train_gpt
from gsv_core.train.gpt_data import BucketBatchSampler, collate_gpt, load_gpt_dataset
from gsv_core.workspace import Workspace
from tests.fixture_paths import REPO_ROOT, tiny_fixture
from tests.train_fixtures import write_formatted_experiment

EXPERIMENT = "小 voice"  # any Unicode, spaces
EPOCHS, BATCH, SAVE_EVERY = 3, 17, 2
STEPS_PER_EPOCH = 2  # 102 items / 17 = 6 batches; 4 + 2 with the accumulation


class Recorder:
    """A TrainReporter that keeps every call; ``stop_after`` steps it asks to stop."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.stop_after = stop_after
        self.stop_checks = 0

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self.calls.append(("progress", (done, total, message)))

    def log(self, message: str, level: str = "info") -> None:
        self.calls.append(("log", (message, level)))

    def metric(self, name: str, value: float, step: int) -> None:
        self.calls.append(("metric", (name, value, step)))

    def emit(self, kind: str, **data: Any) -> None:
        self.calls.append((kind, data))

    def should_stop(self) -> bool:
        self.stop_checks += 1
        return self.stop_after is not None and self.stop_checks > self.stop_after

    def events(self, kind: str) -> list[Any]:
        return [data for name, data in self.calls if name == kind]

    def metrics(self, name: str) -> list[tuple[int, float]]:
        return [(step, value) for metric, value, step in self.events("metric")
                if metric == name]


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def formatted(tmp_path_factory) -> Path:
    """A pristine formatted experiment; tests copy it into workspaces of their own."""
    root = tmp_path_factory.mktemp("formatted")
    write_formatted_experiment(root, EXPERIMENT)
    return root


def _workspace(formatted: Path, tmp_path: Path) -> Path:
    shutil.copytree(formatted / "logs", tmp_path / "logs")
    return tmp_path


def _config(root: Path, **overrides: Any) -> TrainConfig:
    values = dict(kind="gpt", workspace=str(root), experiment=EXPERIMENT, epochs=EPOCHS,
                  batch_size=BATCH, save_every=SAVE_EVERY, device="cpu",
                  pretrained_s1=str(tiny_fixture("gpt_v2.ckpt")), tensorboard=False)
    return TrainConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def trained(formatted, tmp_path_factory):
    root = _workspace(formatted, tmp_path_factory.mktemp("trained"))
    reporter = Recorder()
    result = train_gpt(_config(root), reporter)
    return root, result, reporter


def test_a_run_exports_every_save_epoch_and_always_the_final_one(trained):
    root, result, reporter = trained
    config = _config(root)
    assert not result.stopped and result.resumed_from is None
    assert (result.epoch, result.step) == (EPOCHS, EPOCHS * STEPS_PER_EPOCH)
    # save every 2 of 3 rounds: round 2, and round 3 because it is the last (upstream
    # loses it)
    assert result.exported == (str(export_path(config, 2)), str(export_path(config, 3)))
    assert [(e["epoch"], e["model"]) for e in reporter.events("exported")] == [(2, "gpt"),
                                                                                (3, "gpt")]
    assert Path(result.exported[-1]).name == f"{EXPERIMENT}-e3.ckpt"
    assert reporter.events("progress")[-1] == (6, 6, "round 3 of 3, step 6 of 6")
    beat = reporter.events("train_step")[-1]
    assert (beat["epoch"], beat["epochs"], beat["step"], beat["steps"], beat["epoch_step"],
            beat["epoch_steps"]) == (3, 3, 6, 6, 2, 2)


def test_exported_weights_load_and_have_the_fixture_structure(trained):
    _root, result, _reporter = trained
    exported = read_checkpoint_dict(result.exported[-1])
    fixture = read_checkpoint_dict(tiny_fixture("gpt_v2.ckpt"))

    def layout(tree: Any) -> Any:
        if isinstance(tree, dict):
            return {key: layout(value) for key, value in tree.items()}
        if isinstance(tree, int | float) and not isinstance(tree, bool):
            return "number"  # the yaml's "dropout: 0" is written back as 0.0
        return type(tree).__name__

    assert set(exported) == set(fixture) == {"weight", "config", "info"}
    assert {k: (v.dtype, v.shape) for k, v in exported["weight"].items()} == {
        k: (v.dtype, v.shape) for k, v in fixture["weight"].items()}
    assert layout(exported["config"]) == layout(fixture["config"])
    assert exported["config"]["model"] == fixture["config"]["model"]
    assert exported["config"]["train"]["exp_name"] == EXPERIMENT
    assert exported["config"]["train"]["batch_size"] == BATCH
    assert exported["info"] == "GPT-e3" and re.fullmatch(r"GPT-e\d+", fixture["info"])
    model = load_gpt(result.exported[-1])
    changed = [not torch.equal(exported["weight"][k], fixture["weight"][k])
               for k in fixture["weight"]]
    assert sum(changed) > len(changed) // 2  # it trained
    assert model.config.max_sec == 54


def test_losses_and_accuracy_are_reported_per_step(trained):
    _root, result, reporter = trained
    losses = reporter.metrics("gpt/loss")
    assert [step for step, _ in losses] == [2, 4, 5, 6]  # every 5 steps and every round end
    assert all(0 < value < 10 for _, value in losses)
    assert {step for step, _ in reporter.metrics("gpt/top3_acc")} == {2, 4, 5, 6}
    assert all(value == LR for _, value in reporter.metrics("gpt/lr"))
    assert reporter.metrics("gpt/loss_ce") == losses  # DPO off: the loss is the CE
    assert not reporter.metrics("gpt/loss_dpo")
    assert result.final_losses["loss"] == losses[-1][1]


def test_the_loss_goes_down_on_a_fixed_batch(formatted):
    dataset = load_gpt_dataset(ExperimentFiles.of(Workspace(formatted), EXPERIMENT))
    sampler = BucketBatchSampler(dataset.durations_s(), 8)
    batch = collate_gpt([dataset[key] for key in next(iter(sampler))])
    model = load_gpt(tiny_fixture("gpt_v2.ckpt"))
    stepper = GPTStepper(model, torch.device("cpu"), "fp32", dpo=False)
    before = stepper.measure(batch)
    with torch.no_grad():  # the trainer's CE is the model's own summed CE, per token
        reference = model.eval()(batch.phone_ids, batch.phone_lens, batch.semantic_ids,
                                 batch.semantic_lens, batch.bert).loss
    assert before == pytest.approx(float(reference) / batch.target_tokens, rel=1e-5)
    for _ in range(8):
        stepper.step([batch])
    assert stepper.measure(batch) < before - 0.05


@pytest.mark.filterwarnings(  # torch's own, while dynamo traces (torch 2.13)
    "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")
def test_steps_with_cuda_graph_style_gradients_equal_the_plain_steps(formatted):
    """``GPTStepper.compile(mode="reduce-overhead")`` keeps zeroed gradient buffers between
    steps (CUDA graphs would overwrite graph-owned ones mid-accumulation): same updates.
    Here the backend is "eager" (no GPU, so no graphs); the gradient handling is the same."""
    dataset = load_gpt_dataset(ExperimentFiles.of(Workspace(formatted), EXPERIMENT))
    batches = [collate_gpt([dataset[(i, 0)] for i in range(first, first + 3)])
               for first in (0, 3)]
    plain, graphed = (GPTStepper(load_gpt(tiny_fixture("gpt_v2.ckpt")), torch.device("cpu"),
                                 "fp32", dpo=False) for _ in range(2))
    graphed.compile(mode="reduce-overhead", backend="eager")
    buffers = [p.grad for p in graphed.model.parameters()]
    assert graphed.cuda_graphs and all(g is not None for g in buffers)
    plain_grads = []
    for seed in (1, 2):
        for stepper in (plain, graphed):
            torch.manual_seed(seed)  # the same dropout on both sides
            stepper.step(batches)  # two micro-batches accumulate
        plain_grads.append([p.grad for p in plain.model.parameters()])
    assert not any(a is b for a, b in zip(*plain_grads, strict=True))  # freed and remade
    assert all(p.grad is g for p, g in zip(graphed.model.parameters(), buffers, strict=True))
    for name, value in plain.model.state_dict().items():
        torch.testing.assert_close(graphed.model.state_dict()[name], value, rtol=0, atol=1e-6,
                                   msg=name)
    torch._dynamo.reset()


def test_the_first_update_runs_at_0_01_then_0_002_scaled_per_tensor(formatted):
    dataset = load_gpt_dataset(ExperimentFiles.of(Workspace(formatted), EXPERIMENT))
    batch = collate_gpt([dataset[(i, 0)] for i in range(4)])
    stepper = GPTStepper(load_gpt(tiny_fixture("gpt_v2.ckpt")), torch.device("cpu"), "fp32",
                         dpo=False)
    groups = stepper.optimizer.param_groups
    assert len(groups) > 3 and len({g["lr_scale"] for g in groups}) == len(groups)
    stepper.step([batch])
    assert all(g["lr"] == pytest.approx(FIRST_STEP_LR * g["lr_scale"]) for g in groups)
    stepper.step([batch])
    assert all(g["lr"] == pytest.approx(LR * g["lr_scale"]) for g in groups)
    # ScaledAdam's relative step: a big weight matrix gets a larger lr than a tiny bias
    scale = {id(p): g["lr_scale"] for g in groups for p in g["params"]}
    model = stepper.model
    assert scale[id(model.ar_predict_layer.weight)] > 1e-3
    assert scale[id(model.ar_text_position.alpha)] == pytest.approx(0.1)  # a scalar
    assert not torch.isnan(stepper.clip_history[:2]).any()  # two norms recorded
    assert torch.isnan(stepper.clip_history[2:]).all()


def test_dpo_on_trains_with_the_preference_term_in_the_loss(formatted, tmp_path):
    root = _workspace(formatted, tmp_path)
    reporter = Recorder()
    result = train_gpt(_config(root, dpo=True, epochs=1, max_steps=1), reporter)
    assert result.step == 1 and result.exported == (str(export_path(_config(root), 1)),)
    (step, dpo), = reporter.metrics("gpt/loss_dpo")
    (_, ce), = reporter.metrics("gpt/loss_ce")
    (_, total), = reporter.metrics("gpt/loss")
    assert step == 1 and dpo > 0
    assert ce < total < ce + dpo  # weighted down: see the next test
    exported = read_checkpoint_dict(result.exported[0])
    assert exported["config"]["train"]["if_dpo"] is True
    load_gpt(result.exported[0])


def test_the_dpo_term_is_weighted_by_one_over_beta_times_tokens_per_clip(formatted):
    """loss = CE per token + DPO_mean x clips / (beta x target tokens): an undecided pair
    pulls on each token as hard as the CE (module docstring of gsv_core.train.gpt)."""
    dataset = load_gpt_dataset(ExperimentFiles.of(Workspace(formatted), EXPERIMENT))
    batch = collate_gpt([dataset[(i, 5)] for i in range(6)], dpo=True)
    stepper = GPTStepper(load_gpt(tiny_fixture("gpt_v2.ckpt")), torch.device("cpu"), "fp32",
                         dpo=True)
    stepper.step([batch])
    means = stepper.meter.take(dpo=True)
    weight = gpt_trainer.DPO_WEIGHT * len(batch) / (0.2 * batch.target_tokens)
    assert means["loss"] == pytest.approx(means["loss_ce"] + weight * means["loss_dpo"],
                                          rel=1e-5)
    assert means["loss_dpo"] > 0


def test_stop_then_start_again_resumes_at_the_same_epoch_step_and_order(trained, formatted,
                                                                        tmp_path):
    """Stopped after step 3 (round 2's first step), then started again: the run continues
    at round 2, step 3, and ends with bit-identical weights to the uninterrupted run: same
    data order, optimizer, clipping history and RNG."""
    _root, uninterrupted, _ = trained
    root = _workspace(formatted, tmp_path)
    first = Recorder(stop_after=3)
    stopped = train_gpt(_config(root), first)
    assert stopped.stopped and stopped.step == 3 and stopped.exported == ()
    (checkpoint,) = first.events("checkpoint")
    assert Path(checkpoint["path"]).name == "gpt-e0002-s00000003.resume.pt"

    second = Recorder()
    resumed = train_gpt(_config(root), second)
    (event,) = second.events("resumed")
    assert (event["epoch"], event["step"]) == (2, 3)
    assert resumed.resumed_from == checkpoint["path"]
    assert not resumed.stopped and resumed.step == EPOCHS * STEPS_PER_EPOCH
    assert [step for step, _ in second.metrics("gpt/loss")] == [4, 5, 6]
    assert [Path(p).name for p in resumed.exported] == [f"{EXPERIMENT}-e2.ckpt",
                                                         f"{EXPERIMENT}-e3.ckpt"]
    ours = read_checkpoint_dict(resumed.exported[-1])["weight"]
    reference = read_checkpoint_dict(uninterrupted.exported[-1])["weight"]
    assert all(torch.equal(ours[k], reference[k]) for k in reference)


def test_a_damaged_bert_file_stops_the_run_before_training(formatted, tmp_path):
    root = _workspace(formatted, tmp_path)
    files = ExperimentFiles.of(Workspace(root), EXPERIMENT)
    victim = sorted(files.bert_dir.iterdir())[0]
    torch.save(torch.zeros(1024, 3).half(), victim)
    with pytest.raises(DatasetError) as caught:
        train_gpt(_config(root), Recorder())
    assert str(victim) in str(caught.value)


def test_out_of_memory_names_the_batch_to_try_next(formatted, tmp_path, monkeypatch):
    """The GPU's OOM is mocked (no GPU here): the trainer turns it into B-6's advice."""
    root = _workspace(formatted, tmp_path)

    def fail(self, batches):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(GPTStepper, "step", fail)
    with pytest.raises(OutOfMemory) as caught:
        train_gpt(_config(root), Recorder())
    assert caught.value.next_batch_size == 8 and caught.value.rule == "B-6"
    assert "Batch 17 failed" in caught.value.message and "8" in caught.value.advice


def test_tensorboard_is_optional(tmp_path, monkeypatch):
    assert gpt_trainer._tensorboard(_config(tmp_path)) is None  # turned off
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # not installed
    assert gpt_trainer._tensorboard(_config(tmp_path, tensorboard=True)) is None


_DDP_SCRIPT = """
import hashlib, json, os, sys
import torch
import torch.distributed as dist
torch.set_num_threads(1)
dist.init_process_group("gloo")
from gsv_core.train.config import TrainConfig
from gsv_core.train import gpt
config = TrainConfig.from_json(open(sys.argv[1], encoding="utf-8").read())
events = []
class Reporter:
    def progress(self, done, total=None, message=""): events.append("progress")
    def log(self, message, level="info"): events.append("log")
    def metric(self, name, value, step): events.append("metric")
    def emit(self, kind, **data): events.append(kind)
    def should_stop(self): return False
steppers = []
original = gpt.GPTStepper.__init__
def keep(self, *args, **kwargs):
    original(self, *args, **kwargs)
    steppers.append(self)
gpt.GPTStepper.__init__ = keep
result = gpt.train_gpt(config, Reporter())
digest = hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes()
                                 for t in steppers[0].model.state_dict().values())).hexdigest()
rank = dist.get_rank()
with open(os.path.join(sys.argv[2], f"rank{rank}.json"), "w") as handle:
    json.dump({"events": events, "exported": list(result.exported), "step": result.step,
               "ddp": type(steppers[0].losses).__name__, "weights": digest}, handle)
dist.destroy_process_group()
"""


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA GPU"))])
def test_two_processes_train_one_model_with_ddp_over_gloo(formatted, tmp_path, device):
    """torchrun with 2 processes (gloo; on CUDA both share the first card when there is only
    one): both ranks DDP-wrapped, weights identical after the step, only rank 0 reports and
    exports."""
    root = _workspace(formatted, tmp_path / "ws")
    config_file = tmp_path / "run.json"
    _config(root, epochs=1, max_steps=1, batch_size=8, device=device).write(config_file)
    script = tmp_path / "ddp_run.py"
    script.write_text(_DDP_SCRIPT, encoding="utf-8")
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}  # keep packages found
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
         "2", str(script), str(config_file), str(tmp_path)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["ddp"] for r in ranks] == ["DistributedDataParallel"] * 2
    assert ranks[0]["weights"] == ranks[1]["weights"]  # gradients were averaged
    assert ranks[0]["step"] == ranks[1]["step"] == 1
    assert len(ranks[0]["exported"]) == 1 and ranks[1]["exported"] == []
    assert "exported" in ranks[0]["events"] and "metric" in ranks[0]["events"]
    assert ranks[1]["events"] == []


# --- on a CUDA GPU (skipped here): the full-size model at the guideline batches ------------

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _synthetic_experiment(root: Path, clips: int = 48, seconds: float = 10.0) -> None:
    """10-second clips at 12 phones/s, half of them with BERT files, random tokens."""
    from gsv_core.prepare.layout import SEMANTIC_HEADER
    from gsv_core.text.symbols import symbols

    files = ExperimentFiles.of(Workspace(root), EXPERIMENT)
    files.bert_dir.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(0)
    table = symbols()
    text, semantic = [], [SEMANTIC_HEADER]
    tokens, phones = int(seconds * 25), int(seconds * 12)
    for index in range(clips):
        name = f"clip_{index:03d}.wav"
        ids = torch.randint(1, len(table), (phones,), generator=generator).tolist()
        text.append(f"{name}\t{' '.join(table[i] for i in ids)}\tNone\tx")
        codes = torch.randint(0, 1024, (tokens,), generator=generator).tolist()
        semantic.append(f"{name}\t{' '.join(map(str, codes))}")
        if index % 2 == 0:
            torch.save(torch.randn(1024, phones, generator=generator).half(),
                       files.bert_file(name))
    files.name2text.write_text("\n".join(text) + "\n", encoding="utf-8")
    files.name2semantic.write_text("\n".join(semantic) + "\n", encoding="utf-8")


@needs_cuda
@pytest.mark.parametrize(("precision", "dpo", "batch"), [
    ("bf16", False, 11), ("fp16", False, 11), ("bf16", True, 6), ("fp16", True, 6)])
def test_full_size_gpt_trains_on_cuda(tmp_path, precision, dpo, batch):
    """The full-size v2 GPT (random weights) trains a few steps on 10-second clips at the
    B-2 batches of a 24 GB card (11, DPO 6); prints speed and peak memory."""
    from gsv_core.models.checkpoint import save_gpt_weights
    from gsv_core.models.gpt import GPTConfig, Text2SemanticDecoder

    torch.set_num_threads(max(torch.get_num_threads(), 4))
    _synthetic_experiment(tmp_path)
    pretrained = tmp_path / "random-full.ckpt"
    model_config = GPTConfig()
    save_gpt_weights(pretrained, Text2SemanticDecoder(model_config), model_config, "GPT-e0")
    torch.cuda.reset_peak_memory_stats()
    reporter = Recorder()
    result = train_gpt(_config(tmp_path, device="cuda", precision=precision, dpo=dpo,
                               batch_size=batch, epochs=2, max_steps=6,
                               pretrained_s1=str(pretrained)), reporter)
    assert result.step == 6 and len(result.exported) == 1
    losses = [value for _, value in reporter.metrics("gpt/loss")]
    assert losses and all(torch.isfinite(torch.tensor(losses)))
    beat = reporter.events("train_step")[-1]
    print(f"\nGPT {precision} dpo={dpo} batch {batch}: {beat['samples_per_s']} samples/s "
          f"(reporting window), peak reserved {torch.cuda.max_memory_reserved() / 2**30:.2f} "
          f"GiB, losses {losses}")
    load_gpt(result.exported[0])
