"""Every rule of shared/guidelines.md that governs a control; each test names its rule id."""

from __future__ import annotations

import pytest

from gsv_core import guidelines as g
from gsv_core.hardware import GIB, GpuInfo, MachineProfile, parse_fake_gpu

ROWS = (6, 8, 12, 16, 22, 24, 32, 40, 80)
# The tables of guidelines.md, copied by hand from the rule book (not from the code).
SOVITS_TABLE = dict(zip(ROWS, (1, 2, 5, 8, 12, 14, 18, 24, 48), strict=True))
GPT_TABLE = dict(zip(ROWS, (1, 2, 4, 7, 10, 11, 16, 21, 44), strict=True))
GPT_DPO_TABLE = dict(zip(ROWS, (None, None, 1, 1, 4, 6, 6, 8, 18), strict=True))

GOOD_BIG = g.DatasetSummary(total_duration_s=2 * 3600, p95_slice_s=9.0, clip_count=900,
                            quality="good", reviewed_fraction=1.0)


def card(vram_gb: float, name: str = "NVIDIA GeForce RTX 4090", vendor: str = "nvidia",
         index: int = 0) -> GpuInfo:
    total = int(vram_gb * GIB)
    return GpuInfo(index=index, name=name, vendor=vendor, total_memory_bytes=total,
                   free_memory_bytes=total, compute_capability=(8, 9), driver="test",
                   source="fake")


def machine(spec: str, ram_gb: int = 32, apple: bool = False) -> MachineProfile:
    fake = parse_fake_gpu(spec)
    return MachineProfile(gpus=fake.gpus, os_name="macos" if apple else "linux",
                          cpu_name="test CPU", cpu_count=8, ram_gb=fake.ram_gb or ram_gb,
                          apple_silicon=apple or fake.kind == "mps",
                          mps_available=fake.kind == "mps", fake_spec=spec)


def budget_for(vram_gb: float) -> g.MemoryBudget:
    profile = MachineProfile(gpus=(card(vram_gb),), os_name="linux", cpu_name="x", cpu_count=4,
                             ram_gb=32, apple_silicon=False, mps_available=False)
    return g.memory_budget(profile, g.decide_device(profile))


def rules(limit_or_reasons) -> list[str]:
    reasons = getattr(limit_or_reasons, "reasons", limit_or_reasons)
    return [reason.rule for reason in reasons]


# ---------------------------------------------------------------------------------- B

@pytest.mark.parametrize("vram", ROWS)
def test_b1_sovits_max_batch_by_vram(vram: int) -> None:
    limit = g.sovits_batch_limit(budget_for(vram))
    assert limit.max == SOVITS_TABLE[vram]
    assert "B-1" in rules(limit)


@pytest.mark.parametrize("vram", ROWS)
@pytest.mark.parametrize("dpo", [False, True])
def test_b2_gpt_max_batch_by_vram_and_dpo(vram: int, dpo: bool) -> None:
    limit = g.gpt_batch_limit(budget_for(vram), dpo=dpo)
    expected = (GPT_DPO_TABLE if dpo else GPT_TABLE)[vram]
    if expected is None:
        assert not limit.enabled
        assert "D-2" in rules(limit)
    else:
        assert limit.enabled and limit.max == expected
        assert ("D-2" if dpo else "B-2") in rules(limit)


@pytest.mark.parametrize(("vram", "row"), [
    (20, 16), (10, 8), (7, 6), (11.4, 8), (11.5, 12), (23.99, 24), (30, 24), (48, 40), (79, 40),
])
def test_b3_cards_between_rows_take_the_row_below(vram: float, row: int) -> None:
    verdict = g.classify_gpu(card(vram))
    assert verdict.usable and verdict.row_gb == row
    assert g.sovits_batch_limit(budget_for(vram)).max == SOVITS_TABLE[row]
    assert "B-3" in rules(verdict)


def test_b3_above_80_gb_scales_linearly_and_says_so() -> None:
    limit = g.sovits_batch_limit(budget_for(160))
    assert limit.max == 96 and g.gpt_batch_limit(budget_for(160)).max == 88
    assert any(r.rule == "B-3" and "scale" in r.key for r in limit.reasons)


