"""`gsv-studio plan`: the promised JSON shape, rule-id reasons, --dpo, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gsv_core.plan import main

LIMIT_NAMES = {"sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "lr_weight",
               "save_every"}
RULE_PREFIX = r"^[A-Z]-\d+: "


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_has_exactly_the_promised_shape(capsys) -> None:
    data = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24", "--minutes", "45",
                    "--p95-slice", "9", "--quality", "good", "--reviewed", "1")
    assert {"gpu", "limits", "dpo", "plan"} <= set(data)
    gpu = data["gpu"]
    assert (gpu["name"], gpu["vram_gb"], gpu["row_gb"], gpu["usable"]) == (
        "NVIDIA GeForce RTX 4090", 24, 24, True)
    assert set(data["limits"]) >= LIMIT_NAMES
    for limit in data["limits"].values():
        assert {"min", "max", "default", "reasons"} <= set(limit)
        assert all(isinstance(limit[k], int | float) for k in ("min", "max", "default"))
    plan = data["plan"]
    expected_types = {"sovits_batch": int, "gpt_batch": int, "sovits_epochs": int,
                      "gpt_epochs": int, "dpo": bool, "emotion_classification": bool,
                      "order": list, "device": str, "warnings": list}
    for key, kind in expected_types.items():
        assert isinstance(plan[key], kind), key
    assert plan["order"] == ["sovits", "gpt"] and plan["device"] == "cuda:0"
    assert {"available", "recommended", "reasons"} <= set(data["dpo"])


def test_every_reason_starts_with_its_rule_id(capsys) -> None:
    import re

    data = run_json(capsys, "--gpu", "NVIDIA GeForce GTX 1050:2", "--dpo", "--p95-slice", "30")
    reasons = [*data["gpu"]["reasons"], *data["dpo"]["reasons"], *data["plan"]["warnings"]]
    reasons += [r for limit in data["limits"].values() for r in limit["reasons"]]
    assert reasons and all(re.match(RULE_PREFIX, r) for r in reasons)
    assert data["gpu"]["usable"] is False and data["gpu"]["row_gb"] is None
    assert data["plan"]["device"] == "cpu"


def test_dpo_flag_switches_the_gpt_batch_limit_to_the_dpo_row(capsys) -> None:
    off = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24")
    on = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24", "--dpo")
    assert (off["limits"]["gpt_batch"]["max"], on["limits"]["gpt_batch"]["max"]) == (11, 6)
    assert on["plan"]["dpo"] is True and off["plan"]["dpo"] is False
    assert on["plan"]["gpt_batch"] <= 6


def test_cpu_mps_and_two_gpu_plans(capsys) -> None:
    assert run_json(capsys, "--gpu", "cpu")["plan"]["device"] == "cpu"
    apple = run_json(capsys, "--gpu", "mps", "--minutes", "0.5")
    assert apple["plan"]["device"] == "cpu" and apple["plan"]["inference_device"] == "mps"
    two = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3090:24")
    assert two["plan"]["parallel"] is True


def test_readable_output_lists_the_plan_and_reasons(capsys) -> None:
    assert main(["--gpu", "NVIDIA GeForce RTX 3060:12", "--minutes", "90"]) == 0
    out = capsys.readouterr().out
    assert "Plan: SoVITS batch 5" in out and "B-1:" in out and "E-1:" in out


@pytest.mark.parametrize("args", [["--reviewed", "1.5"], ["--quality", "great"],
                                  ["--minutes", "-3"], ["--p95-slice", "0"], ["--goal", "slow"],
                                  ["--gpu", "RTX:abc"], ["--gpu", "RTX 4090:24", "--gpu-index",
                                                         "3"], ["--bogus"]])
def test_bad_arguments_exit_2_with_a_message(args: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        code = main(args)
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err and err.strip()


def test_module_and_console_script_entry_points() -> None:
    """`python -m gsv_core.plan` and `gsv-studio plan` are the same command."""
    module = subprocess.run([sys.executable, "-m", "gsv_core.plan", "--gpu", "cpu", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert module.returncode == 0, module.stderr
    from gsv_core.cli import main as cli_main

    assert cli_main(["plan", "--gpu", "cpu", "--json"]) == 0
    bad = subprocess.run([sys.executable, "-m", "gsv_core.cli", "plan", "--reviewed", "7"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--reviewed" in bad.stderr
