"""``python -m gsv_core.train sovits|gpt --config run.json [--events FILE] [--stop-file FILE]``.

The child entry of a training run: it reads a :class:`~gsv_core.train.config.TrainConfig`
(written by the Training tab's job or ``gsv-studio train``) and runs the trainer. Started
by torchrun (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` set) it is one rank of a DDP run: it
joins the process group (NCCL on Linux with CUDA, gloo on Windows or the CPU), takes the
card ``LOCAL_RANK`` of those it sees, trains, and leaves the group. Only rank 0 writes the
events (``--events``, JSON lines in the job events' format, ending with a ``result`` or a
``failed`` line) and the progress line on stderr; every rank stops once ``--stop-file``
exists (a background job's stop file) or on Ctrl+C.

Exit codes: 0 the run ended (finished, or stopped on request after a checkpoint); 2 bad
input: an unreadable or invalid config, an experiment or model file that is missing or
unusable; 1 the training crashed (the cause on stderr and in the events).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence

from gsv_core.errors import CheckpointError, ConfigError, DatasetError, GsvError, ModelMissing

EXIT_OK, EXIT_CRASH, EXIT_BAD_INPUT = 0, 1, 2
BAD_INPUT = (ConfigError, DatasetError, ModelMissing, CheckpointError)
_TRACEBACK_TAIL_CHARS = 4000


def _distributed() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def _init_distributed(device: str) -> int:
    """Join torchrun's process group; returns this process's rank."""
    import torch
    import torch.distributed as dist

    use_cuda = device == "cuda" and torch.cuda.is_available()
    backend = "nccl" if use_cuda and os.name != "nt" else "gloo"
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return dist.get_rank()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gsv_core.train",
        description="Run one training (written by the Training tab or gsv-studio train). "
                    "Under torchrun, one rank of a DDP run.")
    parser.add_argument("kind", choices=("sovits", "gpt"))
    parser.add_argument("--config", required=True, help="the TrainConfig JSON file")
    parser.add_argument("--events", help="write JSON-lines events here (rank 0)")
    parser.add_argument("--stop-file", help="stop at the next step once this file exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from gsv_core.train.cli import LineReporter
    from gsv_core.train.config import TrainConfig
    from gsv_core.train.job import load_trainer

    try:
        config = TrainConfig.read(args.config)
        if config.kind != args.kind:
            raise ConfigError(f"{args.config} trains {config.kind}, not {args.kind}.",
                              f"Run: python -m gsv_core.train {config.kind} --config ...")
    except ConfigError as exc:
        print(f"python -m gsv_core.train: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    distributed = _distributed()
    rank = _init_distributed(config.device) if distributed else 0
    reporter = LineReporter(args.events, stop_file=args.stop_file, quiet=rank != 0,
                            prefix=f"{config.kind}: ")
    signal.signal(signal.SIGINT, lambda _s, _f: reporter.request_stop())
    try:
        result = load_trainer(config)(config, reporter)
        reporter.record("result", value=result)
        return EXIT_OK
    except Exception as exc:  # reported for the relay, then the documented exit code
        is_gsv = isinstance(exc, GsvError)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        reporter.record("failed", error_type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                        message=exc.message if is_gsv else str(exc),
                        advice=exc.advice if is_gsv else "", rule=exc.rule if is_gsv else None,
                        traceback=text[-_TRACEBACK_TAIL_CHARS:])
        print(f"python -m gsv_core.train: {'error' if is_gsv else 'crashed'}: {exc}\n"
              + ("" if is_gsv else text), file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(exc, BAD_INPUT) else EXIT_CRASH
    finally:
        reporter.close()
        if distributed:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


if __name__ == "__main__":
    sys.exit(main())
