"""From the Training tab's controls to the runs to start, or to why they cannot start.

The tab's governed controls are already clamped by the guideline engine
(:func:`gsv_core.guidelines.training_limits`): this module does not re-derive a limit, it
reads the clamped values out of the :class:`~gsv_core.guidelines.TrainingLimits` and
turns them into :class:`~gsv_core.train.config.TrainConfig` objects (SoVITS, GPT, or both
in that order, H-3), after checking what stops a start:

- D-3: DPO on a dataset that failed its checks, not confirmed (the engine's blockers);
- H-4: the safety notice, before the first training run of the workspace, not acknowledged;
- X-1: an experiment name that cannot be a folder;
- the experiment is not formatted for that model (the folder and the missing files named);
- a batch the card cannot train at all (H-1, the engine's disabled limit).

It also says what will run (:func:`plan_text`): the effective batch (B-8: the one that runs),
steps per round from the formatted clips (exact: each model's sampler is built over the
clips as its trainer builds it), rounds, save points, and the time and peak memory where the
guidelines give a figure — they give none per card yet, so those read "unknown" rather than
an invented number. Nothing here imports gradio; SoVITS's clip count imports the trainer's
data module (and so torch) when asked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from gsv_core.errors import ConfigError, GsvError
from gsv_core.guidelines import Limit, Reason, TrainingLimits
from gsv_core.i18n import mark
from gsv_core.train.compiled import compile_blocker
from gsv_core.train.config import ModelKind, TrainConfig
from gsv_core.workspace import Workspace, check_experiment_name

if TYPE_CHECKING:   # gsv_core.prepare imports torch: read it only when a plan is made
    from gsv_core.prepare.layout import ExperimentFiles

__all__ = [
    "Blocker",
    "ModelPlan",
    "RunForm",
    "Which",
    "blockers_text",
    "build_run",
    "first_training",
    "formatted_clips",
    "plan_text",
    "save_epochs",
]

Which = Literal["sovits", "gpt", "both"]
Translate = Callable[..., str]
KIND_NAMES = {"sovits": "SoVITS", "gpt": "GPT"}
_ORDER: dict[str, tuple[ModelKind, ...]] = {"sovits": ("sovits",), "gpt": ("gpt",),
                                            "both": ("sovits", "gpt")}


@dataclass(frozen=True)
class Blocker:
    """Why a run cannot start: a UI text (``key`` with ``params``, translated when shown) and
    the rule that says so, or an error's own message and advice (``error``)."""

    rule: str | None = None
    key: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    error: GsvError | None = None

    def text(self, t: Translate) -> str:
        if self.error is not None:
            head = self.error.message + (f" {self.error.advice}" if self.error.advice else "")
            rule = self.rule or self.error.rule
        else:
            head, rule = t(self.key, **self.params), self.rule
        return f"{rule}: {head}" if rule else head


@dataclass(frozen=True)
class ModelPlan:
    """What one model's run will do. ``steps_per_epoch`` None when the formatted data could
    not be read (a blocker says why); ``exact`` False when it is an estimate from the clip
    count (GPT: its sampler is not built here)."""

    kind: ModelKind
    batch_size: int
    gpus: int
    epochs: int
    save_every: int
    clips: int | None
    steps_per_epoch: int | None
    exact: bool
    dpo: bool = False
    lr_weight: float | None = None
    accumulation: int = 1   # batches per optimizer step (GPT: 4, as upstream)
    precision: str = "auto"            # the Settings tab's training precision, for this device
    compile_asked: bool = False        # SoVITS: the user ticked "Compile"
    compile_blocker: str | None = None  # ... and why this run cannot (a UI text key)

    @property
    def effective_batch(self) -> int:
        """Clips per optimizer step (B-8): the batch on each card, times the cards, times the
        batches accumulated into one step."""
        return self.batch_size * max(self.gpus, 1) * self.accumulation

    @property
    def total_steps(self) -> int | None:
        return None if self.steps_per_epoch is None else self.steps_per_epoch * self.epochs

    @property
    def save_points(self) -> tuple[int, ...]:
        return save_epochs(self.epochs, self.save_every)


@dataclass(frozen=True)
class RunForm:
    """The runs to start (``configs``, in order) when nothing blocks, and the plan either way."""

    configs: tuple[TrainConfig, ...]
    blockers: tuple[Blocker, ...]
    plans: tuple[ModelPlan, ...]
    parallel: bool = False   # two cards: SoVITS and GPT train at once (H-3)

    @property
    def ready(self) -> bool:
        return not self.blockers and bool(self.configs)


def save_epochs(epochs: int, save_every: int) -> tuple[int, ...]:
    """The rounds whose weights are exported: every ``save_every``-th and always the last
    (upstream loses the last when ``epochs`` is not a multiple of ``save_every``)."""
    every = max(int(save_every), 1)
    points = {epoch for epoch in range(every, epochs + 1, every)}
    points.add(epochs)
    return tuple(sorted(points))


