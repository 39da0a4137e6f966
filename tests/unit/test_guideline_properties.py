"""Properties every limit must have, over many cards and datasets (hypothesis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gsv_core import guidelines as g
from gsv_core.hardware import GIB, GpuInfo, MachineProfile

vram_gb = st.floats(min_value=0.5, max_value=200, allow_nan=False)
p95 = st.one_of(st.none(), st.floats(min_value=0.5, max_value=120, allow_nan=False))
datasets = st.builds(
    g.DatasetSummary,
    total_duration_s=st.one_of(st.none(), st.floats(min_value=0, max_value=20 * 3600)),
    p95_slice_s=p95, clip_count=st.one_of(st.none(), st.integers(0, 100_000)),
    quality=st.sampled_from(["good", "poor", "unknown"]),
    reviewed_fraction=st.floats(min_value=0, max_value=1))
requests = st.one_of(st.none(), st.floats(min_value=-10, max_value=500, allow_nan=False))


def profile_with(vram: float) -> MachineProfile:
    total = int(vram * GIB)
    gpu = GpuInfo(0, "NVIDIA GeForce RTX 4090", "nvidia", total, total, (8, 9), "t", "fake")
    return MachineProfile(gpus=(gpu,), os_name="linux", cpu_name="x", cpu_count=4, ram_gb=32,
                          apple_silicon=False, mps_available=False)


def all_limits(limits: g.TrainingLimits) -> list[g.Limit]:
    return [limits.sovits_batch, limits.gpt_batch, limits.sovits_epochs, limits.gpt_epochs,
            limits.sovits_save_every, limits.gpt_save_every]


@settings(max_examples=300, deadline=None)
@given(vram=vram_gb, dataset=datasets, dpo=st.booleans(), sovits_batch=requests,
       gpt_batch=requests, sovits_epochs=requests, gpt_epochs=requests, save=requests)
def test_limits_are_integers_and_hold_their_value(vram, dataset, dpo, sovits_batch, gpt_batch,
                                                  sovits_epochs, gpt_epochs, save) -> None:
    """X-6 and the Limit contract: whole numbers, min <= default, value <= max, reasons with ids."""
    limits = g.training_limits(profile_with(vram), dataset, dpo=dpo, sovits_batch=sovits_batch,
                               gpt_batch=gpt_batch, sovits_epochs=sovits_epochs,
                               gpt_epochs=gpt_epochs, sovits_save_every=save, gpt_save_every=save)
    for limit in all_limits(limits):
        for number in (limit.min, limit.max, limit.default, limit.value):
            assert isinstance(number, int)
        assert limit.min <= limit.default <= limit.max
        assert limit.min <= limit.value <= limit.max
        assert limit.reasons and all(r.rule[0] in "BDRQEHTX" for r in limit.reasons)
        assert limit.binding is not None and limit.reasons[0] == limit.binding  # item 3
        if dataset.clip_count:  # B-8: a batch never holds more clips than the dataset has
            assert limits.sovits_batch.max <= dataset.clip_count
            assert limits.gpt_batch.max <= dataset.clip_count
    lr = limits.lr_weight
    assert lr.min <= lr.value <= lr.max == 0.4


@settings(max_examples=300, deadline=None)
@given(smaller=vram_gb, larger=vram_gb, dataset=datasets, dpo=st.booleans())
def test_more_vram_never_lowers_a_maximum(smaller, larger, dataset, dpo) -> None:
    smaller, larger = sorted((smaller, larger))
    low = g.training_limits(profile_with(smaller), dataset, dpo=dpo)
    high = g.training_limits(profile_with(larger), dataset, dpo=dpo)
    assert high.sovits_batch.max >= low.sovits_batch.max
    # DPO asked for but only the larger card can run it (D-2): the larger card's GPT batch
    # follows the DPO line of the table, a deliberate trade; compare like with like.
    dpo_starts = dpo and high.dpo.available and not low.dpo.available
    same_line = g.training_limits(profile_with(larger), dataset, dpo=False) if dpo_starts \
        else high
    assert same_line.gpt_batch.max >= low.gpt_batch.max or not low.gpt_batch.enabled
    assert high.gpt_batch.enabled >= low.gpt_batch.enabled
    assert high.dpo.available >= low.dpo.available


@settings(max_examples=200, deadline=None)
@given(vram=vram_gb, short=p95, longer=p95)
def test_longer_slices_never_raise_a_maximum(vram, short, longer) -> None:
    """B-4: scaling only ever lowers the tables' values."""
    if short is None or longer is None:
        return
    short, longer = sorted((short, longer))
    budget = g.memory_budget(profile_with(vram), g.decide_device(profile_with(vram)))
    for limit_of in (g.sovits_batch_limit, g.gpt_batch_limit):
        at_short = limit_of(budget, g.DatasetSummary(p95_slice_s=short))
        at_long = limit_of(budget, g.DatasetSummary(p95_slice_s=longer))
        assert at_long.max <= at_short.max <= limit_of(budget).max


def two_card_profile(first_gb: float, second_gb: float) -> MachineProfile:
    cards = tuple(GpuInfo(i, "NVIDIA GeForce RTX 4090", "nvidia", int(gb * GIB), int(gb * GIB),
                          (8, 9), "t", "fake") for i, gb in enumerate((first_gb, second_gb)))
    return MachineProfile(gpus=cards, os_name="linux", cpu_name="x", cpu_count=4, ram_gb=32,
                          apple_silicon=False, mps_available=False)


@settings(max_examples=200, deadline=None)
@given(first=vram_gb, second=vram_gb, dataset=datasets, dpo=st.booleans())
def test_h3_each_model_gets_the_limits_of_the_card_it_trains_on(first, second, dataset,
                                                                 dpo) -> None:
    """Item 11: SoVITS's batch is its card's, GPT's batch and DPO are GPT's card's."""
    limits = g.training_limits(two_card_profile(first, second), dataset, dpo=dpo)
    for model, device, limit in (("sovits", limits.schedule.sovits_device, limits.sovits_batch),
                                 ("gpt", limits.schedule.gpt_device, limits.gpt_batch)):
        if device == "cpu":
            continue
        index = int(device.split(":")[1])
        alone = g.training_limits(profile_with((first, second)[index]), dataset, dpo=dpo)
        expected = alone.sovits_batch if model == "sovits" else alone.gpt_batch
        assert limit.max == expected.max, model
    if limits.schedule.parallel:
        gpt_card = int(limits.schedule.gpt_device.split(":")[1])
        alone = g.training_limits(profile_with((first, second)[gpt_card]), dataset, dpo=dpo)
        assert limits.dpo.available == alone.dpo.available
