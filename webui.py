"""GSV Studio web UI: parse the command line, build the tabs, launch in the local browser.

Importing this module is cheap (no gradio, no torch): both load inside
``build_app``/``main`` so ``--help`` answers at once and tests can import it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib.abc
import importlib.machinery
import ipaddress
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gsv_core.settings import DEFAULT_HOST, DEFAULT_PORT  # light: neither torch nor gradio

if TYPE_CHECKING:
    import gradio as gr

    from gsv_core.api import ServerLifecycle
    from gsv_core.api.service import TtsService

log = logging.getLogger("gsv_studio")

PORT_TRIES = 100  # a busy --port falls back to the next free one among this many
EXIT_OK, EXIT_USAGE = 0, 2
LOGIN_USER = "gsv"  # the user name of a generated login
API_PORT = 9880  # upstream api_v2.py's port (gsv_core.api.API_PORT), for --api
CACHE_SWEEP_S = 3600  # how often Gradio's cache is swept of this app's old file copies
# The largest upload: an hour of 48 kHz 24-bit stereo is about 1 GB; anything above 2 GB is
# refused by Gradio before it is stored (a stranger with the share link cannot fill the disk).
MAX_UPLOAD = "2gb"
# Gradio's stub writer (module, function), which its component classes call at import
GRADIO_STUB_WRITER = ("gradio.component_meta", "create_or_modify_pyi")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio",
        description="GSV Studio: make a GPT-SoVITS v2 voice in your browser. "
                    "Run 'gsv-studio plan --help' for the headless training planner.")
    parser.add_argument("--host", default=None,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer only); "
                             "any other address requires a login (--auth, or a generated "
                             "password that is printed)")
    parser.add_argument("--port", type=_port_number, default=None, action=_GivenPort,
                        help=f"port to listen on (default {DEFAULT_PORT}, with --api "
                             f"{API_PORT}); when it is busy the next free port is used, and "
                             "printed")
    parser.add_argument("--share", action="store_true",
                        help="also make a public demo link; it always requires a login "
                             "(--auth, or a generated password that is printed)")
    parser.add_argument("--auth", metavar="USER:PASSWORD",
                        help="require this login (always on with --share)")
    parser.add_argument("--lang", default=None,
                        help="UI language: en_US, zh_CN or ja_JP (default en_US)")
    parser.add_argument("--workspace", type=Path, default=Path.cwd(),
                        help="folder for datasets, logs and weights, laid out as in GPT-SoVITS "
                             "(default: the current folder)")
    parser.add_argument("--inbrowser", dest="open_browser", action="store_const", const=True,
                        default=None, help="open the browser when the UI is ready (the "
                                           "default)")
    parser.add_argument("--no-browser", dest="open_browser", action="store_const", const=False,
                        help="do not open the browser when the UI is ready")
    parser.add_argument("--api", action="store_true",
                        help="serve only the HTTP API compatible with GPT-SoVITS api_v2.py "
                             f"(no UI; port {API_PORT} unless --port is given). Without "
                             "--api the UI serves the same API on its own port")
    parser.set_defaults(port_given=False)
    parser.epilog = ("Settings saved from the Settings tab (settings.json in the workspace) "
                     "give the defaults of --lang, --host, --port and the browser; an option "
                     "given here always wins.")
    return parser


def apply_saved_settings(args: argparse.Namespace) -> tuple[str, ...]:
    """Fill the options not given on the command line from the workspace's settings.json;
    returns what was wrong with that file (each naming the file or key and what to do)."""
    from gsv_core.settings import load_settings

    saved, problems = load_settings(args.workspace)
    if args.lang is None:
        args.lang = saved.lang
    if args.host is None:
        args.host = saved.host
    if args.port is None:   # --api keeps its own default port (API_PORT)
        args.port = saved.port
    if args.open_browser is None:
        args.open_browser = saved.open_browser
    return problems


class _GivenPort(argparse.Action):
    """Stores --port and notes that it was given, so --api can default to its own port."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.port_given = True


