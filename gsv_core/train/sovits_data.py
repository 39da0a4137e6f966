"""SoVITS training data: the clips of a formatted experiment, their cached spectrograms, a
resumable length-bucketed batch sampler and the collate that pads a batch.

What matches upstream (``GPT_SoVITS/module/data_utils.py``, ``s2_train.py`` at 48b1a01):

- the clips are the names present in all of ``2-name2text.txt`` (rows of exactly 4 tab
  fields), ``4-cnhubert/<name>.pt`` and ``5-wav32k/<name>``; a row whose phones are not all in
  the v2 symbol table is skipped (upstream's ``cleaned_text_to_sequence`` raises and it skips);
- fewer than 100 such names are repeated ``max(2, 100 // n)`` times (counted before the
  duration filter, as upstream);
- the duration is estimated from the file size (``bytes / 32000 / 2``) and a clip is kept only
  when ``0.6 s < duration < 54 s``; its length for bucketing is ``bytes // 1280`` (50 Hz frames);
- buckets over those lengths with boundaries :data:`BUCKET_BOUNDARIES`; a clip of at most 32
  frames (0.64 s) or more than 1900 frames (38 s) is in no bucket and never trained on; each
  bucket is padded to a multiple of ``batch_size × replicas`` by repeating its own items, every
  epoch shuffles inside each bucket, then shuffles the batches;
- the collate sorts the batch by spectrogram length and zero-pads HuBERT features and
  spectrograms to the same even length ``2 · (max // 2 + 1)``.

What differs, and why:

- linear spectrograms are computed once and kept in ``logs/<exp>/cache/spec/<name>.pt``
  (our own folder; upstream recomputes every STFT every epoch). A cache file records the
  wav's size and modification time and is recomputed when either changes;
- the HuBERT features are made exactly as long as the spectrogram (the last frame repeated,
  or extra frames cut); upstream pads by one frame whenever the lengths differ;
- the sampler's order depends on ``(seed, epoch)`` (upstream seeds with the epoch alone) and
  can start at a position inside an epoch, so a resumed run sees the batches the stopped run
  had still to see, in the same order;
- a missing folder or file, or an experiment with no usable clip, is a :class:`DatasetError`
  naming it (upstream asserts, or substitutes silence for an unreadable clip).

The random 20480-sample training segments are drawn inside the model's forward
(``SoVITSGenerator.forward`` → ``rand_slice_segments``) from the torch generator the trainer
passes, seeded per step, so they repeat after a resume too.
"""

from __future__ import annotations

import io
import logging
import os
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Sampler

from gsv_core.atomic_write import write_atomically
from gsv_core.audio import HOP_LENGTH, SAMPLE_RATE, load_audio
from gsv_core.errors import DatasetError
from gsv_core.models.spectrogram import spectrogram
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.text.symbols import symbol_to_id

__all__ = [
    "BUCKET_BOUNDARIES",
    "SPEC_CACHE_FOLDER",
    "BucketBatchSampler",
    "SamplerState",
    "SovitsBatch",
    "SovitsClip",
    "SovitsDataset",
    "collate",
    "default_num_workers",
    "ensure_spectrograms",
    "make_loader",
    "read_clips",
    "repeated_indices",
]

logger = logging.getLogger(__name__)

# s2_train.py's bucket boundaries in 50 Hz frames: (32, 300], (300, 400], ... (1800, 1900].
BUCKET_BOUNDARIES: tuple[int, ...] = (32, 300, *range(400, 2000, 100))
MIN_DURATION_S = 0.6  # data_utils.py keeps 0.6 < duration < 54 (estimated from the file size)
MAX_DURATION_S = 54.0
MIN_ITEMS = 100  # fewer clips than this are repeated max(2, 100 // n) times
_BYTES_PER_SAMPLE = 2  # int16 wav: upstream's size estimate ignores the 44-byte header
SPEC_CACHE_FOLDER = "cache/spec"  # under logs/<exp>/; ours, upstream has no such cache
_CACHE_VERSION = 1


@dataclass(frozen=True)
class SovitsClip:
    """One trainable clip: its file name (``5-wav32k/<name>``), phone ids and the length in
    50 Hz frames that buckets it (upstream's ``bytes // (2 · hop)`` estimate)."""

    name: str
    phone_ids: tuple[int, ...]
    frames: int


def _require(paths: Sequence[Path]) -> None:
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise DatasetError(
            f"The formatted experiment is missing {', '.join(str(p) for p in missing)}.",
            "Format the dataset for training first (Dataset tab, 6. Format for training), or "
            "pick the experiment folder GPT-SoVITS formatted.",
        )


def _name2text_phones(path: Path) -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").strip("\n").split("\n"):
        fields = line.split("\t")
        if len(fields) == 4:  # upstream ignores any other row
            rows[fields[0]] = fields[1]
    return rows


