"""HTTP API compatible with GPT-SoVITS ``api_v2.py`` (48b1a01): ``/tts`` and its companions.

- ``params``: the ``/tts`` parameters with upstream's names, defaults and tolerance.
- ``paths``: which files a client may name (the workspace and the model folders).
- ``service``: one engine, one request at a time on the GPU, streaming with stop on disconnect.
- ``routes``: the endpoints and their upstream-shaped answers.
- ``server``: build the app for a workspace and run it (alone, or on the UI's server).
"""

from gsv_core.api.server import (
    API_PORT,
    LazyEngine,
    ServerLifecycle,
    api_routes,
    create_app,
    guard_middleware,
    load_default_weights,
    load_engine,
    make_service,
    serve,
)

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
