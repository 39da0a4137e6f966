"""Checkpoint I/O against the upstream-format fixture files (gsv-v2-tiny)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import torch

from gsv_core.errors import CheckpointError, ModelMissing
from gsv_core.models.checkpoint import (
    UNSUPPORTED_HEADERS,
    gpt_info,
    load_gpt,
    load_sovits,
    load_strict,
    read_checkpoint_dict,
    read_discriminator_weights,
    save_gpt_weights,
    save_sovits_weights,
    sovits_info,
    sovits_symbol_version,
    write_checkpoint_dict,
)
from gsv_core.models.gpt import GPTConfig, Text2SemanticDecoder
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
    folder = tmp_path / "weights"
    folder.mkdir()
    path = folder / "out.pth"
    with pytest.raises(CheckpointError, match=r"payload\['config'\]"):
        write_checkpoint_dict(path, {"config": object()})
    assert list(folder.iterdir()) == []  # neither the file nor a temp file


def _assert_same_bits(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        assert torch.equal(a[key].view(torch.int16), b[key].view(torch.int16)), key


def test_gpt_load_save_round_trip_is_bit_identical(tmp_path: Path) -> None:
    source = tiny_fixture("gpt_v2.ckpt")
    original = read_checkpoint_dict(source)
    model = load_gpt(source)
    assert not model.training and model.bert_proj.weight.dtype == torch.float32
    out = save_gpt_weights(tmp_path / "GPT_weights_v2" / "voice-e1.ckpt", model,
                           model.config, gpt_info(1))
    saved = read_checkpoint_dict(out)
    _assert_same_bits(saved["weight"], original["weight"])
    assert saved["config"] == original["config"]
    assert saved["info"] == "GPT-e1"
    _assert_plain(saved)
    # What upstream does: torch.load(weights_only=False) then config["data"]["max_sec"].
    raw = torch.load(out, map_location="cpu", weights_only=True)
    assert raw["config"]["data"]["max_sec"] == 54
    assert out.read_bytes()[:2] == b"PK"


def test_gpt_strict_load_names_the_bad_tensor(tmp_path: Path) -> None:
    data = read_checkpoint_dict(tiny_fixture("gpt_v2.ckpt"))
    broken = dict(data["weight"])
    del broken["model.h.layers.1.norm2.bias"]
    broken["model.bert_proj.weight"] = torch.zeros(64, 1000, dtype=torch.float16)
    path = tmp_path / "broken.ckpt"
    write_checkpoint_dict(path, {**data, "weight": broken})
    with pytest.raises(CheckpointError) as info:
        load_gpt(path)
    assert "h.layers.1.norm2.bias" in info.value.message
    assert "bert_proj.weight (64, 1000)" in info.value.message


def test_load_strict_reports_unexpected_keys() -> None:
    model = Text2SemanticDecoder(GPTConfig(hidden_dim=16, embedding_dim=16, num_heads=2,
                                           num_layers=1))
    weights = {**model.state_dict(), "h.layers.5.linear1.weight": torch.zeros(1)}
    with pytest.raises(CheckpointError, match=r"unexpected: h\.layers\.5\.linear1\.weight"):
        load_strict(model, weights, "test")


def test_sovits_weights_are_rejected_as_gpt(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a GPT weight file"):
        load_gpt(tiny_fixture("sovits_v2.pth"))


def test_discriminator_reader_checks_the_layout(tmp_path: Path) -> None:
    path = tmp_path / "s2D2333k.pth"
    write_checkpoint_dict(path, {"weight": {"discriminators.0.convs.0.bias": torch.zeros(4)}})
    assert list(read_discriminator_weights(path)) == ["discriminators.0.convs.0.bias"]
    with pytest.raises(CheckpointError, match="not a SoVITS discriminator"):
        read_discriminator_weights(tiny_fixture("sovits_v2.pth"))


def test_sovits_save_drops_enc_q_and_keeps_bits(tmp_path: Path) -> None:
    original = read_checkpoint_dict(tiny_fixture("sovits_v2.pth"))
    state = {k: v.float() for k, v in original["weight"].items()}
    state["enc_q.pre.weight"] = torch.ones(3)  # a training-only tensor must not be written
    out = save_sovits_weights(tmp_path / "voice_e1_s12.pth", state, original["config"],
                              sovits_info(1, 12))
    saved = read_checkpoint_dict(out)
    _assert_same_bits(saved["weight"], original["weight"])
    assert saved["config"] == original["config"] and type(saved["config"]) is dict
    assert saved["info"] == "1epoch_12iteration"
    _assert_plain(saved)


def test_sovits_generator_round_trip(tmp_path: Path) -> None:
    source = tiny_fixture("sovits_v2.pth")
    original = read_checkpoint_dict(source)
    model = load_sovits(source)
    out = save_sovits_weights(tmp_path / "again.pth", model, original["config"], "x")
    _assert_same_bits(read_checkpoint_dict(out)["weight"], original["weight"])


def test_failed_write_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "weights"
    path = write_checkpoint_dict(folder / "voice.pth", {"info": "old"})
    before = path.read_bytes()

    def crash(obj: object, handle: object) -> None:
        handle.write(b"partial")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        write_checkpoint_dict(path, {"info": "new"})
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["voice.pth"]


def test_pretrained_style_generator_with_enc_q_and_no_config(tmp_path: Path) -> None:
    # s2G2333k.pth holds the whole generator (enc_q included) and no config.
    config = read_checkpoint_dict(tiny_fixture("sovits_v2.pth"))["config"]
    full = load_sovits(tiny_fixture("sovits_v2.pth")).state_dict()
    assert any("enc_q" in k for k in full)
    path = tmp_path / "s2G2333k.pth"
    write_checkpoint_dict(path, {"weight": {k: v.half() for k, v in full.items()}})
    model = load_sovits(path, default_config=config)
    _assert_same_bits({k: v.half() for k, v in model.state_dict().items()},
                      {k: v.half() for k, v in full.items()})
    broken = {k: v for k, v in full.items() if k != "dec.conv_pre.bias"}
    write_checkpoint_dict(path, {"weight": broken})
    with pytest.raises(CheckpointError, match=r"missing: dec\.conv_pre\.bias"):
        load_sovits(path, default_config=config)


def test_concurrent_loads_of_the_hparams_file_all_succeed() -> None:
    # The SoVITS fixture pickles upstream's utils.HParams: the one class that needs our entry
    # on torch's allow-list. Three threads start together and load it 8 times each; with the
    # former per-load safe_globals block, 6-9 of these 24 loads failed in every trial.
    path = tiny_fixture("sovits_v2.pth")
    threads_n, loads_n = 3, 8
    start = threading.Barrier(threads_n)
    failures: list[BaseException] = []
    infos: list[str] = []

    def load_many() -> None:
        start.wait()
        for _ in range(loads_n):
            try:
                infos.append(read_checkpoint_dict(path)["info"])
            except BaseException as exc:  # collected and reported below
                failures.append(exc)

    workers = [threading.Thread(target=load_many) for _ in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures, f"{len(failures)} of {threads_n * loads_n} loads failed: {failures[0]}"
    assert infos == ["1epoch_12iteration"] * (threads_n * loads_n)


def test_shim_is_put_back_after_other_code_clears_the_allow_list() -> None:
    path = tiny_fixture("sovits_v2.pth")
    read_checkpoint_dict(path)
    before = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()  # what leaving another safe_globals block can do
    try:
        assert read_checkpoint_dict(path)["info"] == "1epoch_12iteration"
    finally:
        torch.serialization.add_safe_globals(before)


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_written_file_has_the_permissions_of_a_plain_open(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        with open(tmp_path / "plain.bin", "wb"):
            pass
        written = write_checkpoint_dict(tmp_path / "voice.pth", {"info": "x"})
    finally:
        os.umask(previous)
    expected = (tmp_path / "plain.bin").stat().st_mode & 0o777
    assert written.stat().st_mode & 0o777 == expected


def test_write_fsyncs_the_file_before_the_rename_and_the_folder_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.fsync and os.replace are spied on (wrapped, still called) to see their order."""
    events: list[tuple[str, int]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        events.append(("fsync", os.fstat(fd).st_ino))
        real_fsync(fd)

    def spy_replace(source: object, target: object) -> None:
        events.append(("replace", os.stat(source).st_ino))  # type: ignore[arg-type]
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    folder = tmp_path / "weights"
    path = write_checkpoint_dict(folder / "voice.pth", {"info": "x"})
    file_inode = path.stat().st_ino
    expected = [("fsync", file_inode), ("replace", file_inode)]
    if os.name == "posix":
        expected.append(("fsync", folder.stat().st_ino))
    assert events == expected
