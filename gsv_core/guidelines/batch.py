"""B-1 to B-5, B-8 and D-1 to D-3: batch size limits and the DPO toggle."""

from __future__ import annotations

import math

from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    DpoAdvice,
    Goal,
    Limit,
    MeasuredBatch,
    MemoryBudget,
    Reason,
    int_limit,
)
from gsv_core.guidelines.tables import (
    DPO_SLOWDOWN_FACTOR,
    DPO_VRAM_FACTOR,
    GPT_MAX_BATCH,
    GPT_MAX_BATCH_DPO,
    MIN_DPO_VRAM_GB,
    MIN_TRAINING_VRAM_GB,
    REFERENCE_SLICE_S,
    SOVITS_MAX_BATCH,
    VRAM_ROWS_GB,
)


def _long_slice_reason(dataset: DatasetSummary, row_gb: int, table_max: int,
                       maximum: int) -> Reason | None:
    """B-4: why slices longer than the tables' reference shrink the maximum (never grow it)."""
    p95 = dataset.p95_slice_s
    if p95 is None or p95 <= REFERENCE_SLICE_S:
        return None
    return Reason("B-4", "95% of slices are up to {p95:.3g} s, longer than the {reference:g} s "
                         "the batch-size tables assume, so the table's {table} for {row} GB is "
                         "scaled by {reference:g}/{p95:.3g} to {max}.",
                  {"p95": p95, "reference": REFERENCE_SLICE_S, "row": row_gb,
                   "table": table_max, "max": maximum})


def _scaled_by_slices(table_max: int, dataset: DatasetSummary) -> int:
    p95 = dataset.p95_slice_s
    factor = REFERENCE_SLICE_S / p95 if p95 is not None and p95 > REFERENCE_SLICE_S else 1.0
    return max(math.floor(table_max * factor), 1)


def _clip_cap(dataset: DatasetSummary, maximum: int) -> tuple[int, Reason | None]:
    """B-8: a batch cannot hold more clips than the dataset has; the number that runs is shown.

    The trainers take at most every clip in one batch, so a larger setting
    would silently run smaller; we cap it and say so. 0 clips (nothing sliced
    yet) caps nothing: the dataset tab reports the empty dataset itself.
    """
    clips = dataset.clip_count
    if clips is None or clips < 1 or clips >= maximum:
        return maximum, None
    return clips, Reason("B-8", "The dataset has {clips} clips, so a batch holds at most {clips}.",
                         {"clips": clips})


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


def _cannot_train(budget: MemoryBudget, requested: float | None,
                  reasons: list[Reason]) -> Limit:
    """The card cannot train (H-1): a fixed, disabled batch of 1 with the card's reason."""
    binding = next((r for r in reasons if r.rule in ("D-2", "H-1")), None) or Reason(
        "H-1", "This card cannot train: training needs at least {min} GB.",
        {"min": MIN_TRAINING_VRAM_GB})
    return int_limit(1, 1, 1, requested, reasons, binding=binding, enabled=False)


def _measured_max(measured: MeasuredBatch, model: str, rule_max: int, clip_cap: int,
                  ) -> tuple[int, Reason, bool]:
    """B-6 measured: the maximum a batch probe allows, its reason, and whether it binds.

    Without the user's choice the smaller of the rules' maximum and the measured fit is used;
    with it, the measured fit (the rules' value came from tables for typical 10 s slices).
    The clip cap (B-8) holds either way.
    """
    params = {"model": model, "fit": measured.largest_fit, "fail": measured.first_failure,
              "table": rule_max}
    if measured.largest_fit is None:
        return 1, Reason("B-6", "The batch probe found that even a {model} batch of 1 runs "
                                "out of memory on this card with this dataset: remove the "
                                "longest clips, or close other programs using the GPU.",
                         params), True
    fit = min(measured.largest_fit, clip_cap)
    if measured.use:
        return fit, Reason("B-6", "You chose the measured value: the batch probe found that a "
                                  "{model} batch of {fit} fits this card with this dataset "
                                  "(the rules give {table}).", params), True
    if measured.largest_fit < rule_max and measured.first_failure is not None:
        return fit, Reason("B-6", "The batch probe measured {fit} as the largest {model} batch "
                                  "that fits this card with this dataset, below the {table} "
                                  "the rules give: the smaller is used.", params), True
    if measured.largest_fit < rule_max:   # the search ended before an out-of-memory error
        return fit, Reason("B-6", "The batch probe found that a {model} batch of {fit} fits "
                                  "this card with this dataset (it did not try more), below "
                                  "the {table} the rules give: the smaller is used.",
                           params), True
    return rule_max, Reason("B-6", "The batch probe found that a {model} batch of {fit} fits "
                                   "this card with this dataset, more than the {table} the "
                                   "rules give; the rules' value is kept unless you choose "
                                   "the measured one.", params), False


