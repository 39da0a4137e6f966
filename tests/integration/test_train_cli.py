"""``gsv-studio train`` and ``python -m gsv_core.train``: guideline limits, exit codes, events,
and the real GPT and SoVITS trainers end to end on the tiny fixtures (formatted experiment from
``tests/train_fixtures.py``, pretrained = the tiny ``gpt_v2.ckpt``).

The limit tests run the command in this process (``gsv_core.cli.main``) with ``GSV_FAKE_GPU``
standing for a card this machine does not have; they end before any training. The
end-to-end test runs the console entry in a child process, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gsv_core.cli import main
from gsv_core.job_events import read_events
from gsv_core.train.config import TrainConfig
from tests.fixture_paths import tiny_fixture
from tests.integration.test_train_job import HERE, formatted
from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits

REPO_ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 600


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["train", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    formatted(tmp_path / "ws", "voice")
    return tmp_path / "ws"


def test_a_batch_beyond_the_card_s_limit_exits_2_with_the_rule(
        experiment: Path, fake_gpu, capsys) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    code, out, err = run_cli(capsys, "sovits", "--exp", "voice", "--workspace", str(experiment),
                             "--batch", "99")
    assert code == 2 and out == ""
    assert "--batch 99 is beyond the limit (1 to 14)" in err
    assert "B-1: SoVITS batch at most 14 on a 24 GB card" in err
    assert not (experiment / "logs" / "voice" / "train-sovits.json").exists()


def test_rounds_beyond_r3_and_dpo_on_the_cpu_are_refused(experiment: Path, capsys) -> None:
    code, _, err = run_cli(capsys, "sovits", "--exp", "voice", "--workspace", str(experiment),
                           "--epochs", "40", "--device", "cpu")
    assert code == 2 and "--epochs 40" in err and "R-3:" in err
    code, _, err = run_cli(capsys, "gpt", "--exp", "voice", "--workspace", str(experiment),
                           "--dpo", "--device", "cpu")
    assert code == 2 and "--dpo: DPO cannot train here" in err and "D-2:" in err


def test_defaults_are_the_plan_s_and_the_config_can_be_written_for_torchrun(
        experiment: Path, fake_gpu, capsys) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    code, out, _ = run_cli(capsys, "gpt", "--exp", "voice", "--workspace", str(experiment),
                           "--write-config", "--no-dpo")
    assert code == 0
    written = TrainConfig.read(out.strip())
    assert out.strip().endswith("train-gpt.json")
    # plan: B-5's half-memory default under the 24 GB row's 11; R-1's 10 rounds; save every 3
    assert (written.batch_size, written.epochs, written.save_every) == (11, 10, 3)
    assert written.device == "cuda" and written.gpus == (0,) and not written.dpo


def test_compile_goes_into_a_sovits_config_and_never_into_a_gpt_one(
        experiment: Path, fake_gpu, capsys) -> None:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    for kind, expected in (("sovits", True), ("gpt", False)):
        code, out, _ = run_cli(capsys, kind, "--exp", "voice", "--workspace", str(experiment),
                               "--write-config", "--no-dpo", "--compile")
        assert code == 0
        assert TrainConfig.read(out.strip()).compile is expected
    code, out, _ = run_cli(capsys, "sovits", "--exp", "voice", "--workspace", str(experiment),
                           "--write-config")
    assert code == 0 and TrainConfig.read(out.strip()).compile is False


def test_the_saved_precision_is_used_unless_precision_is_given(
        experiment: Path, fake_gpu, capsys) -> None:
    from gsv_core.settings import LaunchSettings, save_settings

    fake_gpu("NVIDIA GeForce RTX 4090:24")
    save_settings(experiment, LaunchSettings(train_precision="fp16"))
    common = ("sovits", "--exp", "voice", "--workspace", str(experiment), "--write-config")
    code, out, _ = run_cli(capsys, *common)
    assert code == 0 and TrainConfig.read(out.strip()).precision == "fp16"
    code, out, _ = run_cli(capsys, *common, "--precision", "bf16")
    assert code == 0 and TrainConfig.read(out.strip()).precision == "bf16"


def test_an_unformatted_experiment_and_a_bad_gpu_exit_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "ws" / "logs" / "empty").mkdir(parents=True)
    code, _, err = run_cli(capsys, "gpt", "--exp", "empty", "--workspace", str(tmp_path / "ws"))
    assert code == 2 and "6-name2semantic.tsv" in err and "not formatted" in err
    formatted(tmp_path / "ws", "voice")
    code, _, err = run_cli(capsys, "gpt", "--exp", "voice", "--workspace", str(tmp_path / "ws"),
                           "--gpus", "3")
    assert code == 2 and "no GPU 3" in err


def test_help_documents_several_nodes_with_torchrun(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--nnodes" in text and "--rdzv_endpoint" in text and "-m gsv_core.train" in text


def _child(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=LIMIT_S)


def test_the_child_entry_exits_2_on_a_bad_config_and_1_on_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "gpt", "epochs": 0}', encoding="utf-8")
    done = _child("-m", "gsv_core.train", "gpt", "--config", str(bad), cwd=tmp_path)
    assert done.returncode == 2 and "error" in done.stderr
    space = formatted(tmp_path / "ws", "voice")
    crash = TrainConfig(kind="gpt", workspace=str(space.root), experiment="voice", epochs=1,
                        batch_size=1, save_every=1, device="cpu",
                        extra={"trainer": f"{HERE}:stub_trainer", "behaviour": "crash"})
    crash.write(tmp_path / "crash.json")
    events = tmp_path / "events.jsonl"
    done = _child("-m", "gsv_core.train", "gpt", "--config", str(tmp_path / "crash.json"),
                  "--events", str(events), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    kinds = [event.kind for event in read_events(events)[0]]
    assert kinds[-1] == "failed" and "result" not in kinds
    assert "the spectrogram of clip 7 is empty" in done.stderr


def test_gpt_trains_end_to_end_through_the_console_command(tmp_path: Path) -> None:
    """The real GPT trainer on the tiny formatted experiment, two steps on the CPU."""
    root = tmp_path / "ws"
    write_formatted_experiment(root, "tiny voice")
    events = tmp_path / "events.jsonl"
    done = _child("-m", "gsv_core.cli", "train", "gpt", "--exp", "tiny voice", "--workspace",
                  str(root), "--epochs", "1", "--max-steps", "2", "--no-dpo",
                  "--pretrained-s1", str(tiny_fixture("gpt_v2.ckpt")), "--events", str(events),
                  cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    exported = done.stdout.strip().splitlines()
    assert exported == [str(root / "GPT_weights_v2" / "tiny voice-e1.ckpt")]
    assert Path(exported[0]).is_file()
    assert "round 1 of 1, step 2 of 2" in done.stderr  # the progress line
    found = read_events(events)[0]
    kinds = {event.kind for event in found}
    assert {"progress", "metric", "train_step", "exported"} <= kinds
    assert [e.data["path"] for e in found if e.kind == "exported"] == exported
    kept = json.loads((root / "logs" / "tiny voice" / "train-gpt.json").read_text("utf-8"))
    assert kept["max_steps"] == 2 and kept["device"] == "cpu"
    assert any((root / "logs" / "tiny voice" / "logs_s1_v2").iterdir())  # TensorBoard


def test_a_card_held_by_another_run_exits_2_naming_it(experiment: Path, fake_gpu,
                                                        capsys) -> None:
    from gsv_core.train.launch import hold_gpu_locks
    from gsv_core.workspace import Workspace

    fake_gpu("NVIDIA GeForce RTX 4090:24")
    with hold_gpu_locks(Workspace(experiment), (0,), "someone else's voice", ["sovits"]):
        code, _, err = run_cli(capsys, "gpt", "--exp", "voice", "--workspace",
                               str(experiment), "--no-dpo", "--max-steps", "1")
    assert code == 2
    assert "GPU 0 is in use" in err and "someone else's voice" in err


def test_sovits_trains_end_to_end_through_the_console_command(tmp_path: Path) -> None:
    """The real SoVITS trainer on the tiny formatted experiment, two steps on the CPU, from
    the tiny pretrained pair (tests/train_fixtures.py) given on the command line."""
    root = tmp_path / "ws"
    write_formatted_experiment(root, "tiny voice", clips=4)
    generator, discriminator = write_tiny_pretrained_sovits(tmp_path / "pretrained")
    events = tmp_path / "events.jsonl"
    done = _child("-m", "gsv_core.cli", "train", "sovits", "--exp", "tiny voice",
                  "--workspace", str(root), "--epochs", "1", "--max-steps", "2",
                  "--pretrained-s2g", str(generator), "--pretrained-s2d", str(discriminator),
                  "--events", str(events), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    exported = done.stdout.strip().splitlines()
    assert exported == [str(root / "SoVITS_weights_v2" / "tiny voice_e1_s2.pth")]
    assert "step 2 of" in done.stderr  # the progress line
    assert "from scratch" not in done.stderr  # the discriminator file was used
    found = read_events(events)[0]
    assert [e.data["path"] for e in found if e.kind == "exported"] == exported
    from gsv_core.models.checkpoint import load_sovits

    assert load_sovits(exported[0]).config.inter_channels == 32
    kept = json.loads((root / "logs" / "tiny voice" / "train-sovits.json").read_text("utf-8"))
    assert kept["max_steps"] == 2 and kept["pretrained_s2d"] == str(discriminator)
