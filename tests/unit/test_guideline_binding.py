"""Item 3 and B-8: every limit names the ONE rule that binds now; the clip count caps the batch.

Item 15: reason texts take their numbers from tables.py (no guideline number in a template).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gsv_core import guidelines as g
from gsv_core.guidelines import tables
from gsv_core.hardware import parse_fake_gpu
from gsv_core.i18n import scan_keys
from tests.unit.test_guidelines import GOOD_BIG, budget_for, machine

GUIDELINES_DIR = Path(g.__file__).parent


def every_limit(limits: g.TrainingLimits) -> dict[str, g.Limit]:
    names = ("sovits_batch", "gpt_batch", "sovits_epochs", "gpt_epochs", "lr_weight",
             "sovits_save_every", "gpt_save_every")
    return {name: getattr(limits, name) for name in names}


@pytest.mark.parametrize("spec", ["NVIDIA GeForce RTX 4090:24", "NVIDIA GeForce RTX 3060:12",
                                  "cpu", "mps", "NVIDIA GeForce GTX 1050:2",
                                  "NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"])
@pytest.mark.parametrize("dpo", [False, True])
def test_every_limit_has_a_binding_reason_listed_first(spec: str, dpo: bool) -> None:
    limits = g.training_limits(machine(spec), g.DatasetSummary(p95_slice_s=25.0, clip_count=3),
                               dpo=dpo)
    for name, limit in [*every_limit(limits).items(),
                        ("slice", g.slice_length_limit(12, g.DatasetSummary()))]:
        assert limit.binding is not None, name
        assert limit.reasons[0] == limit.binding, name
        assert limit.reasons.count(limit.binding) == 1, name


def test_b1_binds_the_sovits_batch_on_an_ordinary_card() -> None:
    limit = g.sovits_batch_limit(budget_for(24))
    assert limit.binding.rule == "B-1" and limit.binding.params["max"] == limit.max == 14
    assert limit.binding.params["row"] == 24


@pytest.mark.parametrize(("dpo", "rule", "maximum"), [(False, "B-2", 11), (True, "D-2", 6)])
def test_b2_d2_bind_the_gpt_batch(dpo: bool, rule: str, maximum: int) -> None:
    limit = g.gpt_batch_limit(budget_for(24), dpo=dpo)
    assert (limit.binding.rule, limit.max) == (rule, maximum)


def test_b4_binds_when_long_slices_lower_the_table_value() -> None:
    limit = g.sovits_batch_limit(budget_for(24), g.DatasetSummary(p95_slice_s=30.0))
    assert limit.max == 4 and limit.binding.rule == "B-4"
    params = limit.binding.params
    assert (params["p95"], params["row"], params["table"], params["max"]) == (30.0, 24, 14, 4)
    assert params["reference"] == tables.REFERENCE_SLICE_S
    text = limit.binding.text()
    assert text == ("B-4: 95% of slices are up to 30 s, longer than the 10 s the batch-size "
                    "tables assume, so the table's 14 for 24 GB is scaled by 10/30 to 4.")
    assert "B-1" in [r.rule for r in limit.reasons]  # the table row stays in the full list


def test_b4_does_not_bind_when_it_changes_nothing() -> None:
    """p95 just over the reference: floor(14 * 10/10.2) = 13 binds; on a 6 GB card 1 stays 1."""
    assert g.sovits_batch_limit(budget_for(24), g.DatasetSummary(p95_slice_s=10.2)
                                ).binding.rule == "B-4"
    six = g.sovits_batch_limit(budget_for(6), g.DatasetSummary(p95_slice_s=10.5))
    assert six.max == 1 and six.binding.rule == "B-1"


@pytest.mark.parametrize("spec", ["cpu", "cpu:256", "NVIDIA GeForce GTX 1050:2"])
def test_h2_binds_both_batches_on_the_cpu(spec: str) -> None:
    limits = g.training_limits(machine(spec))
    assert limits.sovits_batch.binding.rule == limits.gpt_batch.binding.rule == "H-2"


def test_h1_binds_a_card_that_cannot_train() -> None:
    budget = g.MemoryBudget(gb=4, row_gb=None, scale=1.0, on_gpu=True, reasons=(
        g.Reason("H-1", "x has 4 GB; training needs at least {min} GB.", {"min": 6}),))
    limit = g.sovits_batch_limit(budget)
    assert not limit.enabled and limit.binding.rule == "H-1"


@pytest.mark.parametrize(("dataset", "rule", "maximum"), [
    (g.DatasetSummary(), "R-3", 15), (GOOD_BIG, "R-3", 100)])
def test_r3_binds_the_sovits_rounds(dataset: g.DatasetSummary, rule: str, maximum: int) -> None:
    limit = g.sovits_epochs_limit(dataset)
    assert (limit.binding.rule, limit.binding.params["max"], limit.max) == (rule, maximum,
                                                                           maximum)


def test_r1_r4_r5_q4_bind_their_controls() -> None:
    assert g.gpt_epochs_limit().binding.rule == "R-1"
    assert g.lr_weight_limit().binding.rule == "R-4"
    assert g.save_every_limit(10).binding.rule == "R-5"
    assert g.slice_length_limit().binding.rule == "Q-4"


# ---------------------------------------------------------------------------------- B-8

@pytest.mark.parametrize("dpo", [False, True])
def test_b8_clip_count_caps_batch(dpo: bool) -> None:
    dataset = g.DatasetSummary(clip_count=3)
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24"), dataset, dpo=dpo,
                               sovits_batch=14, gpt_batch=11)
    for limit in (limits.sovits_batch, limits.gpt_batch):
        assert limit.max == 3 and limit.value == 3 and limit.default <= 3
        assert limit.binding.rule == "B-8" and limit.binding.params["clips"] == 3
        assert "3 clips" in limit.binding.text()


def test_b8_caps_below_long_slice_scaling_and_on_the_cpu() -> None:
    dataset = g.DatasetSummary(p95_slice_s=20.0, clip_count=2)
    limit = g.sovits_batch_limit(budget_for(24), dataset)
    assert limit.max == 2 and limit.binding.rule == "B-8"
    assert {"B-1", "B-4", "B-8"} <= {r.rule for r in limit.reasons}


@pytest.mark.parametrize("clips", [None, 0, 14, 900])
def test_b8_does_not_bind_when_the_dataset_has_enough_clips(clips: int | None) -> None:
    limit = g.sovits_batch_limit(budget_for(24), g.DatasetSummary(clip_count=clips))
    assert limit.max == 14 and limit.binding.rule == "B-1"
    assert "B-8" not in [r.rule for r in limit.reasons]


# ---------------------------------------------------------------------------------- item 15

ALLOWED_LITERALS = {"0", "1", "100", "95"}  # bounds of a share, "at least 1", the percentile


def test_reason_templates_take_guideline_numbers_as_params() -> None:
    """No guideline number written into a reason or glossary text: they come from tables.py."""
    keys = scan_keys(sorted(GUIDELINES_DIR.glob("*.py")), ui=False)
    assert len(keys) > 50  # the scan found the templates
    offenders = {}
    for key in keys:
        bare = re.sub(r"\{[^}]*\}", "", key)         # placeholders and their format specs
        bare = re.sub(r"\b[A-Z]-\d+\b", "", bare)    # references to other rules ("E-1")
        numbers = set(re.findall(r"\d+(?:\.\d+)?", bare)) - ALLOWED_LITERALS
        if numbers:
            offenders[key] = numbers
    assert not offenders, offenders


def test_h1_model_floors_and_b3_rounding_come_from_tables(monkeypatch) -> None:
    """Change a number in tables.py and the verdict and the reason follow it."""
    gpu = parse_fake_gpu("NVIDIA GeForce GTX 1070:8").gpus[0]
    assert g.classify_gpu(gpu).usable
    monkeypatch.setitem(tables.H1_SERIES_FLOOR_MODEL, 10, 1080)
    verdict = g.classify_gpu(gpu)
    assert not verdict.usable and "below the 1080" in verdict.reasons[0].text()
    assert tables.card_memory_gb(int(23.99 * tables.BYTES_PER_GB)) == 24
    assert tables.card_memory_gb(int(11.4 * tables.BYTES_PER_GB)) == 11 == gpu.vram_gb + 3
