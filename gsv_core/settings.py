"""Launch settings saved in the workspace (``settings.json``): what the next start uses where
the command line does not say (issue 13). Command-line options always win.

The Settings tab writes the file, atomically; keys this version does not know are kept when
it saves (a newer version's settings survive a run of an older one). A file that cannot be
read, or a value of the wrong kind, is reported with the file, line or key and what to do,
and the default is used for it; the file itself is left as it is (nothing the user wrote is
lost or overwritten until they save from the tab).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gsv_core.atomic_write import write_atomically
from gsv_core.i18n import available_languages

if TYPE_CHECKING:
    from gsv_core.workspace import Workspace

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "SETTINGS_FILE", "THEMES", "TRAIN_PRECISIONS",
           "LaunchSettings", "load_settings", "open_workspace", "save_settings",
           "setting_problem", "settings_path"]

SETTINGS_FILE = "settings.json"
DEFAULT_HOST = "127.0.0.1"   # this computer only
# Not one of GPT-SoVITS's own ports (config.py at 48b1a01: 9871 proofreading, 9872 inference,
# 9873 UVR5, 9874 main web UI; 9880 its API), so both run side by side, and outside Gradio's
# own 7860-7959 range, which other Gradio apps take when they are given no port.
DEFAULT_PORT = 9890
# The page's colours: as the browser's system setting says, or always light, or always dark
# (a ``?__theme=`` in the address still wins, as Gradio documents).
THEMES = ("system", "light", "dark")
# Mixed precision for the next trainings on an NVIDIA GPU ("auto": bf16 where the card has
# it, else fp16); the CPU always trains in fp32. Read when a training starts, not at launch.
TRAIN_PRECISIONS = ("auto", "bf16", "fp16", "fp32")


@dataclass(frozen=True)
class LaunchSettings:
    """What ``webui.py`` starts with when neither the command line nor the file says, and
    the preferences the tabs read (the colours at launch, the precision at each training)."""

    lang: str = "en_US"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    open_browser: bool = True
    theme: str = "system"
    train_precision: str = "auto"
    # The pretrained-models folder ("" = the workspace's GPT_SoVITS/pretrained_models), e.g.
    # an existing GPT-SoVITS install's; relative paths are taken from the workspace.
    models_dir: str = ""
    # Where the model download fetches from ("" = huggingface_hub's own default: the
    # HF_ENDPOINT variable, else the Hugging Face hub); a mirror for those who cannot reach it.
    hub_endpoint: str = ""


_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


def settings_path(workspace_root: str | os.PathLike[str]) -> Path:
    return Path(workspace_root) / SETTINGS_FILE


def setting_problem(name: str, value: object, root: Path) -> str | None:
    """Why ``value`` cannot be ``name``'s setting in the workspace ``root`` (None when it
    can)."""
    if name in ("models_dir", "hub_endpoint") and not isinstance(value, str):
        return f"is {value!r}, not text"
    if name == "lang":
        languages = available_languages()
        if value not in languages:
            return f"is {value!r}, not one of {', '.join(languages)}"
    elif name == "host":
        if not isinstance(value, str) or not value.strip():
            return f"is {value!r}, not an address (e.g. 127.0.0.1)"
    elif name == "port":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
            return f"is {value!r}, not a port number (1-65535)"
    elif name == "open_browser" and not isinstance(value, bool):
        return f"is {value!r}, not true or false"
    elif name == "theme" and value not in THEMES:
        return f"is {value!r}, not one of {', '.join(THEMES)}"
    elif name == "train_precision" and value not in TRAIN_PRECISIONS:
        return f"is {value!r}, not one of {', '.join(TRAIN_PRECISIONS)}"
    elif name == "models_dir" and value and not _models_folder(root, str(value)).is_dir():
        return f"is {value!r}, which is not a folder (a moved or unplugged drive?)"
    elif name == "hub_endpoint" and value and not _URL.fullmatch(str(value)):
        return f"is {value!r}, not a web address such as https://example.org"
    return None


def _read_raw(path: Path) -> dict[str, Any]:
    """The file's object; raises ValueError (with where and what to do) when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} line {exc.lineno}: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: holds a {type(data).__name__}, not an object of settings")
    return data


def load_settings(workspace_root: str | os.PathLike[str]
                  ) -> tuple[LaunchSettings, tuple[str, ...]]:
    """The saved settings (the defaults where nothing is saved) and what was wrong with the
    file, each problem naming the file or key and what to do."""
    path = settings_path(workspace_root)
    defaults = LaunchSettings()
    if not path.is_file():
        return defaults, ()
    try:
        data = _read_raw(path)
    except (OSError, ValueError) as exc:
        return defaults, (f"{exc}. The saved settings are not used (the file is left as it "
                          "is); fix it, or save from the Settings tab to replace it.",)
    settings, problems = defaults, []
    for item in fields(LaunchSettings):
        if item.name not in data:
            continue
        value = data[item.name]
        why = setting_problem(item.name, value, Path(workspace_root))
        if why is None:
            settings = replace(settings, **{item.name: value})
        else:
            problems.append(f"{path}: {item.name!r} {why}; using {getattr(defaults, item.name)!r}."
                            " Fix it, or save from the Settings tab.")
    return settings, tuple(problems)


def save_settings(workspace_root: str | os.PathLike[str], settings: LaunchSettings) -> Path:
    """Write ``settings`` (each checked first; ValueError names a bad one), keeping the keys
    of the file this version does not know. Atomic: a crash leaves the old file or the new."""
    for item in fields(LaunchSettings):
        why = setting_problem(item.name, getattr(settings, item.name), Path(workspace_root))
        if why is not None:
            raise ValueError(f"Setting {item.name!r} {why}.")
    path = settings_path(workspace_root)
    try:
        kept = _read_raw(path) if path.is_file() else {}
    except (OSError, ValueError):
        kept = {}   # an unreadable file is replaced only by an explicit save, this one
    known = {item.name for item in fields(LaunchSettings)}
    data = {**{k: v for k, v in kept.items() if k not in known},
            **{item.name: getattr(settings, item.name) for item in fields(LaunchSettings)}}
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))
    return path


def _models_folder(root: Path, value: str) -> Path:
    """The folder a ``models_dir`` of ``value`` names, resolved as the workspace resolves it."""
    from gsv_core.workspace import Workspace

    return Workspace(root, models_dir=Path(value)).pretrained_dir


def open_workspace(root: str | os.PathLike[str]) -> Workspace:
    """The workspace at ``root`` with its saved pretrained-models folder (``models_dir``).

    Every entry point (the UI, the commands, the job children) opens its workspace through
    this, so a training or formatting child uses the models folder the user chose. A setting
    that is wrong is left out here; the UI's start reports it (:func:`load_settings`).
    """
    from gsv_core.workspace import Workspace

    saved, _ = load_settings(root)
    return Workspace(Path(root), models_dir=Path(saved.models_dir) if saved.models_dir else None)
