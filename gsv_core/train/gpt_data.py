"""The GPT's training data: a formatted experiment read as (phones, BERT, semantic tokens).

Inputs are upstream's files (``gsv_core/prepare/layout.py`` names them):

- ``2-name2text.txt``: ``name<TAB>phones<TAB>word2ph<TAB>normalised text``; phones become ids
  through the v2 symbol table of ``gsv_core.text`` (a phone outside it is an error naming the
  line: the experiment was formatted for another symbol table).
- ``6-name2semantic.tsv``: a header line, then ``name<TAB>space-separated 25 Hz tokens``.
- ``3-bert/<name>.pt``: ``[1024, n_phones]`` phone-level BERT features, written for Mandarin
  clips only. A clip without a file gets zeros ``[1024, n_phones]``, exactly what inference
  feeds for non-Chinese text (``gsv_core.text.bert_align``), so training and inference see
  the same features. A file of the wrong shape is a :class:`DatasetError` naming it, checked
  before training starts (upstream fails the same way, but mid-epoch).

Which clips train (upstream's filters, ``AR/data/dataset.py``, kept so a dataset trains the
same set here and there; each dropped clip is listed with its reason, never silent, Q-4):
at most 1350 semantic tokens (54 s), at most 540 phones, and 3 to 25 phones per second of
audio (outside it the label and the audio almost surely disagree). Fewer than 100 clips are
repeated (``1 + max(2, 100 // n)`` copies, upstream's count) so that an epoch holds enough
batches for the ×4 gradient accumulation; we count after filtering, upstream before.

Batches (:class:`BucketBatchSampler`, upstream's bucket sampler in effect): clips sorted by
length into 2-second buckets, shuffled inside each bucket, cut into batches of similar
length, the batches shuffled. The order of an epoch is a pure function of (seed, epoch), so
a resumed run skips the batches already trained and sees exactly the rest.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from gsv_core.errors import DatasetError
from gsv_core.models.gpt import BERT_DIM
from gsv_core.models.gpt_dpo import make_rejected
from gsv_core.prepare.layout import SEMANTIC_HEADER, ExperimentFiles
from gsv_core.text.symbols import symbol_to_id

__all__ = [
    "EOS_ID",
    "MAX_PHONES",
    "MAX_SEMANTIC_TOKENS",
    "MIN_ITEMS",
    "PAD_MULTIPLE",
    "PHONES_PER_S",
    "SEMANTIC_RATE_HZ",
    "BucketBatchSampler",
    "GPTBatch",
    "GPTClip",
    "GPTDataset",
    "collate_gpt",
    "load_gpt_dataset",
]

SEMANTIC_RATE_HZ = 25
SEMANTIC_CODEBOOK = 1024
EOS_ID = 1024  # the v2 GPT's EOS, also what padded semantic positions hold
MAX_SEC = 54  # s1longer-v2.yaml data.max_sec
MAX_SEMANTIC_TOKENS = MAX_SEC * SEMANTIC_RATE_HZ  # 1350
MAX_PHONES = int(MAX_SEC * SEMANTIC_RATE_HZ / 2.5)  # 540
PHONES_PER_S = (3.0, 25.0)
MIN_ITEMS = 100
BUCKET_S = 2.0
# Padded widths are rounded up to this many positions: fewer distinct shapes, so the GPU
# allocator and kernels settle after a few batches instead of meeting a new length on
# almost every batch (the step spikes upstream shows with DPO). Padding is masked.
PAD_MULTIPLE = 16
_ADVICE = ("Format the experiment again (Dataset tab, Format), or fix the line named; the "
           "files are written by the formatting step.")


@dataclass(frozen=True)
class GPTClip:
    """One clip the GPT trains on. ``bert_file`` None = not Mandarin: zeros, as inference."""

    name: str
    phone_ids: tuple[int, ...]
    semantic_ids: tuple[int, ...]
    bert_file: Path | None

    @property
    def duration_s(self) -> float:
        return len(self.semantic_ids) / SEMANTIC_RATE_HZ


@dataclass(frozen=True)
class GPTDataset(Dataset):
    """The clips that train (``clips``), the epoch's items (clip indices, repeated to at
    least :data:`MIN_ITEMS`) and what was left out (``skipped``: (name, reason))."""

    clips: tuple[GPTClip, ...]
    items: tuple[int, ...]
    skipped: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, key: tuple[int, int]) -> dict:
        """``key`` = (item index, batch seed) as :class:`BucketBatchSampler` yields it."""
        index, seed = key
        clip = self.clips[self.items[index]]
        bert = None if clip.bert_file is None else _read_bert(clip.bert_file, len(clip.phone_ids))
        return {"name": clip.name, "phone_ids": torch.tensor(clip.phone_ids, dtype=torch.long),
                "semantic_ids": torch.tensor(clip.semantic_ids, dtype=torch.long),
                "bert": bert, "seed": seed}

    def durations_s(self) -> list[float]:
        return [self.clips[i].duration_s for i in self.items]


def _error(path: Path, line: int | None, message: str) -> DatasetError:
    where = f"{path}, line {line}" if line is not None else str(path)
    return DatasetError(f"{where}: {message}", _ADVICE)


def _read_text_rows(path: Path) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    table = symbol_to_id()
    phones: dict[str, tuple[int, ...]] = {}
    warnings: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise _error(path, None, "missing; the experiment is not formatted") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(path, None, f"cannot be read ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 4 or not parts[0] or not parts[1].strip():
            raise _error(path, number, "expected name, phones, word2ph and text separated by "
                                       "tabs")
        ids = []
        for phone in parts[1].split(" "):
            if phone not in table:
                raise _error(path, number, f"phone {phone!r} is not in the v2 symbol table")
            ids.append(table[phone])
        if parts[0] in phones:  # upstream keeps the later row; say so
            warnings.append(f"{path.name} line {number}: {parts[0]} appears twice; the later "
                            "row is used")
        phones[parts[0]] = tuple(ids)
    return phones, warnings


def _read_semantic_rows(path: Path) -> list[tuple[int, str, tuple[int, ...]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise _error(path, None, "missing; the experiment is not formatted") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise _error(path, None, f"cannot be read ({exc})") from exc
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or (number == 1 and line.strip() == SEMANTIC_HEADER):
            continue
        parts = line.split("\t")
        if len(parts) != 2 or not parts[0]:
            raise _error(path, number, "expected name and semantic tokens separated by a tab")
        try:
            tokens = tuple(int(t) for t in parts[1].split())
        except ValueError as exc:
            raise _error(path, number, "semantic tokens must be whole numbers") from exc
        if not tokens:
            raise _error(path, number, "the clip has no semantic tokens")
        if min(tokens) < 0 or max(tokens) >= SEMANTIC_CODEBOOK:
            raise _error(path, number, f"semantic tokens must lie in 0..{SEMANTIC_CODEBOOK - 1}")
        rows.append((number, parts[0], tokens))
    return rows


def _read_bert(path: Path, phones: int) -> torch.Tensor:
    """The fp16 ``[1024, phones]`` features of one clip; DatasetError naming a bad file."""
    try:
        bert = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file is the same problem for the user
        raise _error(path, None, f"the BERT features cannot be read ({exc})") from exc
    if not isinstance(bert, torch.Tensor) or tuple(bert.shape) != (BERT_DIM, phones):
        shape = tuple(bert.shape) if isinstance(bert, torch.Tensor) else type(bert).__name__
        raise _error(path, None, f"BERT features of shape {shape}; the clip has {phones} "
                                 f"phones, so [{BERT_DIM}, {phones}] was expected")
    if not torch.isfinite(bert).all():
        raise _error(path, None, "the BERT features hold NaN or infinite values")
    return bert.to(torch.float16)


def _skip_reason(phones: int, tokens: int) -> str | None:
    if tokens > MAX_SEMANTIC_TOKENS:
        return f"longer than {MAX_SEC} s ({tokens / SEMANTIC_RATE_HZ:.1f} s)"
    if phones > MAX_PHONES:
        return f"more than {MAX_PHONES} phones ({phones})"
    rate = phones / (tokens / SEMANTIC_RATE_HZ)
    low, high = PHONES_PER_S
    if not low <= rate <= high:
        return (f"{rate:.1f} phones per second, outside {low:g}-{high:g}: the label probably "
                "does not match the audio")
    return None


def load_gpt_dataset(files: ExperimentFiles, *, check_bert: bool = True) -> GPTDataset:
    """Read a formatted experiment; DatasetError naming file and line for a bad row, or
    when no clip is left to train."""
    phones, warnings = _read_text_rows(files.name2text)
    clips: list[GPTClip] = []
    skipped: list[tuple[str, str]] = []
    for _number, name, tokens in _read_semantic_rows(files.name2semantic):
        ids = phones.get(name)
        if ids is None:
            skipped.append((name, f"no row in {files.name2text.name}"))
            continue
        reason = _skip_reason(len(ids), len(tokens))
        if reason is not None:
            skipped.append((name, reason))
            continue
        bert_file = files.bert_file(name)
        bert = bert_file if bert_file.is_file() else None
        if bert is not None and check_bert:
            _read_bert(bert, len(ids))
        clips.append(GPTClip(name, ids, tokens, bert))
    if not clips:
        raise _error(files.name2semantic, None,
                     f"no clip can train ({len(skipped)} left out"
                     + (f", e.g. {skipped[0][0]}: {skipped[0][1]})" if skipped else ")"))
    copies = 1 if len(clips) >= MIN_ITEMS else 1 + max(2, MIN_ITEMS // len(clips))
    items = tuple(i for _ in range(copies) for i in range(len(clips)))
    return GPTDataset(tuple(clips), items, tuple(skipped), tuple(warnings))


@dataclass
class BucketBatchSampler:
    """Batches of similar length in an order fixed by (seed, epoch), resumable mid-epoch.

    Yields lists of ``(item index, batch seed)``; the batch seed drives the DPO corruption of
    that batch, so a resumed run also corrupts exactly as the first run would have.
    With ``world_size`` > 1 each global batch of ``batch_size × world_size`` items is split
    between the ranks; a short last one is filled up by cycling its own items, so no rank
    waits on another with an empty batch.
    """

    durations_s: Sequence[float]
    batch_size: int
    seed: int = 1234
    rank: int = 0
    world_size: int = 1
    epoch: int = 0
    start_batch: int = 0
    _cache: dict = field(default_factory=dict, repr=False)

    def global_batches(self, epoch: int) -> list[list[int]]:
        """The item indices of every global batch of ``epoch`` (0-based), in order."""
        if epoch not in self._cache:
            rng = np.random.default_rng((self.seed, epoch))
            order = sorted(range(len(self.durations_s)), key=lambda i: self.durations_s[i])
            buckets: dict[int, list[int]] = {}
            for index in order:
                buckets.setdefault(int(self.durations_s[index] // BUCKET_S), []).append(index)
            flat: list[int] = []
            for key in sorted(buckets):
                members = buckets[key]
                flat.extend(members[i] for i in rng.permutation(len(members)))
            size = self.batch_size * self.world_size
            chunks = [flat[i:i + size] for i in range(0, len(flat), size)]
            self._cache = {epoch: [chunks[i] for i in rng.permutation(len(chunks))]}
        return self._cache[epoch]

    def __len__(self) -> int:
        """Batches per epoch (each rank sees this many)."""
        return math.ceil(len(self.durations_s) / (self.batch_size * self.world_size))

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        """Iterate ``epoch`` (0-based) from batch ``start_batch`` (the ones trained before a
        stop are skipped)."""
        self.epoch, self.start_batch = epoch, start_batch

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "epoch": self.epoch, "start_batch": self.start_batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])
        self.start_batch = int(state["start_batch"])

    def batch_seed(self, epoch: int, batch: int) -> int:
        return int(np.random.default_rng((self.seed, epoch, batch)).integers(2**62))

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch = self.epoch
        for number, chunk in enumerate(self.global_batches(epoch)):
            if number < self.start_batch:
                continue
            size = self.batch_size * self.world_size
            if self.world_size > 1 and len(chunk) < size:
                chunk = [chunk[i % len(chunk)] for i in range(size)]
            mine = chunk[self.rank * self.batch_size:(self.rank + 1) * self.batch_size]
            seed = self.batch_seed(epoch, number)
            yield [(index, seed) for index in mine]


@dataclass
class GPTBatch:
    """A padded batch as the decoder's training forward takes it.

    ``semantic_ids`` are right-padded with EOS (the model ignores targets past each item's
    EOS); ``bert`` is fp16 ``[B, 1024, Tx]``, zero for non-Mandarin clips and padding (the
    model casts it to its own dtype, so fp16 here is exact and halves the copy).
    ``rejected_*`` are the DPO twins (None without DPO). ``target_tokens`` counts the real
    targets (tokens + EOS per item), known on the host so no device sync is needed to
    normalise the loss.
    """

    names: list[str]
    phone_ids: torch.Tensor  # [B, Tx]
    phone_lens: torch.Tensor  # [B]
    semantic_ids: torch.Tensor  # [B, Ty]
    semantic_lens: torch.Tensor  # [B]
    bert: torch.Tensor  # [B, 1024, Tx]
    target_tokens: int
    rejected_ids: torch.Tensor | None = None  # [B, Tr]
    rejected_lens: torch.Tensor | None = None  # [B]

    def _map(self, fn) -> GPTBatch:
        def apply(value):
            return fn(value) if isinstance(value, torch.Tensor) else value
        return GPTBatch(**{k: apply(v) for k, v in self.__dict__.items()})

    def pin_memory(self) -> GPTBatch:
        """Called by the DataLoader (``pin_memory=True``) so copies to the GPU can overlap."""
        return self._map(lambda t: t.pin_memory())

    def to(self, device: torch.device | str) -> GPTBatch:
        return self._map(lambda t: t.to(device, non_blocking=True))

    def __len__(self) -> int:
        return len(self.names)


def _pad_width(width: int) -> int:
    return max(PAD_MULTIPLE, -(-width // PAD_MULTIPLE) * PAD_MULTIPLE)


def _stack(rows: Sequence[torch.Tensor], value: int) -> torch.Tensor:
    width = _pad_width(max(r.shape[-1] for r in rows))
    return torch.stack([F.pad(r, (0, width - r.shape[-1]), value=value) for r in rows])


def collate_gpt(items: Sequence[dict], dpo: bool = False) -> GPTBatch:
    """Pad a list of dataset items into a :class:`GPTBatch`; with ``dpo`` also make the
    rejected twins (``gpt_dpo.make_rejected``, seeded by the batch, so the same on resume)."""
    phone_lens = torch.tensor([len(i["phone_ids"]) for i in items])
    semantic_lens = torch.tensor([len(i["semantic_ids"]) for i in items])
    phone_ids = _stack([i["phone_ids"] for i in items], 0)
    semantic_ids = _stack([i["semantic_ids"] for i in items], EOS_ID)
    bert = torch.zeros(len(items), BERT_DIM, phone_ids.shape[1], dtype=torch.float16)
    for row, item in enumerate(items):
        if item["bert"] is not None:
            bert[row, :, :item["bert"].shape[1]] = item["bert"]
    batch = GPTBatch(names=[i["name"] for i in items], phone_ids=phone_ids,
                     phone_lens=phone_lens, semantic_ids=semantic_ids,
                     semantic_lens=semantic_lens, bert=bert,
                     target_tokens=int(semantic_lens.sum()) + len(items))
    if dpo:
        generator = torch.Generator().manual_seed(int(items[0]["seed"]))
        rejected, rejected_lens = make_rejected(semantic_ids, semantic_lens, EOS_ID, generator)
        batch.rejected_ids = _stack(list(rejected), EOS_ID)
        batch.rejected_lens = rejected_lens
    return batch
