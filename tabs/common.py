"""What every tab shares: the app context, and turning guideline results into widgets.

Formatting only: limits, reasons and decisions come from ``gsv_core``; this
module renders them as Gradio components and updates.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import gradio as gr

from gsv_core.errors import GsvError
from gsv_core.guidelines import Limit, Reason, classify_gpu, decide_device
from gsv_core.hardware import MachineProfile
from gsv_core.i18n import Translator
from gsv_core.workspace import Workspace
from tabs.governed import GovernedSlider

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


@dataclass(frozen=True)
class PreflightArea:
    """The page-top pre-flight check: open until every item is green."""

    accordion: gr.Accordion
    markdown: gr.Markdown


class StopRequests:
    """Which browser sessions asked to stop their running request (a Stop button sets it,
    the work in progress polls ``checker``); shared by the tabs that run work in-process."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    def request(self, session: str) -> None:
        with self._lock:
            self._sessions.add(session)

    def clear(self, session: str) -> None:
        with self._lock:
            self._sessions.discard(session)

    def checker(self, session: str) -> Callable[[], bool]:
        def should_stop() -> bool:
            with self._lock:
                return session in self._sessions
        return should_stop


@dataclass(frozen=True)
class LiveRefresh:
    """One tab's ``refresh`` as ``refresh_live`` wired it, so it can be re-run on demand."""

    handler: Callable[..., object]
    inputs: list[gr.components.Component]
    outputs: list[gr.components.Component]


@dataclass
class AppContext:
    """Built once per app; tabs register the components other tabs listen to."""

    t: Translator
    profile: MachineProfile
    workspace: Workspace
    app: gr.Blocks
    dataset: DatasetInputs | None = None
    gpu_choice: gr.Dropdown | None = None
    dpo: gr.Checkbox | None = None
    # The Emotion tab's list, and its tag counts (they change whenever tags are made or
    # reviewed): the Training tab states E-1 for that list.
    emotion_list: gr.Textbox | None = None
    emotion_counts: gr.Markdown | None = None
    # The Dataset tab's "Format for training" experiment name: the Training tab's follows it
    # (training reads the folder formatting wrote; a different name was the "not formatted"
    # blocker a beginner met first).
    format_experiment: gr.Textbox | None = None
    preflight: PreflightArea | None = None
    # Events that set controls from code (which fires no user-edit event), and every tab's
    # live refresh: ``chain_refreshes`` re-runs all refreshes after each such event.
    programmatic_changes: list[gr.events.Dependency] = field(default_factory=list)
    live_refreshes: list[LiveRefresh] = field(default_factory=list)
    # The Inference tab's one engine, made on first use; the HTTP API mounted on the UI's
    # server shares it, so the models load once and one lock orders their work.
    inference_engine: Callable[[], object] | None = None
    # What to tidy when the server closes normally (the Inference tab's result files); a
    # restart replaces the process without running ``atexit``, so the entry point calls them.
    on_close: list[Callable[[], None]] = field(default_factory=list)


def gpu_index(choice: int | None) -> int | None:
    return None if choice in (None, AUTO_GPU) else int(choice)


def gpu_choices(profile: MachineProfile, t: Translator) -> list[tuple[str, int]]:
    """Dropdown entries: 'automatic' first, then every card, unusable ones marked."""
    automatic = (t("Automatic (best usable GPU)") if decide_device(profile).on_gpu
                 else t("Automatic (the CPU: no GPU here can train)"))
    choices = [(automatic, AUTO_GPU)]
    for gpu in profile.gpus:
        usable = classify_gpu(gpu).usable
        label = f"{gpu.index}: {gpu.name} ({gpu.vram_gb} GB)"
        choices.append((label if usable else f"{label} — {t('cannot train')}", gpu.index))
    return choices