@pytest.mark.parametrize("vram", [2, 4, 5.4])
def test_b3_below_6_gb_cannot_train(vram: float) -> None:
    verdict = g.classify_gpu(card(vram))
    assert not verdict.usable and "H-1" in rules(verdict)


@pytest.mark.parametrize(("p95", "expected"), [(12.0, 11), (20.0, 7), (9.0, 14), (10.0, 14),
                                               (400.0, 1)])
def test_b4_long_slices_lower_batch(p95: float, expected: int) -> None:
    dataset = g.DatasetSummary(p95_slice_s=p95)
    limit = g.sovits_batch_limit(budget_for(24), dataset)
    assert limit.max == expected
    assert ("B-4" in rules(limit)) == (p95 > 10)


def test_b4_applies_to_gpt_batch_too() -> None:
    dataset = g.DatasetSummary(p95_slice_s=20.0)
    assert g.gpt_batch_limit(budget_for(24), dataset).max == 5  # floor(11 * 10/20)
    assert g.gpt_batch_limit(budget_for(24), dataset, dpo=True).max == 3  # floor(6 * 0.5)


@pytest.mark.parametrize(("vram", "default"), [(6, 1), (8, 2), (12, 5), (16, 7), (24, 11),
                                               (40, 19), (80, 39)])
def test_b5_sovits_default_below_half_the_vram(vram: int, default: int) -> None:
    limit = g.sovits_batch_limit(budget_for(vram))
    assert limit.default == default and limit.default < max(vram / 2, 2)
    assert "B-5" in rules(limit)


# ---------------------------------------------------------------------------------- D

@pytest.mark.parametrize(("vram", "available"), [(6, False), (8, False), (11.4, False),
                                                 (12, True), (24, True)])
def test_d2_dpo_needs_12_gb(vram: float, available: bool) -> None:
    advice = g.dpo_advice(budget_for(vram), GOOD_BIG)
    assert advice.available is available
    if not available:
        assert "D-2" in rules(advice) and not advice.recommended


def test_d2_dpo_on_uses_the_dpo_row_and_clamps_the_value() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24")
    off = g.training_limits(profile, GOOD_BIG, dpo=False, gpt_batch=11)
    on = g.training_limits(profile, GOOD_BIG, dpo=True, gpt_batch=11)
    assert (off.gpt_batch.max, off.gpt_batch.value) == (11, 11)
    assert (on.gpt_batch.max, on.gpt_batch.value) == (6, 6) and on.gpt_batch.clamped
    assert "D-2" in rules(on.gpt_batch)


def test_d2_dpo_requested_on_a_small_card_is_turned_off_with_the_reason() -> None:
    limits = g.training_limits(machine("NVIDIA GeForce RTX 3060 Ti:8"), GOOD_BIG, dpo=True)
    assert not limits.dpo_on and limits.gpt_batch.max == 2
    assert "D-2" in rules(limits.warnings)


@pytest.mark.parametrize(("quality", "reviewed"), [("poor", 1.0), ("unknown", 1.0),
                                                   ("good", 0.5)])
def test_d3_unclean_data_keeps_dpo_available_but_needs_confirmation(quality: str,
                                                                     reviewed: float) -> None:
    dataset = g.DatasetSummary(total_duration_s=3600, quality=quality, reviewed_fraction=reviewed)
    advice = g.dpo_advice(budget_for(24), dataset)
    assert advice.available and advice.needs_confirmation and not advice.recommended
    assert "D-3" in rules(advice)
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24"), dataset, dpo=True)
    assert limits.dpo_on and "D-3" in rules(limits.warnings)


def test_d1_dpo_recommended_only_for_clean_data_and_best_goal() -> None:
    assert g.dpo_advice(budget_for(24), GOOD_BIG, "best").recommended
    assert not g.dpo_advice(budget_for(24), GOOD_BIG, "fast").recommended
    assert "D-1" in rules(g.dpo_advice(budget_for(24), GOOD_BIG))


