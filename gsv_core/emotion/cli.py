"""``gsv-studio emotion LIST --model DIR``: tag every clip's emotion from a shell (E-1).

Calls what the Emotion tab's job calls (``classify.classify_list``), in this process: the
device and batch come from ``job.classification_plan`` (the E-1 batch rule for the card; a
``--batch`` beyond it is refused with the rule). Results go beside the list
(``LIST.emotion.tsv``); running again continues where a stopped run ended, and keeps
corrections and review marks. Progress on stderr, a per-label count on stdout at the end.
Exit codes: 0 every clip tagged, 1 some clips could not be (listed) or Ctrl+C stopped it
(what was tagged is kept), 2 bad arguments, a missing model folder or an unreadable list.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence

from gsv_core.dataset.cli_common import (
    EXIT_BAD_ARGUMENTS,
    EXIT_OK,
    EXIT_SOME_FAILED,
    parse_arguments,
    print_progress,
)
from gsv_core.errors import ConfigError, GsvError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio emotion",
        description="Classify the emotion of every clip of a .list with emotion2vec (through "
                    "funasr, offline) and write LIST.emotion.tsv beside it (rule E-1).")
    parser.add_argument("list", metavar="LIST", help="a .list file (wav|speaker|LANG|text)")
    parser.add_argument("--model", required=True, metavar="DIR",
                        help="an emotion2vec_plus model folder (config.yaml, model.pt, "
                             "tokens.txt), e.g. pretrained_models/emotion2vec_plus_large")
    parser.add_argument("--device", default="auto",
                        help="auto (an NVIDIA GPU when usable), cpu, cuda or cuda:N")
    parser.add_argument("--batch", type=int, default=None, metavar="N",
                        help="clips classified together (default: the E-1 rule's for the "
                             "device)")
    parser.add_argument("--audio-dir", metavar="DIR", default=None,
                        help="folder relative clip paths are read from")
    parser.add_argument("--again", action="store_true",
                        help="classify every clip again (corrections and review marks stay)")
    parser.add_argument("--embeddings", action="store_true",
                        help="also keep each clip's utterance embedding in "
                             "LIST.emotion.embeddings.npz")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_arguments(build_parser(), argv)
    if isinstance(args, int):
        return args
    from gsv_core.emotion.classify import Emotion2vec, classify_list
    from gsv_core.emotion.job import classification_plan
    from gsv_core.emotion.models import check_model_folder
    from gsv_core.emotion.results import read_results
    from gsv_core.hardware import detect_machine

    try:
        check_model_folder(args.model)
        plan = classification_plan(detect_machine(), args.device, args.batch)
        batch = plan.batch
        if args.batch is not None and not batch.min <= args.batch <= batch.max:
            reason = batch.binding.text() if batch.binding else ""
            raise ConfigError(f"--batch {args.batch} is beyond the limit ({batch.min:g} to "
                           f"{batch.max:g}). {reason}", "Leave --batch out to use the rule's.")
    except GsvError as exc:
        print(f"gsv-studio emotion: error: {exc}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    where = plan.device + (f" ({plan.note})" if plan.note else "")
    print(f"gsv-studio emotion: batch {int(batch.value)} on {where}", file=sys.stderr)
    try:
        result = classify_list(args.list, lambda: Emotion2vec(args.model, plan.device),
                               batch_size=int(batch.value), audio_dir=args.audio_dir,
                               again=args.again, progress=print_progress,
                               embeddings=args.embeddings)
    except KeyboardInterrupt:
        print("gsv-studio emotion: stopped; what was tagged is kept (run again to continue)",
              file=sys.stderr)
        return EXIT_SOME_FAILED
    except GsvError as exc:
        print(f"gsv-studio emotion: error: {exc}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    for problem in result.problems:
        print(f"gsv-studio emotion: line {problem.line_number}: {problem.path}: "
              f"{problem.message}", file=sys.stderr)
    counts = Counter(row.final_label for row in read_results(result.results_path))
    print(f"{result.results_path}")
    for label, count in counts.most_common():
        print(f"{label}\t{count}")
    return EXIT_OK if result.exit_code == 0 else EXIT_SOME_FAILED
