"""`gsv-studio plan`: the promised JSON shape, rule-id reasons, --dpo, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gsv_core.plan import main

LIMIT_NAMES = {"sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "lr_weight",
               "save_every", "sovits_save_every", "gpt_save_every"}
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
        assert {"min", "max", "default", "value", "binding", "reasons"} <= set(limit)
        assert limit["binding"] == limit["reasons"][0]
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
    off = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24", "--no-dpo")
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


# ---------------------------------------------------------------------------------- issue 7

EXAMPLE = ["--gpu", "NVIDIA GeForce RTX 4090:24", "--minutes", "180", "--quality", "good",
           "--reviewed", "1", "--goal", "best"]


def test_item10_plan_without_dpo_flag_is_the_recommendation(capsys) -> None:
    """The issue's example: 24 GB, 180 min, good, all reviewed, best → DPO on, batch <= 6."""
    data = run_json(capsys, *EXAMPLE)
    plan = data["plan"]
    assert plan["dpo"] is True and plan["gpt_batch"] <= 6
    assert data["limits"]["gpt_batch"]["max"] == 6
    assert plan["sovits_epochs"] <= 20 and plan["gpt_epochs"] <= 20
    assert plan["emotion_classification"] is True and plan["blockers"] == []
    assert run_json(capsys, *EXAMPLE, "--goal", "fast")["plan"]["dpo"] is False


def test_item10_dpo_flags_override_the_recommendation(capsys) -> None:
    off = run_json(capsys, *EXAMPLE, "--no-dpo")
    assert off["plan"]["dpo"] is False and off["limits"]["gpt_batch"]["max"] == 11
    unclean = ["--gpu", "NVIDIA GeForce RTX 4090:24", "--quality", "poor"]
    assert run_json(capsys, *unclean)["plan"]["dpo"] is False
    forced = run_json(capsys, *unclean, "--dpo")
    assert forced["plan"]["dpo"] is True and forced["plan"]["blockers"][0].startswith("D-3")
    confirmed = run_json(capsys, *unclean, "--dpo", "--confirm-dpo")
    assert confirmed["plan"]["blockers"] == [] and confirmed["plan"]["dpo_confirmed"] is True


CASES = [
    ({"gpu": "NVIDIA GeForce RTX 4090:24", "minutes": 180, "quality": "good", "reviewed": 100},
     {}),
    ({"gpu": "NVIDIA GeForce RTX 3060:12", "minutes": 20, "p95": 14, "clips": 9,
      "quality": "poor", "reviewed": 50}, {"goal": "fast"}),
    ({"gpu": "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12", "minutes": 90,
      "quality": "good", "reviewed": 100}, {"dpo": True}),
    ({"gpu": "cpu", "minutes": 5}, {"dpo": False}),
]


@pytest.mark.parametrize(("fields", "options"), CASES)
def test_item10_cli_and_plan_from_fields_give_identical_plans(capsys, fields: dict,
                                                              options: dict) -> None:
    """The UI button calls plan_from_fields with the dataset tab's fields; the CLI too."""
    from gsv_core.guidelines import plan_from_fields
    from gsv_core.hardware import FAKE_GPU_ENV, detect_machine
    from gsv_core.plan import plan_to_dict

    args = ["--gpu", fields["gpu"]]
    for flag, key in (("--minutes", "minutes"), ("--p95-slice", "p95"), ("--clips", "clips"),
                      ("--quality", "quality")):
        if key in fields:
            args += [flag, str(fields[key])]
    if "reviewed" in fields:
        args += ["--reviewed", f"{fields['reviewed']}%"]
    if "goal" in options:
        args += ["--goal", options["goal"]]
    if "dpo" in options:
        args.append("--dpo" if options["dpo"] else "--no-dpo")
    from_cli = run_json(capsys, *args)
    profile = detect_machine({FAKE_GPU_ENV: fields["gpu"]})
    plan = plan_from_fields(profile, minutes=fields.get("minutes"),
                            p95_slice_s=fields.get("p95"), clip_count=fields.get("clips"),
                            quality=fields.get("quality"), reviewed_pct=fields.get("reviewed"),
                            goal=options.get("goal", "best"), dpo=options.get("dpo"))
    assert from_cli == json.loads(json.dumps(plan_to_dict(plan, profile)))


def test_item11_readable_plan_says_which_card_trains_what_in_parallel(capsys) -> None:
    assert main(["--gpu", "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"]) == 0
    out = capsys.readouterr().out
    assert "in parallel: SoVITS on GPU 0, GPT on GPU 1" in out and "->" not in out
    data = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12",
                    "--no-dpo")
    assert (data["plan"]["sovits_device"], data["plan"]["gpt_device"]) == ("cuda:0", "cuda:1")
    assert data["limits"]["gpt_batch"]["max"] == 4  # the 12 GB card's GPT row


@pytest.mark.parametrize(("args", "needle"), [
    (["--gpu", ""], "--gpu is given but empty"), (["--gpu", "   "], "--gpu is given but empty"),
    (["--gpu", "RTX 4090"], "NAME:GB"), (["--gpu", "RTX 4090:9999"], "between 0.001 and"),
    (["--minutes", "inf"], "finite"), (["--minutes", "nan"], "finite"),
    (["--minutes", "abc"], "not a number"), (["--minutes", "1e9"], "--minutes"),
    (["--minutes", "0"], "--minutes"), (["--clips", "2.5"], "--clips"),
    (["--p95-slice", "-1"], "--p95-slice"), (["--gpu-index", "x"], "GPU index"),
    (["--gpu", "cpu", "--gpu-index", "1"], "Leave --gpu-index out"),
    (["--reviewed", "150%"], "percentage"), (["--dpo", "--no-dpo"], "not allowed"),
])
def test_item14_bad_arguments_get_a_human_message(args: list[str], needle: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main(args))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert "invalid _" not in err and "Traceback" not in err
    assert "tab" not in err.lower()  # errors speak CLI, not UI


@pytest.mark.parametrize(("given", "fraction"), [("0.5", 0.5), ("50%", 0.5), ("100%", 1.0),
                                                 ("1", 1.0), ("0", 0.0), ("12.5%", 0.125)])
def test_item14_reviewed_accepts_a_fraction_or_a_percentage(capsys, given: str,
                                                            fraction: float) -> None:
    data = run_json(capsys, "--gpu", "NVIDIA GeForce RTX 4090:24", "--quality", "good",
                    "--reviewed", given, "--dpo")
    d3 = [r for r in data["dpo"]["reasons"] if r.startswith("D-3: Only")]
    if fraction < 1:
        assert d3 and f"{100 * fraction:.0f}%" in d3[0]
    else:
        assert not d3


def test_item14_sovits_save_every_key_next_to_the_kept_save_every(capsys) -> None:
    limits = run_json(capsys, "--gpu", "cpu")["limits"]
    assert limits["sovits_save_every"] == limits["save_every"]
    assert "gpt_save_every" in limits


def test_item14_no_broken_pipe_traceback_when_the_reader_goes_away() -> None:
    """`gsv-studio plan | head -1`: the reader is gone before the plan is printed."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # a reader that already left: every write fails with EPIPE
    try:
        done = subprocess.run([sys.executable, "-m", "gsv_core.plan", "--gpu", "cpu"],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert done.returncode == 0