@dataclass
class GovernedControl:
    """One control the guidelines govern: a slider, or a read-only number when fixed.

    A Gradio slider cannot have minimum == maximum, which is what a limit with a single
    allowed value gives (batch 1 on a 6 GB card or the CPU). Such a limit shows ``fixed``,
    a read-only number with the reason, instead of a fake two-step slider; the slider is
    hidden but keeps receiving the value, so handlers always read ``slider``.
    """

    slider: GovernedSlider
    fixed: gr.Number

    def outputs(self) -> list[gr.components.Component]:
        return [self.slider, self.fixed]


def governed_control(limit: Limit, label: str, t: Translator, elem_id: str, *,
                     fixed_default: bool = False) -> GovernedControl:
    """A control created from a guideline limit (so its first render shows the right form).

    The slider is first rendered empty (None), so ↺ asks the engine for the *current*
    default. In the tab shown at page load, Gradio's slider was seen to send its maximum
    for an empty value, so the load-time refresh clamped to the maximum: a control whose
    default never moves (``fixed_default``, e.g. the Q-4 slice length) is rendered with it.
    """
    minimum, maximum = _slider_range(limit)
    first = limit.default if fixed_default else None
    slider = GovernedSlider(minimum=minimum, maximum=maximum, value=first, step=limit.step,
                            label=label, info=limit_info(limit, t), elem_id=elem_id,
                            interactive=limit.enabled, visible=not _is_fixed(limit))
    fixed = gr.Number(value=limit.value, label=label, info=limit_info(limit, t),
                      interactive=False, visible=_is_fixed(limit), elem_id=f"{elem_id}-fixed")
    return GovernedControl(slider, fixed)


def governed_update(limit: Limit, t: Translator) -> tuple[dict, dict]:
    """The updates that move a ``GovernedControl`` to ``limit``: (slider, fixed number)."""
    minimum, maximum = _slider_range(limit)
    info = limit_info(limit, t)
    fixed = _is_fixed(limit)
    return (gr.update(minimum=minimum, maximum=maximum, value=limit.value, step=limit.step,
                      interactive=limit.enabled, info=info, visible=not fixed),
            gr.update(value=limit.value, info=info, visible=fixed))


def _is_fixed(limit: Limit) -> bool:
    return limit.max <= limit.min


def _slider_range(limit: Limit) -> tuple[float, float]:
    """The slider's (minimum, maximum); a fixed limit's hidden slider gets one step of room,
    since Gradio refuses minimum == maximum."""
    if _is_fixed(limit):
        return limit.min, limit.min + limit.step
    return limit.min, limit.max


def box_value(typed: float | None, minimum: float, maximum: float) -> float:
    """What a slider's number box holds once the user leaves it: Gradio's slider frontend
    (6.x) clamps the typed value to [minimum, maximum], an emptied box to ``minimum``.

    It sends the *typed* value with ``release`` and clamps the box just after, so every
    later event (Generate) reads the clamped one: typing 5 into a 0.05–1 slider, then
    clicking Generate, renders with 1 (``tests/browser/test_infer_tab.py`` pins this).
    """
    if typed is None:
        return minimum
    return min(max(typed, minimum), maximum)


def echo_update(typed: float | None, used: float, info: str, why: str | None,
                t: Translator) -> dict:
    """The update that makes a slider show ``used``, the value the app works with.

    The one mechanism for a value the box would show otherwise than it is used (see
    ``box_value``): the box is set to ``used`` explicitly, and when it differs from what was
    typed, the line under the control says so, "⚠️ 150 → 0: ``why``" (``why`` None: the
    control's own ``info``); otherwise the line is ``info`` again.
    """
    if typed is not None and typed == used:
        return gr.update(value=used, info=info)
    shown = t("empty") if typed is None else _number(typed)
    return gr.update(value=used, info="⚠️ " + t("{typed} → {used}:", typed=shown,
                                                 used=_number(used)) + f" {why or info}")


