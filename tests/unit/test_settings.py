"""Launch settings in the workspace (gsv_core.settings) and their place under the command line."""

from __future__ import annotations

import json

import pytest

import webui
from gsv_core.settings import (
    LaunchSettings,
    load_settings,
    open_workspace,
    save_settings,
    settings_path,
)


def test_nothing_saved_gives_the_defaults(tmp_path):
    assert load_settings(tmp_path) == (LaunchSettings(), ())


def test_saved_settings_come_back_and_unknown_keys_are_kept(tmp_path):
    settings_path(tmp_path).write_text(json.dumps({"future_option": 3, "lang": "en_US"}))
    path = save_settings(tmp_path, LaunchSettings(lang="zh_CN", port=9999, open_browser=False))
    assert load_settings(tmp_path) == (LaunchSettings(lang="zh_CN", port=9999,
                                                      open_browser=False), ())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["future_option"] == 3 and data["lang"] == "zh_CN"
    assert not list(tmp_path.glob("*.tmp*"))     # written atomically, nothing left behind


def test_a_broken_file_is_reported_with_its_line_and_left_as_it_is(tmp_path):
    path = settings_path(tmp_path)
    path.write_text('{"lang": "zh_CN",\n "port": }\n')
    settings, problems = load_settings(tmp_path)
    assert settings == LaunchSettings()
    assert len(problems) == 1 and f"{path} line 2" in problems[0]
    assert "Settings tab" in problems[0]
    assert path.read_text() == '{"lang": "zh_CN",\n "port": }\n'


@pytest.mark.parametrize(("key", "value", "why"), [
    ("port", "9890", "not a port number"), ("port", 70000, "not a port number"),
    ("port", True, "not a port number"), ("lang", "xx_XX", "not one of en_US"),
    ("open_browser", "yes", "not true or false"), ("host", "", "not an address"),
    ("theme", "blue", "not one of system, light, dark"),
    ("train_precision", "int8", "not one of auto, bf16, fp16, fp32"),
    ("models_dir", "no such folder", "not a folder"), ("models_dir", 3, "not text"),
    ("hub_endpoint", "hub.example.org", "not a web address"),
    ("hub_endpoint", "https://a b", "not a web address")])
def test_a_bad_value_names_its_key_and_the_rest_is_used(tmp_path, key, value, why):
    settings_path(tmp_path).write_text(json.dumps({key: value, "lang": "zh_CN"}
                                                  if key != "lang" else {key: value}))
    settings, problems = load_settings(tmp_path)
    assert len(problems) == 1 and repr(key) in problems[0] and why in problems[0]
    assert getattr(settings, key) == getattr(LaunchSettings(), key)
    if key != "lang":
        assert settings.lang == "zh_CN"
    with pytest.raises(ValueError, match=why):
        save_settings(tmp_path / "other", LaunchSettings(**{key: value}))


def test_the_command_line_wins_over_saved_settings(tmp_path):
    save_settings(tmp_path, LaunchSettings(lang="zh_CN", host="127.0.0.2", port=9999,
                                           open_browser=False))
    parser = webui.build_parser()
    saved = parser.parse_args(["--workspace", str(tmp_path)])
    assert webui.apply_saved_settings(saved) == ()
    assert (saved.lang, saved.host, saved.port, saved.open_browser) == (
        "zh_CN", "127.0.0.2", 9999, False)
    given = parser.parse_args(["--workspace", str(tmp_path), "--lang", "en_US", "--port",
                               "9000", "--host", "127.0.0.1", "--inbrowser"])
    webui.apply_saved_settings(given)
    assert (given.lang, given.host, given.port, given.open_browser) == (
        "en_US", "127.0.0.1", 9000, True)
    api = parser.parse_args(["--workspace", str(tmp_path), "--api"])
    webui.apply_saved_settings(api)
    assert not api.port_given   # --api keeps its own port unless --port is given


def test_a_saved_models_folder_is_used_by_every_opening_of_the_workspace(tmp_path):
    install = tmp_path / "GPT-SoVITS" / "GPT_SoVITS" / "pretrained_models"
    install.mkdir(parents=True)
    workspace = tmp_path / "ws"
    assert open_workspace(workspace).pretrained_dir == workspace / "GPT_SoVITS" / \
        "pretrained_models"
    save_settings(workspace, LaunchSettings(models_dir="../GPT-SoVITS/GPT_SoVITS/"
                                                       "pretrained_models",
                                            hub_endpoint="https://mirror.example.org"))
    opened = open_workspace(workspace)
    assert opened.pretrained_dir == install and opened.root == workspace
    assert load_settings(workspace)[0].hub_endpoint == "https://mirror.example.org"
    install.rmdir()  # the drive is gone: the workspace's own folder, and the start says why
    assert open_workspace(workspace).pretrained_dir == workspace / "GPT_SoVITS" / \
        "pretrained_models"
    assert "not a folder" in load_settings(workspace)[1][0]


def test_a_training_config_opens_its_workspace_once(tmp_path):
    from gsv_core.train.config import TrainConfig

    install = tmp_path / "install"
    install.mkdir()
    fields = dict(kind="sovits", experiment="voice", epochs=1, batch_size=1, save_every=1)
    config = TrainConfig(workspace=str(tmp_path / "ws"), **fields)
    first = config.space
    save_settings(tmp_path / "ws", LaunchSettings(models_dir=str(install)))
    assert config.space is first  # settings saved mid-run do not move the run's models
    assert TrainConfig(workspace=str(tmp_path / "ws"),
                       **fields).space.pretrained_dir == install
