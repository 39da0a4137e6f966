"""Saved batch probes: ``logs/<exp>/batch-probe-<kind>.json``, and when one still applies.

A probe (``gsv_core.train.batch_probe``) is valid for the card it ran on, named as the
guidelines name it (``GpuInfo.name`` and ``vram_gb``), and for the experiment's data as it
was then; :func:`load_probe` returns it only while both still match. No torch here: the UI
reads these on every refresh.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from gsv_core.guidelines import MeasuredBatch
from gsv_core.prepare.layout import ExperimentFiles
from gsv_core.train.config import ModelKind

__all__ = ["DEFAULT_TIME_LIMIT_S", "RESULT_VERSION", "ProbeResult", "data_fingerprint",
           "load_probe", "measured_batch", "probe_path"]

DEFAULT_TIME_LIMIT_S = 300.0
RESULT_VERSION = 1


@dataclass(frozen=True)
class ProbeResult:
    """One probe, as saved. ``card``/``memory_gb`` and ``data`` say what it is valid for."""

    kind: ModelKind
    dpo: bool
    card: str
    memory_gb: float | None
    data: str
    largest_fit: int | None
    first_failure: int | None
    limited_by: str
    tried: tuple[tuple[int, bool, float | None], ...]   # (batch, fitted, peak GiB reserved)
    seconds: float
    measured_at: str
    version: int = RESULT_VERSION

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> ProbeResult:
        data = json.loads(text)
        data["tried"] = tuple(tuple(t) for t in data["tried"])
        return cls(**data)


def probe_path(files: ExperimentFiles, kind: ModelKind, dpo: bool) -> Path:
    return files.folder / f"batch-probe-{kind}{'-dpo' if kind == 'gpt' and dpo else ''}.json"


def load_probe(files: ExperimentFiles, kind: ModelKind, dpo: bool, card: str,
               memory_gb: float | None) -> ProbeResult | None:
    """The saved probe for this card and the experiment's current data, else None (none
    saved, unreadable, another card, or the data changed since: it no longer applies)."""
    path = probe_path(files, kind, dpo)
    try:
        result = ProbeResult.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if result.version != RESULT_VERSION or result.card != card or result.memory_gb != memory_gb:
        return None
    try:
        current = data_fingerprint(files, kind)
    except OSError:
        return None
    return result if result.data == current else None


def measured_batch(result: ProbeResult | None, use: bool = False) -> MeasuredBatch | None:
    """A saved probe as the guidelines take it (``use``: the user chose the measured value)."""
    if result is None:
        return None
    return MeasuredBatch(result.largest_fit, result.first_failure, use=use)


def data_fingerprint(files: ExperimentFiles, kind: ModelKind) -> str:
    """What the probe's answer depends on in the experiment: its lists (they name the clips
    and give the lengths) and, when this project formatted it, the manifest of what each
    output was made from. Any re-formatting rewrites them, so an old probe never applies to
    new data."""
    paths = [files.name2text, files.name2semantic]
    if files.manifest.is_file():
        paths.append(files.manifest)
    parts = []
    for path in paths:
        stat = path.stat()
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)
