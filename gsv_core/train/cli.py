"""``gsv-studio train sovits|gpt --exp NAME``: training from the command line (issue 11 item 8).

The same trainers and the same guideline limits as the Training tab: the limits come from
:func:`gsv_core.guidelines.training_limits` for this machine and the experiment's measured
dataset (:func:`gsv_core.train.launch.experiment_dataset`, refined by ``--dataset-report``
and ``--reviewed``); a value left out is the plan's; a value beyond a limit is refused with
exit 2 and the rule's reason. Progress goes to stderr, JSON-lines events to ``--events FILE``
(the job events' format, :mod:`gsv_core.job_events`), and the exported weight files, one
path a line, to stdout at the end.

Exit codes: 0 trained (or stopped with Ctrl+C after a checkpoint: see 130), 1 training
failed (the cause on stderr), 2 bad arguments, a value beyond a limit, an experiment that is
not formatted, a busy card; 130 stopped with Ctrl+C at a step boundary, a checkpoint written
(start again to resume, T-2).

This module also holds :class:`LineReporter`, the reporter of every run that is not a
background job (this command and ``python -m gsv_core.train``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from gsv_core.errors import ConfigError, DatasetError, GsvError, HardwareError, ModelMissing
from gsv_core.guidelines import Limit, TrainingLimits, dataset_from_fields, training_limits
from gsv_core.hardware import MachineProfile, detect_machine
from gsv_core.job_events import EventWriter
from gsv_core.plan import finite_number
from gsv_core.settings import load_settings, open_workspace
from gsv_core.train.config import TrainConfig
from gsv_core.workspace import Workspace

__all__ = ["EXIT_CRASH", "EXIT_OK", "EXIT_STOPPED", "EXIT_USAGE", "LineReporter",
           "build_parser", "config_from_args", "main"]

EXIT_OK, EXIT_CRASH, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 130
INPUT_ERRORS = (ConfigError, DatasetError, ModelMissing)  # the user's to fix: exit 2

EPILOG = """\
Several GPUs of this machine: --gpus 0,1 trains one model with one process per card
(torch.distributed DDP through torchrun; NCCL on Linux, gloo on Windows).

Several machines: write the run config once with --write-config, copy the workspace (or
share it) to every node, then start torchrun's own multi-node launcher on each node:

  gsv-studio train sovits --exp "my voice" --gpus 0,1 --write-config
  torchrun --nnodes 2 --node_rank R --nproc_per_node 2 \\
           --rdzv_backend c10d --rdzv_endpoint HOST:29500 \\
           -m gsv_core.train sovits --config "logs/my voice/train-sovits.json" \\
           --events events.jsonl

