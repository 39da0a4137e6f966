"""GSV Studio web UI: parse the command line, build the tabs, launch in the local browser.

Importing this module is cheap (no gradio, no torch): both load inside
``build_app``/``main`` so ``--help`` answers at once and tests can import it.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger("gsv_studio")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9874  # GPT-SoVITS's own web UI port, so bookmarks keep working
EXIT_OK, EXIT_USAGE = 0, 2
SHARE_USER = "gsv"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio",
        description="GSV Studio: make a GPT-SoVITS v2 voice in your browser. "
                    "Run 'gsv-studio plan --help' for the headless training planner.")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to listen on (default {DEFAULT_HOST}: this computer only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--share", action="store_true",
                        help="also make a public demo link; it always requires a login "
                             "(--auth, or a generated password that is printed)")
    parser.add_argument("--auth", metavar="USER:PASSWORD",
                        help="require this login (always on with --share)")
    parser.add_argument("--lang", default="en_US",
                        help="UI language: en_US or zh_CN (default en_US)")
    parser.add_argument("--workspace", type=Path, default=Path.cwd(),
                        help="folder for datasets, logs and weights, laid out as in GPT-SoVITS "
                             "(default: the current folder)")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open the browser when the UI is ready")
    return parser


def parse_auth(text: str | None) -> tuple[str, str] | None:
    """'user:password' → (user, password); the password may itself contain ':'."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must be USER:PASSWORD, both non-empty")
    return user, password


def resolve_auth(share: bool, auth: tuple[str, str] | None) -> tuple[tuple[str, str] | None, bool]:
    """A public link never runs without a login: generate one when none was given.

    Returns the credentials and whether they were generated (so they get printed).
    """
    if auth is not None or not share:
        return auth, False
    return (SHARE_USER, secrets.token_urlsafe(12)), True


def build_app(language: str = "en_US", workspace: Path | None = None) -> gr.Blocks:
    """The whole UI as a Gradio Blocks app (not launched)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from gsv_core.hardware import detect_machine
    from gsv_core.i18n import Translator
    from gsv_core.workspace import Workspace
    from tabs import dataset, emotion, infer, system, train
    from tabs.common import AppContext

    t = Translator(language)
    # NVML finds every NVIDIA card without torch; skipping torch keeps start-up fast.
    profile = detect_machine(use_torch=False)
    with gr.Blocks(title="GSV Studio", analytics_enabled=False) as app:
        ctx = AppContext(t=t, profile=profile, workspace=Workspace(workspace or Path.cwd()),
                         app=app)
        gr.Markdown("# GSV Studio")
        if profile.is_fake:
            gr.Markdown("⚠ " + t("Simulated hardware ({spec}): limits are computed for these "
                                 "cards, nothing runs on them.", spec=profile.fake_spec),
                        elem_id="fake-gpu-banner")
        with gr.Tab(t("Dataset")):
            dataset_tab = dataset.build(ctx)
        with gr.Tab(t("Emotion")):
            emotion_tab = emotion.build(ctx)
        with gr.Tab(t("Training"), elem_id="tab-training"):
            train_tab = train.build(ctx)
        with gr.Tab(t("Inference")):
            infer_tab = infer.build(ctx)
        with gr.Tab(t("System")):
            system_tab = system.build(ctx)
        dataset.wire(dataset_tab, ctx)
        emotion.wire(emotion_tab, ctx)
        train.wire(train_tab, ctx)
        infer.wire(infer_tab, ctx)
        system.wire(system_tab, ctx, train_tab.dpo)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        auth = parse_auth(args.auth)
    except ValueError as exc:
        parser.print_usage(sys.stderr)
        print(f"gsv-studio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    auth, generated = resolve_auth(args.share, auth)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    from gsv_core.errors import GsvError

    try:
        app = build_app(args.lang, args.workspace)
    except GsvError as exc:  # e.g. an unknown --lang or a bad GSV_FAKE_GPU
        print(f"gsv-studio: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if generated:
        print(f"Public link login: user '{auth[0]}', password '{auth[1]}'", flush=True)
    app.launch(server_name=args.host, server_port=args.port, share=args.share, auth=auth,
               inbrowser=not args.no_browser, show_error=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
