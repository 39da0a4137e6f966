"""Build the API for a workspace and run it: alone under uvicorn, or on the UI's server.

``gsv-studio api`` and ``webui.py --api`` serve it alone (port 9880 by default, as upstream's
``api_v2.py``); the web UI puts the same routes on its own server (``app_kwargs={"routes":
...}`` of Gradio's launch), so ``/tts`` answers on the UI's port too.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_core.api.paths import PathPolicy
from gsv_core.api.routes import CONTROL_COMMANDS, add_api_routes, api_router
from gsv_core.api.service import SpeechEngine, TtsService
from gsv_core.infer.lazy import LazyEngine
from gsv_core.workspace import Workspace

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.middleware import Middleware
    from starlette.routing import BaseRoute


__all__ = [
    "API_PORT",
    "LazyEngine",
    "ServerLifecycle",
    "api_routes",
    "create_app",
    "guard_middleware",
    "load_default_weights",
    "load_engine",
    "make_service",
    "serve",
]

log = logging.getLogger(__name__)

API_PORT = 9880  # upstream api_v2.py's default, so its clients find us unchanged


@dataclass
class ServerLifecycle:
    """What ``/control`` does: ``exit`` stops the server, ``restart`` stops it and starts this
    program again with the same command line (as upstream's re-exec). ``stop`` is set by
    whoever runs the server; it is called from a thread of its own, never the server's."""

    stop: Callable[[], None] | None = None
    command: str | None = field(default=None, init=False)

    def __call__(self, command: str) -> None:
        if command not in CONTROL_COMMANDS or self.stop is None:
            return
        self.command = command
        log.info("/control: %s", command)
        threading.Thread(target=self.stop, name="gsv-api-control", daemon=True).start()

    def finish(self) -> None:
        """After the server has stopped: start again when a restart was asked for."""
        if self.command == "restart":
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def load_engine(workspace: Workspace, *, gpt: Path | None = None, sovits: Path | None = None,
                device: str | None = None, bert_dir: Path | None = None,
                hubert_dir: Path | None = None) -> SpeechEngine:
    """An inference engine with ``gpt``/``sovits`` loaded, or the workspace's official
    pretrained files when they are not given (none when those are absent either: the client
    then loads weights with ``/set_gpt_weights`` and ``/set_sovits_weights``)."""
    from gsv_core.infer.engine import InferenceEngine

    engine = InferenceEngine(workspace, device=device, bert_dir=bert_dir, hubert_dir=hubert_dir)
    return load_default_weights(engine, workspace, gpt=gpt, sovits=sovits)


def load_default_weights(engine: SpeechEngine, workspace: Workspace, *, gpt: Path | None = None,
                         sovits: Path | None = None) -> SpeechEngine:
    """Load ``gpt``/``sovits``, else the workspace's official files, where the engine has none
    loaded yet (an engine the UI already uses keeps its weights), as upstream's API starts
    with its default weights."""
    from gsv_core.models.registry import inference_models

    found = inference_models(workspace)
    for wanted, loaded, load in (
            (gpt or found.official_gpt, engine.gpt_path, engine.load_gpt),
            (sovits or found.official_sovits, engine.sovits_path, engine.load_sovits)):
        if wanted is not None and loaded is None:
            load(wanted)
    return engine


def make_service(engine: SpeechEngine, workspace: Workspace, *,
                 login: tuple[str, str] | None = None,
                 model_folders: Sequence[Path | None] = (),
                 lifecycle: ServerLifecycle | None = None) -> TtsService:
    """The API's service. Paths may name the workspace and ``model_folders`` (the BERT/HuBERT
    folders and the folders of weights given on the command line)."""
    return TtsService(engine, PathPolicy.of(workspace.root, model_folders), login=login,
                      control=lifecycle)


def api_routes(service: TtsService) -> list[BaseRoute]:
    """The routes to put on another app (the UI's Gradio server)."""
    return list(api_router(service).routes)


def guard_middleware(routes: Sequence[BaseRoute]) -> list[Middleware]:
    """The login rate limit and the body-size limit of ``routes``' paths (``limits``), for
    a FastAPI or Gradio app's ``middleware``."""
    from starlette.middleware import Middleware

    from gsv_core.api.limits import BodyLimit, LoginLimiter

    paths = [path for route in routes if (path := getattr(route, "path", None))]
    return [Middleware(LoginLimiter), Middleware(BodyLimit, paths=paths)]


def create_app(service: TtsService) -> FastAPI:
    """The standalone API app: the routes, ``/`` naming them, and FastAPI's ``/docs``."""
    from fastapi import FastAPI

    app = FastAPI(title="GSV Studio API",
                  description="Text to speech, compatible with GPT-SoVITS api_v2.py.",
                  middleware=guard_middleware(api_routes(service)))

    @app.get("/")
    async def index() -> dict[str, object]:
        return {"message": "GSV Studio API, compatible with GPT-SoVITS api_v2",
                "endpoints": ["/tts", "/set_gpt_weights", "/set_sovits_weights",
                              "/set_refer_audio", "/control"],
                "docs": "/docs"}

    add_api_routes(app, service)
    return app


def serve(app: FastAPI, host: str, port: int, lifecycle: ServerLifecycle | None = None) -> None:
    """Run ``app`` until interrupted or stopped through ``/control``."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info"))
    if lifecycle is not None:
        lifecycle.stop = lambda: setattr(server, "should_exit", True)
    server.run()
    if lifecycle is not None:
        lifecycle.finish()
