"""Training speed and memory: our SoVITS / GPT / GPT+DPO step, and upstream's beside it.

    python bench/bench_train.py --device cuda --model sovits --batch 14 --upstream ~/GPT-SoVITS
    python bench/bench_train.py --device cuda --model gpt --batch 11 --upstream ~/GPT-SoVITS
    python bench/bench_train.py --device cuda --model gpt-dpo --batch 6 --upstream ~/GPT-SoVITS
    python bench/bench_train.py --device cuda --model sovits --card-rows --seconds-list 10,15,20
    python bench/bench_train.py --device cpu --model gpt --size tiny --batch 1 --steps 1 --no-write
    python bench/bench_train.py --device cuda --model sovits --batch 14 --steps 5 --profile

What is measured. Full-size v2 models (``--size tiny``: small ones, for a smoke run on the
CPU) with random weights, seeded; synthetic clips of ``--seconds`` (10) seconds, every clip
of a batch the same length, put ON THE DEVICE BEFORE THE CLOCK STARTS: data loading,
collation and the host-to-device copy are not measured (both trainers load in background
workers). ``--warmup`` steps, then ``--steps`` timed steps, the device synchronised around
each:

- SoVITS: a step is one batch, the discriminator's and then the generator's update
  (:class:`gsv_core.train.sovits.SovitsStep`, optimizers from ``build_optimizers``, precision
  from ``choose_precision``: ``--dtype auto`` = bf16 where supported);
- GPT: a step is one optimizer update over ``GRAD_ACCUMULATION`` (4) batches
  (:class:`gsv_core.train.gpt.GPTStepper`), as upstream accumulates 4 batches per update;
  with DPO each batch carries its own rejected twins (made by ``collate_gpt`` as the data
  loader does, a new seed per batch, so the rejected lengths change every batch as in
  training and a step that recompiles or re-plans for a new shape shows as a spike). The
  batches wait pinned on the host and each step's 4 are copied to the device before its
  clock starts (only those 4 are on the device at a time); upstream's 4 batches stay on the
  device and it makes its rejected twins inside the step, as it does in training.

Reported: samples/s, the step time median and max (spikes), the fp16 grad scaler's skipped
steps, and peak memory as ``torch.cuda.max_memory_reserved`` (each side measured from an
empty cache with its peak counter reset, models, optimizer state and inputs included).

``--upstream DIR``: upstream's own training step on the same shapes, same weights, in the
same process after ours (``_upstream_train.py`` says which pieces run and what is left out:
its 1-rank DDP wrapper, its data loader, Lightning's loop and logging, all of which favour
upstream), always fp16 autocast with a grad scaler as upstream trains; then ours/upstream.
A stand-in for ``torchmetrics`` (measured code, see there) makes upstream's row marked
"not comparable".

``--memory-fraction F`` caps this process's PyTorch allocator at F × the card
(``torch.cuda.set_per_process_memory_fraction``) to emulate a smaller card; an out-of-memory
error is caught and written as "out of memory". ``--card-rows`` runs our step once per row of
the B-1/B-2 tables (``gsv_core/guidelines/tables.py``: the card's GB and that row's batch for
``--model``) under that cap, minus ``--reserve-gb`` (0.5: the CUDA context and the desktop
hold memory the allocator never sees), and with ``--seconds-list`` also finds the longest
slice (of those listed, ascending, stopping at the first failure) that row still trains:
what B-4 (p95 slice length) and the batch probe rest on.
"""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import functools
import gc
import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row

from gsv_core.audio import SAMPLE_RATE
from gsv_core.guidelines import tables
from gsv_core.models.discriminator import MultiPeriodDiscriminator
from gsv_core.models.gpt import BERT_DIM, GPTConfig, Text2SemanticDecoder
from gsv_core.models.sovits import SoVITSConfig, SoVITSGenerator
from gsv_core.train.gpt import GRAD_ACCUMULATION, GPTStepper
from gsv_core.train.gpt_data import EOS_ID, SEMANTIC_RATE_HZ, GPTBatch, collate_gpt
from gsv_core.train.sovits import SovitsStep, build_optimizers, choose_precision
from gsv_core.train.sovits_data import SovitsBatch

