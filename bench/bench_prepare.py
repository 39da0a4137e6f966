"""Formatting throughput: ``gsv_core.prepare`` vs upstream's one-clip-per-pass scripts, one run.

    python bench/bench_prepare.py --device cuda --upstream ~/GPT-SoVITS
    python bench/bench_prepare.py --device cpu --minutes 2 --no-write
    python bench/bench_prepare.py --device cuda --label-workers 0,4 --upstream ~/GPT-SoVITS

Full-size random models (``_random_models.py``: BERT large, HuBERT base, SoVITS v2) in a
temporary workspace, and ``--minutes`` of ``--clip-s`` second speech-like clips (32 kHz
int16) with Chinese labels, so every step runs: text front end, BERT, HuBERT, 5-wav32k,
semantic codes. Reported: seconds and audio-minutes formatted per second,

- ours: ``prepare_dataset`` end to end on a fresh experiment folder (then a second run, which
  reuses everything);
- upstream (``--upstream DIR``, imported from that checkout at run time, never copied): the
  procedure of its ``prepare_datasets`` scripts, one clip per forward pass — 1-get-text's
  BERT per clip, 2-get-hubert-wav32k's mix/resample/HuBERT/save per clip, 3-get-semantic's
  load/``SynthesizerTrn.extract_latent`` per clip with upstream's own model class — with the
  same precision. Favouring upstream: its audio is read with soundfile, not an ffmpeg
  subprocess per clip, and its labels are cleaned by our front end (the same cost on both
  sides); librosa's resample is soxr HQ, called directly.

The two sides' outputs are compared (HuBERT max difference, share of equal semantic codes,
BERT max difference) so the speed is of the same computation.
"""

from __future__ import annotations

import os

os.environ.setdefault("TQDM_DISABLE", "1")

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile
from _report import BENCHMARKS_MD, append_row, device_name, sync, table_row

from gsv_core.audio import SAMPLE_RATE
from gsv_core.dataset.annotations import Clip, write_list
from gsv_core.prepare import ExperimentFiles
from gsv_core.text import clean_text

if TYPE_CHECKING:
    import torch
    from _random_models import RandomVoice

    from gsv_core.prepare import PrepareRequest

# torch, gsv_core.prepare.run and the random-model builder (which import it) are imported
# inside the functions:
# the label-cleaning workers are spawned, and a spawned process imports this script again as
# its main module. With torch at the top, every worker would pay for torch's import (and
# slow the parent's model loads beside it) where the product's workers, whose main module is
# the light gsv_core.job_child, do not.

CLAUSES = [
    "春天来了", "公园里的花都开了", "红的黄的紫的", "一片连着一片", "孩子们在草地上奔跑",
    "老人们坐在长椅上聊天", "说起年轻时候的事情", "脸上满是笑容", "风吹过来很舒服",
    "太阳慢慢落下山去", "天边的云被染成了金色", "大家才依依不舍地回家去吃晚饭",
    "明天如果还是这样的好天气", "我们再约上朋友一起来这里野餐吧", "记得带上水果",
    "小狗跟在后面跑来跑去", "湖面上有几只白色的小船", "远处传来了一阵阵歌声",
]


def label(rng: np.random.Generator) -> str:
    """A label of five clauses drawn from CLAUSES: labels differ, their words repeat, as in
    a real dataset (one sentence repeated would flatter the front end's word caches)."""
    return "，".join(rng.choice(CLAUSES, size=5, replace=False)) + "。"


def write_clips(root: Path, count: int, seconds: float) -> list[Clip]:
    rng = np.random.default_rng(0)
    clips = []
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    for i in range(count):
        f0 = 110 + 60 * rng.random()
        phase = 2 * np.pi * np.cumsum(f0 + 25 * np.sin(2 * np.pi * 0.5 * t)) / SAMPLE_RATE
        voice = sum(np.sin(k * phase) / k for k in range(1, 12))
        signal = voice * 0.5 * (1 - np.cos(2 * np.pi * 3.5 * t)) + 0.01 * rng.standard_normal(
            t.shape)
        path = root / "clips" / f"clip_{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        gain = 0.2 + 0.6 * rng.random()
        soundfile.write(path, (gain * signal / np.abs(signal).max()).astype(np.float32),
                        SAMPLE_RATE, subtype="PCM_16")
        clips.append(Clip(str(path), "bench", "zh", label(rng), path))
    return clips


class Upstream:
    """Upstream's prepare_datasets procedure, one clip per forward pass (see module doc)."""

    def __init__(self, folder: Path, voice, device: torch.device, dtype: torch.dtype) -> None:
        from _upstream import load_upstream_sovits
        from transformers import AutoModelForMaskedLM, AutoTokenizer, HubertModel

        from gsv_core.models.checkpoint import read_checkpoint_dict

        up_models = load_upstream_sovits(folder)
        ws = voice.workspace
        self.device, self.dtype = device, dtype
        self.tokenizer = AutoTokenizer.from_pretrained(ws.bert_dir)
        self.bert = AutoModelForMaskedLM.from_pretrained(ws.bert_dir).to(device, dtype).eval()
        self.hubert = HubertModel.from_pretrained(ws.hubert_dir).to(device, dtype).eval()
        data = read_checkpoint_dict(voice.sovits_path)
        hps = data["config"]
        self.sovits = up_models.SynthesizerTrn(
            hps["data"]["filter_length"] // 2 + 1,
            hps["train"]["segment_size"] // hps["data"]["hop_length"],
            n_speakers=hps["data"]["n_speakers"], version="v2", **{
                k: v for k, v in hps["model"].items() if k != "version"})
        missing = self.sovits.load_state_dict(data["weight"], strict=False)
        if missing.unexpected_keys or any("enc_q" not in k for k in missing.missing_keys):
            raise SystemExit(f"upstream SoVITS does not match the weights: {missing}")
        for module in self.sovits.modules():   # a trained codebook counts as initialised
            if hasattr(module, "inited"):
                module.inited.fill_(True)
        self.sovits = self.sovits.to(device, dtype).eval()

    def run(self, clips: list[Clip], out: Path) -> None:
        import torch

        with torch.no_grad():
            self._run(clips, out)

    def _run(self, clips: list[Clip], out: Path) -> None:
        import soxr
        import torch
        from scipy.io import wavfile

        for sub in ("3-bert", "4-cnhubert", "5-wav32k"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        rows = []
        for clip in clips:   # 1-get-text.py
            cleaned = clean_text(clip.text.replace("%", "-").replace("￥", ","), "zh")
            inputs = self.tokenizer(cleaned.norm_text, return_tensors="pt")
            res = self.bert(**{k: v.to(self.device) for k, v in inputs.items()},
                            output_hidden_states=True)
            res = torch.cat(res["hidden_states"][-3:-2], -1)[0].cpu()[1:-1]
            feature = torch.cat([res[i].repeat(n, 1) for i, n in
                                 enumerate(cleaned.word2ph)], dim=0).T
            torch.save(feature, out / "3-bert" / f"{clip.name}.pt")
            rows.append(f"{clip.name}\t{' '.join(cleaned.phones)}")
        (out / "2-name2text.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
        for clip in clips:   # 2-get-hubert-wav32k.py
            audio, _ = soundfile.read(clip.audio_path, dtype="float32")
            peak = np.abs(audio).max()
            wav32 = (audio / peak * (0.95 * 0.5 * 32768)) + (0.5 * 32768) * audio
            mixed = (audio / peak * (0.95 * 0.5 * 1145.14)) + (0.5 * 1145.14) * audio
            wav16 = torch.from_numpy(soxr.resample(mixed, 32000, 16000, quality="HQ"))
            ssl = self.hubert(wav16.to(self.device, self.dtype).unsqueeze(0))[
                "last_hidden_state"].transpose(1, 2).cpu()
            if np.isnan(ssl.detach().numpy()).sum() != 0:
                raise SystemExit(f"upstream HuBERT gave NaN for {clip.name}")
            wavfile.write(out / "5-wav32k" / clip.name, 32000, wav32.astype("int16"))
            torch.save(ssl, out / "4-cnhubert" / f"{clip.name}.pt")
        lines = []
        for clip in clips:   # 3-get-semantic.py
            ssl = torch.load(out / "4-cnhubert" / f"{clip.name}.pt", map_location="cpu")
            codes = self.sovits.extract_latent(ssl.to(self.device, self.dtype))
            lines.append(f"{clip.name}\t{' '.join(str(i) for i in codes[0, 0, :].tolist())}")
        (out / "6-name2semantic.tsv").write_text(
            "\n".join(["item_name\tsemantic_audio", *lines]) + "\n", encoding="utf-8")


def compare(ours: ExperimentFiles, theirs: Path, clips: list[Clip]) -> str:
    import torch

    hubert_diff = bert_diff = 0.0
    for clip in clips[:50]:
        a = torch.load(ours.hubert_file(clip.name), weights_only=True).float()
        b = torch.load(theirs / "4-cnhubert" / f"{clip.name}.pt", weights_only=True).float()
        hubert_diff = max(hubert_diff, (a - b).abs().max().item())
        a = torch.load(ours.bert_file(clip.name), weights_only=True).float()
        b = torch.load(theirs / "3-bert" / f"{clip.name}.pt", weights_only=True).float()
        bert_diff = max(bert_diff, (a - b).abs().max().item())
    ours_codes = dict(line.split("\t") for line in ours.name2semantic.read_text().split("\n")[1:]
                      if line)
    theirs_codes = dict(line.split("\t") for line in
                        (theirs / "6-name2semantic.tsv").read_text().split("\n")[1:] if line)
    same = total = 0
    for name, codes in theirs_codes.items():
        a, b = ours_codes[name].split(), codes.split()
        total += len(b)
        same += sum(x == y for x, y in zip(a, b, strict=True))
    return (f"HuBERT max |diff| {hubert_diff:.2e}, BERT max |diff| {bert_diff:.2e}, "
            f"semantic codes equal {100 * same / total:.2f}%")


def worker_counts(text: str) -> list[int | None]:
    """``--label-workers``: ``auto``, a count, or several (``0,4``) to compare in one run."""
    return [None if part.strip() == "auto" else int(part) for part in text.split(",")]


def time_ours(request: PrepareRequest, device: torch.device) -> tuple[float, float, dict]:
    """(seconds of a fresh run, seconds of a second run that reuses it all, phases)."""
    from gsv_core.prepare import prepare_dataset

    sync(device)
    start = time.perf_counter()
    result = prepare_dataset(request)
    sync(device)
    fresh_s = time.perf_counter() - start
    assert result.ok, result.failures
    start = time.perf_counter()
    prepare_dataset(request)
    return fresh_s, time.perf_counter() - start, result.seconds


def time_cold(list_path: Path, voice: RandomVoice, device: torch.device,
              args: argparse.Namespace) -> float:
    """Wall seconds of ``gsv-studio prepare`` in a new process: what a user waits for."""
    command = [sys.executable, "-m", "gsv_core.cli", "prepare", "--list", str(list_path),
               "--exp", "cold", "--workspace", str(voice.workspace.root),
               "--sovits", str(voice.sovits_path),
               "--batch-seconds", str(args.batch_seconds)]
    if device.type == "cpu":
        command.append("--cpu")
    if args.precision:
        command += ["--precision", args.precision]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"gsv-studio prepare exited {done.returncode}:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    import torch
    from _random_models import build_random_voice

    from gsv_core.prepare import PrepareRequest, prepare_dataset

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--precision", default=None, help="fp16/fp32 (default: fp16 on CUDA)")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--clip-s", type=float, default=10.0)
    parser.add_argument("--batch-seconds", type=float, default=160.0)
    parser.add_argument("--label-workers", type=worker_counts, default=[None],
                        help="label-cleaning processes: auto (default), 0 = in-process, or "
                             "several to compare in one run, e.g. 0,4")
    parser.add_argument("--bert-batch", type=lambda text: [int(x) for x in text.split(",")],
                        default=[16], help="labels per BERT forward (PrepareRequest.bert_batch); "
                                           "several to compare in one run, e.g. 16,32")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every variant this many times (the spread between runs)")
    parser.add_argument("--cold", action="store_true",
                        help="also time ours as the product runs it: `gsv-studio prepare` in a "
                             "fresh process on a fresh experiment")
    parser.add_argument("--upstream", type=Path, help="a GPT-SoVITS checkout to compare with")
    parser.add_argument("--no-write", action="store_true", help="do not append to benchmarks.md")
    args = parser.parse_args()
    device = torch.device(args.device)
    count = max(1, round(args.minutes * 60 / args.clip_s))
    audio_min = count * args.clip_s / 60
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        voice = build_random_voice(root, "".join(CLAUSES) + "，。")
        clips = write_clips(root, count, args.clip_s)
        list_path = root / "bench.list"
        write_list(list_path, clips)
        # The warm-up meets the batch shapes of the measured runs (a full BERT batch and a
        # full HuBERT batch), as upstream's 4-clip warm-up meets its one-clip shapes: a
        # 4-clip warm-up left ours ~2 s of first-use kernel loading in its first run.
        warm = max(4, *args.bert_batch, math.ceil(args.batch_seconds / args.clip_s))
        write_list(root / "warm.list", clips[:warm])
        prepare_dataset(PrepareRequest(root / "warm.list", "warm", voice.workspace,
                                       devices=(str(device),), precision=args.precision,
                                       sovits_path=voice.sovits_path,
                                       batch_seconds=args.batch_seconds))  # imports, kernels
        timings = {}
        variants = [(w, b) for _ in range(args.repeat) for w in args.label_workers
                    for b in args.bert_batch]
        for index, (workers, bert_batch) in enumerate(variants):
            name = (f"run {index + 1} (label workers {'auto' if workers is None else workers}, "
                    f"BERT batch {bert_batch})")
            request = PrepareRequest(list_path, f"bench-{index}", voice.workspace,
                                     devices=(str(device),), precision=args.precision,
                                     sovits_path=voice.sovits_path,
                                     batch_seconds=args.batch_seconds, label_workers=workers,
                                     bert_batch=bert_batch)
            timings[name] = fresh_s, reuse_s, phases = time_ours(request, device)
            print(f"ours, {name}: {fresh_s:.2f} s for {audio_min:.1f} min of "
                  f"audio ({audio_min / fresh_s * 60:.0f}x real time); re-run {reuse_s:.2f} s")
            print("  by phase: " + ", ".join(f"{phase} {s:.2f} s" for phase, s in phases.items()))
        if args.cold:
            cold_s = time_cold(list_path, voice, device, args)
            print(f"ours in a fresh process (gsv-studio prepare, imports and CUDA start "
                  f"included): {cold_s:.2f} s")
        summary = "; ".join(
            f"ours, {name}: {fresh:.1f} s ({audio_min * 60 / fresh:.0f}x real "
            f"time; phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()) + ")"
            for name, (fresh, _, phases) in timings.items())
        if args.cold:
            summary += (f"; ours in a fresh process (`gsv-studio prepare`, imports and CUDA "
                        f"start included) {cold_s:.1f} s")
        if args.upstream is not None:
            dtype = result_dtype(device, args.precision)
            Upstream(args.upstream, voice, device, dtype).run(clips[:4], root / "up-warm")
            sync(device)
            start = time.perf_counter()   # its scripts load their models on every run, as ours
            Upstream(args.upstream, voice, device, dtype).run(clips, root / "upstream")
            sync(device)
            up_s = time.perf_counter() - start
            agreement = compare(ExperimentFiles.of(voice.workspace, "bench-0"),
                                root / "upstream", clips)
            ratios = ", ".join(f"{name}: **{up_s / fresh:.2f}x**"
                               for name, (fresh, _, _) in timings.items())
            median = statistics.median(up_s / fresh for fresh, _, _ in timings.values())
            ratios += f"; median {median:.2f}x"
            print(f"upstream: {up_s:.2f} s; ours, in throughput: {ratios}")
            print(agreement)
            summary += (f"; upstream's scripts {up_s:.1f} s; ours vs upstream's throughput: "
                        f"{ratios}; {agreement}")
        reuse = ", ".join(f"{reuse_s:.1f} s" for _, reuse_s, _ in timings.values())
        settings = (f"{count} clips x {args.clip_s:g} s zh, full-size random models, "
                    f"precision {args.precision or 'default'}, batch {args.batch_seconds:g} s, "
                    f"{len(timings)} runs of ours, each on a fresh experiment; "
                    f"re-run (all reused) {reuse}; model hashes cached by the warm-up run "
                    f"(the workspace's hash cache)")
        row = table_row("bench_prepare (formatting)", device_name(device), settings, summary)
        print(row)
        if not args.no_write:
            append_row(row, BENCHMARKS_MD)


def result_dtype(device: torch.device, precision: str | None) -> torch.dtype:
    from gsv_core.infer.precision import model_dtypes

    return model_dtypes(device, precision).features


if __name__ == "__main__":
    main()