# ---------------------------------------------------------------------------------- R

@pytest.mark.parametrize(("requested", "value"), [(None, 10), (5, 5), (20, 20), (50, 20), (0, 1)])
def test_r1_gpt_rounds_at_most_20_default_10(requested: float | None, value: int) -> None:
    limit = g.gpt_epochs_limit(requested)
    assert (limit.min, limit.max, limit.default, limit.value) == (1, 20, 10, value)
    assert "R-1" in rules(limit)


@pytest.mark.parametrize("dataset", [
    g.DatasetSummary(),
    g.DatasetSummary(total_duration_s=7200, quality="poor", reviewed_fraction=1.0),
    g.DatasetSummary(total_duration_s=7200, quality="good", reviewed_fraction=0.99),
    g.DatasetSummary(total_duration_s=3600, quality="good", reviewed_fraction=1.0),
])
def test_r3_high_sovits_rounds_stay_locked_unless_all_hold(dataset: g.DatasetSummary) -> None:
    limit = g.sovits_epochs_limit(dataset, requested=60)
    assert (limit.max, limit.default, limit.value) == (15, 10, 15)
    assert {"R-2", "R-3"} <= set(rules(limit))
    assert sum(r.key.startswith("Locked") for r in limit.reasons) >= 1


def test_r3_unlocks_to_100_for_clean_reviewed_data_over_an_hour() -> None:
    limit = g.sovits_epochs_limit(GOOD_BIG, requested=60)
    assert (limit.max, limit.default, limit.value) == (100, 10, 60)
    assert not any(r.key.startswith("Locked") for r in limit.reasons)


def test_r2_sovits_default_stays_about_ten_even_when_unlocked() -> None:
    plan = g.recommend(machine("NVIDIA GeForce RTX 4090:24"), GOOD_BIG)
    assert plan.limits.sovits_epochs.value == 10 and "R-2" in rules(plan.limits.sovits_epochs)


@pytest.mark.parametrize(("requested", "value"), [(None, 0.4), (0.6, 0.4), (0.3, 0.3),
                                                  (0.05, 0.2), (0.33, 0.35)])
def test_r4_lr_weight_may_be_lowered_not_raised(requested: float | None, value: float) -> None:
    limit = g.lr_weight_limit(requested)
    assert limit.max == limit.default == 0.4 and limit.value == pytest.approx(value)
    assert "R-4" in rules(limit)


@pytest.mark.parametrize(("epochs", "requested", "value", "default"), [
    (10, None, 3, 3), (10, 50, 10, 3), (20, 5, 5, 5), (1, None, 1, 1), (100, 7, 7, 25),
])
def test_r5_save_every_never_beyond_the_rounds(epochs: int, requested: float | None,
                                               value: int, default: int) -> None:
    limit = g.save_every_limit(epochs, requested)
    assert (limit.min, limit.max, limit.value, limit.default) == (1, epochs, value, default)
    assert any("final round is always saved" in r.key for r in limit.reasons)


def test_r5_save_every_follows_the_rounds_chosen_in_training_limits() -> None:
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24"), sovits_epochs=4,
                               sovits_save_every=9, gpt_epochs=30)
    assert limits.sovits_save_every.max == 4 and limits.sovits_save_every.value == 4
    assert limits.gpt_epochs.value == 20 and limits.gpt_save_every.max == 20


# ---------------------------------------------------------------------------------- Q, E

@pytest.mark.parametrize(("minutes", "n_reasons", "needle"), [
    (10, 1, "improves markedly"), (30, 1, "improves markedly"), (45, 1, "not recommended"),
    (90, 2, "classify emotions"),
])
def test_q3_dataset_length_advice(minutes: float, n_reasons: int, needle: str) -> None:
    notice = g.dataset_length_advice(g.DatasetSummary(total_duration_s=minutes * 60))
    assert notice.show and len(notice.reasons) == n_reasons
    assert rules(notice) == ["Q-3"] * n_reasons and needle in notice.reasons[-1].key


