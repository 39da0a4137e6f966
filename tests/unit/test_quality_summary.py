"""A saved quality report feeds the planner: `gsv-studio plan --dataset-report FILE`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gsv_core.dataset.quality_summary import dataset_fields_from_report, read_dataset_report
from gsv_core.errors import ConfigError
from gsv_core.guidelines.tables import SOVITS_EPOCHS_MAX, SOVITS_EPOCHS_UNLOCKED_MAX
from gsv_core.plan import main

GPU = "NVIDIA GeForce RTX 4090:24"


def report(tmp_path: Path, name: str, **summary: object) -> Path:
    base = {"clips": 420, "minutes": 70.0, "p95_slice_s": 9.5, "lufs_spread_db": 3.0,
            "verdict": "good"}
    path = tmp_path / name
    path.write_text(json.dumps({"clips": [], "summary": base | summary, "problems": []}),
                    encoding="utf-8")
    return path


def plan_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["--gpu", GPU, "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_r3_the_report_unlocks_sovits_rounds_only_when_good(tmp_path: Path, capsys) -> None:
    good = plan_json(capsys, "--reviewed", "1",
                     "--dataset-report", str(report(tmp_path, "good.json")))
    poor = plan_json(capsys, "--reviewed", "1",
                     "--dataset-report", str(report(tmp_path, "poor.json", verdict="poor")))
    short = plan_json(capsys, "--reviewed", "1",
                      "--dataset-report", str(report(tmp_path, "short.json", minutes=20.0)))
    assert good["limits"]["sovits_epochs"]["max"] == SOVITS_EPOCHS_UNLOCKED_MAX
    assert poor["limits"]["sovits_epochs"]["max"] == SOVITS_EPOCHS_MAX
    assert short["limits"]["sovits_epochs"]["max"] == SOVITS_EPOCHS_MAX


def test_q4_the_reports_slice_length_lowers_the_batch(tmp_path: Path, capsys) -> None:
    plain = plan_json(capsys, "--dataset-report", str(report(tmp_path, "a.json")))
    long = plan_json(capsys, "--dataset-report",
                     str(report(tmp_path, "b.json", p95_slice_s=30.0)))
    assert long["limits"]["sovits_batch"]["max"] < plain["limits"]["sovits_batch"]["max"]


def test_a_flag_given_too_wins_and_says_so(tmp_path: Path, capsys) -> None:
    path = str(report(tmp_path, "good.json"))
    assert main(["--gpu", GPU, "--json", "--reviewed", "1", "--dataset-report", path,
                 "--quality", "poor"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["limits"]["sovits_epochs"]["max"] == SOVITS_EPOCHS_MAX
    assert "--quality poor overrides the report's good" in captured.err


def test_not_a_report_is_exit_2_naming_the_field(tmp_path: Path, capsys) -> None:
    bad = report(tmp_path, "bad.json", minutes="many")
    assert main(["--gpu", GPU, "--dataset-report", str(bad)]) == 2
    assert "summary.minutes" in capsys.readouterr().err
    (tmp_path / "x.json").write_text("not json", encoding="utf-8")
    assert main(["--gpu", GPU, "--dataset-report", str(tmp_path / "x.json")]) == 2
    assert "not JSON" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="no 'summary'"):
        dataset_fields_from_report([1, 2])
    with pytest.raises(ConfigError, match="Cannot read"):
        read_dataset_report(tmp_path / "absent.json")


def test_an_empty_report_is_not_measured_and_poor() -> None:
    fields = dataset_fields_from_report({"summary": {"clips": 0, "minutes": 0.0,
                                                     "p95_slice_s": 0.0, "verdict": "poor"}})
    assert fields == {"minutes": None, "p95_slice_s": None, "clip_count": None,
                      "quality": "poor"}


def test_the_planner_reads_a_report_without_audio_libraries() -> None:
    """plan and the report reader import no numpy; the report modules load no torch."""
    code = ("import sys, gsv_core.plan, gsv_core.dataset.quality_summary\n"
            "assert 'numpy' not in sys.modules, 'numpy'\n"
            "import gsv_core.dataset.quality, gsv_core.dataset.quality_cli\n"
            "bad = {'torch', 'pyloudnorm', 'matplotlib', 'soundfile'} & set(sys.modules)\n"
            "assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
