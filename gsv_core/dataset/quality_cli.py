"""``gsv-studio quality LIST``: the dataset quality report, from a shell.

Calls the same functions as the Dataset tab (``quality.analyse_list`` / ``analyse_files``).
LIST is a `.list` file, or a folder of audio files (before ASR there are no labels).
With ``--json`` prints one object (``quality.report_to_dict``; its ``summary`` is what
``gsv-studio plan --dataset-report FILE`` reads); else a readable report. Progress goes to
stderr. Exit codes: 0 every clip measured (whatever the verdict), 1 some clips could not be
measured (missing or unreadable, listed), 2 bad arguments (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from gsv_core.dataset.cli_common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_OK,
    EXIT_SOME_FAILED,
    parse_arguments,
    print_progress,
)
from gsv_core.errors import GsvError

__all__ = ["build_parser", "format_report", "main"]

FAILED_CHECKS = ("missing_audio", "unreadable")
_SHOWN_CLIPS = 10   # clips listed per problem in the readable report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio quality",
        description="Measure a dataset: duration, slice lengths, clipping, loudness, noise, "
                    "reverberation, silence and the sources' sample rate and channels; each "
                    "failed check lists its clips (rule Q-1).")
    parser.add_argument("list", metavar="LIST",
                        help="a .list file (wav|speaker|LANG|text) or a folder of audio files")
    parser.add_argument("--audio-dir", metavar="DIR", default=None,
                        help="folder the clips are in: relative paths are read from here, "
                             "and a clip not at its path is looked for here by its file name")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="processes measuring clips (default %(default)s)")
    return parser


def format_report(data: dict) -> str:
    """The readable form: the summary, then each failed check with its clips."""
    summary = data["summary"]
    rates = ", ".join(f"{rate} Hz" for rate in summary.get("sample_rates", [])) or "none"
    lines = [f"Verdict: {summary['verdict']}",
             f"{summary['clips']} clips measured, {summary['minutes']:.1f} min; 95% of clips "
             f"up to {summary['p95_slice_s']:.1f} s; loudness spread "
             f"{summary['lufs_spread_db']:.1f} dB; sources at {rates}"]
    if not data["problems"]:
        lines.append("No problems found.")
    for problem in data["problems"]:
        lines.append(f"{problem['check']}: {problem['message']}")
        # a line's problem says its line number and what to do; a clip's, its path
        items = problem.get("details") or problem["clips"]
        lines += [f"  - {item}" for item in items[:_SHOWN_CLIPS]]
        if len(items) > _SHOWN_CLIPS:
            lines.append(f"  ... and {len(items) - _SHOWN_CLIPS} more (--json lists all)")
    return "\n".join(lines)


def _usage_error(message: str) -> int:
    print(f"gsv-studio quality: error: {message}", file=sys.stderr)
    return EXIT_BAD_ARGUMENTS


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    source = Path(args.list)
    if not source.exists():
        return _usage_error(f"{args.list!r} does not exist: give a .list file or a folder "
                            "of audio files.")
    if args.audio_dir is not None and not Path(args.audio_dir).is_dir():
        return _usage_error(f"--audio-dir {args.audio_dir!r} is not a folder.")
    if args.workers < 1:
        return _usage_error(f"--workers {args.workers}: give 1 or more processes.")
    from gsv_core.dataset.quality import analyse_files, analyse_list, report_to_dict

    try:
        if source.is_dir():
            report = analyse_files(source, progress=print_progress, workers=args.workers)
        else:
            report = analyse_list(source, audio_dir=args.audio_dir, progress=print_progress,
                                  workers=args.workers)
    except GsvError as exc:
        return _usage_error(str(exc))
    data = report_to_dict(report)
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else format_report(data))
    failed = [p for p in data["problems"] if p["check"] in FAILED_CHECKS]
    if failed:
        count = sum(len(p["clips"]) for p in failed)
        print(f"{count} clip(s) could not be measured (listed under "
              f"{' and '.join(p['check'] for p in failed)}).", file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK
