"""The auto batch probe on a real card, and on the smaller cards of the B-1/B-2 tables.

    python bench/bench_probe.py --device cuda
    python bench/bench_probe.py --device cuda --kinds sovits --cards 8,12,24
    python bench/bench_probe.py --device cpu --size tiny --clips 4 --cards full --no-write

Writes a workspace with an experiment of ``--clips`` formatted clips of ``--seconds`` (10)
each (tests/train_fixtures.py's layout: upstream's ``logs/<exp>/`` files) and, for
``--size full``, pretrained SoVITS G/D and a GPT checkpoint of the v2 models' full size with
random weights (memory does not depend on the values). Then runs
:func:`gsv_core.train.batch_probe.probe_batch` (real trainer steps, the search the Training
tab runs) for each of ``--kinds`` on each of ``--cards``: ``full`` is the whole card; a
number N emulates an N-GB card with ``torch.cuda.set_per_process_memory_fraction`` at
(N - ``--reserve-gb``) / the card's memory, as ``bench_train.py --card-rows`` does. Each
search starts from the table's value for that row (B-1, B-2) and may grow to the clip count.

Reported per row: the table's batch, the largest batch that fit, the first that ran out of
memory (or why the search stopped), the peak reserved memory at the largest fit, seconds.
This is the check of the tables the batch probe rests on: a table value above the measured
edge is a row that runs out of memory on that card.
"""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from _report import BENCHMARKS_MD, append_row, device_name, table_row

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gsv_core.guidelines import tables
from gsv_core.models.checkpoint import gpt_info, save_gpt_weights, save_sovits_weights, sovits_info
from gsv_core.models.discriminator import MultiPeriodDiscriminator
from gsv_core.models.gpt import GPTConfig, Text2SemanticDecoder
from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator
from gsv_core.train.batch_probe import probe_batch
from gsv_core.train.config import TrainConfig
from gsv_core.workspace import Workspace
from tests.infer_fixtures import tiny_fixture
from tests.train_fixtures import (
    DISCRIMINATOR_NAME,
    GENERATOR_NAME,
    write_formatted_experiment,
    write_tiny_pretrained_sovits,
)

EXPERIMENT = "probe bench"
KINDS = ("sovits", "gpt", "gpt-dpo")
TABLE = {"sovits": tables.SOVITS_MAX_BATCH, "gpt": tables.GPT_MAX_BATCH,
         "gpt-dpo": tables.GPT_MAX_BATCH_DPO}


class Quiet:
    """A TrainReporter that prints the probe's log lines and keeps nothing else."""

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        pass

    def log(self, message: str, level: str = "info") -> None:
        print(f"    {message}", flush=True)

    def metric(self, name: str, value: float, step: int) -> None:
        pass

    def emit(self, kind: str, **data: Any) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def write_full_pretrained(space: Workspace) -> Path:
    """Random full-size pretrained G, D (where the registry looks) and GPT; the GPT's path."""
    torch.manual_seed(0)
    folder = space.pretrained_v2_dir
    folder.mkdir(parents=True, exist_ok=True)
    save_sovits_weights(folder / GENERATOR_NAME, SoVITSGenerator(SoVITSConfig()),
                        SoVITSConfig(), sovits_info(0, 0))
    torch.save({"weight": MultiPeriodDiscriminator().state_dict(), "iteration": 0},
               folder / DISCRIMINATOR_NAME)
    return save_gpt_weights(folder / "s1bert25hz-random.ckpt", Text2SemanticDecoder(GPTConfig()),
                            GPTConfig(), gpt_info(0))


def table_value(kind: str, gb: float) -> int | None:
    """The B-1/B-2 batch of the largest table row not above ``gb`` (None: "—" or no row)."""
    rows = [batch for row_gb, batch in zip(tables.VRAM_ROWS_GB, TABLE[kind], strict=True)
            if row_gb <= gb]
    return rows[-1] if rows else None


def probe_row(space: Workspace, gpt_path: Path, kind: str, card: str, args: argparse.Namespace,
              device: torch.device) -> str:
    total_gb = (torch.cuda.get_device_properties(device).total_memory / 2**30
                if device.type == "cuda" else None)
    gb = total_gb if card == "full" else float(card)
    if device.type == "cuda":
        fraction = 1.0 if card == "full" else (gb - args.reserve_gb) / total_gb
        torch.cuda.set_per_process_memory_fraction(min(fraction, 1.0), device.index or 0)
    table = table_value(kind, gb) if gb is not None else 1
    if table is None:
        return f"{kind} {card} GB: no table row (DPO needs 12 GB)"
    config = TrainConfig(kind="gpt" if kind.startswith("gpt") else "sovits",
                         workspace=str(space.root), experiment=EXPERIMENT, epochs=1,
                         batch_size=1, save_every=1, dpo=kind == "gpt-dpo",
                         device=device.type, pretrained_s1=str(gpt_path))
    print(f"  {kind} on {card} {'GB' if card != 'full' else 'card'} (table {table})", flush=True)
    result = probe_batch(config, Quiet(), start=table, ceiling=args.clips,
                         time_limit_s=args.time_limit, card=(f"{card} GB", gb))
    peak = dict((size, p) for size, _, p in result.tried).get(result.largest_fit)
    edge = (f"first failure {result.first_failure}" if result.first_failure is not None
            else f"stopped by {result.limited_by}")
    peak_text = f", {peak:.1f} GiB reserved" if peak is not None else ""
    label = f"{gb:.0f} GB" if card != "full" else f"whole card ({gb:.0f} GiB)" if gb else "CPU"
    return (f"{kind} {label}: table {table}, largest fit {result.largest_fit} ({edge}"
            f"{peak_text}, {len(result.tried)} tries, {result.seconds:.0f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--cards", default="8,12,24,full",
                        help="comma-separated GB of emulated cards, 'full' = the whole card")
    parser.add_argument("--clips", type=int, default=256, help="items the search may grow to")
    parser.add_argument("--seconds", type=float, default=tables.REFERENCE_SLICE_S)
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--reserve-gb", type=float, default=0.5)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per search")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()
    device = torch.device(args.device)
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="gsv-probe-bench-") as root:
        space = Workspace(Path(root))
        print(f"Writing {args.clips} formatted clips of {args.seconds:g} s ...", flush=True)
        write_formatted_experiment(space.root, EXPERIMENT, clips=args.clips,
                                   seconds=(args.seconds,))
        if args.size == "full":
            gpt_path = write_full_pretrained(space)
        else:
            write_tiny_pretrained_sovits(space.pretrained_v2_dir)
            gpt_path = tiny_fixture("gpt_v2.ckpt")
        lines = [probe_row(space, gpt_path, kind, card, args, device)
                 for kind in kinds for card in args.cards.split(",") if card]
    for line in lines:
        print(line)
    settings = (f"`python bench/bench_probe.py --device {args.device} --kinds {args.kinds} "
                f"--cards {args.cards} --clips {args.clips}`, {args.size}-size random models, "
                f"{args.seconds:g} s clips, emulated cards = memory fraction minus "
                f"{args.reserve_gb:g} GB")
    append_row(table_row("batch probe (largest batch that fits)", device_name(device), settings,
                         "; ".join(lines)), args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
