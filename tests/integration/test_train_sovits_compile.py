"""SoVITS training asked to compile (gsv_core.train.compiled, SovitsStep.compile).

On the CPU: a run asked to compile says why it cannot and trains; a compile that fails at a
step (a real torch.compile whose backend raises, as a missing C compiler makes Triton do)
falls back to the uncompiled step, which then trains. On CUDA (skipped without a GPU): a
compiled run trains with CUDA graphs, and its first step's losses match an uncompiled step
on the same batch, weights and seed, and a checkpoint written by a CPU run resumes there
(the fused CUDA AdamW needs its step counters on the GPU).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.train.sovits import (
    SovitsStep,
    TrainPrecision,
    build_optimizers,
    choose_precision,
    load_discriminator,
    load_generator,
    train_sovits,
)
from gsv_core.train.sovits_data import SovitsDataset, collate, read_clips
from tests.integration.test_train_sovits import Recorder
from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("sovits-compile")
    write_tiny_pretrained_sovits(root / "pretrained")
    write_formatted_experiment(root, "voice", clips=2)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _config(workspace: Path, **changes) -> TrainConfig:
    base = TrainConfig(kind="sovits", workspace=str(workspace), experiment="voice", epochs=1,
                       batch_size=2, save_every=1, device="cpu", compile=True,
                       pretrained_s2g=str(workspace / "pretrained" / "s2G2333k.pth"),
                       pretrained_s2d=str(workspace / "pretrained" / "s2D2333k.pth"),
                       extra={"min_items": 1}, max_steps=1, tensorboard=False)
    return replace(base, **changes)


def _step_and_batch(workspace: Path, device: torch.device, precision: TrainPrecision
                    ) -> tuple[SovitsStep, object]:
    files = ExperimentFiles(workspace / "logs" / "voice")
    clips, _ = read_clips(files, min_items=1)
    batch = collate([SovitsDataset(files, clips, [0, 1])[i] for i in range(2)]).to(device)
    torch.manual_seed(0)
    generator = load_generator(workspace / "pretrained" / "s2G2333k.pth").to(device)
    discriminator = load_discriminator(workspace / "pretrained" / "s2D2333k.pth").to(device)
    optim_g, optim_d, _ = build_optimizers(generator, discriminator, 0.4,
                                           fused=device.type == "cuda")
    return SovitsStep(generator, discriminator, optim_g, optim_d, precision, device), batch


def _warnings(reporter: Recorder) -> list[str]:
    return [message for level, message in reporter.of("log") if level == "warning"]


def test_a_cpu_run_asked_to_compile_says_why_not_and_trains(workspace):
    reporter = Recorder()
    result = train_sovits(_config(workspace), reporter)
    assert result.step == 1
    assert any(m.startswith("Not compiled: compiling needs an NVIDIA GPU (CUDA)")
               for m in _warnings(reporter)), reporter.events
    assert not any("Compiling the decoder" in m for _, m in reporter.of("log"))

# Warnings from torch's own code while it compiles (torch 2.13): made errors by our pytest
# settings, dynamo would report them as a failed compile. A real run only prints them.
TORCH_JIT_WARNING = "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
DYNAMO_GRAD_WARNING = "ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning"


@pytest.mark.filterwarnings(TORCH_JIT_WARNING)
@pytest.mark.filterwarnings(DYNAMO_GRAD_WARNING)
def test_a_compile_that_fails_falls_back_to_the_uncompiled_step(workspace):
    step, batch = _step_and_batch(workspace, torch.device("cpu"), TrainPrecision("fp32", None))
    calls = []

    def broken_backend(graph, example_inputs):
        calls.append(len(example_inputs))
        raise RuntimeError("Failed to find C compiler")

    warnings: list[str] = []
    decoder = step.generator.dec
    decoder.compile(backend=broken_backend)  # as compile_fixed_shape_parts, with this backend
    step.compiled, step._warn = True, warnings.append
    before = decoder.ups[0].weight_v.detach().clone()
    losses = step(batch)
    assert calls, f"the compiled decoder was never called: {warnings}"
    assert torch.isfinite(losses).all()
    assert not step.compiled and decoder._compiled_call_impl is None
    assert len(warnings) == 1 and "Compiling failed" in warnings[0]
    assert "RuntimeError: Failed to find C compiler" in warnings[0]  # the backend's own words
    assert not torch.equal(before, decoder.ups[0].weight_v)  # the retried step trained
    step(batch)  # and later steps run uncompiled, without a second warning
    assert len(warnings) == 1 and len(calls) == 1
    torch._dynamo.reset()


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.filterwarnings("default")  # inductor and Triton warn in their own words on CUDA
@CUDA
def test_cuda_compiled_steps_match_uncompiled_ones(workspace):
    device = torch.device("cuda")
    precision = choose_precision("auto", device)
    eager, batch = _step_and_batch(workspace, device, precision)
    compiled, _ = _step_and_batch(workspace, device, precision)
    warnings: list[str] = []
    compiled.compile(warnings.append)
    torch.manual_seed(1)
    expected = eager(batch)
    torch.manual_seed(1)
    got = compiled(batch)
    assert compiled.compiled and not warnings, warnings
    torch.testing.assert_close(got, expected, rtol=0.05, atol=0.05)
    for seed in range(2, 5):  # replays: the graphs' outputs are read before the next step
        torch.manual_seed(seed)
        assert torch.isfinite(compiled(batch)).all()


@pytest.mark.filterwarnings("default")
@CUDA
def test_cuda_a_compiled_run_trains_and_exports(workspace):
    write_formatted_experiment(workspace, "fresh on cuda", clips=2)
    reporter = Recorder()
    result = train_sovits(_config(workspace, experiment="fresh on cuda", device="cuda",
                                  max_steps=3, epochs=3), reporter)
    assert result.step == 3, reporter.events
    assert not reporter.of("resumed")
    assert any("Compiling the decoder" in m for _, m in reporter.of("log"))
    assert not _warnings(reporter), _warnings(reporter)
    assert all(torch.isfinite(torch.tensor(list(result.final_losses.values()))))


@pytest.mark.filterwarnings("default")
@CUDA
def test_cuda_a_checkpoint_made_on_the_cpu_resumes_compiled_on_cuda(workspace):
    # The CPU's plain AdamW keeps its step counters on the CPU; the fused CUDA AdamW needs
    # them on the GPU (this failed at the first resumed step before load_optimizer_state).
    write_formatted_experiment(workspace, "moved to cuda", clips=2)
    train_sovits(_config(workspace, experiment="moved to cuda", compile=False), Recorder())
    reporter = Recorder()
    result = train_sovits(_config(workspace, experiment="moved to cuda", device="cuda",
                                  max_steps=3, epochs=3), reporter)
    assert reporter.of("resumed"), reporter.events
    assert result.step == 3, reporter.events
    assert not _warnings(reporter), _warnings(reporter)
    assert all(torch.isfinite(torch.tensor(list(result.final_losses.values()))))