def test_q3_unmeasured_dataset_shows_nothing() -> None:
    assert not g.dataset_length_advice(g.DatasetSummary()).show


@pytest.mark.parametrize(("requested", "value"), [(None, 10), (12, 12), (30, 15), (1, 3)])
def test_q4_slice_length_reference_10_flag_over_15(requested: float | None, value: float) -> None:
    limit = g.slice_length_limit(requested)
    assert (limit.max, limit.default, limit.value) == (15, 10, value)
    assert rules(limit) == ["Q-4"]


def test_q4_overlong_slices_warn_in_the_training_plan() -> None:
    dataset = g.DatasetSummary(p95_slice_s=22.0)
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24"), dataset)
    assert "Q-4" in rules(limits.warnings)
    assert len(g.slice_length_limit(None, dataset).reasons) == 2


@pytest.mark.parametrize(("minutes", "recommended"), [(None, False), (30, False), (60, False),
                                                      (61, True), (300, True)])
def test_e1_emotion_classification_recommended_over_an_hour(minutes: float | None,
                                                            recommended: bool) -> None:
    notice = g.emotion_advice(g.DatasetSummary(
        total_duration_s=None if minutes is None else minutes * 60))
    assert notice.show and notice.recommended is recommended and rules(notice) == ["E-1"]


# ---------------------------------------------------------------------------------- H

@pytest.mark.parametrize(("name", "vram", "usable", "needle"), [
    ("NVIDIA GeForce GTX 980", 6, False, "before the GeForce 10 series"),
    ("NVIDIA GeForce GTX 1050 Ti", 6, False, "below the 1060"),
    ("NVIDIA GeForce GTX 1060 6GB", 6, True, None),
    ("NVIDIA GeForce GTX 1650 SUPER", 6, False, "below the 1660"),
    ("NVIDIA GeForce GTX 1660 Ti", 6, True, None),
    ("NVIDIA GeForce RTX 2050", 6, False, "below the 2060"),
    ("NVIDIA GeForce RTX 2060", 6, True, None),
    ("NVIDIA GeForce RTX 3050 Laptop GPU", 4, False, "4 GB RTX 3050"),
    ("NVIDIA GeForce RTX 3050", 8, True, None),
    ("NVIDIA GeForce RTX 4060", 8, True, None),
    ("NVIDIA RTX A6000", 48, True, None),
    ("NVIDIA H100 80GB HBM3", 80, True, None),
])
def test_h1_commonly_unusable_cards(name: str, vram: int, usable: bool,
                                    needle: str | None) -> None:
    verdict = g.classify_gpu(card(vram, name))
    assert verdict.usable is usable
    if needle:
        assert any(r.rule == "H-1" and needle in r.text() for r in verdict.reasons)


def test_h2_no_usable_gpu_falls_back_to_a_slow_cpu_with_an_estimate() -> None:
    decision = g.decide_device(machine("NVIDIA GeForce GTX 1050:2"))
    assert decision.device == "cpu" and decision.kind == "cpu"
    assert {"H-1", "H-2"} <= set(rules(decision))
    assert any("times slower" in r.text() for r in decision.warnings)


def test_h2_amd_cards_are_not_supported_for_training() -> None:
    decision = g.decide_device(machine("AMD Radeon RX 7900 XTX:24"))
    assert decision.kind == "amd_unsupported" and decision.device == "cpu"
    assert any("AMD" in r.text() for r in decision.reasons if r.rule == "H-2")


@pytest.mark.parametrize(("seconds", "warned"), [(20, False), (30, False), (600, True),
                                                 (None, True)])
def test_h2_apple_cpu_training_is_fine_for_about_30_seconds(seconds: float | None,
                                                            warned: bool) -> None:
    decision = g.decide_device(machine("mps"), dataset=g.DatasetSummary(total_duration_s=seconds))
    assert (decision.kind, decision.device, decision.inference_device) == ("apple_cpu", "cpu",
                                                                           "mps")
    assert bool(decision.warnings) is warned


