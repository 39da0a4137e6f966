"""Streaming within a segment: time to the first chunk and the cost of chunking, full-size
random v2 models, batch 1.

    python bench/bench_infer_stream.py --device cuda --dtype fp16
    python bench/bench_infer_stream.py --device cpu --seconds 2

One segment of ``--seconds`` of tokens (25 Hz) and ``--phones`` phones, style precomputed
as the engine does. Two rows, each of medians of ``--repeats`` runs after a warm-up:

- SoVITS alone, tokens given: the whole ``decode``, the first streamed chunk
  (``stream_segment_chunks``, ``--min-chunk`` tokens, ``--overlap`` overlap) and all chunks
  together. Every chunk re-encodes its prefix, so the total grows faster than the whole
  decode with the segment's length; the first chunk does not grow at all.
- With the GPT in the loop, as the engine's modes 2/3 run a segment: from the request (the
  GPT's prefill of ``--prompt-phones`` + ``--phones`` phones and a ``--prompt-tokens``
  reference) to the first chunk, the GPT's tokens fed to the chunk decoder as they are made
  (``gpt_decode.stream_tokens``); against it, the GPT decoding the whole segment first (what
  modes 2/3 waited for before). EOS is disabled, so every run decodes ``--seconds`` of tokens.
  The text front end, BERT and the reference (cached by the engine) are not in it. On CUDA
  the GPT's graphs are recorded per request, as the engine does, and count.

With ``--phases``, a third measurement: the whole request through ``InferenceEngine.stream``
(front end included, as a user's request runs; 4 Chinese sentences of ``bench_infer_e2e``,
all_zh, cut5, a warm reference cache), the first chunk's time split into phases: readings
(``read_spans``), the rest of the text front end (cut, language split, cleaner), BERT, the
reference (the engine's prompt cache), the GPT until the first chunk's tokens (its first
piece, the prefill, apart; in mode 1 the whole segment's decode is "GPT more"), SoVITS for
the first chunk (prior + flow/HiFiGAN; mode 1: the segment's decode), and what is left
(glue). The phases are timed by wrapping those functions of the real engine path (on
CUDA each wrapper synchronises before and after, so the GPU work lands in its phase); the
request is also timed without the wrappers. It also counts the segments cleaned and BERT'd
before the first chunk. ``--models tiny`` uses the tiny fixture models and a tiny BERT/HuBERT
(``tests/infer_fixtures.py``; for a CPU look at the front end and the engine's overhead),
``--models full`` full-size random weights (``_random_models.py``; the GPU figure).

    python bench/bench_infer_stream.py --device cuda --dtype bf16 --phases --models full
    python bench/bench_infer_stream.py --device cpu --phases-only --models tiny

Prints the rows; ``--write`` appends them to ``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from _report import append_row, device_name, sync, table_row
from bench_gpt_decode import DTYPES
from bench_sovits_decode import build

from gsv_core.audio import N_SPEC_BINS, SPEC_FRAME_RATE, TOKEN_RATE
from gsv_core.infer.stream import stream_segment_chunks
from gsv_core.models.gpt import BERT_DIM, GPTConfig, Text2SemanticDecoder
from gsv_core.models.gpt_decode import generate, stream_tokens
from gsv_core.models.gpt_sampling import SamplingOptions


def run(device: torch.device, dtype: torch.dtype, seconds: float, phones: int, repeats: int,
        min_chunk: int, overlap: int) -> dict[str, float]:
    """Median wall seconds of the whole decode, the first chunk and all chunks."""
    model = build(device, dtype)
    tokens = torch.randint(0, 1024, (int(seconds * TOKEN_RATE),), device=device)
    phone_ids = torch.randint(0, model.config.n_symbols, (1, phones), device=device)
    refer = torch.rand(1, N_SPEC_BINS, 3 * SPEC_FRAME_RATE, device=device, dtype=dtype)
    with torch.inference_mode():
        ge = model.style_embedding([refer])

    def whole() -> None:
        model.decode(tokens.view(1, 1, -1), phone_ids, ge=ge, noise_scale=0.5)

    def streamed() -> tuple[float, float]:
        start = time.perf_counter()
        first = None
        with torch.inference_mode():
            for _ in stream_segment_chunks(model, tokens, phone_ids, ge=ge, noise_scale=0.5,
                                           min_chunk_length=min_chunk, overlap_length=overlap):
                sync(device)
                first = time.perf_counter() - start if first is None else first
        sync(device)
        return first, time.perf_counter() - start

    whole()
    streamed()  # warm-up: kernels, allocator, every chunk length once
    results: dict[str, list[float]] = {"whole": [], "first": [], "all": []}
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        with torch.inference_mode():
            whole()
        sync(device)
        results["whole"].append(time.perf_counter() - start)
        first, total = streamed()
        results["first"].append(first)
        results["all"].append(total)
    return {key: statistics.median(values) for key, values in results.items()}


def run_with_gpt(device: torch.device, dtype: torch.dtype, seconds: float, phones: int,
                 prompt_phones: int, prompt_tokens: int, repeats: int, min_chunk: int,
                 overlap: int) -> dict[str, float]:
    """Median wall seconds from the request to the first chunk with the GPT's tokens fed as
    made, to the end of that stream, and of the GPT decoding the whole segment alone."""
    sovits = build(device, dtype)
    torch.manual_seed(0)
    gpt = Text2SemanticDecoder(GPTConfig()).to(device=device, dtype=dtype).eval()
    steps = int(seconds * TOKEN_RATE)
    options = SamplingOptions(top_k=15, early_stop_tokens=None, max_steps=steps,
                              min_steps_before_eos=steps)  # EOS never: a fixed length
    text_len = prompt_phones + phones
    gpt_phones = torch.randint(0, gpt.config.phoneme_vocab_size, (text_len,), device=device)
    bert = torch.randn(BERT_DIM, text_len, device=device, dtype=dtype)
    prompt = torch.randint(0, gpt.config.eos_id, (prompt_tokens,), device=device)
    phone_ids = torch.randint(0, sovits.config.n_symbols, (1, phones), device=device)
    refer = torch.rand(1, N_SPEC_BINS, 3 * SPEC_FRAME_RATE, device=device, dtype=dtype)
    with torch.inference_mode():
        ge = sovits.style_embedding([refer])

    def streamed() -> tuple[float, float]:
        sync(device)
        start = time.perf_counter()
        first = None
        with torch.inference_mode():
            tokens = stream_tokens(gpt, gpt_phones, bert, prompt, options,
                                   torch.Generator(device).manual_seed(0))
            for _ in stream_segment_chunks(sovits, tokens, phone_ids, ge=ge, noise_scale=0.5,
                                           min_chunk_length=min_chunk, overlap_length=overlap,
                                           generator=torch.Generator(device).manual_seed(1)):
                sync(device)
                first = time.perf_counter() - start if first is None else first
        sync(device)
        return first, time.perf_counter() - start

    def gpt_whole() -> float:
        sync(device)
        start = time.perf_counter()
        with torch.inference_mode():
            generate(gpt, gpt_phones, bert, prompt, options,
                     torch.Generator(device).manual_seed(0))
        sync(device)
        return time.perf_counter() - start

    streamed()
    gpt_whole()  # warm-up: kernels, allocator, graph pools, every chunk length once
    results: dict[str, list[float]] = {"first": [], "all": [], "gpt": []}
    for _ in range(repeats):
        first, total = streamed()
        results["first"].append(first)
        results["all"].append(total)
        results["gpt"].append(gpt_whole())
    return {key: statistics.median(values) for key, values in results.items()}


PHASES = ("readings", "front end", "BERT", "reference", "GPT first piece", "GPT more",
          "SoVITS", "other")
PHASE_TEXT_SENTENCES = 4


class _Phases:
    """Seconds spent in each phase of one request until its first chunk, by wrapping the
    engine path's functions (``install``); ``stop()`` freezes the tally at the first chunk."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = dict.fromkeys(PHASES, 0.0)
        self.cleaned: list[str] = []
        self.berted = 0
        self.active = False
        self._depth = 0  # nested wrapped calls count in the outermost one only

    def timed(self, phase: str, fn: Callable, record: Callable | None = None) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not self.active or self._depth:
                return fn(*args, **kwargs)
            if record is not None:
                record(*args, **kwargs)
            self._depth += 1
            sync(self.device)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                sync(self.device)
                self.seconds[phase] += time.perf_counter() - start
                self._depth -= 1
        return wrapper

    def install(self, stack: contextlib.ExitStack, engine) -> None:
        """Wrap the functions of the engine path (present at every commit since 760a9fb)."""
        import gsv_core.infer.engine as engine_module
        import gsv_core.infer.segments as segments_module
        import gsv_core.infer.stream as stream_module
        import gsv_core.text.bert_align as bert_align
        from gsv_core.features import BertFeatures

        def patch(owner, name: str, phase: str, record: Callable | None = None) -> None:
            if hasattr(owner, name):
                original = getattr(owner, name)
                stack.callback(setattr, owner, name, original)
                setattr(owner, name, self.timed(phase, original, record))

        patch(segments_module, "read_spans", "readings")
        patch(bert_align, "read_spans", "readings")
        patch(bert_align, "clean_text", "front end",
              lambda text, *a, **k: self.cleaned.append(text))

        def count_bert(_self, texts, *a, **k) -> None:
            self.berted += len(texts)

        patch(BertFeatures, "phone_features_batch", "BERT", count_bert)
        patch(BertFeatures, "phone_features", "BERT",
              lambda *a, **k: setattr(self, "berted", self.berted + 1))
        patch(stream_module._SegmentDecoder, "prior", "SoVITS")
        patch(stream_module._SegmentDecoder, "audio", "SoVITS")
        from gsv_core.models.sovits import SoVITSGenerator

        patch(SoVITSGenerator, "decode", "SoVITS")  # mode 1: the whole segment at once
        patch(engine_module, "generate_batch", "GPT more")  # mode 1: the whole segment
        original_reference = engine._reference_features
        engine._reference_features = self.timed("reference", original_reference)
        stack.callback(delattr, engine, "_reference_features")
        real_stream_tokens = engine_module.stream_tokens
        phases = self

        class TimedTokens:
            """The GPT's token stream, each piece timed (the first one: the prefill)."""

            def __init__(self, inner) -> None:
                self._inner = inner
                self._first = True

            def __iter__(self) -> Iterator[torch.Tensor]:
                return self

            def __next__(self) -> torch.Tensor:
                phase = "GPT first piece" if self._first else "GPT more"
                self._first = False
                return phases.timed(phase, self._inner.__next__)()

            def __getattr__(self, name: str):
                return getattr(self._inner, name)

        def stream_tokens(*args, **kwargs):
            return TimedTokens(real_stream_tokens(*args, **kwargs))

        stack.callback(setattr, engine_module, "stream_tokens", real_stream_tokens)
        engine_module.stream_tokens = stream_tokens


