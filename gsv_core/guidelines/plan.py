"""All rules together: every training control's limit, a recommended plan, the overview."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gsv_core.guidelines.batch import dpo_advice, gpt_batch_limit, sovits_batch_limit
from gsv_core.guidelines.dataset_input import dataset_from_fields
from gsv_core.guidelines.dataset_rules import (
    dataset_length_advice,
    emotion_advice,
    slice_length_limit,
)
from gsv_core.guidelines.emotion_rules import EmotionState, emotion_notice
from gsv_core.guidelines.hardware_rules import (
    decide_device,
    gpu_memory_budget,
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
from gsv_core.guidelines.tables import DPO_SLOWDOWN_FACTOR, SLICE_FLAG_S
from gsv_core.hardware import MachineProfile
from gsv_core.i18n import mark


@dataclass(frozen=True)
class TrainingLimits:
    """Every training control's limit for one machine, card, dataset and set of values.

    The training tab re-reads this on every change (card, DPO, dataset, a
    slider) and applies it to its controls; ``recommend`` builds on it.

    ``budget`` is the memory SoVITS trains with; ``gpt_budget`` the memory GPT
    trains with — the same card, except when the two train in parallel on two
    usable cards (H-3), where ``gpt_batch`` and ``dpo`` come from GPT's card.
    ``blockers`` say why training cannot start as set (D-3: DPO on an
    unchecked or unproofread dataset without ``dpo_confirmed``); empty = go.
    """

    decision: DeviceDecision
    budget: MemoryBudget
    gpt_budget: MemoryBudget
    sovits_batch: Limit
    gpt_batch: Limit
    sovits_epochs: Limit
    gpt_epochs: Limit
    lr_weight: Limit
    sovits_save_every: Limit
    gpt_save_every: Limit
    dpo: DpoAdvice
    dpo_on: bool
    dpo_confirmed: bool
    schedule: TrainingSchedule
    heat: Notice
    warnings: tuple[Reason, ...]
    blockers: tuple[Reason, ...]


def _dpo_blockers(dpo_on: bool, advice: DpoAdvice, confirmed: bool) -> tuple[Reason, ...]:
    """D-3: DPO on a dataset that failed its checks trains only after an explicit confirmation."""
    if not (dpo_on and advice.needs_confirmation) or confirmed:
        return ()
    return (Reason("D-3", "DPO is on although the dataset has not passed the quality checks or "
                          "is not fully proofread: confirm that you accept the risk, or turn "
                          "DPO off.", {}),)


def training_limits(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET, *,
                    gpu_index: int | None = None, dpo: bool | None = False,
                    dpo_confirmed: bool = False, goal: Goal = "best",
                    sovits_batch: float | None = None, gpt_batch: float | None = None,
                    sovits_epochs: float | None = None, gpt_epochs: float | None = None,
                    lr_weight: float | None = None, sovits_save_every: float | None = None,
                    gpt_save_every: float | None = None,
                    sovits_measured: MeasuredBatch | None = None,
                    gpt_measured: MeasuredBatch | None = None,
                    gpt_dpo_measured: MeasuredBatch | None = None) -> TrainingLimits:
    """Clamp the given control values (None = default) to the guidelines.

    ``dpo`` None takes the advice for ``goal`` (D-1..D-3). DPO asked for on a
    card that cannot do it is turned off, with the D-2 reason in ``warnings``;
    on an unproofread or unchecked dataset it stays on with the D-3 warning
    (the UI asks for a confirmation) and, until ``dpo_confirmed``, a D-3
    entry in ``blockers``. ``*_measured`` are batch probes on this card and dataset (B-6);
    the GPT one that applies is the one of the DPO setting that runs.
    """
    decision = decide_device(profile, gpu_index, dataset)
    budget = memory_budget(profile, decision)
    schedule = training_schedule(profile, decision)
    gpt_budget = (gpu_memory_budget(schedule.gpt_gpu)
                  if schedule.parallel and schedule.gpt_gpu is not None else budget)
    advice = dpo_advice(gpt_budget, dataset, goal)
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
                                      "audio (over {flag:g} s) before training.",
                               {"p95": dataset.p95_slice_s, "flag": SLICE_FLAG_S}))
    sovits_rounds = sovits_epochs_limit(dataset, sovits_epochs)
    gpt_rounds = gpt_epochs_limit(gpt_epochs)
    return TrainingLimits(
        decision=decision, budget=budget, gpt_budget=gpt_budget,
        sovits_batch=sovits_batch_limit(budget, dataset, sovits_batch, sovits_measured),
        gpt_batch=gpt_batch_limit(gpt_budget, dataset, dpo_on, gpt_batch,
                                  gpt_dpo_measured if dpo_on else gpt_measured),
        sovits_epochs=sovits_rounds, gpt_epochs=gpt_rounds, lr_weight=lr_weight_limit(lr_weight),
        sovits_save_every=save_every_limit(int(sovits_rounds.value), sovits_save_every),
        gpt_save_every=save_every_limit(int(gpt_rounds.value), gpt_save_every),
        dpo=advice, dpo_on=dpo_on, dpo_confirmed=dpo_confirmed, schedule=schedule,
        heat=heat_notice(decision), warnings=tuple(warnings),
        blockers=_dpo_blockers(dpo_on, advice, dpo_confirmed))


@dataclass(frozen=True)
class TrainPlan:
    """A complete recommended training setup: the limits at their defaults, plus advice."""

    limits: TrainingLimits
    emotion: Notice
    dataset_length: Notice
    dataset_problems: tuple[Reason, ...] = field(default=())  # fields refused (plan_from_fields)

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

    @property
    def blockers(self) -> tuple[Reason, ...]:
        return self.limits.blockers


def recommend(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET,
              goal: Goal = "best", *, gpu_index: int | None = None,
              dpo: bool | None = None, dpo_confirmed: bool = False,
              emotion_state: EmotionState | None = None,
              **measured: MeasuredBatch | None) -> TrainPlan:
    """A full recommended training plan for this machine and dataset.

    ``dpo`` None lets the plan decide: on when available and advisable for
    ``goal="best"`` (D-1..D-3), off for ``goal="fast"`` (DPO trains about 4x
    slower). True/False forces the toggle, and the GPT batch follows it (D-2).
    This one function is the recommendation everywhere: the plan command and
    the training tab's "Use the recommended plan" button both call it (through
    ``plan_from_fields`` when they start from raw fields). ``measured`` are
    ``training_limits``' batch probe arguments (``sovits_measured``…), so the plan stays
    within a measurement on this card. ``emotion_state`` (the tags beside the dataset's
    list) turns the E-1 advice into what was done and how much was reviewed.
    """
    if goal not in ("best", "fast"):
        raise ValueError(f"goal must be 'best' or 'fast', got {goal!r}")
    limits = training_limits(profile, dataset, gpu_index=gpu_index, dpo=dpo, goal=goal,
                             dpo_confirmed=dpo_confirmed, **measured)
    return TrainPlan(limits=limits, emotion=emotion_notice(dataset, emotion_state),
                     dataset_length=dataset_length_advice(dataset))


def plan_from_fields(profile: MachineProfile, *, minutes: float | None = None,
                     p95_slice_s: float | None = None, clip_count: float | None = None,
                     quality: str | None = None, reviewed_pct: float | None = None,
                     goal: Goal = "best", gpu_index: int | None = None,
                     dpo: bool | None = None, dpo_confirmed: bool = False,
                     emotion_state: EmotionState | None = None,
                     **measured: MeasuredBatch | None) -> TrainPlan:
    """``recommend`` from the raw dataset fields, as the UI button and the plan command have them.

    Both call this, so identical inputs give identical plans. Refused fields
    (see ``dataset_from_fields``) are treated as not measured and listed in
    ``dataset_problems``; the command turns them into an error, the UI shows them.
    """
    dataset = dataset_from_fields(minutes, p95_slice_s, clip_count, quality, reviewed_pct)
    plan = recommend(profile, dataset.summary, goal, gpu_index=gpu_index, dpo=dpo,
                     dpo_confirmed=dpo_confirmed, emotion_state=emotion_state, **measured)
    return replace(plan, dataset_problems=dataset.problems)


def _dpo_change(plan: TrainPlan) -> Reason:
    """Why the plan turns DPO on or off (D-1 benefit and cost, D-2 memory, D-3 data)."""
    if plan.dpo_on and plan.dpo.needs_confirmation:
        return Reason("D-3", "DPO on, as asked, although the dataset has not passed the quality "
                             "checks or is not fully proofread: it needs your confirmation.", {})
    if plan.dpo_on:
        return Reason("D-1", "DPO on: the card has enough memory and the dataset is clean and "
                             "proofread, so DPO's better GPT model is worth its about {slow}x "
                             "longer training.", {"slow": DPO_SLOWDOWN_FACTOR})
    if not plan.dpo.available:
        return Reason("D-2", "DPO off: this card does not have enough memory for DPO."
                      if plan.decision.on_gpu else "DPO off: training runs on the CPU, and DPO "
                      "needs a GPU.", {})
    if plan.dpo.needs_confirmation:
        return Reason("D-3", "DPO off: the dataset has not passed the quality checks or is not "
                             "fully proofread.", {})
    return Reason("D-1", "DPO off: it trains about {slow}x slower, and the goal is fast "
                         "training.", {"slow": DPO_SLOWDOWN_FACTOR})


# One "control old → new" line per control; mark() lets the i18n scanner find each template.
_CHANGE_TEMPLATES = {
    "sovits_batch": mark("SoVITS batch {old} → {new}."),
    "gpt_batch": mark("GPT batch {old} → {new}."),
    "sovits_epochs": mark("SoVITS rounds {old} → {new}."),
    "gpt_epochs": mark("GPT rounds {old} → {new}."),
    "lr_weight": mark("Text learning-rate weight {old} → {new}."),
    "sovits_save_every": mark("SoVITS saves every {old} → {new} rounds."),
    "gpt_save_every": mark("GPT saves every {old} → {new} rounds."),
}


# The rule that gives each control's recommended (default) value, when it is not its maximum.
_DEFAULT_RULES = {"sovits_batch": "B-5", "gpt_batch": "B-5", "sovits_epochs": "R-2",
                  "gpt_epochs": "R-1", "lr_weight": "R-4", "sovits_save_every": "R-5",
                  "gpt_save_every": "R-5"}


def plan_changes(current: TrainingLimits, plan: TrainPlan) -> tuple[Reason, ...]:
    """What applying ``plan`` changes in ``current``, each line with the rule behind it.

    For the "Use the recommended plan" button: "D-1: DPO on: ...",
    "R-2: SoVITS rounds 60 → 10." A value set to its maximum names the rule
    that sets that maximum (the limit's binding reason); any other value the
    rule that gives the default. Empty when the plan changes nothing.
    """
    changes = []
    if current.dpo_on != plan.dpo_on:
        changes.append(_dpo_change(plan))
    for name, default_rule in _DEFAULT_RULES.items():
        old, new = getattr(current, name), getattr(plan.limits, name)
        if old.value != new.value:
            binding = new.binding
            rule = binding.rule if binding is not None and new.value == new.max else default_rule
            changes.append(Reason(rule, _CHANGE_TEMPLATES[name],
                                  {"old": old.value, "new": new.value}))
    return tuple(changes)


def rule_overview(profile: MachineProfile, dataset: DatasetSummary = DEFAULT_DATASET, *,
                  gpu_index: int | None = None, dpo: bool = False,
                  dpo_confirmed: bool = False) -> list[Reason]:
    """What every rule says right now, one entry per distinct statement, sorted by rule id.

    The System tab shows this so a user (or a support question) sees the
    whole rule book applied to this machine and dataset at once.
    """
    limits = training_limits(profile, dataset, gpu_index=gpu_index, dpo=dpo,
                             dpo_confirmed=dpo_confirmed)
    groups = [limits.decision.reasons, limits.sovits_batch.reasons, limits.gpt_batch.reasons,
              limits.dpo.reasons, limits.sovits_epochs.reasons, limits.gpt_epochs.reasons,
              limits.lr_weight.reasons, limits.sovits_save_every.reasons,
              limits.schedule.reasons, limits.heat.reasons, limits.warnings, limits.blockers,
              dataset_length_advice(dataset).reasons, emotion_advice(dataset).reasons,
              slice_length_limit(None, dataset).reasons]
    unique = {reason.text(): reason for group in groups for reason in group}
    return sorted(unique.values(), key=lambda r: (r.rule[0], int(r.rule.split("-")[1])))
