"""``gsv-studio slice IN OUT``: cut recordings at silences, from a shell.

Calls the same job as the Dataset tab (``slice_job.slice_audio``). Progress goes to
stderr, one line per file; the summary to stdout. Exit codes: 0 every file sliced (and
every clean-up step asked for ran), 1 some files failed (each listed with what to do) or a
clean-up step asked for was skipped (``--denoise`` / ``--separate-model`` when its library
or model is missing: the files are sliced without it, and the reason is printed), 2 bad
arguments (no traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gsv_core.dataset.cli_common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_OK,
    EXIT_SOME_FAILED,
    parse_arguments,
    print_progress,
)
from gsv_core.dataset.denoise import DEFAULT_STRENGTH, STRENGTH_RANGE
from gsv_core.dataset.slicer import SlicerOptions
from gsv_core.errors import ConfigError

if TYPE_CHECKING:
    from gsv_core.dataset.slice_job import CleanupOptions

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
    cleanup = parser.add_argument_group(
        "clean up first (optional, off by default; the recordings themselves are never "
        "modified)")
    cleanup.add_argument("--denoise", action="store_true",
                         help="reduce steady background noise (hiss, hum, fans) before cutting")
    cleanup.add_argument("--denoise-strength", type=float, default=None, metavar="X",
                         help=f"share of the noise removed, {STRENGTH_RANGE[0]:g}-"
                              f"{STRENGTH_RANGE[1]:g} (default {DEFAULT_STRENGTH:g}); "
                              "needs --denoise")
    cleanup.add_argument("--separate-model", metavar="PATH", default=None,
                         help="separate the voice (or remove reverb/echo) first with this "
                              "local UVR/MDX/Roformer model file; its folder must also hold "
                              "download_checks.json (and the model's .json/.yaml data); "
                              "needs the 'separation' extra")
    cleanup.add_argument("--keep-cleaned", metavar="DIR", default=None,
                         help="keep each cleaned recording in DIR (<name>_cleaned.wav); "
                              "without it the cleaned audio is removed after slicing")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    from gsv_core.dataset.slice_job import slice_audio

    try:
        options = SlicerOptions(
            threshold_db=args.threshold_db, min_length_ms=args.min_length_ms,
            min_interval_ms=args.min_interval_ms, hop_ms=args.hop_ms,
            max_sil_kept_ms=args.max_sil_kept_ms,
            max_slice_s=args.max_slice_s if args.max_slice_s else None,
            normalize_max=args.normalize_max, alpha=args.alpha)
        cleanup = _cleanup_options(args)
        result = slice_audio(args.input, args.output, options, workers=args.workers,
                             progress=print_progress, cleanup=cleanup)
    except ConfigError as exc:
        print(f"gsv-studio slice: {exc}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    counts = {status: sum(s.status == status for s in result.slices)
              for status in ("written", "unchanged", "renamed")}
    print(f"{len(result.slices)} slices ({counts['written']} written, {counts['unchanged']} "
          f"already there, {counts['renamed']} under a new name because a different file "
          f"had the name) from {result.audio_s / 60:.1f} min of audio in {result.output_dir}")
    if result.cleaned:
        print(f"{len(result.cleaned)} cleaned recording(s) kept in {result.cleaned[0].parent}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for notice in result.notices:
        print(notice, file=sys.stderr)
    for failure in result.failures:
        print(f"FAILED {failure.source}: {failure.message} {failure.advice}".rstrip(),
              file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} file(s) failed and were skipped (listed above).",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    return EXIT_SOME_FAILED if result.notices else EXIT_OK


def _cleanup_options(args: argparse.Namespace) -> CleanupOptions:
    """The clean-up flags as ``CleanupOptions`` (ConfigError for inconsistent ones)."""
    from gsv_core.dataset.slice_job import CleanupOptions

    if args.denoise_strength is not None and not args.denoise:
        raise ConfigError("--denoise-strength is given without --denoise.",
                          "Add --denoise, or leave the strength out.")
    if args.keep_cleaned and not (args.denoise or args.separate_model):
        raise ConfigError("--keep-cleaned is given, but no clean-up step is asked for.",
                          "Add --denoise and/or --separate-model PATH, or leave it out.")
    strength = DEFAULT_STRENGTH if args.denoise_strength is None else args.denoise_strength
    return CleanupOptions(denoise=args.denoise, denoise_strength=strength,
                          separate_model=args.separate_model, keep_dir=args.keep_cleaned)
