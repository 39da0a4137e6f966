"""Checkpoint I/O against the upstream-format fixture files (gsv-v2-tiny)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gsv_core.errors import CheckpointError, ModelMissing
from gsv_core.models.checkpoint import (
    UNSUPPORTED_HEADERS,
    read_checkpoint_dict,
    sovits_symbol_version,
    write_checkpoint_dict,
)
from tests.fixture_paths import tiny_fixture


def _assert_plain(value: object, where: str = "root") -> None:
    """Only tensors, dicts, lists, strings, numbers and None (what weights_only can hold)."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), where
            _assert_plain(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _assert_plain(item, f"{where}[{i}]")
    else:
        assert isinstance(value, (torch.Tensor, str, int, float, bool, type(None))), (where, value)


def test_reads_upstream_sovits_file_with_hparams_config() -> None:
    data = read_checkpoint_dict(tiny_fixture("sovits_v2.pth"))
    assert set(data) == {"weight", "config", "info"}
    assert data["info"] == "1epoch_12iteration"
    assert len(data["weight"]) == 529
    assert not any("enc_q" in key for key in data["weight"])
    assert all(t.dtype == torch.float16 for t in data["weight"].values())
    config = data["config"]
    # utils.HParams became plain nested dicts, values intact.
    assert type(config) is dict and type(config["model"]) is dict
    assert config["model"]["inter_channels"] == 32
    assert config["model"]["upsample_rates"] == [10, 8, 2, 2, 2]
    assert config["save_weight_dir"] == "SoVITS_weights_v2"
    assert config["pretrain"] is None
    _assert_plain(data)


def test_sovits_fixture_is_v2_by_symbol_rows_despite_small_size() -> None:
    path = tiny_fixture("sovits_v2.pth")
    assert path.stat().st_size < 82978 * 1024  # upstream's size sniff would say v1
    assert sovits_symbol_version(read_checkpoint_dict(path)["weight"]) == "v2"


def test_symbol_rows_decide_version() -> None:
    assert sovits_symbol_version({"enc_p.text_embedding.weight": torch.zeros(322, 4)}) == "v1"
    assert sovits_symbol_version({"enc_p.text_embedding.weight": torch.zeros(732, 4)}) == "v2"
    with pytest.raises(CheckpointError, match="500 rows"):
        sovits_symbol_version({"enc_p.text_embedding.weight": torch.zeros(500, 4)})
    with pytest.raises(CheckpointError, match="v3/v4"):
        sovits_symbol_version({"dec.conv_pre.weight": torch.zeros(1)})


def test_reads_upstream_gpt_file() -> None:
    data = read_checkpoint_dict(tiny_fixture("gpt_v2.ckpt"))
    assert data["info"] == "GPT-e1"
    assert len(data["weight"]) == 31
    assert all(key.startswith("model.") for key in data["weight"])
    assert data["config"]["model"]["n_layer"] == 2
    assert data["config"]["data"]["max_sec"] == 54
    _assert_plain(data)


@pytest.mark.parametrize("header", sorted(UNSUPPORTED_HEADERS))
def test_unsupported_version_headers_are_named(tmp_path: Path, header: bytes) -> None:
    # Upstream's my_save2: torch zip bytes with "PK" replaced by the version tag.
    path = tmp_path / "new_model.pth"
    write_checkpoint_dict(path, {"weight": {"a": torch.zeros(2)}})
    path.write_bytes(header + path.read_bytes()[2:])
    with pytest.raises(CheckpointError, match=UNSUPPORTED_HEADERS[header]) as info:
        read_checkpoint_dict(path)
    assert "not supported yet" in info.value.message


@pytest.mark.parametrize("header", [b"00", b"01"])
def test_v1_v2_headers_are_read(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "tagged.pth"
    write_checkpoint_dict(path, {"weight": {"a": torch.arange(3.0)}, "info": "x"})
    path.write_bytes(header + path.read_bytes()[2:])
    assert torch.equal(read_checkpoint_dict(path)["weight"]["a"], torch.arange(3.0))


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing) as info:
        read_checkpoint_dict(tmp_path / "nope.pth")
    assert str(tmp_path / "nope.pth") in info.value.expected_paths


def test_garbage_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"PK this is not a zip")
    with pytest.raises(CheckpointError, match="not a readable weight file"):
        read_checkpoint_dict(path)


class _Evil:
    def __reduce__(self) -> tuple:
        return (print, ("pickled code ran",))


def test_pickled_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"weight": {}, "config": _Evil()}, path)
    with pytest.raises(CheckpointError, match="not loaded for safety"):
        read_checkpoint_dict(path)


def test_write_refuses_non_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "out.pth"
    with pytest.raises(CheckpointError, match=r"payload\['config'\]"):
        write_checkpoint_dict(path, {"config": object()})
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []  # no temp file left behind
