"""TrainConfig: JSON round trip, and clear errors naming the field."""

from __future__ import annotations

import pytest

from gsv_core.errors import ConfigError
from gsv_core.train.config import TrainConfig


def _config(**kw):
    base = dict(kind="sovits", workspace="/w", experiment="我的声音", epochs=8, batch_size=4,
                save_every=4)
    return TrainConfig(**{**base, **kw})


def test_round_trip_through_a_file(tmp_path):
    config = _config(gpus=(0, 1), dpo=True, extra={"grad_accumulation": 2, "dpo_weight": 0.5})
    path = config.write(tmp_path / "run.json")
    assert TrainConfig.read(path) == config
    assert "我的声音" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("field,value", [("epochs", 0), ("batch_size", 2.5), ("save_every", True),
                                         ("kind", "hifigan"), ("precision", "int8"),
                                         ("lr_weight", 0), ("max_steps", 0)])
def test_bad_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=field):
        _config(**{field: value})


def test_unknown_keys_and_bad_json_are_errors_naming_the_source(tmp_path):
    text = _config().to_json().replace('"seed"', '"sed"')
    with pytest.raises(ConfigError, match=r"run\.json: unknown field.*sed"):
        TrainConfig.from_json(text, "run.json")
    with pytest.raises(ConfigError, match=r"run\.json: not valid JSON"):
        TrainConfig.from_json("{", "run.json")


@pytest.mark.parametrize("extra,match", [
    ({"grad_accumulation": 0}, r"extra\.grad_accumulation must be a whole number"),
    ({"min_items": 2.5}, r"extra\.min_items must be a whole number"),
    ({"processes": True}, r"extra\.processes must be a whole number"),
    ({"dpo_weight": float("nan")}, r"extra\.dpo_weight must be a number above 0"),
    ({"trainer": "no_colon"}, r"extra\.trainer must be a \"module:function\" name"),
    ({"grad_acumulation": 2}, r"extra\.grad_acumulation is not a setting \(known: dpo_weight"),
    ("not a dict", r"extra must be an object"),
])
def test_extra_settings_are_checked_and_named(extra, match):
    with pytest.raises(ConfigError, match=match):
        _config(extra=extra)


def test_a_stand_in_trainer_may_carry_its_own_settings():
    config = _config(extra={"trainer": "tests.stub:train", "behaviour": "crash"})
    assert config.extra["behaviour"] == "crash"