def _phase_engine(models: str, device: str, dtype: str | None, root: Path):
    """(engine, reference, text) for ``models`` "tiny" (the fixtures) or "full" (random)."""
    from bench_infer_e2e import REFERENCE_TEXT, SENTENCES

    from gsv_core.infer import InferenceEngine, Reference

    text = "".join(SENTENCES[:PHASE_TEXT_SENTENCES])
    if models == "tiny":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.infer_fixtures import build_infer_setup

        setup = build_infer_setup(root)
        workspace, gpt_path, sovits_path = setup.workspace, setup.gpt_path, setup.sovits_path
        wav = setup.reference_wav
    else:
        from _random_models import build_random_voice

        voice = build_random_voice(root, REFERENCE_TEXT + text)
        workspace, gpt_path, sovits_path = voice.workspace, voice.gpt_path, voice.sovits_path
        wav = voice.reference_wav
    engine = InferenceEngine(workspace, device=device, precision=dtype)
    engine.load_gpt(gpt_path)
    engine.load_sovits(sovits_path)
    return engine, Reference(audio_path=wav, text=REFERENCE_TEXT, language="all_zh"), text


def run_phases(device: torch.device, dtype: str | None, models: str, mode: int, repeats: int,
               min_chunk: int, tokens: int) -> dict[str, object]:
    """Medians of the first chunk of ``engine.stream`` (mode ``mode``), plain and by phase."""
    from gsv_core.infer import InferenceOptions

    with tempfile.TemporaryDirectory(prefix="gsv-bench-stream-") as root:
        engine, reference, text = _phase_engine(models, device.type if device.index is None
                                                else str(device), dtype, Path(root))
        options = InferenceOptions(text_language="all_zh", cut_method="cut5", seed=1,
                                   streaming_mode=mode, min_chunk_length=min_chunk,
                                   max_new_tokens=tokens)

        def first_chunk(phases: _Phases | None = None) -> tuple[float, int]:
            sync(device)
            start = time.perf_counter()
            if phases is not None:
                phases.active = True
            chunks = engine.stream(reference, text, options)
            chunk = next(chunks)
            sync(device)
            elapsed = time.perf_counter() - start
            if phases is not None:
                phases.active = False
            chunks.close()  # the rest is not timed: stop the request here
            return elapsed, chunk.segment_count

        first_chunk()  # warm-up: the reference cache, every kernel and graph pool
        plain = [first_chunk()[0] for _ in range(repeats)]
        tallies = []
        for _ in range(repeats):
            phases = _Phases(device)
            with contextlib.ExitStack() as stack:
                phases.install(stack, engine)
                elapsed, count = first_chunk(phases)
            phases.seconds["other"] = elapsed - sum(phases.seconds.values())
            tallies.append((elapsed, phases))
        segments = count
    median = {phase: statistics.median(p.seconds[phase] for _, p in tallies) for phase in PHASES}
    return {"plain": statistics.median(plain),
            "instrumented": statistics.median(t for t, _ in tallies),
            "phases": median, "segments": segments,
            "readings": getattr(options, "readings", "none (before issue 9)"),
            "cleaned": len(tallies[-1][1].cleaned), "berted": tallies[-1][1].berted}


