"""A stand-in for the Hugging Face hub on loopback: the real hub cannot be reached in tests.

``FakeHub`` answers the two requests ``huggingface_hub.hf_hub_download`` makes for a file of
a model repository — ``HEAD`` and ``GET .../<repo>/resolve/main/<path>`` with the headers the
hub sends (commit, ETag, size; ``X-Error-Code: EntryNotFound`` for a missing file; ``Range``
for a resumed file) — so the product's download code runs for real, progress bar included.
Only the hub is replaced; huggingface_hub's offline switch (set for every test) is lifted for
the test that uses it, and the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from gsv_core.models.registry import HF_REPO

V2 = "gsv-v2final-pretrained"
HUB_FILES = [
    f"{V2}/s2G2333k.pth", f"{V2}/s2D2333k.pth",
    f"{V2}/s1bert25hz-5kh-longer-epoch=12-step=369668.ckpt",
    "chinese-roberta-wwm-ext-large/config.json", "chinese-roberta-wwm-ext-large/tokenizer.json",
    "chinese-roberta-wwm-ext-large/pytorch_model.bin",
    "chinese-hubert-base/config.json", "chinese-hubert-base/preprocessor_config.json",
    "chinese-hubert-base/pytorch_model.bin",
]
COMMIT = "0123456789abcdef0123456789abcdef01234567"
CHUNK = 4096  # bytes the server writes at a time (a file of several chunks shows progress)


@dataclass
class FakeHub:
    """Serves the files under ``folder`` as the repository :data:`HF_REPO`."""

    folder: Path
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, repo path)
    ranges: list[int] = field(default_factory=list)  # the first byte asked for, per GET
    # Set to drop the next GET's connection after this many bytes (a flaky link), once.
    cut_once_after: int | None = None
    # Set to answer every GET with this HTTP status (a hub that is down).
    fail_status: int | None = None
    # Set by the test to hold every GET after its first chunk until released (a slow link).
    hold: threading.Event | None = None
    endpoint: str = ""

    def file(self, repo_path: str, content: bytes) -> None:
        target = self.folder / repo_path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)

    def gets(self) -> list[str]:
        return [path for method, path in self.requests if method == "GET"]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    prefix = f"/{HF_REPO}/resolve/main/"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # quiet test output
            pass

        def _file(self) -> tuple[str, bytes | None]:
            path = unquote(self.path.split("?")[0])
            repo_path = path[len(prefix):] if path.startswith(prefix) else ""
            hub.requests.append((self.command, repo_path))
            source = hub.folder / repo_path
            return repo_path, source.read_bytes() if repo_path and source.is_file() else None

        def _headers(self, content: bytes | None, start: int = 0) -> None:
            if content is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("X-Error-Message", "Entry not found")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", COMMIT)
            self.send_header("ETag", f'"{hashlib.sha256(content).hexdigest()}"')
            self.send_header("Content-Length", str(len(content) - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(content) - 1}/"
                                                  f"{len(content)}")
            self.end_headers()

        def do_HEAD(self) -> None:
            self._headers(self._file()[1])

        def do_GET(self) -> None:
            _, content = self._file()
            if hub.fail_status is not None:
                self.send_response(hub.fail_status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            wanted = self.headers.get("Range", "")
            start = int(wanted[6:].split("-")[0]) if wanted.startswith("bytes=") else 0
            hub.ranges.append(start)
            self._headers(content, start)
            if content is None:
                return
            cut, hub.cut_once_after = hub.cut_once_after, None
            sent = 0
            for first in range(start, len(content), CHUNK):
                if cut is not None and sent >= cut:
                    self.close_connection = True
                    return  # the connection drops mid-file
                self.wfile.write(content[first:first + CHUNK])
                self.wfile.flush()
                sent += CHUNK
                if hub.hold is not None:
                    hub.hold.wait(timeout=30)

    return Handler


def serve_fake_hub(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """Run ``hub`` on a free loopback port for one test; ``hub.endpoint`` is its address."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    # huggingface_hub reads 10 MB at a time; files of a few chunks then arrive in steps, as
    # real model files of hundreds of MB do.
    monkeypatch.setattr(huggingface_hub.constants, "DOWNLOAD_CHUNK_SIZE", CHUNK)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield hub
    finally:
        if hub.hold is not None:
            hub.hold.set()
        server.shutdown()
        server.server_close()


def standard_hub(folder: Path) -> FakeHub:
    """The files of :data:`HUB_FILES`, each a few chunks long (so progress has steps)."""
    hub = FakeHub(folder)
    for index, name in enumerate(HUB_FILES):
        hub.file(name, (f"content of {name} ".encode() * 600)[:3 * CHUNK + index])
    return hub
