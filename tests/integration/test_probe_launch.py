"""The batch probe as the Training tab runs it (gsv_core.train.probe_launch, tabs/train.py).

``GSV_FAKE_GPU`` stands for a card this machine does not have: the probe job then really
starts, holds that card's lock, and fails in its child for want of CUDA — which is what is
checked (the failure named, the lock given back). The measuring itself runs here on the CPU
through the same job target with CPU configs; the saved probes the tab reads are written in
the probe's own format.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gsv_core.errors import ConfigError
from gsv_core.guidelines import training_limits
from gsv_core.hardware import detect_machine
from gsv_core.job_watch import JobWatcher
from gsv_core.jobs import jobs_folder, start_job
from gsv_core.prepare import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.train.launch import gpu_lock_owner
from gsv_core.train.probe_launch import (
    PROBE_TARGET,
    find_probe,
    probe_job_text,
    probe_lines,
    saved_measurements,
    start_probe,
)
from gsv_core.train.probe_results import ProbeResult, data_fingerprint, load_probe, probe_path
from gsv_core.workspace import Workspace
from tests.infer_fixtures import tiny_fixture
from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits

EXPERIMENT = "probe voice"
CARD = "NVIDIA GeForce RTX 4090:24"


def t(text: str, **params: object) -> str:
    return text.format(**params)


GPT_NAME = "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"   # where the registry looks


def write_probe_workspace(root: Path) -> Workspace:
    """A formatted experiment and the tiny pretrained models under the official names."""
    space = Workspace(root)
    write_formatted_experiment(root, EXPERIMENT, clips=3)
    write_tiny_pretrained_sovits(space.pretrained_v2_dir)
    shutil.copyfile(tiny_fixture("gpt_v2.ckpt"), space.pretrained_v2_dir / GPT_NAME)
    return space


@pytest.fixture
def space(tmp_path: Path) -> Workspace:
    return write_probe_workspace(tmp_path)


def save_probe(space: Workspace, kind: str, fit: int | None, fail: int | None,
               dpo: bool = False) -> None:
    files = ExperimentFiles.of(space, EXPERIMENT)
    result = ProbeResult(kind=kind, dpo=dpo, card="NVIDIA GeForce RTX 4090",  # type: ignore[arg-type]
                         memory_gb=24, data=data_fingerprint(files, kind),  # type: ignore[arg-type]
                         largest_fit=fit, first_failure=fail, limited_by="memory",
                         tried=(), seconds=1.0, measured_at="2026-12-03T06:00:00+00:00")
    probe_path(files, kind, dpo).write_text(result.to_json(), encoding="utf-8")  # type: ignore[arg-type]


def test_a_missing_pretrained_model_is_said_before_any_job(space, fake_gpu):
    from gsv_core.errors import ModelMissing

    fake_gpu(CARD)
    profile = detect_machine()
    (space.pretrained_v2_dir / GPT_NAME).unlink()
    with pytest.raises(ModelMissing, match="GPT"):
        start_probe(space, EXPERIMENT, profile, training_limits(profile))
    assert find_probe(space, EXPERIMENT) is None


def test_the_probe_is_refused_on_the_cpu(space):
    cpu = detect_machine({"GSV_FAKE_GPU": "cpu"})
    with pytest.raises(ConfigError, match="measures GPU memory"):
        start_probe(space, EXPERIMENT, cpu, training_limits(cpu))
    assert probe_lines(space, EXPERIMENT, cpu, training_limits(cpu), training_limits(cpu), t) \
        == ["The batch probe measures GPU memory; training here runs on the CPU."]


def test_a_probe_job_holds_the_card_and_gives_it_back_when_it_fails(space, fake_gpu):
    fake_gpu(CARD)
    profile = detect_machine()
    handle = start_probe(space, EXPERIMENT, profile, training_limits(profile),
                         time_limit_s=60)
    owner = gpu_lock_owner(space, 0)
    assert owner is None or owner["kinds"] == ["batch probe"]   # it may have failed already
    final = JobWatcher(handle).follow(lambda snapshot: None)
    assert final.status.state == "failed"          # no CUDA on this machine
    assert probe_job_text(final, t).startswith("❌ The batch probe failed:")
    assert "CUDA" in final.status.cause or "NVIDIA" in final.status.cause, final.status.cause
    assert gpu_lock_owner(space, 0) is None
    assert find_probe(space, EXPERIMENT).id == handle.id
    assert handle.args["starts"] == [14, 11]        # the 24 GB row of B-1 and B-2


def test_the_probes_job_measures_sovits_then_gpt(space):
    configs = [json.loads(TrainConfig(kind=kind, workspace=str(space.root),
                                      experiment=EXPERIMENT, epochs=1, batch_size=1,
                                      save_every=1, device="cpu",
                                      pretrained_s1=str(tiny_fixture("gpt_v2.ckpt"))).to_json())
               for kind in ("sovits", "gpt")]
    handle = start_job(PROBE_TARGET, {"configs": configs, "starts": [3, 3],
                                      "card_name": "CPU", "card_gb": None},
                       folder=jobs_folder(space, EXPERIMENT))
    status = handle.wait(timeout_s=600)
    assert status.state == "succeeded", status
    probes = status.result["probes"]
    assert [(p["kind"], p["largest_fit"], p["limited_by"]) for p in probes] == [
        ("sovits", 3, "clips"), ("gpt", 3, "clips")]
    files = ExperimentFiles.of(space, EXPERIMENT)
    assert load_probe(files, "gpt", False, "CPU", None) is not None


def test_saved_probes_clamp_and_are_said(space, fake_gpu):
    fake_gpu(CARD)
    profile = detect_machine()
    save_probe(space, "sovits", 9, 10)
    save_probe(space, "gpt", 20, None)
    rules = training_limits(profile)
    gpu = profile.gpus[0]
    measured = saved_measurements(space, EXPERIMENT, gpu, use=False)
    limits = training_limits(profile, **measured)
    assert (limits.sovits_batch.max, limits.gpt_batch.max) == (9, 11)
    chosen = training_limits(profile, **saved_measurements(space, EXPERIMENT, gpu, use=True))
    assert chosen.gpt_batch.max == 20
    lines = probe_lines(space, EXPERIMENT, profile, limits, rules, t)
    assert lines == ["SoVITS: batch 9 fits, 10 ran out of memory (the tables say 14).",
                     "GPT: batch 20 fits; larger sizes were not tried (the tables say 11)."]
    assert saved_measurements(space, "other voice", gpu, use=False)["sovits_measured"] is None
    assert probe_lines(space, "other voice", profile, rules, rules, t) == [
        "Not measured on NVIDIA GeForce RTX 4090 for this data yet."]


def test_the_tab_refresh_follows_a_saved_probe_and_its_button_reports(space, fake_gpu):
    import gradio as gr

    from gsv_core.i18n import Translator
    from tabs import train
    from tabs.common import AUTO_GPU, AppContext

    fake_gpu(CARD)
    with gr.Blocks() as app:
        pass
    ctx = AppContext(t=Translator("en_US"), profile=detect_machine(), workspace=space, app=app)
    save_probe(space, "sovits", 9, 10)
    values = (AUTO_GPU, False, False, None, 10, 3, 0.4, None, 10, 3, EXPERIMENT, False,
              None, None, None, "unknown", 0)
    outputs = train.refresh(ctx, *values)
    assert outputs[0]["maximum"] == 9 and "[B-6]" in outputs[0]["info"]
    assert "SoVITS: batch 9 fits, 10 ran out of memory" in outputs[-1]
    text = train.measure(ctx, values, lambda *args, **kwargs: None)
    assert text.startswith("❌ The batch probe failed:")   # the job ran; no CUDA here
    assert train.stop_measuring(ctx, EXPERIMENT).startswith("ℹ️ No batch probe is running")
