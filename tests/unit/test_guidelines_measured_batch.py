"""B-6 with a batch probe's measurement: the smaller of rules and measurement, unless chosen."""

from __future__ import annotations

import pytest

from gsv_core.guidelines import DatasetSummary, MeasuredBatch, training_limits
from gsv_core.hardware import detect_machine

RTX_4090 = detect_machine({"GSV_FAKE_GPU": "NVIDIA GeForce RTX 4090:24"})   # B-1 14, B-2 11


@pytest.mark.parametrize(("measured", "maximum", "rule"), [
    (None, 14, "B-1"),
    (MeasuredBatch(9, 10), 9, "B-6"),            # lower than the table: binds
    (MeasuredBatch(9, None), 9, "B-6"),          # "at least 9" (time limit): still the smaller
    (MeasuredBatch(20, 21), 14, "B-1"),          # higher: the table keeps binding
    (MeasuredBatch(20, 21, use=True), 20, "B-6"),   # the user chose the measured value
    (MeasuredBatch(None, 1), 1, "B-6"),          # even 1 ran out of memory
])
def test_sovits_maximum_and_the_rule_that_binds(measured, maximum, rule):
    limit = training_limits(RTX_4090, sovits_measured=measured).sovits_batch
    assert (limit.max, limit.binding.rule) == (maximum, rule)
    assert limit.value <= maximum
    if measured is not None:   # the measurement is always among the reasons, said once
        assert [r.rule for r in limit.reasons].count("B-6") == 1


def test_the_reason_names_the_numbers():
    limit = training_limits(RTX_4090, sovits_measured=MeasuredBatch(9, 10)).sovits_batch
    text = limit.binding.text()
    assert "9" in text and "14" in text and "SoVITS" in text
    higher = training_limits(RTX_4090, sovits_measured=MeasuredBatch(20, 21)).sovits_batch
    assert any("unless you choose the measured one" in r.text() for r in higher.reasons)


def test_a_chosen_measurement_still_cannot_exceed_the_clip_count():
    dataset = DatasetSummary(total_duration_s=1800, p95_slice_s=8, clip_count=16)
    limit = training_limits(RTX_4090, dataset,
                            sovits_measured=MeasuredBatch(30, 31, use=True)).sovits_batch
    assert (limit.max, limit.binding.rule) == (16, "B-8")


def test_gpt_takes_the_measurement_of_the_dpo_setting_that_runs():
    plain, with_dpo = MeasuredBatch(5, 6), MeasuredBatch(2, 3)
    off = training_limits(RTX_4090, dpo=False, gpt_measured=plain, gpt_dpo_measured=with_dpo)
    on = training_limits(RTX_4090, dpo=True, dpo_confirmed=True, gpt_measured=plain,
                         gpt_dpo_measured=with_dpo)
    assert off.gpt_batch.max == 5 and on.gpt_batch.max == 2
    assert "GPT" in on.gpt_batch.binding.text()


def test_the_cpu_ignores_a_measurement():
    cpu = detect_machine({"GSV_FAKE_GPU": "cpu"})
    assert training_limits(cpu, sovits_measured=MeasuredBatch(3, 4)).sovits_batch.binding.rule \
        == "H-2"