MODELS = ("sovits", "gpt", "gpt-dpo")
PHONES_PER_S = 12.0  # a typical Mandarin rate, inside the GPT data filter's 3-25
SSL_DIM = 768
TINY_SOVITS = {"inter_channels": 32, "filter_channels": 64, "n_layers": 2,
               "upsample_initial_channel": 64}
TINY_GPT = {"embedding_dim": 64, "hidden_dim": 64, "num_heads": 4, "num_layers": 2,
            "linear_units": 256}
TABLE_BATCH = {"sovits": tables.SOVITS_MAX_BATCH, "gpt": tables.GPT_MAX_BATCH,
               "gpt-dpo": tables.GPT_MAX_BATCH_DPO}
GIB = 2**30
# Library errors that mean "no memory" when the allocator is capped (cuBLAS and cuDNN
# allocate their workspaces through it and report failure in their own words).
_OOM_MARKERS = ("out of memory", "CUBLAS_STATUS_ALLOC_FAILED", "CUDNN_STATUS_ALLOC_FAILED",
                "NOT_ENOUGH_WORKSPACE")


@dataclass
class Measured:
    """One side's run: per-step seconds, samples per step, peak reserved bytes, notes."""

    times: list[float]
    samples_per_step: int
    peak_bytes: int | None
    notes: list[str]
    error: str | None = None

    @property
    def samples_per_s(self) -> float:
        return self.samples_per_step * len(self.times) / sum(self.times)

    def brief(self) -> str:
        """Step median and peak memory alone (the card-row sweep's cells)."""
        if self.error:
            return "out of memory" if self.error.startswith("out of memory") else self.error
        peak = "" if self.peak_bytes is None else f", {self.peak_bytes / GIB:.2f} GiB"
        return f"{statistics.median(self.times) * 1000:.0f} ms{peak}"

    def summary(self) -> str:
        if self.error:
            return self.error
        peak = "" if self.peak_bytes is None else f", peak reserved {self.peak_bytes / GIB:.2f} GiB"
        notes = "".join(f", {n}" for n in self.notes)
        return (f"{self.samples_per_s:.1f} samples/s, step median "
                f"{statistics.median(self.times) * 1000:.0f} ms, max "
                f"{max(self.times) * 1000:.0f} ms{peak}{notes}")


# --- shared helpers -----------------------------------------------------------------------

def _fresh_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak(device: torch.device) -> int | None:
    return torch.cuda.max_memory_reserved(device) if device.type == "cuda" else None


def _scaler_skips(scaler: torch.amp.GradScaler, start_scale: float | None) -> str | None:
    """Steps skipped by an fp16 scaler over the timed steps (each skip halves the scale;
    growth needs 2000 clean steps, more than any run here)."""
    if start_scale is None or not scaler.is_enabled():
        return None
    end = scaler.get_scale()
    return f"scaler skipped {round(math.log2(start_scale / end)) if end > 0 else '?'} steps"


