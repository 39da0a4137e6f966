"""go-webui.sh --dry-run on a machine without the environment: every step is printed, the
launch command carries the user's options, and nothing is created."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_dry_run_prints_the_steps_and_creates_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "no env yet"
    result = subprocess.run([str(REPO / "go-webui.sh"), "--dry-run", "--lang", "zh_CN"],
                            env={**os.environ, "GSV_VENV": str(venv)}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "[go-webui dry run] Python:" in err
    assert f"Would create the virtual environment in {venv}" in err
    assert "would run: pip install" in err and "--editable" in err
    assert f"would run: {venv}/bin/python webui.py --lang zh_CN" in err
    assert not venv.exists()