(R = 0 on the first node, 1 on the second; HOST = the first node's address.) Rank 0 writes
the events, checkpoints and exported weights.

Exit codes: 0 done, 1 training failed, 2 bad arguments or a value beyond a guideline
limit (the rule and its reason are printed), 130 stopped with Ctrl+C (start again to resume).
"""


# --- the reporter -------------------------------------------------------------------------------

class LineReporter:
    """A :class:`~gsv_core.train.reporting.TrainReporter` for runs that are not a job: events
    as JSON lines to ``events`` (when given), a progress line and warnings on ``stream``.

    ``quiet`` (ranks other than 0) writes nothing but still answers :meth:`should_stop`:
    from ``stop_file`` (a background job's stop file, for torchrun children) or after
    :meth:`request_stop` (Ctrl+C).
    """

    def __init__(self, events: str | os.PathLike[str] | None = None, *,
                 stream: TextIO | None = None, stop_file: str | os.PathLike[str] | None = None,
                 quiet: bool = False, prefix: str = "") -> None:
        self._writer = EventWriter(events) if events and not quiet else None
        self._stream = stream if stream is not None else sys.stderr
        self._stop_file = Path(stop_file) if stop_file else None
        self._quiet = quiet
        self._prefix = prefix
        self._stop = False

    def _say(self, text: str) -> None:
        if not self._quiet:
            print(f"{self._prefix}{text}", file=self._stream, flush=True)

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        if self._writer:
            self._writer.write("progress", done=float(done),
                               total=None if total is None else float(total),
                               message=str(message))
        self._say(message or (f"{done:g}/{total:g}" if total else f"{done:g}"))

    def log(self, message: str, level: str = "info") -> None:
        if self._writer:
            self._writer.write("log", message=str(message), level=level)
        self._say(message if level == "info" else f"{level}: {message}")

    def metric(self, name: str, value: float, step: int) -> None:
        if self._writer:
            self._writer.write("metric", name=str(name), value=float(value), step=int(step))

    def emit(self, kind: str, **data: Any) -> None:
        if self._writer:
            self._writer.write(kind, **data)

    def record(self, kind: str, **data: Any) -> None:
        """The run's own ending (``result`` / ``failed``), for whoever relays the file."""
        if self._writer:
            self._writer.write(kind, **data)

    def request_stop(self) -> None:
        self._stop = True

    def should_stop(self) -> bool:
        if not self._stop and self._stop_file is not None and self._stop_file.exists():
            self._stop = True
        return self._stop

    def close(self) -> None:
        if self._writer:
            self._writer.close()


# --- arguments ----------------------------------------------------------------------------------

def _gpus(text: str) -> tuple[int, ...]:
    try:
        gpus = tuple(int(part) for part in text.replace("-", ",").split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of GPU indices: give "
                                         "them as 0 or 0,1") from None
    if not gpus or len(set(gpus)) != len(gpus) or min(gpus) < 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of distinct GPU indices")
    return gpus


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gsv-studio train", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fine-tune SoVITS or GPT on a formatted experiment (logs/<exp>/), within "
                    "the training guidelines for this machine and dataset. Values left out "
                    "are the recommended plan's (gsv-studio plan). Starting again with the "
                    "same experiment resumes from its newest checkpoint.")
    parser.add_argument("kind", choices=("sovits", "gpt"), help="the model to train")
    parser.add_argument("--exp", required=True, help="experiment name (folder under logs/)")
    parser.add_argument("--workspace", default=".", help="workspace root (default: here)")
    parser.add_argument("--epochs", type=_positive_int, help="rounds (epochs) to train")
    parser.add_argument("--batch", type=_positive_int, help="batch size (the one that runs)")
    parser.add_argument("--save-every", type=_positive_int, metavar="N",
                        help="export weights every N rounds (the last round always)")
    parser.add_argument("--lr-weight", type=finite_number, metavar="X",
                        help="SoVITS text learning-rate weight (R-4)")
    dpo = parser.add_mutually_exclusive_group()
    dpo.add_argument("--dpo", dest="dpo", action="store_const", const=True, default=None,
                     help="GPT: train with DPO (default: as the plan recommends)")
    dpo.add_argument("--no-dpo", dest="dpo", action="store_const", const=False,
                     help="GPT: train without DPO")
    parser.add_argument("--confirm-dpo", action="store_true",
                        help="accept DPO on a dataset not checked or not fully proofread (D-3)")
    parser.add_argument("--gpus", type=_gpus, metavar="0,1",
                        help="CUDA cards to train on (several: one process per card, DDP)")
    parser.add_argument("--device", choices=("cuda", "cpu"),
                        help="cuda or cpu (default: the guidelines' choice for this machine)")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"),
                        default=None, help="auto: bf16 where supported, else fp16; fp32 "
                                           "on the CPU (default: the Settings tab's "
                                           "training precision on a GPU, else auto)")
    parser.add_argument("--compile", action="store_true",
                        help="SoVITS: compile the decoder and discriminator with CUDA graphs "
                             "(Linux, NVIDIA GPU, one process): faster steps after a few "
                             "minutes of compiling at the start; elsewhere it says why not "
                             "and trains uncompiled")
    parser.add_argument("--pretrained-s2g", metavar="PATH", help="SoVITS generator to start "
                        "from (default: the official file in pretrained_models/)")
    parser.add_argument("--pretrained-s2d", metavar="PATH", help="SoVITS discriminator (a "
                        "missing one trains from scratch, with a warning)")
    parser.add_argument("--pretrained-s1", metavar="PATH", help="GPT checkpoint to start from")
    parser.add_argument("--max-steps", type=_positive_int, metavar="N",
                        help="end after N optimizer steps in all (a quick check); the final "
                             "weights are still exported")
    parser.add_argument("--dataset-report", metavar="FILE",
                        help="a saved quality report (gsv-studio quality LIST --json): its "
                             "verdict and measures instead of those read from the experiment")
    parser.add_argument("--reviewed", type=finite_number, default=0.0, metavar="PCT",
                        help="percentage of labels proofread by a person (0-100)")
    parser.add_argument("--events", metavar="FILE", help="write JSON-lines events here")
    parser.add_argument("--write-config", action="store_true",
                        help="only write logs/<exp>/train-<kind>.json (for torchrun on "
                             "several nodes) and print its path")
    probe = parser.add_argument_group(
        "batch probe", "Measure the largest batch that really fits the card for this "
        "experiment (a few real steps at growing sizes on its longest clips), instead of "
        "training. The measurement is saved beside the experiment; later runs on the same "
        "card and data use the smaller of it and the tables (B-6).")
    probe.add_argument("--probe", action="store_true",
                       help="measure and save the largest batch, then exit (GPU only)")
    probe.add_argument("--probe-time-limit", type=finite_number, default=300.0, metavar="S",
                       help="end the measurement after S seconds with what is known (300)")
    probe.add_argument("--use-measured-batch", action="store_true",
                       help="allow the batch up to the measured value even above the tables")
    return parser