def _batch_limit(budget: MemoryBudget, dataset: DatasetSummary, table_max: int,
                 table_reason: Reason, default: int, requested: float | None,
                 extra: list[Reason], measured: MeasuredBatch | None = None,
                 model: str = "") -> Limit:
    """What both batch limits share: B-4 scaling, B-8 clip cap, the binding rule, CPU (H-2)."""
    if not budget.on_gpu:
        # The CPU uses the smallest row (H-2); the table, slice and B-5 texts speak of cards
        # and would suggest training used one, so the H-2 reason stands alone.
        (cpu_reason,) = budget.reasons
        maximum, clip_reason = _clip_cap(dataset, table_max)
        binding = clip_reason or cpu_reason
        return int_limit(1, maximum, min(default, maximum), requested,
                         [cpu_reason, *([clip_reason] if clip_reason else [])], binding=binding)
    scaled = _scaled_by_slices(table_max, dataset)
    long_slices = _long_slice_reason(dataset, budget.row_gb or 0, table_max, scaled)
    maximum, clip_reason = _clip_cap(dataset, scaled)
    if clip_reason is not None:
        binding = clip_reason
    elif long_slices is not None and scaled < table_max:
        binding = long_slices
    else:
        binding = table_reason
    reasons = [table_reason, *budget.reasons]
    reasons += [r for r in (long_slices, clip_reason) if r is not None]
    reasons += extra
    if measured is not None:
        clip_cap = dataset.clip_count if dataset.clip_count and dataset.clip_count > 0 else \
            max(maximum, measured.largest_fit or 1)
        maximum, probe_reason, binds = _measured_max(measured, model, maximum, clip_cap)
        reasons.append(probe_reason)
        if binds:
            binding = probe_reason
        if measured.use and measured.largest_fit and measured.largest_fit > clip_cap:
            binding = _clip_cap(dataset, measured.largest_fit)[1] or binding   # B-8 still
    return int_limit(1, maximum, min(default, maximum), requested, reasons, binding=binding)


def sovits_batch_limit(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
                       requested: float | None = None,
                       measured: MeasuredBatch | None = None) -> Limit:
    """B-1, B-3, B-4, B-5, B-8: the SoVITS batch size range for this memory and dataset;
    with ``measured`` (a batch probe on this card, B-6) as :func:`_measured_max` says."""
    table_max = _table_max(SOVITS_MAX_BATCH, budget)
    if table_max is None:  # below 6 GB: cannot train (H-1)
        return _cannot_train(budget, requested, list(budget.reasons))
    row = budget.row_gb
    table_reason = Reason("B-1", "SoVITS batch at most {max} on a {row} GB card, for "
                                 "{reference:g} s slices (SoVITS batch-size table).",
                          {"max": table_max, "row": row, "reference": REFERENCE_SLICE_S})
    rule_of_thumb = Reason("B-5", "Rule of thumb: keep the SoVITS batch below half the memory "
                                  "in GB (a {min} GB card uses {min_batch}); a larger batch is "
                                  "not necessarily faster.",
                           {"min": MIN_TRAINING_VRAM_GB, "min_batch": SOVITS_MAX_BATCH[0]})
    default = _half_vram_rule(budget.gb) if budget.gb > MIN_TRAINING_VRAM_GB else 1
    return _batch_limit(budget, dataset, table_max, table_reason, default, requested,
                        [rule_of_thumb] if budget.on_gpu else [], measured, "SoVITS")


def gpt_batch_limit(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
                    dpo: bool = False, requested: float | None = None,
                    measured: MeasuredBatch | None = None) -> Limit:
    """B-2, B-3, B-4, B-8, D-2: the GPT batch size range, from the DPO row when DPO is on;
    ``measured`` is a batch probe of GPT with the same DPO setting (B-6)."""
    table = GPT_MAX_BATCH_DPO if dpo else GPT_MAX_BATCH
    table_max = _table_max(table, budget)
    if table_max is None:
        reasons = list(budget.reasons)
        if dpo and budget.row_gb is not None:
            reasons.insert(0, Reason("D-2", "DPO needs at least {min} GB of VRAM.",
                                     {"min": MIN_DPO_VRAM_GB}))
        return _cannot_train(budget, requested, reasons)
    row = budget.row_gb
    if dpo:
        table_reason = Reason("D-2", "DPO on: GPT batch at most {max} on a {row} GB card (the "
                                     "DPO line of the GPT batch-size table).",
                              {"max": table_max, "row": row})
    else:
        table_reason = Reason("B-2", "GPT batch at most {max} on a {row} GB card, for "
                                     "{reference:g} s slices (GPT batch-size table).",
                              {"max": table_max, "row": row, "reference": REFERENCE_SLICE_S})
    # No rule gives a GPT default; the B-5 half-memory rule keeps it off the edge.
    return _batch_limit(budget, dataset, table_max, table_reason, _half_vram_rule(budget.gb),
                        requested, [], measured, "GPT")


def dpo_advice(budget: MemoryBudget, dataset: DatasetSummary = DEFAULT_DATASET,
               goal: Goal = "best") -> DpoAdvice:
    """D-1..D-3: whether the DPO toggle is available, advisable, or needs a confirmation."""
    cost = Reason("D-1", "DPO greatly improves the GPT model but uses more than {vram}x the VRAM "
                         "and trains about {slow}x slower.",
                  {"vram": DPO_VRAM_FACTOR, "slow": DPO_SLOWDOWN_FACTOR})
    if not budget.on_gpu or budget.row_gb is None or budget.gb < MIN_DPO_VRAM_GB:
        why = Reason("D-2", "DPO needs a GPU with at least {min} GB; this one has {gb} GB."
                     if budget.on_gpu else "DPO needs a GPU with at least {min} GB; training "
                     "runs on the CPU.",
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
