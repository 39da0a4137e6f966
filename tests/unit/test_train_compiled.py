"""Compiling SoVITS (gsv_core.train.compiled): when a run can, what the config carries, and
what the Training tab's plan says.

Whether Triton and a C compiler are present is this machine's own fact, so the tests that
need one answer set it with monkeypatch; the rest is the real code.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from gsv_core.errors import ConfigError
from gsv_core.i18n import Translator
from gsv_core.train import compiled
from gsv_core.train.compiled import compile_blocker
from gsv_core.train.config import TrainConfig
from gsv_core.train.run_form import build_run, plan_text
from gsv_core.workspace import Workspace
from tests.unit.test_train_run_form import cpu_limits, gpu_limits, write_experiment

t = Translator("en_US")


@pytest.fixture
def toolchain(monkeypatch):
    """Triton and a C compiler present (whatever this machine has)."""
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(compiled.importlib.util, "find_spec",
                        lambda name, *a: object() if name == "triton" else real_find_spec(name, *a))
    monkeypatch.setattr(compiled.shutil, "which", lambda name: f"/usr/bin/{name}")


def test_only_a_single_process_cuda_run_with_triton_and_a_compiler_can_compile(
        toolchain, monkeypatch):
    assert compile_blocker("cuda") is None
    assert "NVIDIA GPU" in compile_blocker("cpu")
    assert "NVIDIA GPU" in compile_blocker("mps")
    assert "DDP" in compile_blocker("cuda", processes=2)
    monkeypatch.setattr(compiled.shutil, "which", lambda name: None)
    assert "C compiler" in compile_blocker("cuda")


def test_without_triton_the_reason_names_it_and_windows_says_it_is_not_shipped(monkeypatch):
    monkeypatch.setattr(compiled.importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(compiled.sys, "platform", "linux")
    assert compile_blocker("cuda") == "compiling needs Triton, which is not installed"
    monkeypatch.setattr(compiled.sys, "platform", "win32")
    assert "Windows" in compile_blocker("cuda")


def test_every_reason_is_a_translated_ui_text(monkeypatch):
    zh = Translator("zh_CN")
    monkeypatch.setattr(compiled.importlib.util, "find_spec", lambda name, *a: None)
    reasons = {compile_blocker("cpu"), compile_blocker("cuda", processes=2),
               compile_blocker("cuda")}
    monkeypatch.setattr(compiled.sys, "platform", "win32")
    reasons.add(compile_blocker("cuda"))
    assert len(reasons) == 4
    assert all(zh(reason) != reason for reason in reasons)


def test_the_config_carries_compile_through_json_and_refuses_a_non_boolean(tmp_path):
    config = TrainConfig(kind="sovits", workspace=str(tmp_path), experiment="v", epochs=1,
                         batch_size=1, save_every=1, compile=True)
    assert TrainConfig.from_json(config.to_json()).compile is True
    data = json.loads(config.to_json())
    data["compile"] = "yes"
    with pytest.raises(ConfigError, match="compile must be true or false"):
        TrainConfig.from_json(json.dumps(data))
    assert TrainConfig.from_json(json.dumps({**data, "compile": False})).compile is False


def test_the_plan_says_why_a_cpu_run_is_not_compiled_and_gpt_never_is(tmp_path):
    write_experiment(tmp_path)
    form = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "both",
                     safety_acknowledged=True, first_run=False, compile_sovits=True)
    assert [(c.kind, c.compile) for c in form.configs] == [("sovits", True), ("gpt", False)]
    text = plan_text(form, t)
    assert "Not compiled: compiling needs an NVIDIA GPU (CUDA); it trains uncompiled" in text
    sovits_block, gpt_block = text.split("**GPT**")
    assert sovits_block.count("Not compiled") == 1 and "compil" not in gpt_block
    unticked = build_run(Workspace(tmp_path), "小明 voice", cpu_limits(), "both",
                         safety_acknowledged=True, first_run=False)
    assert not any(c.compile for c in unticked.configs)
    assert "compil" not in plan_text(unticked, t)


def test_the_plan_says_compiled_on_a_card_that_can(tmp_path, toolchain):
    write_experiment(tmp_path)
    form = build_run(Workspace(tmp_path), "小明 voice", gpu_limits(), "sovits",
                     safety_acknowledged=True, first_run=False, compile_sovits=True)
    assert form.configs[0].device == "cuda" and form.configs[0].compile
    assert "Compiled: a few minutes of compiling during the first steps" in plan_text(form, t)
