"""B-1 to B-5 and D-1 to D-3: batch size limits and the DPO toggle."""

from __future__ import annotations

import math

from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    DpoAdvice,
    Goal,
    Limit,
    MemoryBudget,
    Reason,
    int_limit,
)
from gsv_core.guidelines.tables import (
    GPT_MAX_BATCH,
    GPT_MAX_BATCH_DPO,
    MIN_DPO_VRAM_GB,
    MIN_TRAINING_VRAM_GB,
    REFERENCE_SLICE_S,
    SOVITS_MAX_BATCH,
    VRAM_ROWS_GB,
)


def _long_slice_factor(dataset: DatasetSummary) -> tuple[float, Reason | None]:
    """B-4: shrink limits for slices longer than the tables' 10 s; never grow them."""
    p95 = dataset.p95_slice_s
    if p95 is None or p95 <= REFERENCE_SLICE_S:
        return 1.0, None
    factor = REFERENCE_SLICE_S / p95
    return factor, Reason("B-4", "95% of slices are up to {p95:.1f} s, longer than the tables' "
                                 "10 s: the maximum is scaled by 10/{p95:.1f}.", {"p95": p95})


def _table_max(table: tuple[int | None, ...], budget: MemoryBudget) -> int | None:
    if budget.row_gb is None:
        return None
    value = table[VRAM_ROWS_GB.index(budget.row_gb)]
    if value is None:
        return None
    return math.floor(value * budget.scale)


def _half_vram_rule(gb: int) -> int:
    """B-5: 'below half the VRAM in GB' — the largest whole number under gb/2."""
    return max(math.ceil(gb / 2) - 1, 1)


def _reasons_with(budget: MemoryBudget, table_reason: Reason) -> list[Reason]:
    """The table's reason first on a GPU; on the CPU fallback the H-2 reason leads (the UI
    shows the first reason under the control, and there the CPU is the real reason)."""
    if budget.on_gpu:
        return [table_reason, *budget.reasons]
    return [*budget.reasons, table_reason]


def sovits_batch_limit(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
                       requested: float | None = None) -> Limit:
    """B-1, B-3, B-4, B-5: the SoVITS batch size range for this memory and dataset."""
    table_max = _table_max(SOVITS_MAX_BATCH, budget)
    if table_max is None:  # below 6 GB: cannot train (H-1)
        return int_limit(1, 1, 1, requested, list(budget.reasons), enabled=False)
    reasons = _reasons_with(budget, Reason(
        "B-1", "SoVITS batch at most {max} for {row} GB with 10 s slices.",
        {"max": SOVITS_MAX_BATCH[VRAM_ROWS_GB.index(budget.row_gb)], "row": budget.row_gb}))
    factor, long_slices = _long_slice_factor(dataset)
    maximum = max(math.floor(table_max * factor), 1)
    if long_slices:
        reasons.append(long_slices)
    default = min(_half_vram_rule(budget.gb), maximum) if budget.gb > MIN_TRAINING_VRAM_GB else 1
    reasons.append(Reason("B-5", "Rule of thumb: keep the SoVITS batch below half the memory in "
                                 "GB (a 6 GB card uses 1); a larger batch is not necessarily "
                                 "faster.", {}))
    return int_limit(1, maximum, default, requested, reasons)


def gpt_batch_limit(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
                    dpo: bool = False, requested: float | None = None) -> Limit:
    """B-2, B-3, B-4, D-2: the GPT batch size range, from the DPO row when DPO is on."""
    table = GPT_MAX_BATCH_DPO if dpo else GPT_MAX_BATCH
    table_max = _table_max(table, budget)
    if table_max is None:
        reasons = list(budget.reasons)
        if dpo and budget.row_gb is not None:
            reasons.insert(0, Reason("D-2", "DPO needs at least {min} GB of VRAM.",
                                     {"min": MIN_DPO_VRAM_GB}))
        return int_limit(1, 1, 1, requested, reasons, enabled=False)
    row_value = table[VRAM_ROWS_GB.index(budget.row_gb)]
    reasons = _reasons_with(budget, Reason(
        "D-2", "DPO on: GPT batch at most {max} for {row} GB (DPO row of B-2).",
        {"max": row_value, "row": budget.row_gb}) if dpo else Reason(
        "B-2", "GPT batch at most {max} for {row} GB with 10 s slices.",
        {"max": row_value, "row": budget.row_gb}))
    factor, long_slices = _long_slice_factor(dataset)
    maximum = max(math.floor(table_max * factor), 1)
    if long_slices:
        reasons.append(long_slices)
    # No rule gives a GPT default; the B-5 half-memory rule keeps it off the edge.
    default = min(_half_vram_rule(budget.gb), maximum)
    return int_limit(1, maximum, default, requested, reasons)


def dpo_advice(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
               goal: Goal = "best") -> DpoAdvice:
    """D-1..D-3: whether the DPO toggle is available, advisable, or needs a confirmation."""
    cost = Reason("D-1", "DPO greatly improves the GPT model but uses more than twice the VRAM "
                         "and trains about 4 times slower.", {})
    if not budget.on_gpu or budget.row_gb is None or budget.gb < MIN_DPO_VRAM_GB:
        why = Reason("D-2", "DPO needs a GPU with at least {min} GB; this one has {gb} GB."
                     if budget.on_gpu else "DPO needs a GPU with at least {min} GB.",
                     {"min": MIN_DPO_VRAM_GB, "gb": budget.gb})
        return DpoAdvice(available=False, recommended=False, needs_confirmation=False,
                         reasons=(why, cost))
    problems = []
    if dataset.quality != "good":
        problems.append(Reason("D-3", "The dataset quality checks have not passed ({quality}): "
                                      "noise, reverb or poor audio hurt DPO training.",
                               {"quality": dataset.quality}))
    if not dataset.fully_reviewed:
        problems.append(Reason("D-3", "Only {pct:.0f}% of the labels are proofread: unproofread "
                                      "labels hurt DPO training.",
                               {"pct": 100 * dataset.reviewed_fraction}))
    recommended = not problems and goal == "best"
    return DpoAdvice(available=True, recommended=recommended, needs_confirmation=bool(problems),
                     reasons=(cost, *problems))