# --- from the arguments and the guidelines to a config -------------------------------------------

def _profile(device: str | None) -> MachineProfile:
    profile = detect_machine()
    return dataclasses.replace(profile, gpus=()) if device == "cpu" else profile


def _dataset_fields(args: argparse.Namespace, workspace: Workspace) -> dict[str, Any]:
    from gsv_core.train.launch import experiment_dataset

    measured = experiment_dataset(workspace, args.exp)
    fields: dict[str, Any] = {
        "minutes": None if measured.total_duration_s is None else measured.total_duration_s / 60,
        "p95_slice_s": measured.p95_slice_s, "clip_count": measured.clip_count,
        "quality": measured.quality}
    if args.dataset_report:
        from gsv_core.dataset.quality_summary import read_dataset_report

        fields.update(read_dataset_report(args.dataset_report))
    fields["reviewed_pct"] = args.reviewed
    return fields


def _beyond(flag: str, requested: float | None, limit: Limit) -> str | None:
    """The refusal of a value outside ``limit`` (the binding rule and its reason), or None."""
    if requested is None:
        return None
    why = limit.binding.text() if limit.binding else "; ".join(limit.reason_texts())
    if not limit.enabled:
        return f"{flag} {requested:g}: this cannot train here. {why}"
    if requested < limit.min or requested > limit.max:
        return (f"{flag} {requested:g} is beyond the limit ({limit.min:g} to {limit.max:g}). "
                f"{why}")
    return None


def _limits(args: argparse.Namespace, profile: MachineProfile,
            fields: dict[str, Any]) -> TrainingLimits:
    data = dataset_from_fields(**fields)
    if data.problems:
        raise ConfigError("The dataset facts are not usable: "
                          + " ".join(p.text() for p in data.problems),
                          "Check --dataset-report and --reviewed.")
    gpu_index = args.gpus[0] if args.gpus else None
    known = [gpu.index for gpu in profile.gpus]
    if gpu_index is not None and args.device != "cpu" and gpu_index not in known:
        raise ConfigError(f"--gpus: there is no GPU {gpu_index} (GPUs found: "
                          f"{', '.join(map(str, known)) or 'none'}).",
                          "Leave --gpus out to train on the best usable card, or --device cpu.")
    per_kind = {f"{args.kind}_batch": args.batch, f"{args.kind}_epochs": args.epochs,
                f"{args.kind}_save_every": args.save_every}

    def limits(**measured: Any) -> TrainingLimits:
        return training_limits(profile, data.summary, gpu_index=gpu_index,
                               dpo=args.dpo if args.kind == "gpt" else False,
                               dpo_confirmed=args.confirm_dpo, lr_weight=args.lr_weight,
                               **per_kind, **measured)

    rules_only = limits()
    if args.probe:   # the probe starts from the rules' value, never from an older measurement
        return rules_only
    return limits(**_measurements(args, profile, rules_only))


