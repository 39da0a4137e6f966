"""All rules together: every training control's limit, a recommended plan, the overview."""

from __future__ import annotations

from dataclasses import dataclass

from gsv_core.guidelines.batch import dpo_advice, gpt_batch_limit, sovits_batch_limit
from gsv_core.guidelines.dataset_rules import (
    dataset_length_advice,
    emotion_advice,
    slice_length_limit,
)
from gsv_core.guidelines.hardware_rules import (
    decide_device,
    heat_notice,
    memory_budget,
    training_schedule,
)
from gsv_core.guidelines.results import (
    DEFAULT_DATASET,
    DatasetSummary,
    DeviceDecision,
    DpoAdvice,
    Goal,
    Limit,
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
from gsv_core.guidelines.tables import SLICE_FLAG_S
from gsv_core.hardware import MachineProfile


@dataclass(frozen=True)
class TrainingLimits:
    """Every training control's limit for one machine, card, dataset and set of values.

    The training tab re-reads this on every change (card, DPO, dataset, a
    slider) and applies it to its controls; ``recommend`` builds on it.
    """

    decision: DeviceDecision
    budget: MemoryBudget
    sovits_batch: Limit
    gpt_batch: Limit
    sovits_epochs: Limit
    gpt_epochs: Limit
    lr_weight: Limit
    sovits_save_every: Limit
    gpt_save_every: Limit
    dpo: DpoAdvice
    dpo_on: bool
    schedule: TrainingSchedule
    heat: Notice
    warnings: tuple[Reason, ...]


def training_limits(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET, *,
                    gpu_index: int | None = None, dpo: bool | None = False,
                    goal: Goal = "best",
                    sovits_batch: float | None = None, gpt_batch: float | None = None,
                    sovits_epochs: float | None = None, gpt_epochs: float | None = None,
                    lr_weight: float | None = None, sovits_save_every: float | None = None,
                    gpt_save_every: float | None = None) -> TrainingLimits:
    """Clamp the given control values (None = default) to the guidelines.

    ``dpo`` None takes the advice for ``goal`` (D-1..D-3). DPO asked for on a
    card that cannot do it is turned off, with the D-2 reason in ``warnings``;
    on an unproofread or unchecked dataset it stays on with the D-3 warning
    (the UI asks for a confirmation).
    """
    decision = decide_device(profile, gpu_index, dataset)
    budget = memory_budget(profile, decision)
    advice = dpo_advice(budget, dataset, goal)
    if dpo is None:
        dpo = advice.recommended
    dpo_on = dpo and advice.available
    warnings = list(decision.warnings)
    if dpo and not advice.available:
        warnings.extend(r for r in advice.reasons if r.rule == "D-2")
    if dpo_on and advice.needs_confirmation:
        warnings.extend(r for r in advice.reasons if r.rule == "D-3")
    if dataset.p95_slice_s is not None and dataset.p95_slice_s > SLICE_FLAG_S:
        warnings.append(Reason("Q-4", "95% of slices are up to {p95:.1f} s: re-slice overlong "
                                      "audio (over 15 s) before training.",
                               {"p95": dataset.p95_slice_s}))
    sovits_rounds = sovits_epochs_limit(dataset, sovits_epochs)
    gpt_rounds = gpt_epochs_limit(gpt_epochs)
    return TrainingLimits(
        decision=decision, budget=budget,
        sovits_batch=sovits_batch_limit(budget, dataset, sovits_batch),
        gpt_batch=gpt_batch_limit(budget, dataset, dpo_on, gpt_batch),
        sovits_epochs=sovits_rounds, gpt_epochs=gpt_rounds, lr_weight=lr_weight_limit(lr_weight),
        sovits_save_every=save_every_limit(int(sovits_rounds.value), sovits_save_every),
        gpt_save_every=save_every_limit(int(gpt_rounds.value), gpt_save_every),
        dpo=advice, dpo_on=dpo_on, schedule=training_schedule(profile, decision),
        heat=heat_notice(decision), warnings=tuple(warnings))


@dataclass(frozen=True)
class TrainPlan:
    """A complete recommended training setup: the limits at their defaults, plus advice."""

    limits: TrainingLimits
    emotion: Notice
    dataset_length: Notice

    # The plan's numbers are the limits' values; these read like the plan itself.
    @property
    def decision(self) -> DeviceDecision:
        return self.limits.decision

    @property
    def dpo(self) -> DpoAdvice:
        return self.limits.dpo

    @property
    def dpo_on(self) -> bool:
        return self.limits.dpo_on

    @property
    def schedule(self) -> TrainingSchedule:
        return self.limits.schedule

    @property
    def warnings(self) -> tuple[Reason, ...]:
        return self.limits.warnings


def recommend(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET,
              goal: Goal = "best", *, gpu_index: int | None = None,
              dpo: bool | None = None) -> TrainPlan:
    """A full recommended training plan for this machine and dataset.

    ``dpo`` None lets the plan decide: on when available and advisable for
    ``goal="best"`` (D-1..D-3), off for ``goal="fast"`` (DPO trains about 4x
    slower). True/False forces the toggle, and the GPT batch follows it (D-2).
    """
    if goal not in ("best", "fast"):
        raise ValueError(f"goal must be 'best' or 'fast', got {goal!r}")
    limits = training_limits(profile, dataset, gpu_index=gpu_index, dpo=dpo, goal=goal)
    return TrainPlan(limits=limits, emotion=emotion_advice(dataset),
                     dataset_length=dataset_length_advice(dataset))


def rule_overview(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET, *,
                  gpu_index: int | None = None, dpo: bool = False) -> list[Reason]:
    """What every rule says right now, one entry per distinct statement, sorted by rule id.

    The System tab shows this so a user (or a support question) sees the
    whole rule book applied to this machine and dataset at once.
    """
    limits = training_limits(profile, dataset, gpu_index=gpu_index, dpo=dpo)
    groups = [limits.decision.reasons, limits.sovits_batch.reasons, limits.gpt_batch.reasons,
              limits.dpo.reasons, limits.sovits_epochs.reasons, limits.gpt_epochs.reasons,
              limits.lr_weight.reasons, limits.sovits_save_every.reasons,
              limits.schedule.reasons, limits.heat.reasons, limits.warnings,
              dataset_length_advice(dataset).reasons, emotion_advice(dataset).reasons,
              slice_length_limit(None, dataset).reasons]
    unique = {reason.text(): reason for group in groups for reason in group}
    return sorted(unique.values(), key=lambda r: (r.rule[0], int(r.rule.split("-")[1])))
