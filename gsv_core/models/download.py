"""Fetch missing pretrained files from the hub, only when the user asks for it.

Files land in the workspace's pretrained-models folder under their repository paths
(``registry``), which is where GPT-SoVITS looks. The download itself is
``huggingface_hub.hf_hub_download``: it writes each file under a temporary name and moves it
in place when complete, and picks up a connection that drops mid-file where it was cut. Its
byte counts reach the caller through the progress-bar class it accepts; the same class ends
the download between two chunks when the user presses stop. Files finished before a stop or
a failure stay; the file in hand is fetched again from its start next time (huggingface_hub
2.x keeps no partial file between calls).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gsv_core.errors import GsvError, ModelMissing
from gsv_core.models.registry import HF_REPO, V2_PRETRAINED, pretrained_model, status_of
from gsv_core.workspace import Workspace

__all__ = ["ByteProgress", "DownloadRun", "DownloadStopped", "download_missing"]

log = logging.getLogger(__name__)

# (repository path, bytes so far, the file's size or None when the hub did not say)
ByteProgress = Callable[[str, int, "int | None"], None]


class DownloadStopped(GsvError):
    """The user stopped the download; the files finished before it stay."""

    def __init__(self, message: str, advice: str = "", *, repo_path: str = "") -> None:
        super().__init__(message, advice)
        self.repo_path = repo_path  # the file that was not complete


def download_missing(workspace: Workspace, keys: Sequence[str] | None = None,
                     on_file: Callable[[str], None] | None = None, *,
                     on_bytes: ByteProgress | None = None,
                     should_stop: Callable[[], bool] | None = None,
                     endpoint: str | None = None) -> list[Path]:
    """Fetch the missing files of the given pretrained models (all when None).

    ``on_file`` is told each repository path before its download starts, ``on_bytes`` the
    bytes received as they come; ``should_stop`` is asked between chunks. ``endpoint`` is
    the hub's address (None: huggingface_hub's default, which honours ``HF_ENDPOINT``).
    Returns the paths written.

    Raises:
        ModelMissing: a download failed (offline, file not on the hub); it names the file,
            and what was fetched before stays in place.
        DownloadStopped: ``should_stop`` said so.
    """
    from huggingface_hub import hf_hub_download  # imported lazily: only a download needs it
    from huggingface_hub.errors import EntryNotFoundError

    wanted = V2_PRETRAINED if keys is None else tuple(pretrained_model(k) for k in keys)
    base = workspace.pretrained_dir
    written: list[Path] = []
    for model in wanted:
        for missing in status_of(workspace, model).missing:
            repo_path = missing.relative_to(base).as_posix()
            if should_stop is not None and should_stop():
                raise _stopped(repo_path)
            if on_file is not None:
                on_file(repo_path)
            log.info("downloading %s from %s", repo_path, endpoint or HF_REPO)
            bar = _reporting_bar(repo_path, on_bytes, should_stop)
            try:
                local = hf_hub_download(repo_id=HF_REPO, filename=repo_path, local_dir=base,
                                        endpoint=endpoint, tqdm_class=bar)
            except (OSError, EntryNotFoundError) as exc:  # a stop (DownloadStopped) goes up
                where = endpoint or "the Hugging Face hub"
                raise ModelMissing(
                    f"Could not download {repo_path} from {HF_REPO} ({where}).",
                    "Check the internet connection and try again (the files already "
                    "downloaded are kept), set a mirror as the download address in the "
                    f"Settings tab, or copy the file by hand to {missing}.",
                    expected_paths=(str(missing),),
                    details=repr(exc),
                ) from exc
            written.append(Path(local))
    return written


def _stopped(repo_path: str) -> DownloadStopped:
    return DownloadStopped(f"The download was stopped before {repo_path} was complete.",
                           "Press download again to go on; the finished files are kept.",
                           repo_path=repo_path)


def _reporting_bar(repo_path: str, on_bytes: ByteProgress | None,
                   should_stop: Callable[[], bool] | None) -> type:
    """A tqdm class for ``hf_hub_download`` that reports bytes and can stop the download.

    Why a tqdm subclass: it is the hook huggingface_hub gives (``tqdm_class``) on both of its
    download paths (plain HTTP and Xet). It is always enabled (TQDM_DISABLE or a quiet
    huggingface_hub would otherwise stop the counting too) and prints nowhere.
    """
    from tqdm.auto import tqdm

    class ReportingBar(tqdm):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.update(disable=False, file=io.StringIO(), mininterval=0.5)
            super().__init__(*args, **kwargs)

        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            if on_bytes is not None:
                on_bytes(repo_path, int(self.n), int(self.total) if self.total else None)
            if should_stop is not None and should_stop():
                raise _stopped(repo_path)
            return shown

    return ReportingBar


class DownloadRun:
    """One download at a time for the app, and the flag its stop button sets.

    Why: the UI's download runs in a request thread and every browser session shares the
    models folder; two downloads of the same files at once would fetch them twice.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy = False
        self._stop = threading.Event()

    def begin(self) -> bool:
        """Take the run (False when another download holds it); clears an old stop."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
            self._stop.clear()
            return True

    def end(self) -> None:
        with self._lock:
            self._busy = False

    def stop(self) -> bool:
        """Ask the running download to stop; False when none runs."""
        with self._lock:
            if self._busy:
                self._stop.set()
            return self._busy

    def should_stop(self) -> bool:
        return self._stop.is_set()
