"""What every tab shares: the app context, and turning guideline results into widgets.

Formatting only: limits, reasons and decisions come from ``gsv_core``; this
module renders them as Gradio components and updates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import gradio as gr

from gsv_core.errors import GsvError
from gsv_core.guidelines import DatasetSummary, Limit, Reason, classify_gpu
from gsv_core.hardware import MachineProfile
from gsv_core.i18n import Translator
from gsv_core.workspace import Workspace

AUTO_GPU = -1  # dropdown value: let the guidelines pick the best usable card


@dataclass
class DatasetInputs:
    """The hand-filled dataset summary (the quality check will fill it in a later release)."""

    minutes: gr.Number
    p95_slice_s: gr.Number
    clip_count: gr.Number
    quality: gr.Dropdown
    reviewed_pct: gr.Slider

    def components(self) -> list[gr.components.Component]:
        return [self.minutes, self.p95_slice_s, self.clip_count, self.quality, self.reviewed_pct]


@dataclass
class AppContext:
    """Built once per app; tabs register the components other tabs listen to."""

    t: Translator
    profile: MachineProfile
    workspace: Workspace
    app: gr.Blocks
    dataset: DatasetInputs | None = None
    gpu_choice: gr.Dropdown | None = None
    extras: dict[str, object] = field(default_factory=dict)


def dataset_summary(minutes: float | None, p95_slice_s: float | None, clip_count: float | None,
                    quality: str | None, reviewed_pct: float | None) -> DatasetSummary:
    """The typed summary from the dataset tab's fields (empty number fields mean unknown)."""
    return DatasetSummary(
        total_duration_s=None if minutes in (None, 0) else float(minutes) * 60,
        p95_slice_s=None if p95_slice_s in (None, 0) else float(p95_slice_s),
        clip_count=None if clip_count in (None, 0) else int(clip_count),
        quality=quality or "unknown",
        reviewed_fraction=min(max(float(reviewed_pct or 0) / 100, 0.0), 1.0))


def gpu_index(choice: int | None) -> int | None:
    return None if choice in (None, AUTO_GPU) else int(choice)


def gpu_choices(profile: MachineProfile, t: Translator) -> list[tuple[str, int]]:
    """Dropdown entries: 'automatic' first, then every card, unusable ones marked."""
    choices = [(t("Automatic (best usable GPU)"), AUTO_GPU)]
    for gpu in profile.gpus:
        usable = classify_gpu(gpu).usable
        label = f"{gpu.index}: {gpu.name} ({gpu.vram_gb} GB)"
        choices.append((label if usable else f"{label} — {t('cannot train')}", gpu.index))
    return choices


def reason_lines(reasons: Iterable[Reason], t: Translator) -> list[str]:
    return [reason.text(t) for reason in reasons]


def limit_info(limit: Limit, t: Translator) -> str:
    """The one-line ``info=`` under a control: its range, then the rule that sets the maximum."""
    if limit.max <= limit.min:
        head = t("Fixed at {value}.", value=_number(limit.value))
    else:
        head = t("Allowed {min}–{max}, default {default}.", min=_number(limit.min),
                 max=_number(limit.max), default=_number(limit.default))
    return f"{head} {limit.reasons[0].text(t)}" if limit.reasons else head


def _slider_range(limit: Limit) -> tuple[float, float, bool]:
    """(minimum, maximum, interactive) for a slider showing ``limit``.

    Gradio refuses a slider whose minimum equals its maximum, which is exactly what a
    card that allows only batch 1 (or the CPU fallback) gives: such a slider is shown
    fixed at its value, one step wide and not editable; ``info`` says why.
    """
    if limit.max > limit.min:
        return limit.min, limit.max, limit.enabled
    return limit.min, limit.min + limit.step, False


def limit_update(limit: Limit, t: Translator) -> dict:
    """A Gradio update that moves a slider to ``limit``: range, clamped value, why."""
    minimum, maximum, interactive = _slider_range(limit)
    return gr.update(minimum=minimum, maximum=maximum, value=limit.value, step=limit.step,
                     interactive=interactive, info=limit_info(limit, t))


def limit_slider(limit: Limit, label: str, t: Translator, elem_id: str) -> gr.Slider:
    """A slider created from a guideline limit (so its first render is already clamped)."""
    minimum, maximum, interactive = _slider_range(limit)
    return gr.Slider(minimum=minimum, maximum=maximum, value=limit.value, step=limit.step,
                     label=label, info=limit_info(limit, t), interactive=interactive,
                     elem_id=elem_id)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def why_markdown(entries: Sequence[tuple[str, Limit]], t: Translator,
                 extra: Iterable[Reason] = ()) -> str:
    """The 'why' box under a group of controls: each limit's reasons, clamps called out."""
    lines = []
    for label, limit in entries:
        if limit.clamped:
            lines.append("- **" + t("{label}: {requested} → {value} (clamped)", label=label,
                                    requested=_number(limit.requested),
                                    value=_number(limit.value)) + "**")
        lines += [f"- {label} · {text}" for text in reason_lines(limit.reasons, t)]
    lines += [f"- {text}" for text in reason_lines(extra, t)]
    return "\n".join(dict.fromkeys(lines))  # keep order, drop repeats


def notice_markdown(reasons: Iterable[Reason], t: Translator, icon: str = "ℹ️") -> str:
    # A blank line between entries: Markdown folds single newlines into one paragraph.
    return "\n\n".join(f"{icon} {text}" for text in reason_lines(reasons, t))


def not_available_button(label: str, when: str, t: Translator) -> gr.Button:
    """An action whose feature a later release brings: visibly disabled, never a fake result.

    ``label`` and ``when`` are already translated.
    """
    return gr.Button(t("{label} — not available yet ({when})", label=label, when=when),
                     interactive=False, variant="secondary")


def error_markdown(error: GsvError, t: Translator) -> str:
    """The one way the UI shows a failure: what happened, then what to do."""
    lines = ["❌ " + (f"{error.rule}: " if error.rule else "") + error.message]
    if error.advice:
        lines.append("➡️ " + error.advice)
    return "\n\n".join(lines)


def refresh_live(ctx: AppContext, inputs: Sequence[gr.components.Component],
                 outputs: Sequence[gr.components.Component],
                 refresh: Callable[..., object]) -> None:
    """Run ``refresh(ctx, *input values)`` on page load and whenever a user edits an input.

    ``.input`` fires for user edits only, so the updates ``refresh`` returns never
    re-trigger it (no event loops between controls that clamp each other).
    """

    def handler(*values: object) -> object:
        return refresh(ctx, *values)

    gr.on([component.input for component in inputs] + [ctx.app.load], handler,
          inputs=list(inputs), outputs=list(outputs), show_progress="hidden")
