"""Model folders are checked before anything loads: a missing file is named with its folder,
and a hub id is fetched only when the user asks (the hub is replaced by a local stand-in)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gsv_core.dataset.asr_models import asr_models_dir, inspect_model_folder, resolve_model
from gsv_core.errors import ConfigError, ModelMissing
from gsv_core.workspace import Workspace

SENSEVOICE_YAML = ("model: SenseVoiceSmall\ntokenizer: SentencepiecesTokenizer\n"
                   "frontend: WavFrontend\nfrontend_conf: {fs: 16000}\n")
PARAFORMER_YAML = ("model: Paraformer\ntokenizer: CharTokenizer\nfrontend: WavFrontend\n"
                   "frontend_conf: {fs: 16000}\n")


def folder_with(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def whisper_folder(root: Path, skip: str = "") -> Path:
    names = ["model.bin", "config.json", "tokenizer.json", "vocabulary.json",
             "preprocessor_config.json"]
    return folder_with(root, {n: "{}" for n in names if n != skip})


def test_a_complete_sensevoice_folder_is_recognised(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "sv", {"config.yaml": SENSEVOICE_YAML, "model.pt": "",
                                           "am.mvn": "", "bpe.model": ""})
    found = inspect_model_folder(folder)
    assert (found.engine, found.kind, found.model_class) == ("funasr", "sensevoice",
                                                             "SenseVoiceSmall")


def test_missing_files_are_named_with_the_folder(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "sv", {"config.yaml": SENSEVOICE_YAML, "am.mvn": ""})
    with pytest.raises(ModelMissing) as caught:
        inspect_model_folder(folder)
    assert str(folder) in caught.value.message
    assert "model.pt, bpe.model are missing" in caught.value.message
    assert caught.value.expected_paths == (str(folder / "model.pt"), str(folder / "bpe.model"))


def test_the_modelscope_layout_is_checked_by_its_configuration_json(tmp_path: Path) -> None:
    metas = {"file_path_metas": {"init_param": "model.pt", "config": "config.yaml",
                                 "tokenizer_conf": {"bpemodel":
                                                    "chn_jpn_yue_eng_ko_spectok.bpe.model"},
                                 "frontend_conf": {"cmvn_file": "am.mvn"}}}
    folder = folder_with(tmp_path / "SenseVoiceSmall", {
        "config.yaml": SENSEVOICE_YAML, "configuration.json": json.dumps(metas),
        "model.pt": "", "am.mvn": ""})
    bpe = "chn_jpn_yue_eng_ko_spectok.bpe.model"
    with pytest.raises(ModelMissing, match=re.escape(f"{bpe} is missing")):
        inspect_model_folder(folder)
    (folder / bpe).write_text("")
    assert inspect_model_folder(folder).kind == "sensevoice"


def test_paraformer_needs_its_token_list(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "pf", {"config.yaml": PARAFORMER_YAML, "model.pt": "",
                                           "am.mvn": ""})
    with pytest.raises(ModelMissing, match=re.escape("tokens.json is missing")):
        inspect_model_folder(folder)
    (folder / "tokens.txt").write_text("<blank>\n")
    assert inspect_model_folder(folder, "funasr").kind == "paraformer"


def test_models_that_need_remote_code_are_refused(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "nano", {"config.yaml": "model: FunASRNano\n"})
    with pytest.raises(ConfigError, match="trust_remote_code"):
        inspect_model_folder(folder)


def test_a_whisper_folder_without_its_tokenizer_is_refused(tmp_path: Path) -> None:
    assert inspect_model_folder(whisper_folder(tmp_path / "ok")).engine == "whisper"
    with pytest.raises(ModelMissing, match=re.escape("tokenizer.json is missing")) as caught:
        inspect_model_folder(whisper_folder(tmp_path / "w", skip="tokenizer.json"))
    assert "goes online" in caught.value.advice


def test_a_transformers_whisper_gets_the_conversion_command(tmp_path: Path) -> None:
    folder = folder_with(tmp_path / "hf", {"config.json": '{"model_type": "whisper"}',
                                           "model.safetensors": ""})
    with pytest.raises(ModelMissing, match="CTranslate2") as caught:
        inspect_model_folder(folder)
    assert "ct2-transformers-converter --model" in caught.value.advice


def test_the_engine_must_match_the_folder(tmp_path: Path) -> None:
    whisper = whisper_folder(tmp_path / "w")
    with pytest.raises(ConfigError, match="engine whisper"):
        inspect_model_folder(whisper, "funasr")
    funasr = folder_with(tmp_path / "sv", {"config.yaml": SENSEVOICE_YAML})
    with pytest.raises(ConfigError, match="engine funasr"):
        inspect_model_folder(funasr, "whisper")


def test_no_folder_or_an_unrelated_one_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="does not exist"):
        inspect_model_folder(tmp_path / "nowhere")
    with pytest.raises(ModelMissing, match=re.escape("neither config.yaml")):
        inspect_model_folder(folder_with(tmp_path / "other", {"readme.txt": ""}))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``snapshot_download`` replaced by a copy of a local faster-whisper folder (no network)."""
    import huggingface_hub

    source = whisper_folder(tmp_path / "hub" / "faster-whisper-tiny")
    calls: list[str] = []

    def fake_snapshot(repo_id: str, *, local_dir: Path, endpoint: str | None = None,
                      **_: object) -> str:
        calls.append(repo_id if endpoint is None else f"{endpoint} {repo_id}")
        if repo_id != "Systran/faster-whisper-tiny":
            raise huggingface_hub.errors.RepositoryNotFoundError(repo_id)
        for item in source.iterdir():
            (Path(local_dir) / item.name).write_bytes(item.read_bytes())
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot)
    return calls


