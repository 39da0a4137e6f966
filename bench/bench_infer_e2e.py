"""End-to-end inference speed: real-time factor, first streamed chunk, and upstream side by side.

    python bench/bench_infer_e2e.py --device cuda --dtype bf16
    python bench/bench_infer_e2e.py --device cuda --dtype fp16 --upstream ~/GPT-SoVITS
    python bench/bench_infer_e2e.py --device cpu --seconds 5 --no-write

Full-size random v2 models written to a temporary workspace (``_random_models.py``) and
loaded through the engine's real loaders; a 5 s reference; a Chinese text of several
sentences (``--sentences``) whose segments each decode ``--seconds / --sentences`` seconds of
tokens (EOS disabled, so the length is fixed and equal on both sides). Reported, each the
median of ``--repeats`` runs after a warm-up:

- ``synthesize``: the whole request through ``InferenceEngine.synthesize`` (text front end,
  BERT, reference features from the engine's cache, one batched GPT decode, SoVITS per
  segment), as RTF = seconds / seconds of audio;
- first chunk of ``stream`` in modes 1 and 3 (seconds from the call to the first chunk);
- the model work alone, given the same features: our ``generate_batch`` + SoVITS per segment,
  and with ``--upstream DIR`` upstream's api_v2 path (``infer_panel_batch_infer`` for all
  segments, then one SoVITS ``decode`` of every segment's tokens, as ``TTS.run`` does at speed
  1), both from the same weight files; their ratio is this run's, not across rows;
- GPT tokens/s at batch 1 (``--gpt-tokens`` new tokens): ours vs upstream's CUDA-graph
  decoder and its ``infer_panel_batch_infer``;
- SoVITS decode of 10 s: ours vs upstream's.

Upstream is imported from the checkout given (``_upstream.py``), never copied here. Its
front end is not run: upstream's side is timed from features, which favours it.
"""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")  # before tqdm loads: upstream prints a bar per call

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from _random_models import build_random_voice
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row, wall_times
from bench_gpt_decode import DTYPES

from gsv_core.audio import TOKEN_RATE
from gsv_core.infer import InferenceEngine, InferenceOptions, Reference
from gsv_core.models.gpt_decode import generate_batch

REFERENCE_TEXT = "今天的天气真不错，我们一起去公园散步吧。"
SENTENCES = [
    "春天来了，公园里的花都开了，红的黄的紫的，一片连着一片。",
    "孩子们在草地上奔跑，笑声传得很远，连树上的小鸟也跟着唱起歌来。",
    "老人们坐在长椅上聊天，说起年轻时候的事情，脸上满是笑容。",
    "太阳慢慢落下山去，天边的云被染成了金色，大家才依依不舍地回家。",
    "明天如果还是这样的好天气，我们再约上朋友一起来这里野餐吧。",
    "晚上的风有一点凉，记得多穿一件外套，别着凉了。",
    "这样的日子虽然平常，却让人觉得特别安心和幸福。",
    "愿每一个平凡的日子里，都有这样温柔的时光陪着我们。",
]


def median_time(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls of ``fn`` after one warm-up call."""
    fn()
    return statistics.median(wall_times(fn, device, repeats))


def first_chunk_time(engine: InferenceEngine, reference: Reference, text: str,
                     options: InferenceOptions, device: torch.device, repeats: int) -> float:
    """Median seconds from ``stream(...)`` to its first chunk (the rest is drained untimed)."""
    def once() -> float:
        sync(device)
        start = time.perf_counter()
        chunks = engine.stream(reference, text, options)
        next(chunks)
        elapsed = time.perf_counter() - start
        for _ in chunks:
            pass
        return elapsed

    once()
    return statistics.median(once() for _ in range(repeats))


class Bench:
    """One run's models and inputs; each method times one thing."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args = args
        self.device = torch.device(args.device)
        self.text = "".join(SENTENCES[:args.sentences])
        voice = build_random_voice(root, REFERENCE_TEXT + self.text)
        self.voice = voice
        self.engine = InferenceEngine(voice.workspace, device=args.device, precision=args.dtype)
        self.engine.load_gpt(voice.gpt_path)
        self.engine.load_sovits(voice.sovits_path)
        self.reference = Reference(audio_path=voice.reference_wav, text=REFERENCE_TEXT,
                                   language="all_zh")
        options = InferenceOptions(text_language="all_zh", cut_method="cut5", seed=1)
        prepared = self.engine._prepare(self.reference, self.text, options,
                                        self.engine.sovits_model)
        self.segments = prepared.segments
        self.prepared = replace(prepared, batch_size=len(prepared.segments))
        # cut5 cuts at every punctuation mark (short pieces merged): share the seconds out
        self.tokens_per_segment = max(int(args.seconds * TOKEN_RATE / len(self.segments)), 1)
        self.options = replace(options, max_new_tokens=self.tokens_per_segment)
        self.features = prepared.reference
        self.audio_seconds = self.engine.synthesize(self.reference, self.text,
                                                    self.options).duration_s

    # -- ours ------------------------------------------------------------------------------

    def synthesize(self) -> float:
        return median_time(lambda: self.engine.synthesize(self.reference, self.text,
                                                          self.options),
                           self.device, self.args.repeats)

    def first_chunk(self, mode: int) -> float:
        options = replace(self.options, streaming_mode=mode)
        return first_chunk_time(self.engine, self.reference, self.text, options, self.device,
                                self.args.repeats)

    def gpt_inputs(self) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
        ref = self.features
        assert ref.prompt_phone_ids is not None and ref.prompt_bert is not None
        assert ref.prompt_codes is not None
        phones = [torch.cat([ref.prompt_phone_ids, s.phone_ids]) for s in self.segments]
        bert = [torch.cat([ref.prompt_bert, s.bert], dim=1) for s in self.segments]
        return phones, bert, ref.prompt_codes.to(self.device)

    def ours_models(self) -> float:
        """Our GPT batch + SoVITS as the engine runs them (one joined decode at speed 1),
        from the prepared features: the engine's model work without its front end."""
        phones, bert, prompt = self.gpt_inputs()
        gpt, sovits = self.engine.gpt_model, self.engine.sovits_model
        sampling = self.options.sampling()

        @torch.inference_mode()
        def run() -> None:
            results = generate_batch(gpt, phones, bert, prompt, sampling,
                                     torch.Generator(self.device).manual_seed(1))
            self.engine._decode_batch_audio(sovits, self.prepared, 0,
                                            [r.semantic_for_sovits for r in results],
                                            self.options)

        return median_time(run, self.device, self.args.repeats)

    def ours_gpt_rate(self, new_tokens: int) -> float:
        phones, bert, prompt = self.gpt_inputs()
        sampling = InferenceOptions(max_new_tokens=new_tokens).sampling()
        seconds = median_time(lambda: generate_batch(
            self.engine.gpt_model, phones[:1], bert[:1], prompt, sampling,
            torch.Generator(self.device).manual_seed(1)), self.device, self.args.repeats)
        return new_tokens / seconds

    def sovits_10s(self) -> tuple[torch.Tensor, torch.Tensor, float]:
        codes = torch.randint(0, 1024, (1, 1, 10 * TOKEN_RATE), device=self.device)
        phones = self.segments[0].phone_ids.to(self.device).unsqueeze(0)
        sovits = self.engine.sovits_model

        @torch.inference_mode()
        def run() -> None:
            sovits.decode(codes, phones, ge=self.features.style)

        return codes, phones, median_time(run, self.device, self.args.repeats)


def upstream_rows(bench: Bench, folder: Path, dtype_name: str) -> list[tuple[str, str]]:
    """(name, result) pairs measured with upstream's models (``_upstream.py``)."""
    import _upstream

    up = _upstream.load_upstream(folder)
    dtype = DTYPES[dtype_name]
    models = _upstream.build_upstream(up, bench.voice.gpt_path, bench.voice.sovits_path,
                                      bench.device, dtype)
    phones, bert, prompt = bench.gpt_inputs()
    spec = bench.features.refer_specs[0].to(bench.device)
    seg_phones = [s.phone_ids for s in bench.segments]
    repeats = bench.args.repeats
    n = bench.tokens_per_segment

    def pipeline() -> None:
        tokens = _upstream.upstream_gpt_batch(models, phones, bert, prompt, n)
        _upstream.upstream_sovits_batched(models, tokens, seg_phones, spec)

    rows = []
    model_s = median_time(pipeline, bench.device, repeats)
    rows.append(("models", f"{model_s:.3f} s, RTF {model_s / bench.audio_seconds:.4f}"))
    gpt_tokens = bench.args.gpt_tokens
    batch_s = median_time(lambda: _upstream.upstream_gpt_batch(
        models, phones[:1], bert[:1], prompt, gpt_tokens), bench.device, repeats)
    rows.append(("gpt batch1 infer_panel_batch_infer", f"{gpt_tokens / batch_s:.1f} tokens/s"))
    if bench.device.type == "cuda":
        graph = _upstream.UpstreamGraphDecoder(models, bench.voice.gpt_path, bench.device,
                                               dtype)
        graph_s = median_time(lambda: graph.decode(phones[0], bert[0], prompt, gpt_tokens),
                              bench.device, repeats)
        rows.append(("gpt batch1 CUDA graph", f"{gpt_tokens / graph_s:.1f} tokens/s"))
    codes, sov_phones, _ = bench.sovits_10s()
    sov_s = median_time(lambda: _upstream.upstream_sovits(
        models, codes.view(-1), sov_phones[0], spec), bench.device, repeats)
    rows.append(("sovits 10 s", f"{sov_s * 1000:.1f} ms"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None,
                        help="our precision (default: the engine's choice for the device)")
    parser.add_argument("--seconds", type=float, default=20.0, help="speech to synthesise")
    parser.add_argument("--sentences", type=int, default=4, choices=range(1, 9))
    parser.add_argument("--gpt-tokens", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--upstream", type=Path, help="a GPT-SoVITS checkout to compare with")
    parser.add_argument("--upstream-dtype", choices=sorted(DTYPES), default="fp16")
    parser.add_argument("--no-write", action="store_true", help="do not touch benchmarks.md")
    parser.add_argument("--out", type=Path, default=BENCHMARKS_MD)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="gsv-bench-e2e-") as root:
        bench = Bench(args, Path(root))
        dtype = str(bench.engine.dtypes.gpt).removeprefix("torch.")
        audio = bench.audio_seconds
        synth = bench.synthesize()
        first1, first3 = bench.first_chunk(1), bench.first_chunk(3)
        models = bench.ours_models()
        rate = bench.ours_gpt_rate(args.gpt_tokens)
        _, _, sovits = bench.sovits_10s()
        ours = (f"ours: synthesize {synth:.3f} s (RTF {synth / audio:.4f}); first chunk mode 1 "
                f"{first1 * 1000:.0f} ms, mode 3 {first3 * 1000:.0f} ms; models alone "
                f"{models:.3f} s (RTF {models / audio:.4f}); GPT batch 1 {rate:.0f} tokens/s; "
                f"SoVITS 10 s {sovits * 1000:.1f} ms")
        if args.upstream is not None:
            theirs = dict(upstream_rows(bench, args.upstream, args.upstream_dtype))
            up_models = float(theirs["models"].split(" s")[0])
            ours += (f" | upstream ({args.upstream_dtype}): "
                     + "; ".join(f"{k} {v}" for k, v in theirs.items())
                     + f" | upstream models / ours: models {up_models / models:.2f}x, "
                     f"our whole request {up_models / synth:.2f}x")
    settings = (f"{dtype}, {args.sentences} sentences = {len(bench.segments)} segments, "
                f"{audio:.1f} s audio ({bench.tokens_per_segment} tokens each, EOS off), "
                f"5 s reference, cut5, top_k 15, median of {args.repeats}")
    row = table_row("inference end to end (full-size v2, random)",
                    device_name(bench.device), settings, ours)
    append_row(row, args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
