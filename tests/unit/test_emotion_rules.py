"""E-1 emotion rules: batch clamp per card, balance threshold, tagging state."""

from __future__ import annotations

from gsv_core.guidelines import DatasetSummary
from gsv_core.guidelines.emotion_rules import (
    EMOTION_BALANCE_MIN_SHARE,
    EMOTION_CPU_BATCH,
    EMOTION_MAX_BATCH,
    EmotionState,
    emotion_balance_warning,
    emotion_batch_limit,
    emotion_state_notice,
)


def test_e1_batch_grows_with_the_card_and_is_capped() -> None:
    small, big = emotion_batch_limit(8.0), emotion_batch_limit(141.0)
    assert 1 <= small.max < big.max == EMOTION_MAX_BATCH
    assert small.binding is not None and small.binding.rule == "E-1"
    assert emotion_batch_limit(8.0, requested=500).value == small.max


def test_e1_cpu_and_tiny_cards_get_a_small_batch() -> None:
    assert emotion_batch_limit(None).max == EMOTION_CPU_BATCH
    assert emotion_batch_limit(2.0).max == 1


def test_e1_balance_warns_under_the_threshold_only() -> None:
    assert emotion_balance_warning(EMOTION_BALANCE_MIN_SHARE / 2)
    assert not emotion_balance_warning(EMOTION_BALANCE_MIN_SHARE)


def test_e1_state_recommends_until_classified_and_counts_reviews() -> None:
    long = DatasetSummary(total_duration_s=2 * 3600.0)
    pending = emotion_state_notice(long, EmotionState(classified=3, total=10))
    assert pending.recommended and pending.show
    done = emotion_state_notice(long, EmotionState(classified=10, total=10, reviewed=4))
    assert not done.recommended and done.reasons[0].params == {"reviewed": 4, "total": 10}
    short = emotion_state_notice(DatasetSummary(total_duration_s=60.0), EmotionState(0, 5))
    assert not short.recommended and not short.show