def read_clips(files: ExperimentFiles, warn: Callable[[str], None] | None = None, *,
               min_items: int = MIN_ITEMS) -> tuple[list[SovitsClip], int]:
    """The usable clips of an experiment (sorted by name) and the repeat count upstream
    applies to the whole list (``max(2, min_items // n)`` for ``n < min_items`` names, else
    1; upstream's ``min_items`` is 100).

    ``warn`` receives one line per skipped clip group (unknown phones, out of duration range).

    Raises:
        DatasetError: a file or folder is missing, or no clip is usable (the message says why).
    """
    _require([files.name2text, files.hubert_dir, files.wav32k_dir])
    phones_of = _name2text_phones(files.name2text)
    hubert = {p.name[:-3] for p in files.hubert_dir.iterdir() if p.name.endswith(".pt")}
    wavs = {p.name for p in files.wav32k_dir.iterdir() if p.is_file()}
    names = sorted(set(phones_of) & hubert & wavs)
    if not names:
        raise DatasetError(
            f"No clip of {files.folder} has all three of a {files.name2text.name} row, a "
            f"{files.hubert_dir.name}/ file and a {files.wav32k_dir.name}/ file "
            f"({len(phones_of)} rows, {len(hubert)} HuBERT files, {len(wavs)} wavs).",
            "Format the dataset for training again.",
        )
    table = symbol_to_id()
    clips, unknown, out_of_range = [], [], []
    for name in names:
        phones = phones_of[name].split(" ")
        if not all(p in table for p in phones):
            unknown.append(name)
            continue
        size = (files.wav32k_dir / name).stat().st_size
        duration_s = size / SAMPLE_RATE / _BYTES_PER_SAMPLE
        if not MIN_DURATION_S < duration_s < MAX_DURATION_S:
            out_of_range.append(name)
            continue
        clips.append(SovitsClip(name, tuple(table[p] for p in phones),
                                size // (_BYTES_PER_SAMPLE * HOP_LENGTH)))
    for skipped, why in ((unknown, "phones outside the v2 symbol table"),
                         (out_of_range, f"not between {MIN_DURATION_S} and {MAX_DURATION_S} s")):
        if skipped and warn is not None:
            shown = ", ".join(skipped[:5]) + (" …" if len(skipped) > 5 else "")
            warn(f"{len(skipped)} clip(s) skipped for SoVITS training ({why}): {shown}")
    if not clips:
        raise DatasetError(
            f"None of the {len(names)} clips of {files.folder} can train SoVITS "
            f"({len(unknown)} with unknown phones, {len(out_of_range)} shorter than "
            f"{MIN_DURATION_S} s or longer than {MAX_DURATION_S} s).",
            "Add clips of 1 to 20 seconds and format the dataset again.",
        )
    repeats = max(2, min_items // len(names)) if len(names) < min_items else 1
    return clips, repeats


def repeated_indices(clip_count: int, repeats: int) -> list[int]:
    """Dataset item → clip index, the whole list repeated ``repeats`` times (upstream)."""
    return [i for _ in range(repeats) for i in range(clip_count)]


# --- the spectrogram cache ----------------------------------------------------------------

def _cache_file(files: ExperimentFiles, name: str) -> Path:
    return files.folder / SPEC_CACHE_FOLDER / f"{name}.pt"


def _stamp(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _read_cached(path: Path, stamp: tuple[int, int]) -> torch.Tensor | None:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged cache file is only a cache miss
        logger.warning("spectrogram cache %s unreadable (%s); computing it again", path, exc)
        return None
    if (not isinstance(data, dict) or data.get("version") != _CACHE_VERSION
            or (data.get("wav_bytes"), data.get("wav_mtime_ns")) != stamp):
        return None
    return data["spec"]


def _compute_spec(wav_path: Path) -> torch.Tensor:
    audio = torch.from_numpy(load_audio(wav_path, SAMPLE_RATE))
    return spectrogram(audio.unsqueeze(0))[0]  # [1025, samples // 640]


def _spec_of(files: ExperimentFiles, name: str) -> torch.Tensor:
    """The clip's spectrogram from the cache, computed and cached when missing or stale."""
    wav_path = files.wav32k_file(name)
    stamp = _stamp(wav_path)
    cache = _cache_file(files, name)
    spec = _read_cached(cache, stamp)
    if spec is None:
        spec = _compute_spec(wav_path)
        buffer = io.BytesIO()
        torch.save({"version": _CACHE_VERSION, "wav_bytes": stamp[0],
                    "wav_mtime_ns": stamp[1], "spec": spec}, buffer)
        cache.parent.mkdir(parents=True, exist_ok=True)
        payload = buffer.getvalue()
        write_atomically(cache, lambda handle: handle.write(payload))
    return spec


def ensure_spectrograms(files: ExperimentFiles, clips: Sequence[SovitsClip],
                        progress: Callable[[int, int], None] | None = None) -> int:
    """Compute the missing or stale cached spectrograms before training starts (so workers
    only read them); returns how many were computed. ``progress(done, total)`` per clip."""
    computed = 0
    for done, clip in enumerate(clips, 1):
        stamp = _stamp(files.wav32k_file(clip.name))
        if _read_cached(_cache_file(files, clip.name), stamp) is None:
            _spec_of(files, clip.name)
            computed += 1
        if progress is not None:
            progress(done, len(clips))
    return computed


# --- dataset, batch, collate --------------------------------------------------------------

@dataclass(frozen=True)
class _Item:
    ssl: torch.Tensor  # [768, T50]
    spec: torch.Tensor  # [1025, T50]
    wav: torch.Tensor  # [samples]
    phone_ids: torch.Tensor  # [T_text] int64


class SovitsDataset(Dataset):
    """Item ``i`` = clip ``indices[i]``: HuBERT features, spectrogram, waveform, phone ids.

    Picklable (paths and numbers only), so DataLoader workers can be spawned on Windows.
    """

    def __init__(self, files: ExperimentFiles, clips: Sequence[SovitsClip],
                 indices: Sequence[int]) -> None:
        self.files = files
        self.clips = list(clips)
        self.indices = list(indices)

    @property
    def frames(self) -> list[int]:
        """Each item's bucketing length (50 Hz frames), for :class:`BucketBatchSampler`."""
        return [self.clips[i].frames for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> _Item:
        clip = self.clips[self.indices[index]]
        spec = _spec_of(self.files, clip.name)
        wav = torch.from_numpy(load_audio(self.files.wav32k_file(clip.name), SAMPLE_RATE))
        hubert_path = self.files.hubert_file(clip.name)
        try:
            ssl = torch.load(hubert_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise DatasetError(f"The HuBERT features {hubert_path} cannot be read ({exc}).",
                               "Format the dataset for training again.") from exc
        if not (isinstance(ssl, torch.Tensor) and ssl.ndim == 3 and ssl.shape[:2] == (1, 768)):
            shape = tuple(ssl.shape) if isinstance(ssl, torch.Tensor) else type(ssl).__name__
            raise DatasetError(f"The HuBERT features {hubert_path} have the shape {shape}, "
                               "not [1, 768, frames].", "Format the dataset for training again.")
        if not torch.isfinite(ssl).all():  # upstream's fp16 HuBERT can write NaN (issue 10)
            raise DatasetError(
                f"The HuBERT features {hubert_path} hold NaN or infinite values; training on "
                "them would turn the model into NaN.",
                "Format the dataset for training again here: GSV Studio recomputes such "
                "features in full precision.")
        ssl = _fit_frames(ssl[0].float(), spec.shape[1])
        return _Item(ssl, spec, wav, torch.tensor(clip.phone_ids, dtype=torch.long))


def _fit_frames(ssl: torch.Tensor, frames: int) -> torch.Tensor:
    """``[768, T]`` → ``[768, frames]``: repeat the last frame, or cut the extra ones."""
    if ssl.shape[1] < frames:
        return F.pad(ssl.unsqueeze(0), (0, frames - ssl.shape[1]), mode="replicate")[0]
    return ssl[:, :frames]


@dataclass
class SovitsBatch:
    """A padded batch, longest spectrogram first. ``T`` is even and the same for ``ssl`` and
    ``spec`` (the model needs both equal)."""

    ssl: torch.Tensor  # [B, 768, T]
    spec: torch.Tensor  # [B, 1025, T]
    spec_lengths: torch.Tensor  # [B]
    wav: torch.Tensor  # [B, 1, samples]
    wav_lengths: torch.Tensor  # [B]
    phone_ids: torch.Tensor  # [B, T_text]
    phone_lengths: torch.Tensor  # [B]

    def pin_memory(self) -> SovitsBatch:
        """Called by DataLoader(pin_memory=True) in its pinning thread."""
        return SovitsBatch(**{k: v.pin_memory() for k, v in self.__dict__.items()})

    def to(self, device: torch.device | str, non_blocking: bool = False) -> SovitsBatch:
        return SovitsBatch(**{k: v.to(device, non_blocking=non_blocking)
                              for k, v in self.__dict__.items()})

    @property
    def size(self) -> int:
        return int(self.spec.shape[0])


def collate(items: Sequence[_Item]) -> SovitsBatch:
    """Pad a list of items into a :class:`SovitsBatch` (sorted by spectrogram length)."""
    items = sorted(items, key=lambda item: item.spec.shape[1], reverse=True)
    batch = len(items)
    frames = 2 * (max(item.spec.shape[1] for item in items) // 2 + 1)  # even, as upstream
    samples = max(item.wav.shape[0] for item in items)
    text = max(item.phone_ids.shape[0] for item in items)
    ssl = torch.zeros(batch, items[0].ssl.shape[0], frames)
    spec = torch.zeros(batch, items[0].spec.shape[0], frames)
    wav = torch.zeros(batch, 1, samples)
    phone_ids = torch.zeros(batch, text, dtype=torch.long)
    for i, item in enumerate(items):
        ssl[i, :, : item.ssl.shape[1]] = item.ssl
        spec[i, :, : item.spec.shape[1]] = item.spec
        wav[i, 0, : item.wav.shape[0]] = item.wav
        phone_ids[i, : item.phone_ids.shape[0]] = item.phone_ids
    return SovitsBatch(
        ssl=ssl,
        spec=spec,
        spec_lengths=torch.tensor([item.spec.shape[1] for item in items]),
        wav=wav,
        wav_lengths=torch.tensor([item.wav.shape[0] for item in items]),
        phone_ids=phone_ids,
        phone_lengths=torch.tensor([item.phone_ids.shape[0] for item in items]),
    )


# --- the sampler --------------------------------------------------------------------------

@dataclass(frozen=True)
class SamplerState:
    """Where the data order stands: ``position`` batches of ``epoch`` (1-based) are done."""

    seed: int
    epoch: int
    position: int

    def to_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "epoch": self.epoch, "position": self.position}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplerState:
        return cls(int(data["seed"]), int(data["epoch"]), int(data["position"]))


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of items of similar length (upstream's ``DistributedBucketSampler``), in an
    order fixed by ``(seed, epoch)``, startable at any batch of the epoch.

    With ``replicas > 1`` each rank gets every ``replicas``-th item of each padded bucket, so
    all ranks have the same number of batches. Items outside every bucket are left out.
    """

    def __init__(self, frames: Sequence[int], batch_size: int, seed: int, *,
                 boundaries: Sequence[int] = BUCKET_BOUNDARIES, replicas: int = 1,
                 rank: int = 0) -> None:
        if batch_size < 1 or not 0 <= rank < replicas:
            raise ValueError(f"batch_size {batch_size}, rank {rank} of {replicas}")
        self.batch_size = batch_size
        self.seed = seed
        self.replicas = replicas
        self.rank = rank
        self.buckets: list[list[int]] = [[] for _ in range(len(boundaries) - 1)]
        for index, length in enumerate(frames):
            bucket = bisect_left(boundaries, length) - 1  # boundaries[b] < length <= [b + 1]
            if 0 <= bucket < len(self.buckets):
                self.buckets[bucket].append(index)
        self.buckets = [b for b in self.buckets if b]
        self.left_out = len(frames) - sum(len(b) for b in self.buckets)
        group = batch_size * replicas
        self._padded = [len(b) + (-len(b)) % group for b in self.buckets]
        self.epoch = 1
        self.start = 0

    def __len__(self) -> int:
        """Batches per epoch (on this rank)."""
        return sum(self._padded) // self.replicas // self.batch_size

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        """The next iteration yields the batches of ``epoch`` from batch ``start`` on."""
        self.epoch = epoch
        self.start = start

    def state(self, position: int) -> SamplerState:
        """The state to save after ``position`` batches of the current epoch were trained."""
        return SamplerState(self.seed, self.epoch, position)

    def batches(self, epoch: int) -> list[list[int]]:
        """Every batch of ``epoch`` on this rank, in order."""
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        batches = []
        for bucket, padded in zip(self.buckets, self._padded, strict=True):
            order = torch.randperm(len(bucket), generator=generator).tolist()
            extra = padded - len(bucket)
            order = order * (1 + extra // len(bucket)) + order[: extra % len(bucket)]
            mine = order[self.rank :: self.replicas]
            batches += [[bucket[i] for i in mine[j : j + self.batch_size]]
                        for j in range(0, len(mine) - self.batch_size + 1, self.batch_size)]
        shuffle = torch.randperm(len(batches), generator=generator).tolist()
        return [batches[i] for i in shuffle]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches(self.epoch)[self.start :])


# --- loader -------------------------------------------------------------------------------

def default_num_workers(device_type: str) -> int:
    """``min(4, CPUs)`` worker processes beside a GPU; none on the CPU, where workers would
    only compete with the training threads for the same cores."""
    return min(4, os.cpu_count() or 1) if device_type == "cuda" else 0


def make_loader(dataset: SovitsDataset, sampler: BucketBatchSampler, *, device_type: str,
                num_workers: int | None = None) -> DataLoader:
    """A DataLoader over ``sampler``'s batches: workers (persistent, 4 batches ahead each)
    and pinned memory on CUDA, so loading stays off the training step's critical path."""
    workers = default_num_workers(device_type) if num_workers is None else num_workers
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=device_type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )
