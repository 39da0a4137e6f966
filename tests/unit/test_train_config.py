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
    config = _config(gpus=(0, 1), dpo=True, extra={"note": "x"})
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