def _device(device: str) -> tuple[str, tuple[int, ...]]:
    """The engine's ``"cuda:N"`` / ``"cpu"`` → TrainConfig's device and GPU indices."""
    if device.startswith("cuda"):
        _, _, index = device.partition(":")
        return "cuda", (int(index or 0),)
    return device, ()


def _missing(files: ExperimentFiles, kind: str) -> list[str]:
    needed = ([files.name2text, files.hubert_dir, files.wav32k_dir] if kind == "sovits"
              else [files.name2text, files.name2semantic])
    return [path.name for path in needed if not path.exists()]


def formatted_clips(files: ExperimentFiles, kind: str, batch_size: int,
                    gpus: int = 1) -> tuple[int, int, bool, int]:
    """(clips, steps per round, exact, batches per step) of a formatted experiment for one
    model (GPT accumulates :data:`gsv_core.train.gpt.GRAD_ACCUMULATION` batches per
    optimizer step, as upstream; SoVITS steps once per batch).

    Both come from the trainers' own data modules (``sovits_data``: ``read_clips``, its repeat
    of a small list and the bucket sampler's padded buckets; ``gpt_data``: the clips that
    train, repeated to the minimum, and its sampler), so the figure is the one that runs.
    ``exact`` is False only when a model's sampler cannot be built here (none today).

    Raises:
        DatasetError: the data cannot be read or holds no usable clip (from the data module).
    """
    if kind == "sovits":
        from gsv_core.train.sovits_data import BucketBatchSampler, read_clips, repeated_indices

        clips, repeats = read_clips(files)
        frames = [clips[i].frames for i in repeated_indices(len(clips), repeats)]
        sampler = BucketBatchSampler(frames, batch_size, seed=0, replicas=max(gpus, 1))
        return len(clips), len(sampler), True, 1
    from gsv_core.train import gpt_data
    from gsv_core.train.gpt import GRAD_ACCUMULATION

    dataset = gpt_data.load_gpt_dataset(files, check_bert=False)
    batches = gpt_data.BucketBatchSampler(dataset.durations_s(), batch_size,
                                          world_size=max(gpus, 1))
    # as train_gpt counts them: a step per group of GRAD_ACCUMULATION batches
    steps = math.ceil(len(batches) / GRAD_ACCUMULATION)
    return len(dataset.clips), steps, True, GRAD_ACCUMULATION


def _limit_blocker(limit: Limit) -> Blocker | None:
    if limit.enabled:
        return None
    reason = limit.binding or Reason("H-1", "This card cannot train.", {})
    return Blocker(reason.rule, reason.key, dict(reason.params))


def build_run(workspace: Workspace, experiment: str | None, limits: TrainingLimits,
              which: Which, *, safety_acknowledged: bool, first_run: bool,
              compile_sovits: bool = False) -> RunForm:
    """The configs for ``which`` (``"sovits"``, ``"gpt"`` or ``"both"``, SoVITS first) from the
    clamped ``limits``, or the blockers; the plan of each model in both cases.

    ``compile_sovits`` asks to compile SoVITS (:mod:`gsv_core.train.compiled`); where the run
    cannot, the plan says why and the run trains uncompiled (never a blocker).

    ``first_run`` says that no training was started in this workspace before: the H-4
    notice must then have been acknowledged (``safety_acknowledged``).

    The precision is the Settings tab's (``settings.json``) on a CUDA device; elsewhere
    "auto", which is fp32 there.
    """
    from gsv_core.prepare.layout import ExperimentFiles
    from gsv_core.settings import load_settings

    preferred = load_settings(workspace.root)[0].train_precision

    blockers: list[Blocker] = []
    name = experiment or ""
    try:
        check_experiment_name(name)
        files: ExperimentFiles | None = ExperimentFiles.of(workspace, name)
    except ConfigError as error:
        blockers.append(Blocker(error=error))
        files = None
    blockers += [Blocker(reason.rule, reason.key, dict(reason.params))
                 for reason in limits.blockers]
    if first_run and not safety_acknowledged:
        blockers.append(Blocker("H-4", mark("Read the safety notice above and tick that you "
                                            "have read it before the first training run.")))
    kinds = _ORDER[which]
    plans, configs = [], []
    for kind in kinds:
        sovits = kind == "sovits"
        batch = limits.sovits_batch if sovits else limits.gpt_batch
        epochs = int((limits.sovits_epochs if sovits else limits.gpt_epochs).value)
        save_every = int((limits.sovits_save_every if sovits else limits.gpt_save_every).value)
        device, gpus = _device(limits.schedule.sovits_device if sovits
                               else limits.schedule.gpt_device)
        if (blocker := _limit_blocker(batch)) is not None:
            blockers.append(blocker)
        clips = steps = None
        exact, accumulation = False, 1
        if files is not None:
            missing = _missing(files, kind)
            if missing:
                blockers.append(Blocker(None, mark(
                    "{model}: the experiment {experiment} is not formatted: {folder} has no "
                    "{missing}. Format it first (Dataset tab, 6. Format for training)."),
                    {"model": KIND_NAMES[kind], "experiment": name,
                     "folder": str(files.folder), "missing": ", ".join(missing)}))
            else:
                try:
                    clips, steps, exact, accumulation = formatted_clips(
                        files, kind, int(batch.value), len(gpus) or 1)
                except GsvError as error:
                    blockers.append(Blocker(error=error))
        compile_asked = sovits and compile_sovits
        precision = preferred if device == "cuda" else "auto"
        plans.append(ModelPlan(kind, int(batch.value), len(gpus), epochs, save_every, clips,
                               steps, exact, dpo=not sovits and limits.dpo_on,
                               lr_weight=float(limits.lr_weight.value) if sovits else None,
                               accumulation=accumulation, precision=precision,
                               compile_asked=compile_asked,
                               compile_blocker=compile_blocker(device, len(gpus) or 1)
                               if compile_asked else None))
        if files is not None:
            configs.append(TrainConfig(
                kind=kind, workspace=str(workspace.root), experiment=name, epochs=epochs,
                batch_size=int(batch.value), save_every=save_every,
                lr_weight=float(limits.lr_weight.value), dpo=not sovits and limits.dpo_on,
                device=device, gpus=gpus, precision=precision, compile=compile_asked))
    return RunForm(tuple(configs) if not blockers else (), tuple(blockers), tuple(plans),
                   parallel=limits.schedule.parallel)