def phases_row(device: torch.device, args: argparse.Namespace) -> str:
    result = run_phases(device, args.dtype if args.models == "full" or device.type != "cpu"
                        else None, args.models, args.mode, args.repeats, args.min_chunk,
                        args.phase_tokens)
    phases = result["phases"]
    breakdown = ", ".join(f"{name} {phases[name] * 1000:.1f}" for name in PHASES)
    print(f"first chunk by phase (ms, medians): {breakdown}", file=sys.stderr)
    return table_row(
        "First streamed chunk of a whole request, by phase", device_name(device),
        f"{args.models} models, {args.dtype if args.models == 'full' else 'fp32'}, mode "
        f"{args.mode}, {PHASE_TEXT_SENTENCES} zh sentences = {result['segments']} segments, "
        f"all_zh, cut5, readings {result['readings']}, chunks of {args.min_chunk} tokens, "
        f"warm reference cache, median of {args.repeats}",
        f"request to first chunk {result['plain'] * 1000:.1f} ms (instrumented "
        f"{result['instrumented'] * 1000:.1f} ms: {breakdown} ms); before the first chunk "
        f"{result['cleaned']} runs cleaned, {result['berted']} texts through BERT")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--phones", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-chunk", type=int, default=16)
    parser.add_argument("--overlap", type=int, default=2)
    parser.add_argument("--prompt-phones", type=int, default=30,
                        help="reference phones before the segment's in the GPT's text")
    parser.add_argument("--prompt-tokens", type=int, default=75, help="reference tokens (3 s)")
    parser.add_argument("--write", action="store_true", help="append to docs/benchmarks.md")
    parser.add_argument("--phases", action="store_true",
                        help="also time a whole request's first chunk by phase")
    parser.add_argument("--phases-only", action="store_true", help="only the phase row")
    parser.add_argument("--models", choices=("full", "tiny"), default="full",
                        help="phase row: full-size random weights or the tiny fixtures")
    parser.add_argument("--mode", type=int, choices=(1, 2, 3), default=3,
                        help="phase row: streaming mode")
    parser.add_argument("--phase-tokens", type=int, default=38,
                        help="phase row: new tokens per segment at most (max_new_tokens)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.phases or args.phases_only:
        append_row(phases_row(device, args), write=args.write)
    if args.phases_only:
        return
    medians = run(device, DTYPES[args.dtype], args.seconds, args.phones, args.repeats,
                  args.min_chunk, args.overlap)
    row = table_row(
        "SoVITS streaming (modes 2/3, tokens given)", device_name(device),
        f"{args.dtype}, {args.seconds:g} s, {args.phones} phones, chunks of {args.min_chunk} "
        f"tokens, overlap {args.overlap}, median of {args.repeats}",
        f"first chunk {medians['first'] * 1000:.0f} ms; all chunks "
        f"{medians['all'] * 1000:.0f} ms; whole decode {medians['whole'] * 1000:.0f} ms")
    append_row(row, write=args.write)
    with_gpt = run_with_gpt(device, DTYPES[args.dtype], args.seconds, args.phones,
                            args.prompt_phones, args.prompt_tokens, args.repeats,
                            args.min_chunk, args.overlap)
    row = table_row(
        "Streaming with the GPT (modes 2/3, batch 1)", device_name(device),
        f"{args.dtype}, {args.seconds:g} s, {args.prompt_phones}+{args.phones} phones, "
        f"{args.prompt_tokens} reference tokens, chunks of {args.min_chunk} tokens, overlap "
        f"{args.overlap}, median of {args.repeats}",
        f"request to first chunk {with_gpt['first'] * 1000:.0f} ms; whole stream "
        f"{with_gpt['all'] * 1000:.0f} ms; GPT alone for the whole segment (what the first "
        f"chunk waited for before) {with_gpt['gpt'] * 1000:.0f} ms")
    append_row(row, write=args.write)


if __name__ == "__main__":
    main()