@pytest.mark.parametrize("spec", ["cpu:16", "cpu:256", "NVIDIA GeForce GTX 1050:2", "mps"])
def test_h2_cpu_batch_limits_are_whole_numbers_from_the_smallest_row(spec: str) -> None:
    limits = g.training_limits(machine(spec), sovits_batch=3.7)
    assert not limits.budget.on_gpu and limits.budget.row_gb == 6
    assert limits.sovits_batch.max == limits.gpt_batch.max == 1
    assert limits.sovits_batch.value == 1 and isinstance(limits.sovits_batch.value, int)
    assert not limits.dpo.available and "H-2" in rules(limits.sovits_batch)


def test_h3_sovits_then_gpt_in_parallel_only_with_two_usable_gpus() -> None:
    two = g.training_limits(machine("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"))
    assert two.schedule.parallel and two.schedule.order == ("sovits", "gpt")
    assert (two.schedule.sovits_device, two.schedule.gpt_device) == ("cuda:0", "cuda:1")
    one_usable = g.training_limits(machine("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce GT 730:2"))
    assert not one_usable.schedule.parallel
    assert one_usable.schedule.gpt_device == one_usable.schedule.sovits_device == "cuda:0"
    assert rules(one_usable.schedule) == ["H-3"]


def test_h3_the_chosen_card_trains_sovits() -> None:
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"),
                               gpu_index=1)
    assert limits.decision.device == "cuda:1" and limits.schedule.gpt_device == "cuda:0"
    assert limits.sovits_batch.max == 5


@pytest.mark.parametrize(("name", "laptop_advice"), [
    ("NVIDIA GeForce RTX 4070 Laptop GPU", True), ("NVIDIA GeForce RTX 4070", False)])
def test_h4_heat_notice_before_training_with_laptop_advice(name: str, laptop_advice: bool) -> None:
    notice = g.heat_notice(g.decide_device(machine(f"{name}:8")))
    assert notice.show and set(rules(notice)) == {"H-4"}
    assert any("Laptop" in r.key for r in notice.reasons) is laptop_advice


# ---------------------------------------------------------------------------------- X, plan

def test_x6_fractional_batch_requests_become_whole_numbers() -> None:
    limit = g.sovits_batch_limit(budget_for(24), requested=4.6)
    assert limit.value == 5 and isinstance(limit.value, int) and "X-6" in rules(limit)


def test_recommend_best_turns_dpo_on_for_clean_data_and_fast_keeps_it_off() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24")
    best = g.recommend(profile, GOOD_BIG, "best")
    fast = g.recommend(profile, GOOD_BIG, "fast")
    assert best.dpo_on and best.limits.gpt_batch.max == 6
    assert not fast.dpo_on and fast.limits.gpt_batch.max == 11
    assert best.emotion.recommended


def test_recommend_rejects_an_unknown_goal() -> None:
    with pytest.raises(ValueError, match="goal"):
        g.recommend(machine("cpu"), goal="slow")  # type: ignore[arg-type]


def test_rule_overview_lists_each_statement_once_sorted_by_rule() -> None:
    overview = g.rule_overview(machine("NVIDIA GeForce RTX 4090:24"), GOOD_BIG, dpo=True)
    texts = [r.text() for r in overview]
    assert len(texts) == len(set(texts))
    assert {"B-1", "B-3", "D-1", "D-2", "E-1", "H-1", "H-3", "H-4", "Q-3", "Q-4", "R-1", "R-2",
            "R-3", "R-4", "R-5"} <= {r.rule for r in overview}
    ids = [(r.rule[0], int(r.rule[2:])) for r in overview]
    assert ids == sorted(ids)


def test_dataset_summary_rejects_impossible_values() -> None:
    with pytest.raises(ValueError, match="reviewed_fraction"):
        g.DatasetSummary(reviewed_fraction=1.5)
    with pytest.raises(ValueError, match="quality"):
        g.DatasetSummary(quality="great")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- issue 7

