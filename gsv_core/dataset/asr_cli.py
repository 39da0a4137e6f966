"""``gsv-studio asr IN_DIR --lang … --model DIR``: transcribe a folder of clips, from a shell.

Calls the same job as the Dataset tab (``asr_job.transcribe_folder``). Progress goes to
stderr, one line per clip; the summary to stdout. Exit codes: 0 every clip transcribed,
1 some clips failed (each listed with what to do) or the run was stopped, 2 bad arguments
or an unusable model folder (no traceback). Running it again continues where it stopped.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from gsv_core.dataset.cli_common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_OK,
    EXIT_SOME_FAILED,
    parse_arguments,
    print_progress,
)
from gsv_core.errors import GsvError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from gsv_core.dataset.asr import ENGINES, LANGUAGES, PRECISIONS

    parser = argparse.ArgumentParser(
        prog="gsv-studio asr",
        description="Transcribe the audio files of a folder into a GPT-SoVITS .list "
                    "(wav|speaker|LANG|text; speaker = the folder's name). Finished clips are "
                    "kept in <list>.partial.jsonl, so a second run continues. Models are read "
                    "from local folders (docs/asr.md); nothing is downloaded unless "
                    "--download is given.")
    parser.add_argument("input", metavar="IN_DIR", help="the folder of clips (its top level)")
    parser.add_argument("--lang", required=True, choices=LANGUAGES,
                        help="the clips' language; auto: each clip's detected language")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="a SenseVoiceSmall, Paraformer-zh or faster-whisper (CTranslate2) "
                             "folder; or a Hugging Face hub id with --download")
    parser.add_argument("--engine", choices=ENGINES, default=None,
                        help="default: read from the model folder")
    parser.add_argument("--out", metavar="LIST", default=None,
                        help="the .list to write (default: output/asr_opt/<folder name>.list "
                             "in the workspace); an existing different file is kept as .bak")
    parser.add_argument("--precision", choices=PRECISIONS, default="auto",
                        help="auto: whisper float16 on CUDA and int8 on the CPU; funasr "
                             "float32 (float16: Paraformer on CUDA only)")
    parser.add_argument("--device", default="auto",
                        help="auto (a CUDA GPU when usable, else the CPU), cpu, cuda, cuda:N")
    parser.add_argument("--beam-size", type=int, default=5,
                        help="whisper's beam width (default %(default)s)")
    parser.add_argument("--no-temperature-fallback", action="store_true",
                        help="whisper: never re-decode at higher temperatures (faster on CPU)")
    parser.add_argument("--vad-model", metavar="DIR", default=None,
                        help="Paraformer only: a funasr FSMN-VAD folder")
    parser.add_argument("--punc-model", metavar="DIR", default=None,
                        help="Paraformer only: a funasr CT-Transformer punctuation folder")
    parser.add_argument("--download", action="store_true",
                        help="download --model from huggingface.co when it is a hub id")
    parser.add_argument("--workspace", type=Path, default=Path.cwd(),
                        help="workspace for the default output and downloads (default: the "
                             "current folder)")
    return parser


def _stop_on_first_interrupt() -> tuple[Callable[[], bool], Callable[[], None]]:
    """Ctrl-C once: stop after the clip in progress (its work is kept); twice: quit now.
    Returns the ``should_stop`` to pass and the function restoring the previous handler."""
    asked = threading.Event()

    def on_interrupt(signum: int, frame: object) -> None:
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()
        print("Stopping after this clip (Ctrl-C again to quit at once).", file=sys.stderr,
              flush=True)

    try:
        previous = signal.signal(signal.SIGINT, on_interrupt)
    except ValueError:  # not the main thread (called from a library): no handler to add
        return asked.is_set, lambda: None
    return asked.is_set, lambda: signal.signal(signal.SIGINT, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    # Before funasr is imported: its own logging.basicConfig(INFO) then does nothing.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from gsv_core.dataset.asr import AsrOptions
    from gsv_core.dataset.asr_job import transcribe_folder
    from gsv_core.settings import open_workspace

    should_stop, restore = _stop_on_first_interrupt()
    try:
        options = AsrOptions(model=args.model, language=args.lang, engine=args.engine,
                             precision=args.precision, device=args.device,
                             beam_size=args.beam_size, vad_model=args.vad_model,
                             punc_model=args.punc_model, download=args.download,
                             temperature_fallback=not args.no_temperature_fallback)
        result = transcribe_folder(args.input, options, workspace=open_workspace(args.workspace),
                                   output=args.out, progress=print_progress,
                                   should_stop=should_stop)
    except GsvError as exc:
        print(f"gsv-studio asr: {exc}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    finally:
        restore()
    where = f"on {result.device} ({result.precision})" if result.device else "(no model load)"
    note = f"; CPU because {result.device_note}" if result.device_note else ""
    if result.written is not None:
        backup = (f" (the previous file is kept as {result.written.backup})"
                  if result.written.backup else "")
        print(f"{len(result.clips)} clips in {result.list_path}{backup}: {result.transcribed} "
              f"transcribed {where}{note}, {result.reused} from the previous run")
    for warning in result.warnings:
        print(f"CHECK {warning}", file=sys.stderr)
    for failure in result.failures:
        print(f"FAILED {failure.path}: {failure.message} {failure.advice}".rstrip(),
              file=sys.stderr)
    if result.not_started:
        print(f"Stopped: {len(result.not_started)} clip(s) not started; run the same command "
              "again to continue.", file=sys.stderr)
    if result.failures:
        print(f"{len(result.failures)} clip(s) failed and are not in the list (listed above); "
              "a new run tries them again.", file=sys.stderr)
    return EXIT_SOME_FAILED if result.failures or result.not_started else EXIT_OK