def _timed(step: Callable[[int], None], device: torch.device, warmup: int, steps: int,
           prepare: Callable[[int], None] | None = None) -> list[float]:
    """Seconds of each timed step; ``prepare(index)`` runs first, outside the clock (it
    puts that step's inputs on the device, as a data loader would have beforehand)."""
    sync(device)
    start = time.perf_counter()
    for index in range(warmup):
        if prepare is not None:
            prepare(index)
        step(index)
    sync(device)
    print(f"warm-up: {warmup} steps in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    times = []
    for index in range(warmup, warmup + steps):
        if prepare is not None:
            prepare(index)
        sync(device)
        start = time.perf_counter()
        step(index)
        sync(device)
        times.append(time.perf_counter() - start)
    return times


def _measure(step: Callable[[int], None], scaler: torch.amp.GradScaler, note: str,
             samples: int, device: torch.device, args: argparse.Namespace,
             prepare: Callable[[int], None] | None = None) -> Measured:
    """``_timed`` of ``step`` plus what every row says: the precision ``note``, the fp16
    scaler's skipped steps over the timed ones, the peak memory."""
    start_scale: list[float | None] = [None]

    def run(index: int) -> None:
        step(index)
        if index == args.warmup - 1 and scaler.is_enabled():
            start_scale[0] = scaler.get_scale()

    times = _timed(run, device, args.warmup, args.steps, prepare)
    notes = [note]
    skips = _scaler_skips(scaler, start_scale[0])
    if skips:
        notes.append(skips)
    return Measured(times, samples, _peak(device), notes)


def _run_side(run: Callable[[], Measured], device: torch.device) -> Measured:
    """``run`` with out-of-memory caught (and the cache emptied after either way)."""
    _fresh_memory(device)
    try:
        return run()
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        first = (str(exc).splitlines() or [""])[0][:160]
        if not isinstance(exc, torch.OutOfMemoryError) and not any(
                marker in str(exc) for marker in _OOM_MARKERS):
            raise
        return Measured([], 0, _peak(device), [], error=f"out of memory ({first})")
    finally:
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()


# --- SoVITS -------------------------------------------------------------------------------

class SovitsBench:
    """Random SoVITS generator + discriminator (CPU master copies) and the batch shapes."""

    def __init__(self, args: argparse.Namespace, device: torch.device) -> None:
        torch.manual_seed(0)
        self.config = SoVITSConfig(**(TINY_SOVITS if args.size == "tiny" else {}))
        generator = SoVITSGenerator(self.config)
        codebook = generator.quantizer.vq["layers"][0]._codebook.embed
        with torch.no_grad():
            codebook.copy_(torch.randn_like(codebook))  # a filled codebook, as trained weights
            generator.quantizer.vq["layers"][0]._codebook.inited.fill_(1)  # as trained
        self.generator_weights = {k: v.clone() for k, v in generator.state_dict().items()}
        self.discriminator_weights = {k: v.clone()
                                      for k, v in MultiPeriodDiscriminator().state_dict().items()}
        self.args = args
        self.device = device

    def batch(self, size: int, seconds: float) -> SovitsBatch:
        """``size`` clips of ``seconds``, padded as ``sovits_data.collate`` pads, made on the
        device (seeded; no host-side generation or copy to wait for)."""
        device = self.device
        frames = int(seconds * SAMPLE_RATE) // self.config.hop_length
        width = 2 * (frames // 2 + 1)
        samples = frames * self.config.hop_length
        phones = max(int(seconds * PHONES_PER_S), 1)
        gen = torch.Generator(device).manual_seed(1)

        def randn(*shape: int) -> torch.Tensor:
            return torch.randn(*shape, generator=gen, device=device)

        spec = torch.zeros(size, self.config.spec_channels, width, device=device)
        spec[:, :, :frames] = randn(size, self.config.spec_channels, frames).abs()
        ssl = torch.zeros(size, SSL_DIM, width, device=device)
        ssl[:, :, :frames] = randn(size, SSL_DIM, frames)
        full = functools.partial(torch.full, (size,), device=device)
        return SovitsBatch(
            ssl=ssl, spec=spec, spec_lengths=full(frames),
            wav=0.1 * randn(size, 1, samples), wav_lengths=full(samples),
            phone_ids=torch.randint(1, self.config.n_symbols, (size, phones), generator=gen,
                                    device=device),
            phone_lengths=full(phones))

    def ours_models(self) -> tuple[SoVITSGenerator, MultiPeriodDiscriminator]:
        from gsv_core.train.sovits import _train_mode

        generator = SoVITSGenerator(self.config)
        generator.load_state_dict(self.generator_weights)
        discriminator = MultiPeriodDiscriminator()
        discriminator.load_state_dict(self.discriminator_weights)
        return (_train_mode(generator.to(self.device)),
                discriminator.to(self.device).train())

    def ours(self, batch_size: int, seconds: float, models: tuple | None = None,
             compile_mode: str | None = None) -> Measured:
        """Our step; ``compile_mode`` (default: ``--compile``) through the trainer's own
        ``SovitsStep.compile``, so the figure is the product's path."""
        args, device = self.args, self.device
        mode = compile_mode or args.compile
        generator, discriminator = models if models is not None else self.ours_models()
        precision = choose_precision(args.dtype, device)
        optim_g, optim_d, _ = build_optimizers(generator, discriminator, 0.4,
                                               fused=device.type == "cuda")
        step_fn = SovitsStep(generator, discriminator, optim_g, optim_d, precision, device)
        if mode != "none":   # the fixed-shape parts: the decoder and discriminator
            step_fn.compile(_compile_failed, mode=_torch_mode(mode))
        batch = self.batch(batch_size, seconds)

        def step(index: int) -> None:
            torch.manual_seed(index)
            step_fn(batch)
        return _measure(step, step_fn.scaler, precision.name, batch_size, device, args)

    def upstream(self, up: Any, batch_size: int, seconds: float) -> Measured:
        import _upstream_train

        args, device = self.args, self.device
        trainer = _upstream_train.UpstreamSovits(up, self.config.to_upstream(),
                                                 self.generator_weights,
                                                 self.discriminator_weights, device)
        b = self.batch(batch_size, seconds)

        def step(index: int) -> None:
            torch.manual_seed(index)
            trainer(b.ssl, b.spec, b.spec_lengths, b.wav, b.phone_ids, b.phone_lengths)
        return _measure(step, trainer.scaler, "fp16" if trainer.fp16 else "fp32", batch_size,
                        device, args)


# --- GPT ----------------------------------------------------------------------------------

class GPTBench:
    """A random decoder (CPU master copy) and the clips' shapes; ``dpo`` adds the twins."""

    def __init__(self, args: argparse.Namespace, device: torch.device, dpo: bool) -> None:
        torch.manual_seed(0)
        self.config = GPTConfig(**(TINY_GPT if args.size == "tiny" else {}))
        self.weights = {k: v.clone()
                        for k, v in Text2SemanticDecoder(self.config).state_dict().items()}
        self.args = args
        self.device = device
        self.dpo = dpo

    def items(self, batch_size: int, seconds: float, seed: int) -> list[dict]:
        gen = torch.Generator().manual_seed(seed)
        tokens = int(seconds * SEMANTIC_RATE_HZ)
        phones = max(int(seconds * PHONES_PER_S), 1)
        return [{"name": f"clip{i}",
                 "phone_ids": torch.randint(1, self.config.phoneme_vocab_size, (phones,),
                                            generator=gen),
                 "semantic_ids": torch.randint(0, EOS_ID, (tokens,), generator=gen),
                 "bert": torch.randn(BERT_DIM, phones, generator=gen).half(),
                 "seed": seed * 1000 + i}
                for i in range(batch_size)]

    def pool_size(self) -> int:
        """Distinct batches needed: a new one per batch with DPO (new rejected twins)."""
        total = (self.args.warmup + self.args.steps) * GRAD_ACCUMULATION
        return total if self.dpo else GRAD_ACCUMULATION

    def ours(self, batch_size: int, seconds: float,
             model: Text2SemanticDecoder | None = None,
             compile_mode: str | None = None) -> Measured:
        args, device = self.args, self.device
        mode = compile_mode or args.compile
        if model is None:
            model = Text2SemanticDecoder(self.config)
            model.load_state_dict(self.weights)
            model = model.to(device)
        precision = _gpt_precision(args.dtype, device)
        stepper = GPTStepper(model, device, precision, self.dpo)
        if mode != "none":   # static first, dynamic after a new length
            stepper.compile(mode=_torch_mode(mode))
        # on the host, pinned as the loader pins; each step's 4 go to the device before it
        pool = [collate_gpt(self.items(batch_size, seconds, seed), dpo=self.dpo)
                for seed in range(self.pool_size())]
        if device.type == "cuda":
            pool = [batch.pin_memory() for batch in pool]
        current: list[list[GPTBatch]] = [[]]

        def prepare(index: int) -> None:
            first = (index * GRAD_ACCUMULATION) % len(pool)
            current[0] = []  # the previous step's batches leave the device first
            current[0] = [b.to(device) for b in pool[first:first + GRAD_ACCUMULATION]]

        def step(index: int) -> None:
            stepper.step(current[0])
        return _measure(step, stepper.scaler, precision, batch_size * GRAD_ACCUMULATION,
                        device, args, prepare)

    def upstream(self, up: Any, batch_size: int, seconds: float) -> Measured:
        import _upstream_train

        args, device = self.args, self.device
        trainer = _upstream_train.UpstreamGPT(up, self.config.to_upstream(), self.weights,
                                              device, self.dpo)
        batches = []
        for seed in range(GRAD_ACCUMULATION):  # upstream makes its rejected twins in the step
            items = self.items(batch_size, seconds, seed)
            batches.append({
                "phoneme_ids": torch.stack([i["phone_ids"] for i in items]).to(device),
                "phoneme_ids_len": torch.tensor([len(i["phone_ids"]) for i in items],
                                                device=device),
                "semantic_ids": torch.stack([i["semantic_ids"] for i in items]).to(device),
                "semantic_ids_len": torch.tensor([len(i["semantic_ids"]) for i in items],
                                                 device=device),
                "bert_feature": torch.stack([i["bert"].float() for i in items]).to(device),
            })

        def step(index: int) -> None:
            trainer.step(batches)
        return _measure(step, trainer.scaler, "fp16" if trainer.fp16 else "fp32",
                        batch_size * GRAD_ACCUMULATION, device, args)


COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune-no-cudagraphs")


def _compile_modes(text: str) -> str:
    modes = [mode.strip() for mode in text.split(",") if mode.strip()]
    unknown = [mode for mode in modes if mode not in COMPILE_MODES]
    if not modes or unknown:
        raise argparse.ArgumentTypeError(
            f"unknown compile mode {', '.join(unknown) or text!r}; use {', '.join(COMPILE_MODES)}")
    return ",".join(modes)


def _torch_mode(mode: str) -> str | None:
    """A ``--compile`` mode as torch.compile's ``mode`` (None = its default)."""
    return None if mode == "default" else mode


def _compile_failed(message: str) -> None:
    """The trainer would go on uncompiled; a benchmark of the compiled step must not."""
    raise SystemExit(f"bench_train: {message}")


def _gpt_precision(requested: str, device: torch.device) -> str:
    """As ``train.gpt`` chooses: auto = bf16 where supported, else fp16; fp32 off CUDA."""
    if device.type != "cuda":
        return "fp32"
    if requested == "auto":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return requested


# --- runs ---------------------------------------------------------------------------------

def _bench(args: argparse.Namespace, device: torch.device) -> SovitsBench | GPTBench:
    if args.model == "sovits":
        return SovitsBench(args, device)
    return GPTBench(args, device, dpo=args.model == "gpt-dpo")


def _settings(args: argparse.Namespace, batch: int, seconds: str) -> str:
    unit = ("1 batch (D then G update)" if args.model == "sovits"
            else f"{GRAD_ACCUMULATION} batches (one optimizer update)")
    size = "full-size v2" if args.size == "full" else "tiny"
    fraction = "" if args.memory_fraction is None else \
        f", memory fraction {args.memory_fraction:.4f}"
    return (f"{args.model}, {size}, random weights, batch {batch}, {seconds} s clips on the "
            f"device (data loading not measured), step = {unit}, {args.warmup} warm-up + "
            f"{args.steps} timed steps, our dtype {args.dtype}{fraction}"
            + ("" if args.compile == "none" else f", ours torch.compile({args.compile})")
            + (", ours cudnn.benchmark" if args.cudnn_benchmark else ""))


def run_compare(args: argparse.Namespace, device: torch.device) -> None:
    bench = _bench(args, device)
    if args.memory_fraction is not None and device.type == "cuda":
        torch.cuda.set_per_process_memory_fraction(args.memory_fraction, device.index or 0)
    modes = args.compile.split(",")
    torch.backends.cudnn.benchmark = args.cudnn_benchmark  # ours only: upstream keeps it off
    variants = [(mode, _run_side(lambda mode=mode: bench.ours(args.batch, args.seconds,
                                                              compile_mode=mode), device))
                for mode in modes]   # several modes: each on fresh models, in this process
    torch.backends.cudnn.benchmark = False
    ours = variants[0][1]
    if len(variants) == 1:
        result = f"ours: {ours.summary()}"
    else:
        result = "; ".join(f"ours, compile {mode}: {measured.summary()}"
                           for mode, measured in variants)
    if args.memory_fraction is not None:
        result = f"fits: {'no' if ours.error else 'yes'}; {result}"
    if args.upstream is not None:
        import _upstream_train

        up = _upstream_train.import_upstream(args.upstream)
        theirs = _run_side(lambda: bench.upstream(up, args.batch, args.seconds), device)
        marks = ""
        if up.stand_ins:
            marks = f" [stand-ins: {', '.join(up.stand_ins)}]"
            if "torchmetrics" in up.stand_ins and args.model != "sovits":
                marks += " NOT COMPARABLE (measured code stubbed)"
        result += (f" | upstream (no 1-rank DDP, no data loader, no logging){marks}: "
                   f"{theirs.summary()}")
        ratios = []
        for mode, measured in variants:
            if measured.error or theirs.error:
                continue
            ratio = (f"{measured.samples_per_s / theirs.samples_per_s:.2f}x"
                     + (f" (compile {mode})" if len(variants) > 1 else ""))
            if measured.peak_bytes is not None and theirs.peak_bytes is not None:
                ratio += f", peak memory {measured.peak_bytes / theirs.peak_bytes:.2f}x"
            ratios.append(ratio)
        if ratios:
            result += f" | ours/upstream samples/s {'; '.join(ratios)}"
    row = table_row("training step (ours vs upstream)", device_name(device),
                    _settings(args, args.batch, f"{args.seconds:g}"), result)
    append_row(row, args.out, write=not args.no_write)


def run_card_rows(args: argparse.Namespace, device: torch.device) -> None:
    """Our step under each B-1/B-2 row's memory (module docstring); one row per card."""
    if device.type != "cuda":
        raise SystemExit("--card-rows emulates smaller cards with the CUDA allocator; use "
                         "--device cuda.")
    bench = _bench(args, device)
    total = torch.cuda.get_device_properties(device).total_memory
    seconds_list = sorted(args.seconds_list or [tables.REFERENCE_SLICE_S])
    if isinstance(bench, SovitsBench):
        models: Any = bench.ours_models()
    else:
        model = Text2SemanticDecoder(bench.config)
        model.load_state_dict(bench.weights)
        models = model.to(device)
    for gb, batch in zip(tables.VRAM_ROWS_GB, TABLE_BATCH[args.model], strict=True):
        if batch is None:
            continue  # "—" in the table: not offered on this card
        fraction = min((gb * GIB - args.reserve_gb * GIB) / total, 1.0)
        torch.cuda.set_per_process_memory_fraction(fraction, device.index or 0)
        outcomes, longest = [], None
        for seconds in seconds_list:
            _clear_grads(models)
            measured = _run_side(lambda b=batch, s=seconds: bench.ours(b, s, models), device)
            outcomes.append(f"{seconds:g} s: {measured.brief()}")
            if measured.error:
                break
            longest = seconds
        fits = "no" if longest is None else f"yes up to {longest:g} s of {seconds_list}"
        row_args = replace_namespace(args, memory_fraction=fraction)
        row = table_row(f"training memory, {gb} GB card row (ours)", device_name(device),
                        _settings(row_args, batch, "/".join(f"{s:g}" for s in seconds_list)) +
                        f", card {gb} GB − {args.reserve_gb:g} GB reserve",
                        f"trains: {fits}; step median, peak reserved: " + "; ".join(outcomes))
        append_row(row, args.out, write=not args.no_write)
    torch.cuda.set_per_process_memory_fraction(1.0, device.index or 0)


def run_profile(args: argparse.Namespace, device: torch.device) -> None:
    """Our step under ``torch.profiler`` (``--profile``): one unprofiled pass first (cuDNN
    plans, allocator), then ``--warmup`` + ``--steps`` steps profiled; prints the top
    operators by device time and by host time, and how busy the device was (its kernels'
    time over the wall time). Nothing is written to benchmarks.md; ``--profile-trace FILE``
    keeps a Chrome trace."""
    from torch.profiler import ProfilerActivity, profile

    bench = _bench(args, device)
    if isinstance(bench, SovitsBench):
        models: Any = bench.ours_models()
        run = lambda: bench.ours(args.batch, args.seconds, models)  # noqa: E731
    else:
        model = Text2SemanticDecoder(bench.config)
        model.load_state_dict(bench.weights)
        models = model.to(device)
        run = lambda: bench.ours(args.batch, args.seconds, models)  # noqa: E731
    run()
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    sync(device)
    began = time.perf_counter()
    with profile(activities=activities) as prof:
        measured = run()
        sync(device)
    wall = time.perf_counter() - began
    averages = prof.key_averages()
    print(f"profiled: {measured.summary()}; wall {wall:.2f} s for {args.warmup + args.steps} "
          f"steps (+ the bench's own set-up)")
    if device.type == "cuda":
        kernels = sum(getattr(e, "self_device_time_total", 0.0) for e in averages) / 1e6
        print(f"device busy: kernels {kernels:.2f} s of {wall:.2f} s wall "
              f"({100 * kernels / wall:.0f} %)")
        print(averages.table(sort_by="self_device_time_total", row_limit=30))
    print(averages.table(sort_by="self_cpu_time_total", row_limit=30))
    if args.profile_trace is not None:
        prof.export_chrome_trace(str(args.profile_trace))


def _clear_grads(models: Any) -> None:
    modules = models if isinstance(models, tuple) else (models,)
    for module in modules:
        for param in module.parameters():
            param.grad = None


def replace_namespace(args: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), **changes})


