"""``gsv-studio train --probe`` and a saved probe's effect on the command's limits (B-6).

``GSV_FAKE_GPU`` stands for a card this machine does not have; these tests end before any
training (``--write-config``). The saved probe is written here in the probe's own format for
that card and this experiment's files, as a run on the card would have left it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gsv_core.prepare import ExperimentFiles
from gsv_core.train.config import TrainConfig
from gsv_core.train.probe_results import ProbeResult, data_fingerprint, probe_path
from gsv_core.workspace import Workspace
from tests.integration.test_train_cli import run_cli
from tests.integration.test_train_job import formatted

CARD = "NVIDIA GeForce RTX 4090:24"   # B-2: GPT batch at most 11


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    formatted(tmp_path / "ws", "voice")
    return tmp_path / "ws"


def save_probe(workspace: Path, kind: str, largest_fit: int, first_failure: int | None,
               card: str = "NVIDIA GeForce RTX 4090") -> None:
    files = ExperimentFiles.of(Workspace(workspace), "voice")
    result = ProbeResult(kind=kind, dpo=False, card=card, memory_gb=24,  # type: ignore[arg-type]
                         data=data_fingerprint(files, kind), largest_fit=largest_fit,  # type: ignore[arg-type]
                         first_failure=first_failure, limited_by="memory",
                         tried=((largest_fit, True, 20.0),), seconds=30.0,
                         measured_at="2026-12-03T06:00:00+00:00")
    probe_path(files, kind, False).write_text(result.to_json(), encoding="utf-8")  # type: ignore[arg-type]


def write_config(capsys, workspace: Path, *flags: str) -> tuple[int, TrainConfig | None, str]:
    code, out, err = run_cli(capsys, "gpt", "--exp", "voice", "--workspace", str(workspace),
                             "--no-dpo", "--write-config", *flags)
    return code, TrainConfig.read(out.strip()) if code == 0 else None, err


def test_probe_on_the_cpu_is_refused_with_exit_2(workspace: Path, capsys) -> None:
    code, out, err = run_cli(capsys, "sovits", "--exp", "voice", "--workspace", str(workspace),
                             "--probe", "--device", "cpu")
    assert code == 2 and out == ""
    assert "--probe measures GPU memory" in err


def test_a_lower_measurement_lowers_the_default_and_refuses_more(workspace, fake_gpu,
                                                                capsys) -> None:
    fake_gpu(CARD)
    save_probe(workspace, "gpt", 5, 6)
    code, config, _ = write_config(capsys, workspace)
    assert code == 0 and config is not None and config.batch_size == 5
    code, _, err = write_config(capsys, workspace, "--batch", "8")
    assert code == 2 and "--batch 8 is beyond the limit (1 to 5)" in err
    assert "B-6: The batch probe measured 5" in err


def test_a_higher_measurement_counts_only_when_chosen(workspace, fake_gpu, capsys) -> None:
    fake_gpu(CARD)
    save_probe(workspace, "gpt", 20, 21)
    code, _, err = write_config(capsys, workspace, "--batch", "16")
    assert code == 2 and "(1 to 11)" in err
    code, config, _ = write_config(capsys, workspace, "--batch", "16", "--use-measured-batch")
    assert code == 0 and config is not None and config.batch_size == 16


def test_a_probe_of_another_card_or_older_data_is_ignored(workspace, fake_gpu, capsys) -> None:
    fake_gpu(CARD)
    save_probe(workspace, "gpt", 5, 6, card="NVIDIA GeForce RTX 3090")
    code, config, _ = write_config(capsys, workspace)
    assert code == 0 and config is not None and config.batch_size == 11
    save_probe(workspace, "gpt", 5, 6)
    names = ExperimentFiles.of(Workspace(workspace), "voice").name2text
    names.write_text("changed\n", encoding="utf-8")     # the data moved on since the probe
    code, config, _ = write_config(capsys, workspace)
    assert code == 0 and config is not None and config.batch_size == 11
