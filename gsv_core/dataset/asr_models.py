"""Find and check an ASR model folder before anything is loaded (or download one, when asked).

A folder that is missing a file makes funasr try ModelScope and fail with a misleading
"not registered" error, and makes faster-whisper fetch ``openai/whisper-tiny``'s tokenizer
from the hub (upstream issues #2365, #970). So the folder is read here first, and a
``ModelMissing`` names the folder and each file it lacks:

- **whisper** (a CTranslate2 conversion, e.g. ``Systran/faster-whisper-large-v3``):
  ``model.bin``, ``config.json``, ``tokenizer.json`` and ``vocabulary.json`` (or ``.txt``).
  A transformers Whisper folder (``model.safetensors``) is recognised and the conversion
  command is given.
- **funasr**: ``config.yaml`` naming the model class, plus the files it reads: those listed
  in ``configuration.json``'s ``file_path_metas`` when present (the ModelScope layout), else
  ``model.pt``, ``am.mvn`` and the tokenizer (``bpe.model`` for SenseVoice, ``tokens.json``
  or ``tokens.txt`` for Paraformer). Only SenseVoice and Paraformer models are accepted:
  others (Fun-ASR-Nano) need ``trust_remote_code``, which we never pass.

A hub id (``owner/name``, or a faster-whisper size such as ``large-v3``) is downloaded with
``huggingface_hub.snapshot_download`` into ``GPT_SoVITS/pretrained_models/asr/<name>`` only
when the caller says so; a complete folder already there is used without going online.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from gsv_core.errors import ConfigError, ModelMissing
from gsv_core.workspace import Workspace

__all__ = ["RECOMMENDED", "WHISPER_SIZES", "ModelFolder", "asr_models_dir", "download_model",
           "inspect_helper_folder", "inspect_model_folder", "read_funasr_config", "resolve_model"]

ModelKind = Literal["sensevoice", "paraformer", "whisper", "vad", "punctuation"]
Role = Literal["asr", "vad", "punctuation"]
Engine = Literal["funasr", "whisper"]
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# faster-whisper's size names and the CTranslate2 conversions they mean (faster_whisper/utils.py
# _MODELS), so "large-v3" works as a model name; English-only (*.en) sizes are left out.
WHISPER_SIZES = {
    "tiny": "Systran/faster-whisper-tiny", "base": "Systran/faster-whisper-base",
    "small": "Systran/faster-whisper-small", "medium": "Systran/faster-whisper-medium",
    "large-v2": "Systran/faster-whisper-large-v2", "large-v3": "Systran/faster-whisper-large-v3",
    "large-v3-turbo": "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
}
# What the tab offers besides the folders found: the models docs/asr.md describes.
RECOMMENDED = ("FunAudioLLM/SenseVoiceSmall", "funasr/paraformer-zh", "large-v3",
               "large-v3-turbo", "medium")
CT2_FILES = ("model.bin", "config.json", "tokenizer.json")
DOCS = "docs/asr.md"


@dataclass(frozen=True)
class ModelFolder:
    """A checked model folder: which engine reads it and what kind of model it holds."""

    path: Path
    engine: Engine
    kind: ModelKind
    model_class: str = ""   # funasr's class name from config.yaml


def asr_models_dir(workspace: Workspace) -> Path:
    """Where downloaded ASR models go (beside the other pretrained models)."""
    return workspace.pretrained_dir / "asr"


def _missing(path: Path, what: str, names: list[str], advice: str = "") -> ModelMissing:
    listed = ", ".join(names)
    return ModelMissing(
        f"The {what} folder {os.fspath(path)!r} is incomplete: {listed} "
        f"{'is' if len(names) == 1 else 'are'} missing.",
        advice or f"Download the whole model folder again (see {DOCS}); every file of it "
                  "is needed.", expected_paths=tuple(os.fspath(path / n) for n in names))


def _inspect_whisper(path: Path) -> ModelFolder:
    missing = [name for name in CT2_FILES if not (path / name).is_file()]
    if not any((path / name).is_file() for name in ("vocabulary.json", "vocabulary.txt")):
        missing.append("vocabulary.json")
    if missing:
        raise _missing(path, "faster-whisper model", missing,
                       "Download a CTranslate2 conversion (e.g. Systran/faster-whisper-"
                       "large-v3) with all its files; tokenizer.json is needed too, or "
                       f"faster-whisper goes online for it (see {DOCS}).")
    return ModelFolder(path, "whisper", "whisper")


def _is_transformers_whisper(path: Path) -> bool:
    config = path / "config.json"
    if not config.is_file() or (path / "model.bin").is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") == "whisper"
    except (OSError, ValueError, AttributeError):
        return False


def _meta_files(metas: object) -> list[str]:
    """The file names inside ``file_path_metas`` (values may nest one dict deep)."""
    if isinstance(metas, str):
        return [metas]
    if isinstance(metas, dict):
        return [name for value in metas.values() for name in _meta_files(value)]
    return []


def _funasr_kind(path: Path, model_class: str, role: Role) -> ModelKind:
    """What the folder's model class is, refused when it is not what ``role`` needs."""
    kind: ModelKind | None = None
    if "SenseVoice" in model_class:
        kind = "sensevoice"
    elif "Paraformer" in model_class:
        kind = "paraformer"
    elif "FsmnVAD" in model_class:
        kind = "vad"
    elif "CTTransformer" in model_class:
        kind = "punctuation"
    wanted = {"asr": ("sensevoice", "paraformer"), "vad": ("vad",),
              "punctuation": ("punctuation",)}[role]
    if kind in wanted:
        return kind  # type: ignore[return-value]
    if role == "asr":
        raise ConfigError(
            f"The model in {os.fspath(path)!r} is a {model_class or 'unnamed'} model; GSV "
            "Studio transcribes with SenseVoiceSmall or Paraformer-zh.",
            "Models such as Fun-ASR-Nano need funasr's trust_remote_code, which runs pip "
            f"from the model folder; use SenseVoiceSmall instead (see {DOCS}).")
    what = "an FSMN-VAD" if role == "vad" else "a CT-Transformer punctuation"
    raise ConfigError(f"The folder {os.fspath(path)!r} holds a {model_class or 'unnamed'} "
                      f"model, not {what} model.", f"Give {what} folder (see {DOCS}), or "
                      "leave it empty.")


