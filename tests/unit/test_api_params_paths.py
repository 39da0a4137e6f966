"""API paths: relative to the workspace, confined to it and the model folders (issue 8 item 4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gsv_core.api.paths import PathPolicy
from gsv_core.errors import ConfigError


@pytest.fixture
def layout(tmp_path: Path) -> tuple[PathPolicy, Path, Path]:
    root = tmp_path / "ws"
    models = tmp_path / "models"
    (root / "refs").mkdir(parents=True)
    models.mkdir()
    (root / "refs" / "a.wav").write_bytes(b"x")
    (models / "g.ckpt").write_bytes(b"x")
    (tmp_path / "secret.wav").write_bytes(b"x")
    return PathPolicy.of(root, [models, None]), root, models


def test_relative_paths_start_at_the_workspace(layout) -> None:
    policy, root, _ = layout
    assert policy.resolve("refs/a.wav", "ref_audio_path") == (root / "refs" / "a.wav").resolve()


def test_absolute_paths_inside_the_workspace_or_a_model_folder(layout) -> None:
    policy, root, models = layout
    assert policy.resolve(str(root / "refs" / "a.wav"), "f").name == "a.wav"
    assert policy.resolve(str(models / "g.ckpt"), "f").name == "g.ckpt"


@pytest.mark.parametrize("text", ["../secret.wav", "refs/../../secret.wav", "/etc/passwd"])
def test_paths_outside_are_refused_naming_the_field(layout, text: str) -> None:
    policy, _, _ = layout
    with pytest.raises(ConfigError, match=r"ref_audio_path: .* is outside the workspace"):
        policy.resolve(text, "ref_audio_path")


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_a_symbolic_link_out_of_the_workspace_is_refused(layout, tmp_path: Path) -> None:
    policy, root, _ = layout
    (root / "refs" / "link.wav").symlink_to(tmp_path / "secret.wav")
    with pytest.raises(ConfigError, match="outside"):
        policy.resolve("refs/link.wav", "ref_audio_path")


def test_a_missing_file_and_an_empty_path(layout) -> None:
    policy, _, _ = layout
    with pytest.raises(ConfigError, match="is not a file"):
        policy.resolve("refs/none.wav", "ref_audio_path")
    with pytest.raises(ConfigError, match="weights_path is required"):
        policy.resolve(" ", "weights_path")