def echo_range(slider: gr.Slider, t: Translator) -> gr.events.Dependency:
    """Make a plain slider say when a typed value is outside its range, showing the value used.

    We clamp to the slider's range rather than widen it to what ``InferenceOptions.validate``
    accepts (temperature up to 10, speed 0.25–4, pause up to 10 s): a demanding user wants the
    number in the box to be the number rendered, and a handle that still moves in useful steps
    over the range where the models behave (upstream's inference UI); scripts that need more
    use the HTTP API, which takes the validated range. The browser clamps anyway (see
    ``box_value``); this tells the user it did. Returns the event.
    """
    info = slider.info or ""

    def echo(typed: float | None) -> dict:
        used = box_value(typed, slider.minimum, slider.maximum)
        if typed == used:  # the box holds it already; a value sent back could land while
            return gr.update(info=info)  # the handle is dragged again, and pull it back
        why = t("the slider takes {min} to {max}; the value in the box is the one used.",
                min=_number(slider.minimum), max=_number(slider.maximum))
        return echo_update(typed, used, info, why, t)

    # Each edit its own request, answered in order, as ``refresh_live`` does.
    return slider.release(echo, inputs=[slider], outputs=[slider], show_progress="hidden",
                          trigger_mode="multiple")


def rule_anchor(rule: str) -> str:
    """The HTML id of a rule's glossary entry on the System tab ("B-4" → "rule-b-4")."""
    return "rule-" + rule.lower()


def reason_markdown(reason: Reason, t: Translator) -> str:
    """A reason as Markdown, its rule id linking to the glossary entry."""
    return f"[{reason.rule}](#{rule_anchor(reason.rule)}): " + t(reason.key).format(
        **reason.params)


def limit_info(limit: Limit, t: Translator) -> str:
    """The one-line ``info=`` under a control: what happened to the value, the binding rule.

    "99 → 14 (clamped), B-1: …" after a clamp; the range and default otherwise.
    """
    if limit.clamped:
        head = t("{requested} → {value} (clamped),", requested=_number(limit.requested),
                 value=_number(limit.value))
    elif _is_fixed(limit):
        head = t("Fixed at {value}:", value=_number(limit.value))
    elif limit.requested is None:
        head = t("Set to the default {default} (allowed {min}–{max}):",
                 default=_number(limit.default), min=_number(limit.min),
                 max=_number(limit.max))
    else:
        head = t("Allowed {min}–{max}, default {default}:", min=_number(limit.min),
                 max=_number(limit.max), default=_number(limit.default))
    # The engine names the one rule that sets the range now (B-4 when long slices lower the
    # B-1 table value, H-2 on the CPU, B-8 when the clip count caps the batch).
    return f"{head} {reason_markdown(limit.binding, t)}" if limit.binding else head


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def why_accordion(t: Translator, elem_id: str) -> gr.Markdown:
    """The collapsed "Why these limits?" box of a section; ``why_markdown`` fills it."""
    with gr.Accordion(t("Why these limits?"), open=False, elem_id=f"{elem_id}-box"):
        return gr.Markdown(elem_id=elem_id)


def why_markdown(entries: Sequence[tuple[str, Limit]], t: Translator,
                 extra: Iterable[Reason] = (), shown: set[str] | None = None) -> str:
    """Every reason of a section's limits: clamps first, then each binding rule, then the rest.

    ``shown`` holds the reasons already on the page (another section, the device line);
    they are left out here, so no rule line appears twice, and the new ones are added.
    """
    shown = set() if shown is None else shown
    clamps = ["**" + t("{label}: {requested} → {value} (clamped)", label=label,
                        requested=_number(limit.requested), value=_number(limit.value)) + "**"
              for label, limit in entries if limit.clamped]
    # The engine lists each limit's reasons binding rule first.
    ordered = [(label, reason) for label, limit in entries for reason in limit.reasons]
    ordered += [("", reason) for reason in extra]
    lines = []
    for label, reason in ordered:
        if reason.text() in shown:
            continue
        shown.add(reason.text())
        lines.append(f"{label} · {reason_markdown(reason, t)}" if label
                     else reason_markdown(reason, t))
    return "\n".join(f"- {line}" for line in [*clamps, *lines])


