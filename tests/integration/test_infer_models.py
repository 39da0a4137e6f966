"""Loading weights into the engine: every layout, switching one model, reloading rules.

The official pretrained layouts are tested on files written in those layouts here: the
GPT with ``weight``/``config`` beside Lightning's bookkeeping keys, a Lightning training
checkpoint (``state_dict`` + ``hyper_parameters.config``), and a full-size SoVITS generator
with ``enc_q`` and no config, like ``s2G2333k.pth`` (random weights; the real file is
155 MB and not on this machine).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from gsv_core.errors import CheckpointError, ModelMissing
from gsv_core.infer import InferenceOptions
from gsv_core.models.checkpoint import read_checkpoint_dict, write_checkpoint_dict
from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator
from tests import infer_fixtures
from tests.infer_fixtures import InferSetup, make_engine

infer_setup = infer_fixtures.infer_setup

FAST = InferenceOptions(cut_method="cut5", max_new_tokens=12, seed=3, top_k=1)
TEXT = "你好世界。"


def _copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes())
    return target


def test_switching_sovits_keeps_the_gpt_object(infer_setup: InferSetup, tmp_path: Path) -> None:
    engine = make_engine(infer_setup)
    gpt = engine.gpt_model
    other = _copy(infer_setup.sovits_path, tmp_path / "other voice.pth")
    engine.load_sovits(other)
    assert engine.gpt_model is gpt
    assert engine.sovits_path == other.resolve()
    assert engine.gpt_path == infer_setup.gpt_path.resolve()
    sovits = engine.sovits_model
    engine.load_gpt(_copy(infer_setup.gpt_path, tmp_path / "other.ckpt"))
    assert engine.sovits_model is sovits and engine.gpt_model is not gpt


def test_loading_the_same_file_twice_is_a_no_op_until_it_changes(
        infer_setup: InferSetup, tmp_path: Path) -> None:
    engine = make_engine(infer_setup, load=False)
    path = _copy(infer_setup.sovits_path, tmp_path / "voice.pth")
    engine.load_sovits(path)
    first = engine.sovits_model
    engine.load_sovits(tmp_path / "." / "voice.pth")  # another spelling of the same file
    assert engine.sovits_model is first
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # re-exported in place
    engine.load_sovits(path)
    assert engine.sovits_model is not first


def test_missing_and_wrong_files_are_named(infer_setup: InferSetup, tmp_path: Path) -> None:
    engine = make_engine(infer_setup, load=False)
    with pytest.raises(ModelMissing, match=r"nothing\.ckpt"):
        engine.load_gpt(tmp_path / "nothing.ckpt")
    with pytest.raises(CheckpointError, match="not a GPT weight file"):
        engine.load_gpt(infer_setup.sovits_path)
    assert engine.gpt_model is None


def test_official_gpt_layout_with_lightning_keys(infer_setup: InferSetup,
                                                 tmp_path: Path) -> None:
    data = read_checkpoint_dict(infer_setup.gpt_path)
    official = tmp_path / "s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt"
    write_checkpoint_dict(official, {"weight": data["weight"], "config": data["config"],
                                     "epoch": 12, "global_step": 369668,
                                     "pytorch-lightning_version": "1.9.3"})
    reference = make_engine(infer_setup)
    engine = make_engine(infer_setup, load=False)
    engine.load_gpt(official)
    engine.load_sovits(infer_setup.sovits_path)
    ours = reference.synthesize(infer_setup.reference(), TEXT, FAST)
    theirs = engine.synthesize(infer_setup.reference(), TEXT, FAST)
    assert np.array_equal(ours.audio, theirs.audio)


def test_lightning_training_checkpoint_layout(infer_setup: InferSetup, tmp_path: Path) -> None:
    data = read_checkpoint_dict(infer_setup.gpt_path)
    ckpt = tmp_path / "epoch=1-step=12.ckpt"
    write_checkpoint_dict(ckpt, {"state_dict": {k: v.float() for k, v in data["weight"].items()},
                                 "hyper_parameters": {"config": data["config"]},
                                 "epoch": 1, "global_step": 12})
    engine = make_engine(infer_setup, load=False)
    engine.load_gpt(ckpt)
    plain = make_engine(infer_setup, load=False)
    plain.load_gpt(infer_setup.gpt_path)
    assert engine.gpt_model is not None and plain.gpt_model is not None
    for (name, ours), (_, theirs) in zip(engine.gpt_model.state_dict().items(),
                                         plain.gpt_model.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs), name
    broken = tmp_path / "broken.ckpt"
    write_checkpoint_dict(broken, {"state_dict": {k: v for k, v in data["weight"].items()},
                                   "epoch": 1})
    with pytest.raises(CheckpointError, match="has no GPT config"):
        engine.load_gpt(broken)


def test_official_sovits_generator_layout_renders(infer_setup: InferSetup,
                                                  tmp_path: Path) -> None:
    torch.manual_seed(0)
    full = SoVITSGenerator(SoVITSConfig())  # the pretrained generator's size, random weights
    assert any("enc_q" in k for k in full.state_dict())
    official = tmp_path / "s2G2333k.pth"
    write_checkpoint_dict(official, {"weight": {k: v.half()
                                                for k, v in full.state_dict().items()}})
    engine = make_engine(infer_setup, load=False)
    engine.load_gpt(infer_setup.gpt_path)
    engine.load_sovits(official)
    assert engine.sovits_model is not None
    assert engine.sovits_model.config.inter_channels == SoVITSConfig().inter_channels
    result = engine.synthesize(infer_setup.reference(), TEXT, replace(FAST, max_new_tokens=12))
    assert result.audio.shape[0] > 0 and np.isfinite(result.audio).all()


def test_loading_the_models_warms_up_the_front_end(infer_setup: InferSetup) -> None:
    # BERT, the text front end and HuBERT load with the models, not in the first request
    engine = make_engine(infer_setup, load=False)
    assert engine._bert is None and engine._hubert is None
    engine.load_gpt(infer_setup.gpt_path)
    assert engine._bert is not None and engine._polyphones is not None
    engine.load_sovits(infer_setup.sovits_path)
    assert engine._hubert is not None


def test_missing_feature_folders_do_not_block_loading_but_name_themselves(
        infer_setup: InferSetup, tmp_path: Path) -> None:
    for missing in ("bert_dir", "hubert_dir"):
        engine = make_engine(infer_setup, load=False, **{missing: tmp_path / f"no-{missing}"})
        engine.load_gpt(infer_setup.gpt_path)
        engine.load_sovits(infer_setup.sovits_path)
        with pytest.raises(ModelMissing, match=f"no-{missing}"):
            engine.synthesize(infer_setup.reference(), TEXT, FAST)
