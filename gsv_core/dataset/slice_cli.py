"""``gsv-studio slice IN OUT``: cut recordings at silences, from a shell.

Calls the same job as the Dataset tab (``slice_job.slice_audio``). Progress goes to
stderr, one line per file; the summary to stdout. Exit codes: 0 every file sliced, 1 some
files failed (each listed with what to do), 2 bad arguments (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gsv_core.dataset.cli_common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_OK,
    EXIT_SOME_FAILED,
    parse_arguments,
)
from gsv_core.dataset.slicer import SlicerOptions
from gsv_core.errors import ConfigError

__all__ = ["build_parser", "main"]



def build_parser() -> argparse.ArgumentParser:
    defaults = SlicerOptions()
    parser = argparse.ArgumentParser(
        prog="gsv-studio slice",
        description="Cut recordings at silences into 32 kHz mono WAV slices named as "
                    "GPT-SoVITS names them (<file>_<start>_<end>.wav, samples at 32 kHz). "
                    "Existing files are never overwritten.")
    parser.add_argument("input", metavar="IN", help="an audio file, or a folder (searched "
                        "recursively for wav/flac/ogg/mp3/m4a/aac/mp4/mkv/webm…)")
    parser.add_argument("output", metavar="OUT", help="the folder the slices are written to")
    number = parser.add_argument
    number("--threshold-db", type=float, default=defaults.threshold_db,
           help="RMS below this is silence (default %(default)s dB)")
    number("--min-length-ms", type=float, default=defaults.min_length_ms,
           help="a slice is cut only once this long (default %(default)s)")
    number("--min-interval-ms", type=float, default=defaults.min_interval_ms,
           help="shortest silence that is cut (default %(default)s)")
    number("--hop-ms", type=float, default=defaults.hop_ms,
           help="loudness frame step (default %(default)s)")
    number("--max-sil-kept-ms", type=float, default=defaults.max_sil_kept_ms,
           help="most silence kept at a cut (default %(default)s)")
    number("--max-slice-s", type=float, default=defaults.max_slice_s,
           help="re-cut longer slices at their quietest point, 3-15 s (rule Q-4; "
                "default %(default)s); 0 turns it off")
    number("--normalize-max", type=float, default=defaults.normalize_max,
           help="peak of the normalised part (default %(default)s)")
    number("--alpha", type=float, default=defaults.alpha,
           help="share of the normalised signal in the mix (default %(default)s)")
    number("--workers", type=int, default=None,
           help="processes (default: one per CPU core, at most one per file)")
    parser.add_argument("--separate-vocals", action="store_true",
                        help="separate vocals before slicing (not available in this version)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    from gsv_core.dataset.slice_job import slice_audio

    def progress(done: int, total: int, message: str) -> None:
        print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    try:
        options = SlicerOptions(
            threshold_db=args.threshold_db, min_length_ms=args.min_length_ms,
            min_interval_ms=args.min_interval_ms, hop_ms=args.hop_ms,
            max_sil_kept_ms=args.max_sil_kept_ms,
            max_slice_s=args.max_slice_s if args.max_slice_s else None,
            normalize_max=args.normalize_max, alpha=args.alpha,
            separate_vocals=args.separate_vocals)
        result = slice_audio(args.input, args.output, options, workers=args.workers,
                             progress=progress)
    except ConfigError as exc:
        print(f"gsv-studio slice: {exc}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    counts = {status: sum(s.status == status for s in result.slices)
              for status in ("written", "unchanged", "renamed")}
    print(f"{len(result.slices)} slices ({counts['written']} written, {counts['unchanged']} "
          f"already there, {counts['renamed']} under a new name because a different file "
          f"had the name) from {result.audio_s / 60:.1f} min of audio in {result.output_dir}")
    for failure in result.failures:
        print(f"FAILED {failure.source}: {failure.message} {failure.advice}".rstrip(),
              file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} file(s) failed and were skipped (listed above).",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_OK
