"""``gsv-studio prepare``: format a labelled list for training, from a shell or a script.

    gsv-studio prepare --list voice.list --exp "my voice" [--workspace DIR] [--gpus 0,1]

The same :func:`gsv_core.prepare.prepare_dataset` the Dataset tab runs. Progress goes to
stderr, a summary (or ``--json``) to stdout. Exit 0: every clip formatted; 1: some clips
failed (each listed with its line) or the run was stopped; 2: bad arguments, a list that
cannot be formatted (every bad line named) or a missing model.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gsv_core.dataset.cli_common import EXIT_BAD_ARGUMENTS, parse_arguments, print_progress
from gsv_core.errors import GsvError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio prepare",
        description="Format a .list into logs/<experiment>/ (GPT-SoVITS's training files).")
    parser.add_argument("--list", required=True, help="the .list file (wav|speaker|LANG|text)")
    parser.add_argument("--exp", required=True, help="experiment name (folder under logs/)")
    parser.add_argument("--workspace", default=".", help="workspace root (default: here)")
    parser.add_argument("--audio-dir", help="folder the clips are in, for relative paths")
    parser.add_argument("--gpus", help="GPU numbers to split the work over, e.g. 0,1 "
                        "(default: the first GPU, else the CPU)")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU")
    parser.add_argument("--precision", choices=("fp16", "fp32"),
                        help="feature precision (default: fp16 on a GPU, as upstream)")
    parser.add_argument("--readings", choices=("improved", "upstream"), default="improved",
                        help="how numbers, units, URLs… are read (default improved)")
    parser.add_argument("--sovits", help="SoVITS generator for the semantic codes "
                        "(default: the pretrained s2G2333k.pth)")
    parser.add_argument("--batch-seconds", type=float, default=160.0,
                        help="seconds of audio per HuBERT forward pass (default 160)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _devices(args: argparse.Namespace) -> tuple[str, ...]:
    if args.cpu:
        return ("cpu",)
    if not args.gpus:
        return ()
    return tuple(f"cuda:{part.strip()}" for part in args.gpus.replace("-", ",").split(",")
                 if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    from gsv_core.prepare import PrepareRequest, prepare_dataset
    from gsv_core.settings import open_workspace

    try:
        request = PrepareRequest(
            Path(args.list), args.exp, open_workspace(Path(args.workspace)),
            audio_dir=Path(args.audio_dir) if args.audio_dir else None,
            readings=args.readings, devices=_devices(args), precision=args.precision,
            sovits_path=Path(args.sovits) if args.sovits else None,
            batch_seconds=args.batch_seconds)
        result = prepare_dataset(request, progress=print_progress)
    except GsvError as exc:
        print(f"gsv-studio prepare: {exc}", file=sys.stderr)
        if exc.details:
            print(exc.details, file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        print(f"{result.folder}: {result.clips} clips; computed {result.computed}, "
              f"reused {result.reused}, removed {result.removed}")
    for failure in result.failures:
        print(f"failed: {failure}", file=sys.stderr)
    if result.stopped:
        print("stopped: run it again to continue.", file=sys.stderr)
    return result.exit_code