def test_a_hub_id_is_downloaded_only_when_asked(tmp_path: Path, hub: list[str]) -> None:
    workspace = Workspace(tmp_path / "ws")
    with pytest.raises(ModelMissing, match="allow the download"):
        resolve_model("Systran/faster-whisper-tiny", workspace)
    assert hub == []
    found = resolve_model("Systran/faster-whisper-tiny", workspace, download=True)
    assert found.path == asr_models_dir(workspace) / "faster-whisper-tiny"
    assert found.engine == "whisper" and hub == ["Systran/faster-whisper-tiny"]
    # downloaded before: used as it is, without asking the hub again
    assert resolve_model("Systran/faster-whisper-tiny", workspace).path == found.path
    assert hub == ["Systran/faster-whisper-tiny"]


def test_the_download_address_of_the_settings_is_used(tmp_path: Path, hub: list[str]) -> None:
    from gsv_core.settings import LaunchSettings, save_settings

    workspace = Workspace(tmp_path / "ws")
    save_settings(workspace.root, LaunchSettings(hub_endpoint="https://mirror.example.org"))
    resolve_model("Systran/faster-whisper-tiny", workspace, download=True)
    assert hub == ["https://mirror.example.org Systran/faster-whisper-tiny"]


def test_a_failed_download_says_what_to_do(tmp_path: Path, hub: list[str]) -> None:
    with pytest.raises(ModelMissing, match="Downloading 'nobody/nothing'") as caught:
        resolve_model("nobody/nothing", Workspace(tmp_path / "ws"), download=True)
    assert "download the folder yourself" in caught.value.advice


def test_helper_folders_are_checked_for_their_own_kind(tmp_path: Path) -> None:
    from gsv_core.dataset.asr_models import inspect_helper_folder

    vad = folder_with(tmp_path / "vad", {"config.yaml": "model: FsmnVADStreaming\n"
                                         "frontend_conf: {fs: 16000}\n", "model.pt": ""})
    with pytest.raises(ModelMissing, match=re.escape("am.mvn is missing")):
        inspect_helper_folder(vad, "vad")
    (vad / "am.mvn").write_text("")
    assert inspect_helper_folder(vad, "vad").kind == "vad"
    with pytest.raises(ConfigError, match="not a CT-Transformer punctuation model"):
        inspect_helper_folder(vad, "punctuation")
    with pytest.raises(ConfigError, match="transcribes with SenseVoiceSmall"):
        inspect_model_folder(vad)
    with pytest.raises(ModelMissing, match="does not exist"):
        inspect_helper_folder(tmp_path / "none", "punctuation")


def test_a_whisper_size_names_its_hub_model_and_the_tab_lists_downloaded_ones(
        tmp_path: Path, hub: list[str]) -> None:
    from gsv_core.dataset.asr_models import RECOMMENDED
    from gsv_core.dataset.asr_ui import model_choices

    workspace = Workspace(tmp_path / "ws")
    assert model_choices(workspace) == list(RECOMMENDED)
    found = resolve_model("tiny", workspace, download=True)
    assert hub == ["Systran/faster-whisper-tiny"]
    assert found.path == asr_models_dir(workspace) / "faster-whisper-tiny"
    (asr_models_dir(workspace) / "half-copied").mkdir()   # incomplete: not offered
    assert model_choices(workspace) == [str(found.path), *RECOMMENDED]
