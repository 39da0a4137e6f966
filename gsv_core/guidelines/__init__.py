"""The training guidelines (shared/guidelines.md) as pure functions.

Every number of the rule book lives here and nowhere else: the UI, the plan
command and the trainers ask these functions and show the reasons they give.
Each function takes plain typed inputs (a GPU, a dataset summary, the current
control values) and returns a frozen result whose reasons carry the rule id and
an i18n key, so the same reason reads "B-4: ..." in a JSON plan and in Chinese
next to a slider.

No I/O, no clock, no globals: the same inputs always give the same limits,
which is what lets the UI re-clamp on every event and lets tests enumerate
cards.

Layout (one rule family per module):

    tables          every number of the rule book
    results         Reason, Limit, DatasetSummary and the other frozen answers
    hardware_rules  H-1..H-4, B-3: usable cards, table rows, device, order, heat
    batch           B-1..B-5, B-8, D-1..D-3: batch limits and the DPO toggle
    rounds          R-1..R-5: rounds, LR weight, save interval
    dataset_rules   Q-3, Q-4, E-1: dataset and slice length, emotion advice
    dataset_input   raw dataset form fields -> a valid summary plus what was refused
    inference_rules B-2/H-2 read for inference: how many text segments decode together
    plan            training_limits, recommend, plan_changes, rule_overview: all together
    glossary        every rule id in plain language (the UI's "Rules" section)
"""

from __future__ import annotations

from gsv_core.guidelines.batch import dpo_advice, gpt_batch_limit, sovits_batch_limit
from gsv_core.guidelines.dataset_input import DatasetInput, dataset_from_fields
from gsv_core.guidelines.dataset_rules import (
    dataset_length_advice,
    emotion_advice,
    slice_length_limit,
)
from gsv_core.guidelines.emotion_rules import (
    EMOTION_BALANCE_MIN_SHARE,
    EmotionState,
    emotion_balance_warning,
    emotion_batch_limit,
    emotion_notice,
    emotion_state_notice,
)
from gsv_core.guidelines.glossary import RuleEntry, rule_glossary
from gsv_core.guidelines.hardware_rules import (
    classify_gpu,
    decide_device,
    gpu_memory_budget,
    heat_notice,
    memory_budget,
    training_schedule,
)
from gsv_core.guidelines.inference_rules import inference_batch_limit
from gsv_core.guidelines.plan import (
    TrainingLimits,
    TrainPlan,
    plan_changes,
    plan_from_fields,
    recommend,
    rule_overview,
    training_limits,
)
from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    DeviceDecision,
    DpoAdvice,
    GpuVerdict,
    Limit,
    MeasuredBatch,
    MemoryBudget,
    Notice,
    Reason,
    TrainingSchedule,
)
from gsv_core.guidelines.rounds import (
    gpt_epochs_limit,
    lr_weight_limit,
    save_every_limit,
    sovits_epochs_limit,
)

__all__ = [
    "DEFAULT_DATASET",
    "EMOTION_BALANCE_MIN_SHARE",
    "DatasetInput",
    "DatasetSummary",
    "DeviceDecision",
    "DpoAdvice",
    "EmotionState",
    "GpuVerdict",
    "Limit",
    "MeasuredBatch",
    "MemoryBudget",
    "Notice",
    "Reason",
    "RuleEntry",
    "TrainPlan",
    "TrainingLimits",
    "TrainingSchedule",
    "classify_gpu",
    "dataset_from_fields",
    "dataset_length_advice",
    "decide_device",
    "dpo_advice",
    "emotion_advice",
    "emotion_balance_warning",
    "emotion_batch_limit",
    "emotion_notice",
    "emotion_state_notice",
    "gpt_batch_limit",
    "gpt_epochs_limit",
    "gpu_memory_budget",
    "heat_notice",
    "inference_batch_limit",
    "lr_weight_limit",
    "memory_budget",
    "plan_changes",
    "plan_from_fields",
    "recommend",
    "rule_glossary",
    "rule_overview",
    "save_every_limit",
    "slice_length_limit",
    "sovits_batch_limit",
    "sovits_epochs_limit",
    "training_limits",
    "training_schedule",
]
