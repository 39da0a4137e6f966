"""Training killed with SIGKILL at ten points, then started again (issue 14 item 2).

Each run is a child process (tests/faults.py) that the kernel kills at the point: during the
first data load, mid-step, between the two optimizers, half-way into a checkpoint's
temporary file, with the checkpoint's bytes written but not yet renamed, during an export,
right after one, in the second checkpoint (the first is then the newest intact one), and for
the GPT mid-step and in its checkpoint. After each:

- no file under a final name is half-written: every resume file and every exported weight
  file there loads;
- a plain start again finishes the run (from the newest intact checkpoint, when there is
  one) and its exports load; the kill's temporary files are gone.

Nothing is mocked: the kill is a real SIGKILL of a real training process (POSIX only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gsv_core.models.checkpoint import load_gpt, load_sovits
from gsv_core.train.config import TrainConfig
from gsv_core.train.gpt import train_gpt
from gsv_core.train.reporting import SilentReporter
from gsv_core.train.resume import find_resume_points, load_newest
from gsv_core.train.sovits import train_sovits
from tests.faults import POINTS
from tests.fixture_paths import REPO_ROOT, tiny_fixture
from tests.train_fixtures import write_formatted_experiment, write_tiny_pretrained_sovits

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

EPOCHS = 2  # 2 steps a round (4 clips, batch 2), a checkpoint and an export every round


def _config(root: Path, kind: str) -> TrainConfig:
    common = dict(workspace=str(root), experiment="killed", epochs=EPOCHS, save_every=1,
                  device="cpu", tensorboard=False)
    if kind == "sovits":
        pretrained = root / "pretrained"
        return TrainConfig(kind="sovits", batch_size=2, extra={"min_items": 1},
                           pretrained_s2g=str(pretrained / "s2G2333k.pth"),
                           pretrained_s2d=str(pretrained / "s2D2333k.pth"), **common)
    return TrainConfig(kind="gpt", batch_size=17, pretrained_s1=str(tiny_fixture("gpt_v2.ckpt")),
                       **common)


def _weights(root: Path, kind: str) -> list[Path]:
    folder = root / ("SoVITS_weights_v2" if kind == "sovits" else "GPT_weights_v2")
    return sorted(folder.glob("*.pth" if kind == "sovits" else "*.ckpt"))


def _temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(".*.tmp")]


def _all_intact(root: Path, kind: str) -> None:
    """Every file under a final name loads: resume points and exports."""
    experiment = root / "logs" / "killed"
    for point in find_resume_points(experiment, kind):
        warnings: list[str] = []
        loaded = load_newest(experiment, kind, warn=warnings.append)
        assert loaded is not None and not warnings, (point, warnings)
    for path in _weights(root, kind):
        (load_sovits if kind == "sovits" else load_gpt)(path)


@pytest.mark.parametrize("point", sorted(POINTS))
def test_a_killed_training_leaves_no_broken_file_and_starts_again(point: str,
                                                                  tmp_path: Path) -> None:
    kind = point.split("-")[0]
    clips = 4 if kind == "sovits" else 34  # GPT: two batches of 17 a round
    write_formatted_experiment(tmp_path, "killed", clips=clips)
    if kind == "sovits":
        write_tiny_pretrained_sovits(tmp_path / "pretrained")
    config = _config(tmp_path, kind)
    config_path = config.write(tmp_path / "run.json")
    child = subprocess.run([sys.executable, "-m", "tests.faults", point, str(config_path)],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stdout,
                                                  child.stderr[-3000:])
    _all_intact(tmp_path, kind)
    before = [p.path.name for p in find_resume_points(tmp_path / "logs" / "killed", kind)]

    result = (train_sovits if kind == "sovits" else train_gpt)(config, SilentReporter())
    assert not result.stopped and result.epoch == EPOCHS
    assert len(result.exported) >= 1
    _all_intact(tmp_path, kind)
    exported = sorted(p.name for p in _weights(tmp_path, kind))
    expected = (["killed_e1_s2.pth", "killed_e2_s4.pth"] if kind == "sovits"
                else ["killed-e1.ckpt", "killed-e2.ckpt"])
    assert exported == expected, (before, exported)  # no round's export is lost
    assert not _temporaries(tmp_path), _temporaries(tmp_path)


def test_a_full_disk_at_a_checkpoint_is_said_and_the_previous_one_is_intact(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second checkpoint's write fails with ENOSPC (the real write_atomically, given a
    writer that fills the disk: a full disk cannot be made here without root mounts)."""
    import errno

    from gsv_core.errors import DiskFull
    from gsv_core.train import resume

    write_formatted_experiment(tmp_path, "killed", clips=4)
    write_tiny_pretrained_sovits(tmp_path / "pretrained")
    real = resume.write_atomically
    calls = [0]

    def second_fills_the_disk(path, writer, **kwargs):
        calls[0] += 1
        if calls[0] < 2:
            return real(path, writer, **kwargs)

        def full(handle) -> None:
            handle.write(b"part of it")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, full, **kwargs)

    monkeypatch.setattr(resume, "write_atomically", second_fills_the_disk)
    with pytest.raises(DiskFull, match="is full") as info:
        train_sovits(_config(tmp_path, "sovits"), SilentReporter())
    assert "unchanged" in info.value.advice
    newest = find_resume_points(tmp_path / "logs" / "killed", "sovits")
    assert [(p.epoch, p.step) for p in newest] == [(1, 2)]  # the first round's, intact
    _all_intact(tmp_path, "sovits")
    assert not _temporaries(tmp_path)
