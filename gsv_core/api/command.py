"""``gsv-studio api`` and ``webui.py --api``: the HTTP API alone, on port 9880 by default.

The login rules are the UI's (``webui.resolve_auth``): an address other computers can reach
never serves without a login, and a generated one is printed once. ``--gpt``/``--sovits``
choose the weights loaded at start (default: the workspace's official pretrained files);
clients switch them later with ``/set_gpt_weights`` and ``/set_sovits_weights``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gsv_core.api.server import API_PORT, ServerLifecycle, create_app, load_engine, make_service
from gsv_core.errors import GsvError
from gsv_core.settings import open_workspace

__all__ = ["build_parser", "main", "run_api"]

EXIT_OK, EXIT_USAGE = 0, 2


def run_api(workspace: Path, host: str, port: int, login: tuple[str, str] | None, *,
            gpt: Path | None = None, sovits: Path | None = None,
            device: str | None = None) -> int:
    """Load the models, then serve until stopped (Ctrl+C, or ``/control`` with a login)."""
    from gsv_core.api.server import serve

    space = open_workspace(workspace)
    engine = load_engine(space, gpt=gpt, sovits=sovits, device=device)
    lifecycle = ServerLifecycle()
    folders = [space.pretrained_dir, engine.bert_dir,  # type: ignore[attr-defined]
               engine.hubert_dir,  # type: ignore[attr-defined]
               *(p.parent for p in (gpt, sovits) if p is not None)]
    service = make_service(engine, space, login=login, model_folders=folders,
                           lifecycle=lifecycle)
    print(f"GSV Studio API on http://{host}:{port} (workspace {space.root})", flush=True)
    serve(create_app(service), host, port, lifecycle)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    import webui

    parser = argparse.ArgumentParser(
        prog="gsv-studio api",
        description="Serve the HTTP API compatible with GPT-SoVITS api_v2.py (no UI).")
    parser.add_argument("--host", default=webui.DEFAULT_HOST,
                        help=f"address to listen on (default {webui.DEFAULT_HOST}); any other "
                             "address requires a login")
    parser.add_argument("--port", type=int, default=API_PORT,
                        help=f"port (default {API_PORT}, as upstream's api_v2.py)")
    parser.add_argument("--auth", metavar="USER:PASSWORD",
                        help="require this login (HTTP Basic); also enables /control")
    parser.add_argument("--workspace", type=Path, default=Path.cwd(),
                        help="folder with the models and reference clips; relative paths in "
                             "requests start here (default: the current folder)")
    parser.add_argument("--gpt", type=Path, help="GPT weights to load at start")
    parser.add_argument("--sovits", type=Path, help="SoVITS weights to load at start")
    parser.add_argument("--device", help="cpu, cuda:0, mps… (default: the best one here)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import webui

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        login = webui.parse_auth(args.auth)
        for option, path in (("--gpt", args.gpt), ("--sovits", args.sovits)):
            if path is not None and not path.is_file():
                raise ValueError(f"{option}: {path} is not a file")
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"gsv-studio api: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    login, generated = webui.resolve_auth(False, login, args.host)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        port = webui.pick_port(args.host, args.port)
        if port != args.port:
            print(f"Port {args.port} is in use; the API uses port {port} instead.", flush=True)
        if generated:
            print(webui.login_notice(login, False, args.host), flush=True)
        return run_api(args.workspace, args.host, port, login, gpt=args.gpt,
                       sovits=args.sovits, device=args.device)
    except GsvError as exc:
        print(f"gsv-studio api: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