def _port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """'user:password' → (user, password); the password may itself contain ':'."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must be USER:PASSWORD, both non-empty")
    return user, password


def is_loopback(host: str) -> bool:
    """Whether only this computer can reach ``host`` (127.0.0.0/8, ::1, "localhost").

    Any other name or address, including 0.0.0.0 and names we cannot judge, counts as
    reachable from the network: the safe side when deciding whether a login is needed.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_auth(share: bool, auth: tuple[str, str] | None,
                 host: str = DEFAULT_HOST) -> tuple[tuple[str, str] | None, bool]:
    """A UI other computers can reach never runs without a login: a public link (``--share``)
    or a non-loopback ``--host``. A login is generated when none was given.

    Returns the credentials and whether they were generated (so they get printed).
    """
    if auth is not None or not (share or not is_loopback(host)):
        return auth, False
    return (LOGIN_USER, secrets.token_urlsafe(16)), True


def login_notice(auth: tuple[str, str], share: bool, host: str) -> str:
    """The block printed once at start-up with a generated login, hard to miss in a console."""
    reason = "--share makes a public link" if share else (
        f"--host {host} is reachable from other computers")
    rule = "=" * 64
    return (f"{rule}\n  Login required ({reason}).\n  user:     {auth[0]}\n"
            f"  password: {auth[1]}\n  This password is shown only now and changes at every "
            f"start;\n  pass --auth USER:PASSWORD to choose your own.\n{rule}")


