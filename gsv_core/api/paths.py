"""Which files an API client may name: paths inside the workspace and the model folders only.

Upstream's ``api_v2.py`` opens any path the client sends (a reference clip or weights
anywhere on the server's disk). Here a path is resolved the way upstream resolves it (a
relative path starts at the root: upstream's checkout, our workspace folder), then symbolic
links and ``..`` are resolved, and the result must lie inside one of the allowed folders.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gsv_core.errors import ConfigError

__all__ = ["PathPolicy"]


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


@dataclass(frozen=True)
class PathPolicy:
    """The workspace root (where relative paths start) and every folder a path may be in."""

    root: Path
    extra_folders: tuple[Path, ...] = ()

    @classmethod
    def of(cls, root: Path, extra_folders: Sequence[Path | None] = ()) -> PathPolicy:
        return cls(_real(root), tuple(_real(f) for f in extra_folders if f is not None))

    @property
    def folders(self) -> tuple[Path, ...]:
        return (self.root, *self.extra_folders)

    def resolve(self, text: str, field: str, *, must_exist: bool = True) -> Path:
        """The real path ``text`` names, if it lies in an allowed folder.

        Raises:
            ConfigError: the path is empty, outside every allowed folder, or (with
                ``must_exist``) not an existing file; the message names ``field``.
        """
        if not text or not text.strip():
            raise ConfigError(f"{field} is required", f"Send {field}.")
        candidate = Path(text.strip())
        real = _real(candidate if candidate.is_absolute() else self.root / candidate)
        if not any(real == folder or real.is_relative_to(folder) for folder in self.folders):
            raise ConfigError(
                f"{field}: {text} is outside the workspace and the model folders",
                "Put the file in the workspace folder (" + str(self.root) + ") and send its "
                "path relative to it.")
        if must_exist and not real.is_file():
            raise ConfigError(f"{field}: {text} is not a file (looked at {real})",
                              "Check the path; relative paths start at the workspace folder.")
        return real
