"""``gsv-studio quality LIST``: exit codes, the JSON shape, and the report feeding the plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile

from gsv_core.dataset.quality_cli import main
from tests.unit.test_quality import RATE, speech_like


def clips(folder: Path, count: int = 3, seconds: float = 6) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in range(count):
        path = folder / f"片段 {seed}.wav"
        soundfile.write(path, speech_like(seconds, seed), RATE, subtype="PCM_16")
        paths.append(path)
    return paths


def write_list(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_report_of_a_clean_list_exits_0(tmp_path: Path, capsys) -> None:
    paths = clips(tmp_path / "wavs")
    listed = write_list(tmp_path / "a.list", [f"{p.name}|spk|ZH|你好。" for p in paths])
    assert main([str(listed), "--audio-dir", str(tmp_path / "wavs"), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["summary"]["verdict"] == "good" and data["summary"]["clips"] == 3
    assert [Path(c["path"]).name for c in data["clips"]] == [p.name for p in paths]
    assert "[3/3]" in captured.err


def test_a_missing_clip_exits_1_and_is_listed(tmp_path: Path, capsys) -> None:
    paths = clips(tmp_path)
    listed = write_list(tmp_path / "a.list", [f"{p.name}|spk|ZH|一。" for p in paths]
                        + ["gone.wav|spk|ZH|二。"])
    assert main([str(listed)]) == 1
    captured = capsys.readouterr()
    assert "Verdict: poor" in captured.out and "missing_audio:" in captured.out
    assert "Line 4: audio file" in captured.out and "gone.wav" in captured.out
    assert captured.out.count("gone.wav") == 1 and "could not be measured" in captured.err


def test_a_folder_without_labels_is_measured(tmp_path: Path, capsys) -> None:
    clips(tmp_path / "sliced", count=2)
    assert main([str(tmp_path / "sliced")]) == 0
    assert "2 clips measured" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["absent.list"], "does not exist"),
    (["{list}", "--audio-dir", "no/such/dir"], "is not a folder"),
    (["{list}", "--workers", "0"], "--workers 0"),
    (["{gbk}"], "not UTF-8"),
])
def test_bad_arguments_exit_2_without_traceback(tmp_path: Path, capsys, args: list[str],
                                                message: str) -> None:
    listed = write_list(tmp_path / "a.list", ["a.wav|s|ZH|x"])
    gbk = tmp_path / "gbk.list"
    gbk.write_bytes("a.wav|s|ZH|你好".encode("gbk"))
    argv = [a.format(list=listed, gbk=gbk) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_console_script_report_changes_the_plan(tmp_path: Path) -> None:
    """quality --json > FILE, then plan --dataset-report FILE reads its summary: 2 clips
    cap the batch (B-8) and 8 s of audio is measured (Q-3), not "not measured yet"."""
    paths = clips(tmp_path / "wavs", count=2, seconds=4)
    listed = write_list(tmp_path / "a.list", [f"{p.name}|spk|EN|Hi." for p in paths])
    run = [sys.executable, "-m", "gsv_core.cli"]
    quality = subprocess.run([*run, "quality", str(listed), "--json", "--audio-dir",
                              str(tmp_path / "wavs")], capture_output=True, text=True,
                             check=True)
    report_path = tmp_path / "report.json"
    report_path.write_text(quality.stdout, encoding="utf-8")
    plan = subprocess.run([*run, "plan", "--gpu", "NVIDIA GeForce RTX 4090:24", "--json",
                           "--dataset-report", str(report_path)], capture_output=True,
                          text=True, check=True)
    data = json.loads(plan.stdout)
    assert data["limits"]["sovits_batch"]["max"] == 2
    notes = " ".join(data["plan"]["notes"])
    assert "0 min of audio" in notes and "not measured" not in notes