@pytest.mark.parametrize(("quality", "reviewed"), [("poor", 1.0), ("good", 0.5)])
def test_d3_confirmation_is_an_engine_input_and_blocks_until_given(quality: str,
                                                                  reviewed: float) -> None:
    dataset = g.DatasetSummary(total_duration_s=3600, quality=quality, reviewed_fraction=reviewed)
    profile = machine("NVIDIA GeForce RTX 4090:24")
    unconfirmed = g.training_limits(profile, dataset, dpo=True)
    assert unconfirmed.dpo_on and not unconfirmed.dpo_confirmed
    assert rules(unconfirmed.blockers) == ["D-3"]
    confirmed = g.training_limits(profile, dataset, dpo=True, dpo_confirmed=True)
    assert confirmed.dpo_confirmed and confirmed.blockers == ()
    assert "D-3" in rules(confirmed.warnings)  # still warned, no longer blocked
    plan = g.recommend(profile, dataset, dpo=True, dpo_confirmed=True)
    assert plan.blockers == () and plan.limits.dpo_confirmed


def test_d3_clean_data_or_dpo_off_never_blocks() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24")
    assert g.training_limits(profile, GOOD_BIG, dpo=True).blockers == ()
    assert g.training_limits(profile, g.DatasetSummary(), dpo=False).blockers == ()


def test_h3_gpt_limits_come_from_the_card_gpt_trains_on() -> None:
    """4090 (SoVITS) + 3060 12 GB (GPT) in parallel: GPT's batch is the 12 GB row's."""
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12"),
                               GOOD_BIG, dpo=False)
    assert limits.schedule.parallel and limits.schedule.gpt_gpu.index == 1
    assert (limits.budget.gb, limits.gpt_budget.gb) == (24, 12)
    assert limits.sovits_batch.max == 14 and limits.gpt_batch.max == 4
    assert limits.gpt_batch.binding.params["row"] == 12


def test_h3_dpo_availability_follows_the_gpt_card() -> None:
    """Two usable cards, GPT on an 8 GB one: DPO is not available although SoVITS has 24 GB."""
    limits = g.training_limits(machine("NVIDIA GeForce RTX 3060 Ti:8;NVIDIA GeForce RTX 4090:24"),
                               GOOD_BIG, dpo=True)
    assert limits.decision.gpu.index == 1 and limits.schedule.gpt_gpu.index == 0
    assert not limits.dpo.available and not limits.dpo_on and limits.gpt_batch.max == 2
    assert "D-2" in rules(limits.warnings)


def test_h3_one_card_uses_the_same_budget_for_gpt() -> None:
    limits = g.training_limits(machine("NVIDIA GeForce RTX 4090:24"))
    assert limits.gpt_budget == limits.budget and limits.schedule.gpt_gpu == limits.decision.gpu


def test_h1_chosen_unusable_card_falls_back_to_the_best_usable_card() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24;NVIDIA GeForce GT 730:2")
    decision = g.decide_device(profile, gpu_index=1)
    assert decision.on_gpu and decision.device == "cuda:0" and decision.kind == "gpu"
    texts = [r.text() for r in decision.reasons]
    assert not any("No usable GPU" in text or "No GPU here" in text for text in texts)
    assert any(r.rule == "H-1" and r.params.get("chosen") == 1 and r.params.get("index") == 0
               for r in decision.warnings)
    assert any("GT 730" in text for text in texts)  # why the chosen card cannot train
    limits = g.training_limits(profile, gpu_index=1)
    assert limits.budget.on_gpu and limits.sovits_batch.max == 14


def test_h2_cpu_only_when_no_card_can_train() -> None:
    decision = g.decide_device(machine("NVIDIA GeForce GT 730:2;NVIDIA GeForce GTX 1050:2"),
                               gpu_index=0)
    assert not decision.on_gpu and decision.device == "cpu" and "H-2" in rules(decision)


@pytest.mark.parametrize("spec", ["cpu", "mps", "NVIDIA GeForce GTX 1050:2"])
def test_h4_cpu_mode_never_talks_about_training_on_a_gpu(spec: str) -> None:
    limits = g.training_limits(machine(spec))
    heat = " ".join(r.text() for r in limits.heat.reasons)
    assert "CPU" in heat and "GPU" not in heat
    # The card tables' own texts ("at most 1 on a 6 GB card", B-5's rule of thumb) would
    # suggest training used a card: on the CPU the batch speaks through H-2 alone.
    assert set(rules(limits.sovits_batch)) | set(rules(limits.gpt_batch)) == {"H-2"}