def read_funasr_config(path: Path) -> dict:
    """A funasr folder's ``config.yaml`` as a dict (empty when it holds no mapping);
    ModelMissing when the file cannot be read. Shared by the ASR and emotion checks."""
    import yaml  # PyYAML comes with gradio and funasr; only this check needs it here

    try:
        config = yaml.safe_load((path / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ModelMissing(f"Cannot read {os.fspath(path / 'config.yaml')!r}.",
                           "Download the model folder again.", details=str(exc)) from exc
    return config if isinstance(config, dict) else {}


def _inspect_funasr(path: Path, role: Role = "asr") -> ModelFolder:
    config = read_funasr_config(path)
    model_class = str(config.get("model", ""))
    kind = _funasr_kind(path, model_class, role)
    metas_file = path / "configuration.json"
    needed: list[str] = []
    if metas_file.is_file():
        try:
            metas = json.loads(metas_file.read_text(encoding="utf-8")).get("file_path_metas")
        except (OSError, ValueError, AttributeError) as exc:
            raise ModelMissing(f"Cannot read {os.fspath(metas_file)!r}.",
                               "Download the model folder again.", details=str(exc)) from exc
        needed = _meta_files(metas)
    if not needed:
        needed = ["model.pt"]
        if isinstance(config.get("frontend_conf"), dict):
            needed.append("am.mvn")
        tokenizer = str(config.get("tokenizer", ""))
        if tokenizer == "SentencepiecesTokenizer":
            needed.append("bpe.model")
        elif tokenizer == "CharTokenizer" and not (path / "tokens.txt").is_file():
            needed.append("tokens.json")
    missing = [name for name in dict.fromkeys(needed) if not (path / name).is_file()]
    if missing:
        raise _missing(path, f"{model_class} model", missing)
    return ModelFolder(path, "funasr", kind, model_class)


def inspect_model_folder(path: str | os.PathLike[str],
                         engine: Engine | None = None) -> ModelFolder:
    """Check that ``path`` holds an ASR model ``engine`` (None: whichever fits) can load.

    Raises:
        ModelMissing: no such folder, or files are missing (each named).
        ConfigError: the folder holds a model of the other engine or of an unsupported kind.
    """
    folder = Path(os.path.abspath(Path(path).expanduser()))
    if not folder.is_dir():
        raise ModelMissing(f"The ASR model folder {os.fspath(folder)!r} does not exist.",
                           f"Give the folder you downloaded the model into (see {DOCS}).",
                           expected_paths=(os.fspath(folder),))
    is_funasr = (folder / "config.yaml").is_file()
    is_ct2 = (folder / "model.bin").is_file()
    if engine is None:
        if _is_transformers_whisper(folder):
            raise ModelMissing(
                f"{os.fspath(folder)!r} holds a transformers Whisper model; faster-whisper "
                "reads CTranslate2 conversions.",
                f"Convert it once: ct2-transformers-converter --model {folder} --output_dir "
                f"{folder}-ct2 --copy_files tokenizer.json preprocessor_config.json "
                "--quantization float16, then give the new folder.")
        if is_funasr:
            return _inspect_funasr(folder)
        if is_ct2 or (folder / "config.json").is_file():
            return _inspect_whisper(folder)
        raise ModelMissing(
            f"{os.fspath(folder)!r} is not an ASR model folder: it has neither config.yaml "
            "(funasr) nor model.bin (faster-whisper).",
            f"Give the folder that holds the model's files (see {DOCS}).",
            expected_paths=(os.fspath(folder / "config.yaml"), os.fspath(folder / "model.bin")))
    if engine == "whisper":
        if is_funasr and not is_ct2:
            raise ConfigError(f"{os.fspath(folder)!r} holds a funasr model, not a "
                              "faster-whisper one.", "Choose engine funasr for it.")
        return _inspect_whisper(folder)
    if is_ct2 and not is_funasr:
        raise ConfigError(f"{os.fspath(folder)!r} holds a faster-whisper model, not a funasr "
                          "one.", "Choose engine whisper for it.")
    if not is_funasr:
        raise _missing(folder, "funasr model", ["config.yaml"])
    return _inspect_funasr(folder)


def inspect_helper_folder(path: str | os.PathLike[str], role: Role) -> ModelFolder:
    """Check a funasr VAD (``role="vad"``) or punctuation folder given beside Paraformer.

    Raises:
        ModelMissing: no such folder, or files are missing (each named).
        ConfigError: it holds another kind of model.
    """
    folder = Path(os.path.abspath(Path(path).expanduser()))
    if not folder.is_dir():
        raise ModelMissing(f"The {role} model folder {os.fspath(folder)!r} does not exist.",
                           f"Give the folder you downloaded it into, or leave it empty (see "
                           f"{DOCS}).", expected_paths=(os.fspath(folder),))
    if not (folder / "config.yaml").is_file():
        raise _missing(folder, f"funasr {role} model", ["config.yaml"])
    return _inspect_funasr(folder, role)


def download_model(repo_id: str, target: Path, endpoint: str | None = None) -> Path:
    """Download the hub repository ``repo_id`` into ``target`` (the user asked for it), from
    ``endpoint`` (the Settings tab's download address; None: huggingface_hub's default).

    Raises:
        ModelMissing: the download failed (offline, no such repository); the reason is in
            ``details``.
    """
    from huggingface_hub import snapshot_download  # only a download needs it

    target.mkdir(parents=True, exist_ok=True)
    try:
        return Path(snapshot_download(repo_id=repo_id, local_dir=target, endpoint=endpoint))
    except Exception as exc:  # hub errors, OSError, offline mode: all mean "not downloaded"
        where = endpoint or "the Hugging Face hub"
        raise ModelMissing(f"Downloading {repo_id!r} from {where} failed.",
                           "Check the id and the internet connection, or download the folder "
                           f"yourself and give its path (see {DOCS}).",
                           expected_paths=(os.fspath(target),), details=repr(exc)) from exc


def resolve_model(model: str, workspace: Workspace, *, engine: Engine | None = None,
                  download: bool = False) -> ModelFolder:
    """The checked model folder named by ``model``: a folder, a hub id, or a faster-whisper
    size (``large-v3``: ``Systran/faster-whisper-large-v3``).

    A hub id is looked for in ``asr_models_dir`` first; it is downloaded there only with
    ``download`` (else the error says how to ask for it).
    """
    text = model.strip()
    path = Path(text).expanduser()
    if not path.is_dir() and text in WHISPER_SIZES:
        text = WHISPER_SIZES[text]
    if path.is_dir() or not HUB_ID.match(text):
        return inspect_model_folder(path, engine)
    target = asr_models_dir(workspace) / text.split("/")[1]
    if target.is_dir():
        try:
            return inspect_model_folder(target, engine)
        except ModelMissing:
            if not download:
                raise
    if not download:
        raise ModelMissing(f"{text!r} is neither a folder nor a model downloaded before "
                           f"(looked in {os.fspath(target)!r}).",
                           "Give the model's folder, or allow the download to fetch this hub "
                           "id from huggingface.co.", expected_paths=(os.fspath(target),))
    from gsv_core.settings import load_settings

    endpoint = load_settings(workspace.root)[0].hub_endpoint or None  # the Settings tab's
    return inspect_model_folder(download_model(text, target, endpoint), engine)