def _seconds_list(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--batch", type=int, default=None,
                        help="clips per batch (default: the 24 GB row of B-1/B-2)")
    parser.add_argument("--dtype", choices=("auto", "bf16", "fp16", "fp32"), default="auto",
                        help="our precision (upstream always trains fp16)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--seconds", type=float, default=tables.REFERENCE_SLICE_S,
                        help="length of every synthetic clip")
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--upstream", type=Path, help="a GPT-SoVITS checkout to compare with")
    parser.add_argument("--memory-fraction", type=float, default=None,
                        help="cap the allocator at this share of the card")
    parser.add_argument("--card-rows", action="store_true",
                        help="run under each B-1/B-2 card row's memory and batch (ours only)")
    parser.add_argument("--seconds-list", type=_seconds_list, default=None,
                        help="with --card-rows: slice lengths to try, e.g. 10,15,20,30")
    parser.add_argument("--reserve-gb", type=float, default=0.5,
                        help="with --card-rows: card memory the allocator cannot use")
    parser.add_argument("--compile", default="none", type=_compile_modes,
                        help="torch.compile our step's modules: none, default, "
                             "reduce-overhead or max-autotune-no-cudagraphs; a comma list "
                             "(e.g. none,reduce-overhead) measures each in this one run")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="ours with torch.backends.cudnn.benchmark on (an experiment: "
                             "the trainers keep it off)")
    parser.add_argument("--profile", action="store_true",
                        help="profile our step (top operators, device busy time); no row")
    parser.add_argument("--profile-trace", type=Path, default=None,
                        help="with --profile: write a Chrome trace here")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()
    if args.batch is None:
        args.batch = TABLE_BATCH[args.model][tables.VRAM_ROWS_GB.index(24)]
    if args.steps < 1 or args.warmup < 1:
        parser.error("--steps and --warmup must be at least 1")
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # both trainers turn TF32 on
        torch.backends.cudnn.allow_tf32 = True
    if args.profile:
        run_profile(args, device)
    elif args.card_rows:
        run_card_rows(args, device)
    else:
        run_compare(args, device)


if __name__ == "__main__":
    main()