def test_h4_gpu_mode_keeps_the_gpu_temperature_advice() -> None:
    heat = g.heat_notice(g.decide_device(machine("NVIDIA GeForce RTX 4090:24")))
    assert any("GPU temperature" in r.text() for r in heat.reasons)


def test_recommend_example_of_issue_7_item_10() -> None:
    """24 GB, 180 min, good, all reviewed, goal best: DPO on, GPT batch <= 6, rounds <= 20."""
    plan = g.recommend(machine("NVIDIA GeForce RTX 4090:24"),
                       g.DatasetSummary(total_duration_s=180 * 60, quality="good",
                                        reviewed_fraction=1.0), "best")
    assert plan.dpo_on and plan.limits.gpt_batch.value <= 6 and plan.limits.gpt_batch.max == 6
    assert plan.limits.sovits_epochs.value <= 20 and plan.limits.gpt_epochs.value <= 20
    assert plan.emotion.recommended and plan.blockers == ()


def test_plan_changes_name_what_changed_and_the_rule() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24")
    current = g.training_limits(profile, GOOD_BIG, dpo=False, sovits_epochs=60, gpt_batch=11)
    plan = g.recommend(profile, GOOD_BIG, "best")
    changes = g.plan_changes(current, plan)
    by_key = {r.key: r for r in changes}
    assert changes[0].rule == "D-1" and changes[0].key.startswith("DPO on")
    rounds = by_key["SoVITS rounds {old} → {new}."]
    assert (rounds.rule, rounds.params["old"], rounds.params["new"]) == ("R-2", 60, 10)
    assert rounds.text() == "R-2: SoVITS rounds 60 → 10."
    gpt = by_key["GPT batch {old} → {new}."]
    assert (gpt.rule, gpt.params["new"]) == ("D-2", 6)  # set to its maximum: the DPO row binds
    assert g.plan_changes(plan.limits, plan) == ()


def test_plan_changes_says_why_dpo_goes_off() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24")
    on = g.training_limits(profile, GOOD_BIG, dpo=True)
    (change, *_) = g.plan_changes(on, g.recommend(profile, GOOD_BIG, "fast"))
    assert change.rule == "D-1" and change.key.startswith("DPO off")


def test_plan_from_fields_is_recommend_on_the_validated_fields() -> None:
    profile = machine("NVIDIA GeForce RTX 4090:24")
    from_fields = g.plan_from_fields(profile, minutes=180, p95_slice_s=None, clip_count=-2,
                                     quality="good", reviewed_pct=100, goal="best")
    direct = g.recommend(profile, g.DatasetSummary(total_duration_s=180 * 60, quality="good",
                                                   reviewed_fraction=1.0), "best")
    assert from_fields.limits == direct.limits
    assert rules(from_fields.dataset_problems) == ["B-8"]


@pytest.mark.parametrize(("spec", "dataset", "dpo", "rule", "start"), [
    ("NVIDIA GeForce RTX 4090:24", g.DatasetSummary(quality="poor"), True, "D-3", "DPO on, as"),
    ("NVIDIA GeForce RTX 3060 Ti:8", GOOD_BIG, False, "D-2", "DPO off: this card"),
])
def test_plan_changes_dpo_line_names_the_deciding_rule(spec: str, dataset: g.DatasetSummary,
                                                       dpo: bool, rule: str, start: str) -> None:
    profile = machine(spec)
    current = g.training_limits(profile, dataset, dpo=not dpo)
    if current.dpo_on == dpo:  # DPO cannot be on here to begin with: compare with a 24 GB plan
        current = g.training_limits(machine("NVIDIA GeForce RTX 4090:24"), dataset, dpo=True)
    (change, *_) = g.plan_changes(current, g.recommend(profile, dataset, dpo=dpo))
    assert change.rule == rule and change.key.startswith(start)