def _plan_line(plan: ModelPlan, t: Translate) -> str:
    if plan.steps_per_epoch is None:
        steps = t(mark("unknown (the formatted data could not be read)"))
        total = t(mark("unknown"))
    else:
        steps = (str(plan.steps_per_epoch) if plan.exact
                 else t(mark("about {steps}"), steps=plan.steps_per_epoch))
        total = (str(plan.total_steps) if plan.exact
                 else t(mark("about {steps}"), steps=plan.total_steps))
    saves = ", ".join(str(epoch) for epoch in plan.save_points)
    device = (t(mark("{count} GPU(s)"), count=plan.gpus) if plan.gpus else t(mark("the CPU")))
    head = f"**{KIND_NAMES[plan.kind]}**"
    if plan.dpo:
        head += " " + t(mark("with DPO"))
    lines = [
        head + " · " + (
            t(mark("effective batch {batch} ({per} per device × {devices} × {batches} batches "
                   "per step, B-8)"), batch=plan.effective_batch, per=plan.batch_size,
              devices=device, batches=plan.accumulation) if plan.accumulation > 1 else
            t(mark("effective batch {batch} ({per} per device × {devices}, B-8)"),
              batch=plan.effective_batch, per=plan.batch_size, devices=device)),
        t(mark("{clips} clips · {steps} steps per round · {epochs} rounds · {total} steps in "
               "all (T-1)"), clips="?" if plan.clips is None else plan.clips, steps=steps,
          epochs=plan.epochs, total=total),
        t(mark("Weights exported after rounds {saves} (every {every}, and always the last)"),
          saves=saves, every=plan.save_every),
        t(mark("Estimated time: unknown · peak memory: unknown (the guidelines have no "
               "measured figure for this card; the batch limits keep it within the card's "
               "memory)")),
    ]
    if plan.precision != "auto":
        lines.append(t(mark("Precision {precision} (Settings tab)"), precision=plan.precision))
    if plan.compile_asked:
        lines.append(t(mark("Compiled: a few minutes of compiling during the first steps, "
                            "then faster steps")) if plan.compile_blocker is None else
                     t(mark("Not compiled: {reason}; it trains uncompiled"),
                       reason=t(plan.compile_blocker)))
    return "\n".join(f"- {line}" if i else line for i, line in enumerate(lines))


def plan_text(form: RunForm, t: Translate) -> str:
    """"What will run", as Markdown: one block per model, in the order they run."""
    if not form.plans:
        return ""
    blocks = [_plan_line(plan, t) for plan in form.plans]
    if len(form.plans) > 1:
        blocks.insert(0, t(mark("SoVITS and GPT at the same time, each on its own card (H-3).")
                           if form.parallel else
                           mark("SoVITS first, then GPT, one after the other (H-3).")))
    return "\n\n".join(blocks)


def blockers_text(blockers: Sequence[Blocker], t: Translate) -> str:
    """The blockers as Markdown, one paragraph each."""
    return "\n\n".join("⛔ " + blocker.text(t) for blocker in blockers)


def first_training(workspace: Workspace) -> bool:
    """True when no training was ever started in this workspace (so H-4's notice has not
    been shown before a run yet): no experiment has a training job."""
    from gsv_core.train.launch import find_training

    for name in workspace.experiments():
        try:
            if find_training(workspace, name) is not None:
                return False
        except ConfigError:   # a stray folder under logs/ that cannot be an experiment
            continue
    return True
