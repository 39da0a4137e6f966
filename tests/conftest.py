"""Test isolation: no real hardware, no network, no user folders.

Every test starts with ``GSV_FAKE_GPU`` unset (tests that need hardware set it
through the ``fake_gpu`` fixture: it is our MockTransport), hub access off, and
the working directory in a fresh temporary folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.fixture_paths import tiny_fixture

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("GSV_FAKE_GPU", raising=False)
    for name, value in {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1",
                        "HF_HUB_DISABLE_TELEMETRY": "1", "TRANSFORMERS_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    monkeypatch.chdir(workspace)
    return workspace


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch):
    """Set ``GSV_FAKE_GPU`` for one test: ``fake_gpu("NVIDIA GeForce RTX 4090:24")``."""

    def set_spec(spec: str) -> str:
        monkeypatch.setenv("GSV_FAKE_GPU", spec)
        return spec

    return set_spec


@pytest.fixture
def no_tf32() -> Iterator[None]:
    """Some reference margins are ~1e-3: TF32 matmuls (10-bit mantissa) would break exact
    matches, so the parity tests run in plain fp32 on CUDA."""
    import torch

    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.fixture(scope="module")
def reference() -> dict:
    """The tiny fixture's reference inputs and outputs (skips when the fixtures are absent)."""
    import torch

    return torch.load(tiny_fixture("reference.pt"), weights_only=True)

@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A loopback server standing in for the Hugging Face hub (tests have no network),
    serving tests/fake_hub.HUB_FILES from ``tmp_path / "hub"``. See tests/fake_hub.py."""
    from tests.fake_hub import serve_fake_hub, standard_hub

    yield from serve_fake_hub(standard_hub(tmp_path / "hub"), monkeypatch)


def pytest_report_header(config: pytest.Config) -> list[str]:
    shared = REPO_ROOT.parent / "shared" / "fixtures"
    state = "present" if shared.is_dir() else "ABSENT: fixture tests will be skipped"
    return [f"gsv-studio fixtures: {shared} ({state})", f"repo: {REPO_ROOT} ({os.name})"]