def notice_markdown(reasons: Iterable[Reason], t: Translator, icon: str = "ℹ️",
                    shown: set[str] | None = None) -> str:
    """Reasons as separate paragraphs; with ``shown``, those already on the page are skipped."""
    lines = []
    for reason in reasons:
        if shown is not None:
            if reason.text() in shown:
                continue
            shown.add(reason.text())
        lines.append(f"{icon} {reason_markdown(reason, t)}".strip())
    # A blank line between entries: Markdown folds single newlines into one paragraph.
    return "\n\n".join(dict.fromkeys(lines))


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


def user_edit(component: gr.components.Component) -> Callable[..., gr.events.Dependency]:
    """The event that fires once per user edit of ``component``, never for our own updates.

    - A dropdown fires ``input`` twice per choice (on the pick, and again when it loses focus)
      and on a focus change without a pick; the second request left while the first was in
      flight and carried stale control values, which is how changing the training GPU
      popped "Value 11 is greater than maximum value 5". ``select`` fires once per pick.
    - A slider fires ``input`` on every keystroke in its number box, so "12" would be clamped
      as "1" before the "2" is typed (and an emptied box reset mid-typing); ``release`` fires
      when the user lets go of the handle, leaves the box, or presses ↺.
    - Everything else (checkbox, radio, number box) fires ``input`` once per edit.
    """
    if isinstance(component, gr.Dropdown):
        return component.select
    if isinstance(component, gr.Slider):
        return component.release
    return component.input


def refresh_live(ctx: AppContext, inputs: Sequence[gr.components.Component],
                 outputs: Sequence[gr.components.Component],
                 refresh: Callable[..., object]) -> gr.events.Dependency:
    """Run ``refresh(ctx, *input values)`` on page load and after every user edit of an input.

    The triggers (``user_edit``) never fire for the updates ``refresh`` returns, so controls
    that clamp each other cannot loop. Every edit sends its own request (``multiple``), and
    the queue answers one tab's requests in order, so the page ends on the latest edit:
    Gradio's default ("once") drops an edit made while a refresh is in flight, and
    "always_last" sends it only after that refresh has written its answer over the edit.
    ``refresh`` is a pure function of all the values, so a request sent before the previous
    answer arrived is clamped as completely as any other. A text box triggers when it is left
    or Enter is pressed, not on every key. Returns the event, for ``.then``.
    """

    def handler(*values: object) -> object:
        return refresh(ctx, *values)

    ctx.live_refreshes.append(LiveRefresh(handler, list(inputs), list(outputs)))
    triggers = []
    for component in inputs:   # a text box counts once typed (leaving it, Enter), not per key
        triggers += ([component.blur, component.submit] if isinstance(component, gr.Textbox)
                     else [user_edit(component)])
    return gr.on([*triggers, ctx.app.load], handler,
                 inputs=list(inputs), outputs=list(outputs), show_progress="hidden",
                 trigger_mode="multiple")


def chain_refreshes(ctx: AppContext) -> None:
    """After each event that sets controls from code, re-run every tab's refresh.

    Such updates fire no user-edit event, so without this the System tab would keep stating
    the rules for the values before "Use the recommended plan". Call once, after every tab
    is wired; the refreshes run side by side, each after the event has finished.
    """
    for event in ctx.programmatic_changes:
        for live in ctx.live_refreshes:
            event.then(live.handler, inputs=live.inputs, outputs=live.outputs,
                       show_progress="hidden")


def follow_job(handle: object, progress: Callable[..., object], t: Translator) -> object:
    """Follow a background job until it ends, moving a ``gr.Progress`` bar with its progress
    events; returns its last :class:`~gsv_core.job_watch.JobSnapshot`."""
    from gsv_core.job_watch import JobWatcher

    def update(snapshot: object) -> None:
        progress(snapshot.steps or (0, None),  # type: ignore[attr-defined]
                 desc=snapshot.message or t("starting"))  # type: ignore[attr-defined]

    return JobWatcher(handle).follow(update)  # type: ignore[arg-type]

