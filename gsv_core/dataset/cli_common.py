"""What the dataset commands (``gsv-studio slice``, ``gsv-studio quality``) share: their exit
codes and argument parsing that returns an exit code instead of raising ``SystemExit``, so
``main`` stays callable from tests and from ``gsv_core.cli``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["EXIT_BAD_ARGUMENTS", "EXIT_OK", "EXIT_SOME_FAILED", "parse_arguments",
           "print_progress"]

EXIT_OK, EXIT_SOME_FAILED, EXIT_BAD_ARGUMENTS = 0, 1, 2


def parse_arguments(parser: argparse.ArgumentParser,
                    argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed arguments, or the exit code when argparse stopped (``--help``: 0; an error,
    already printed with the usage: 2)."""
    try:
        return parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_BAD_ARGUMENTS


def print_progress(done: float, total: float, message: str) -> None:
    """The commands' progress line on stderr (stdout is kept for results such as ``--json``)."""
    print(f"[{int(done)}/{int(total)}] {message}", file=sys.stderr, flush=True)