def _port_is_free(host: str, port: int) -> bool:
    """Can a server bind ``host:port`` now? Bound the way uvicorn binds (SO_REUSEADDR on
    POSIX, so a port in TIME_WAIT after a restart counts as free, as it is for uvicorn)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name == "posix":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            # Windows says WSAEACCES for a port another program holds exclusively.
            busy = {errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", errno.EADDRINUSE),
                    getattr(errno, "WSAEACCES", errno.EADDRINUSE)}
            if exc.errno in busy:
                return False
            raise
    return True


def pick_port(host: str, wanted: int, tries: int = PORT_TRIES) -> int:
    """``wanted`` when it is free, else the next free port above it (up to ``tries`` ports).

    Another program may still take the port before the server binds it; the window is the
    moment between this check and the launch.

    Raises:
        ConfigError: every port tried is busy, or ``host`` is not an address of this computer.
    """
    from gsv_core.errors import ConfigError

    last = min(wanted + tries, 65536) - 1
    for port in range(wanted, last + 1):
        try:
            if _port_is_free(host, port):
                return port
        except OSError as exc:
            raise ConfigError(f"Cannot listen on {host}: {exc.strerror or exc}.",
                              "Use an address of this computer, e.g. 127.0.0.1 (this computer "
                              "only) or 0.0.0.0 (every network).") from exc
    raise ConfigError(f"Ports {wanted}-{last} on {host} are all in use.",
                      "Stop a program that uses them, or pass --port with another number.")


def build_app(language: str = "en_US", workspace: Path | None = None) -> gr.Blocks:
    """The whole UI as a Gradio Blocks app (not launched)."""
    return build_ui(language, workspace).app


@dataclass(frozen=True)
class BuiltUi:
    """The app, the Inference tab's engine accessor (made on first use), which the API
    mounted on the same server shares, and what to tidy once the server has closed."""

    app: gr.Blocks
    inference_engine: Callable[[], object]
    on_close: Sequence[Callable[[], None]] = ()

    def closed(self) -> None:
        """After the server stopped: delete what the tabs made for this run (result files)."""
        for hook in self.on_close:
            hook()


def build_ui(language: str = "en_US", workspace: Path | None = None) -> BuiltUi:
    """The whole UI (not launched), with what the server around it shares with it."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from gsv_core.hardware import detect_machine
    from gsv_core.i18n import Translator
    from gsv_core.infer.history import STALE_AFTER_S
    from gsv_core.settings import open_workspace
    from tabs import dataset, emotion, infer, settings, system, train
    from tabs.common import AppContext, chain_refreshes

    t = Translator(language)
    # NVML finds every NVIDIA card without torch; skipping torch keeps start-up fast.
    profile = detect_machine(use_torch=False)
    # Gradio serves every result from a copy in its own cache, kept forever unless asked:
    # its copies of results older than a day go hourly, and all of this app's at close.
    with gr.Blocks(title="GSV Studio", analytics_enabled=False,
                   delete_cache=(CACHE_SWEEP_S, STALE_AFTER_S)) as app:
        ctx = AppContext(t=t, profile=profile, workspace=open_workspace(workspace or Path.cwd()),
                         app=app)
        gr.Markdown("# GSV Studio")
        if profile.is_fake:
            gr.Markdown("⚠ " + t("Simulated hardware ({spec}): limits are computed for these "
                                 "cards, nothing runs on them.", spec=profile.fake_spec),
                        elem_id="fake-gpu-banner")
        system.build_preflight(ctx)
        with gr.Tab(t("Dataset")):
            dataset_tab = dataset.build(ctx)
        with gr.Tab(t("Emotion")):
            emotion_tab = emotion.build(ctx)
        with gr.Tab(t("Training"), elem_id="tab-training"):
            train_tab = train.build(ctx)
        with gr.Tab(t("Inference")):
            infer_tab = infer.build(ctx)
        with gr.Tab(t("Settings"), elem_id="tab-settings"):
            settings_tab = settings.build(ctx)
        with gr.Tab(t("System"), elem_id="tab-system"):
            system_tab = system.build(ctx)
        dataset.wire(dataset_tab, ctx)
        emotion.wire(emotion_tab, ctx)
        train.wire(train_tab, ctx)
        infer.wire(infer_tab, ctx)
        settings.wire(settings_tab, ctx)
        system.wire(system_tab, ctx)
        chain_refreshes(ctx)  # after "Use the recommended plan", every tab refreshes
    assert ctx.inference_engine is not None, "the Inference tab registers its engine"
    return BuiltUi(app, ctx.inference_engine, tuple(ctx.on_close))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for problem in apply_saved_settings(args):
        print(f"gsv-studio: warning: {problem}", file=sys.stderr)
    try:
        auth = parse_auth(args.auth)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"gsv-studio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.api and args.share:
        parser.print_usage(sys.stderr)
        print("gsv-studio: error: --share makes a link to the UI; it cannot be used with --api",
              file=sys.stderr)
        return EXIT_USAGE
    auth, generated = resolve_auth(args.share, auth, args.host)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    from gsv_core.errors import GsvError

    if args.api:
        return _serve_api_only(args, auth, generated)

    try:
        built = build_ui(args.lang, args.workspace)
        app = built.app
        # After the build, so the port is still free when the server binds it moments later.
        port = pick_port(args.host, args.port)
    except GsvError as exc:  # an unknown --lang, a bad GSV_FAKE_GPU, no free port
        print(f"gsv-studio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if port != args.port:
        print(f"Port {args.port} is in use; GSV Studio uses port {port} instead.", flush=True)
    if generated:
        print(login_notice(auth, args.share, args.host), flush=True)
    from gsv_core.api import ServerLifecycle, api_routes

    lifecycle = ServerLifecycle(stop=app.close)
    # The API's routes go first on the UI's own server, so /tts answers on the UI's port;
    # failed logins (Gradio's form, the API's basic auth) are rate-limited per address, and
    # the API's request bodies and the uploads have a size limit.
    routes = api_routes(_ui_api_service(args.workspace, auth, lifecycle,
                                        built.inference_engine))
    with _terminate_closes_the_server():
        app.launch(server_name=args.host, server_port=port, share=args.share, auth=auth,
                   inbrowser=args.open_browser, show_error=True, prevent_thread_lock=True,
                   **served_with(routes))
        app.block_thread()
    # After Ctrl+C or SIGTERM, block_thread only stops the server: Gradio's own close also
    # ends the browsers' heartbeats, without which the server waits on their connections
    # until its thread is given up, and never deletes its cache (``delete_cache``).
    app.close(verbose=False)
    built.closed()  # before a restart, which replaces the process without running atexit
    lifecycle.finish()
    return EXIT_OK


def served_with(routes: Sequence[object]) -> dict[str, object]:
    """The launch options that put the API's ``routes`` on the UI's server with its guards
    (login rate limit, body and upload limits); bench/bench_load.py launches with them too."""
    from gsv_core.api import guard_middleware

    return {"max_file_size": MAX_UPLOAD,
            "app_kwargs": {"routes": routes, "middleware": guard_middleware(routes)}}


@contextlib.contextmanager
def _terminate_closes_the_server() -> Iterator[None]:
    """While serving, SIGTERM (``kill``, a service manager, a logout) stops the app as Ctrl+C
    does: the server closes and the run's result files are deleted (by ``BuiltUi.closed``,
    or by ``atexit`` when it comes while the server is still starting). Python's default
    would end the process at once, running no clean-up at all."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _ui_api_service(workspace: Path, auth: tuple[str, str] | None,
                    lifecycle: ServerLifecycle,
                    ui_engine: Callable[[], object]) -> TtsService:
    """The API served on the UI's port, on the Inference tab's engine (one copy of the
    models, one lock); the first API request makes it and loads the default weights if the
    tab has loaded none."""
    from gsv_core.api import LazyEngine, load_default_weights, make_service
    from gsv_core.settings import open_workspace

    space = open_workspace(workspace)  # the official weights may be in the models folder
    return make_service(LazyEngine(lambda: load_default_weights(ui_engine(), space)), space,
                        login=auth, model_folders=[space.pretrained_dir],
                        lifecycle=lifecycle)


def _serve_api_only(args: argparse.Namespace, auth: tuple[str, str] | None,
                    generated: bool) -> int:
    """``--api``: the HTTP API alone (``gsv-studio api`` has the same, plus model options)."""
    from gsv_core.api.command import run_api
    from gsv_core.errors import GsvError

    wanted = args.port if args.port_given else API_PORT
    try:
        port = pick_port(args.host, wanted)
        if port != wanted:
            print(f"Port {wanted} is in use; the API uses port {port} instead.", flush=True)
        if generated:
            print(login_notice(auth, False, args.host), flush=True)
        return run_api(args.workspace, args.host, port, auth)
    except GsvError as exc:
        print(f"gsv-studio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


class _NoGradioStubs(importlib.abc.MetaPathFinder):
    """Loads Gradio's component module with its stub writer replaced by a no-op.

    At every import Gradio parses the source of each of its ~80 component classes to rewrite
    a ``.pyi`` stub beside it (in site-packages, for editors): about 1.3 s of a 3 s import on
    a 2-core machine, at every app start. The stubs change nothing the app does. Acts once,
    then leaves ``sys.meta_path``; any other module, or a layout it does not know, is left
    to the normal finders.
    """

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        module_name, writer = GRADIO_STUB_WRITER
        if fullname != module_name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        loader = spec.loader if spec is not None else None
        if not isinstance(loader, importlib.machinery.SourceFileLoader):
            return spec
        load = loader.exec_module

        def exec_module(module: object) -> None:
            load(module)
            if hasattr(module, writer):   # a Gradio without it needs nothing
                setattr(module, writer, lambda *args, **kwargs: None)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_gradio_stub_writing() -> None:
    """Start faster: Gradio, once imported, writes no stubs (see :class:`_NoGradioStubs`).

    Only for ``python webui.py``, a process of its own: in a process that already imported
    Gradio it could not act, and a test process must see Gradio as it is.
    """
    if "gradio" not in sys.modules:
        sys.meta_path.insert(0, _NoGradioStubs())


if __name__ == "__main__":
    skip_gradio_stub_writing()
    sys.exit(main())