def _measurements(args: argparse.Namespace, profile: MachineProfile,
                  limits: TrainingLimits) -> dict[str, Any]:
    """The saved batch probes for the card the guidelines chose and this experiment's data."""
    from gsv_core.train.probe_launch import probe_card, saved_measurements

    return saved_measurements(open_workspace(Path(args.workspace)), args.exp,
                              probe_card(profile, limits), args.use_measured_batch)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run the arguments ask for, inside the guidelines.

    Raises:
        ConfigError: a value beyond a limit (the message starts with the flag and carries
            the rule id and reason), DPO where it cannot run, a blocker, a bad GPU.
        DatasetError: the experiment is not formatted for this model.
    """
    from gsv_core.train.launch import check_formatted

    workspace = open_workspace(Path(args.workspace))
    check_formatted(workspace, args.exp, args.kind)
    if args.kind == "sovits" and (args.dpo or args.confirm_dpo):
        raise ConfigError("--dpo is a GPT option.", "Leave it out for SoVITS.")
    if args.kind == "gpt" and args.lr_weight is not None:
        raise ConfigError("--lr-weight is a SoVITS option (R-4).", "Leave it out for GPT.")
    profile = _profile(args.device)
    limits = _limits(args, profile, _dataset_fields(args, workspace))
    batch = getattr(limits, f"{args.kind}_batch")
    epochs = getattr(limits, f"{args.kind}_epochs")
    save_every = getattr(limits, f"{args.kind}_save_every")
    refusals = [_beyond("--batch", args.batch, batch), _beyond("--epochs", args.epochs, epochs),
                _beyond("--save-every", args.save_every, save_every),
                _beyond("--lr-weight", args.lr_weight, limits.lr_weight)]
    if args.dpo and not limits.dpo_on:
        reasons = [r.text() for r in limits.dpo.reasons if r.rule == "D-2"]
        refusals.append("--dpo: DPO cannot train here. " + " ".join(reasons))
    refusals += [blocker.text() for blocker in limits.blockers]
    refusals = [text for text in refusals if text]
    if refusals:
        raise ConfigError(" ".join(refusals), "Choose a value inside the limit, or leave the "
                          "flag out to use the plan's.")
    if not batch.enabled:
        raise HardwareError("This machine cannot train: " + "; ".join(batch.reason_texts()),
                            "Train on a machine with a usable GPU, or --device cpu.")
    device_text = limits.decision.device
    if args.device == "cuda" and not device_text.startswith("cuda"):
        raise ConfigError("--device cuda: no usable CUDA GPU here. "
                          + "; ".join(r.text() for r in limits.decision.reasons),
                          "Leave --device out, or use --device cpu.")
    if device_text.startswith("cuda"):
        device = "cuda"
        gpus = args.gpus or (int(device_text.split(":", 1)[1]),)
    else:
        device, gpus = device_text, (0,)
    return TrainConfig(
        kind=args.kind, workspace=os.fspath(workspace.root), experiment=args.exp,
        epochs=int(epochs.value), batch_size=int(batch.value),
        save_every=int(save_every.value),
        lr_weight=float(limits.lr_weight.value), dpo=bool(args.kind == "gpt" and limits.dpo_on),
        device=device, gpus=tuple(gpus), precision=_precision(args, workspace, device),
        pretrained_s2g=args.pretrained_s2g, pretrained_s2d=args.pretrained_s2d,
        pretrained_s1=args.pretrained_s1, max_steps=args.max_steps,
        compile=bool(args.compile and args.kind == "sovits"))


def _precision(args: argparse.Namespace, workspace: Workspace, device: str) -> str:
    """--precision when given, else the saved preference on a GPU (auto elsewhere)."""
    if args.precision is not None:
        return args.precision
    return load_settings(workspace.root)[0].train_precision if device == "cuda" else "auto"


def describe(config: TrainConfig) -> str:
    """One line saying what will run (B-8: the batch that runs)."""
    where = (f"GPU {', '.join(map(str, config.gpus))}" if config.device == "cuda"
             else config.device.upper())
    dpo = ", DPO on" if config.dpo else ""
    compiled = ", compiled" if config.compile else ""
    return (f"{'SoVITS' if config.kind == 'sovits' else 'GPT'} on {config.experiment!r}: "
            f"batch {config.batch_size}, {config.epochs} rounds, weights every "
            f"{config.save_every} rounds and the last{dpo}{compiled}, on {where}")


# --- running ------------------------------------------------------------------------------------

def _error(error: BaseException) -> str:
    if isinstance(error, GsvError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _run_here(config: TrainConfig, events: str | None) -> tuple[int, list[str]]:
    from gsv_core.train.job import load_trainer

    reporter = LineReporter(events, prefix=f"{config.kind}: ")

    def stop(_signum: int, _frame: object) -> None:
        if reporter.should_stop():
            raise KeyboardInterrupt  # a second Ctrl+C: stop now
        print("gsv-studio train: stopping after this step (Ctrl+C again to stop now)",
              file=sys.stderr, flush=True)
        reporter.request_stop()

    previous = signal.signal(signal.SIGINT, stop)
    try:
        result = load_trainer(config)(config, reporter)
    except Exception as exc:
        reporter.record("failed", error_type=type(exc).__name__, message=_error(exc))
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
        reporter.close()
    return (EXIT_STOPPED if result.stopped else EXIT_OK), list(result.exported)


def _run_torchrun(config: TrainConfig, processes: int, events: str | None) -> tuple[int, list[str]]:
    from gsv_core.job_events import read_events
    from gsv_core.train.job import run_config_path, torchrun_command

    events_path = Path(events) if events else run_config_path(config).with_suffix(".events.jsonl")
    events_path.unlink(missing_ok=True)
    child = dataclasses.replace(config, gpus=tuple(range(len(config.gpus))))
    child_path = child.write(run_config_path(config).with_name(f"train-{config.kind}.child.json"))
    stop_file = child_path.with_suffix(".stop")
    stop_file.unlink(missing_ok=True)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ",".join(map(str, config.gpus))}
    process = subprocess.Popen(torchrun_command(child_path, config.kind, processes,
                                                events_path, stop_file), env=env)
    try:
        process.wait()
    except KeyboardInterrupt:  # Ctrl+C reached the children too; they stop at a step
        stop_file.touch()
        process.wait()
    stop_file.unlink(missing_ok=True)
    result: dict[str, Any] = {}
    for event in read_events(events_path)[0]:
        if event.kind == "result":
            result = dict(event.data.get("value") or {})
    if process.returncode != 0 or not result:
        return (process.returncode or EXIT_CRASH), []
    return (EXIT_STOPPED if result.get("stopped") else EXIT_OK), list(result.get("exported", ()))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 with a message on bad arguments
    from gsv_core.train.job import processes_of, run_config_path
    from gsv_core.train.launch import hold_gpu_locks

    try:
        config = config_from_args(args)
    except GsvError as exc:
        print(f"gsv-studio train: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.write_config:
        print(config.write(run_config_path(config)))
        return EXIT_OK
    if args.probe:
        return _probe(args, config)
    print(f"gsv-studio train: {describe(config)}", file=sys.stderr, flush=True)
    cards = config.gpus if config.device == "cuda" else ()
    try:
        with hold_gpu_locks(config.space, cards, config.experiment, [config.kind]):
            config.write(run_config_path(config))
            processes = processes_of(config)
            if processes > 1:
                code, exported = _run_torchrun(config, processes, args.events)
            else:
                code, exported = _run_here(config, args.events)
    except (*INPUT_ERRORS, HardwareError) as exc:
        print(f"gsv-studio train: error: {_error(exc)}", file=sys.stderr)
        busy_card = isinstance(exc, HardwareError) and exc.rule == "H-3"  # launch's lock
        return EXIT_USAGE if isinstance(exc, INPUT_ERRORS) or busy_card else EXIT_CRASH
    except KeyboardInterrupt:
        print("gsv-studio train: stopped", file=sys.stderr)
        return EXIT_STOPPED
    except Exception as exc:  # the trainer's crash: its cause, then exit 1
        print(f"gsv-studio train: training failed: {_error(exc)}", file=sys.stderr)
        return EXIT_CRASH
    for path in exported:
        print(path)
    if code == EXIT_STOPPED:
        print("gsv-studio train: stopped after a checkpoint; run the same command again to "
              "resume", file=sys.stderr)
    elif code != EXIT_OK:
        print(f"gsv-studio train: training failed (exit code {code}; see the messages above)",
              file=sys.stderr)
    return code


def _probe(args: argparse.Namespace, config: TrainConfig) -> int:
    """``--probe``: measure the largest batch on the config's card and save it."""
    from gsv_core.prepare import ExperimentFiles
    from gsv_core.train.batch_probe import probe_batch
    from gsv_core.train.probe_results import probe_path

    if config.device != "cuda":
        print("gsv-studio train: error: --probe measures GPU memory, and this run is on the "
              f"{config.device.upper()}, where every batch fits. Run it on a machine with an "
              "NVIDIA GPU.", file=sys.stderr)
        return EXIT_USAGE
    profile = _profile(args.device)
    gpu = next(g for g in profile.gpus if g.index == config.gpus[0])
    start = int(getattr(_limits(args, profile, _dataset_fields(args, config.space)),
                        f"{config.kind}_batch").max)
    reporter = LineReporter(args.events, prefix="probe: ")
    try:
        result = probe_batch(config, reporter, start=start, time_limit_s=args.probe_time_limit,
                             card=(gpu.name, gpu.vram_gb))
    except INPUT_ERRORS as exc:
        print(f"gsv-studio train: error: {_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        print(f"gsv-studio train: the batch probe failed: {_error(exc)}", file=sys.stderr)
        return EXIT_CRASH
    finally:
        reporter.close()
    print(probe_path(ExperimentFiles.of(config.space, config.experiment), config.kind,
                     result.dpo))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
