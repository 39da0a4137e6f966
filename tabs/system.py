"""System tab: the GPUs found, what the app will do with them, and every rule as it applies now."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.guidelines import (
    Reason,
    classify_gpu,
    dataset_from_fields,
    decide_device,
    rule_glossary,
    rule_overview,
)
from gsv_core.hardware import GIB, GpuSample, MachineProfile, sample_gpus
from gsv_core.i18n import Translator
from gsv_core.preflight import Preflight, run_preflight
from tabs.common import (
    AppContext,
    PreflightArea,
    gpu_index,
    notice_markdown,
    reason_markdown,
    refresh_live,
    rule_anchor,
)

# Rule ids in reasons link to "#rule-…" anchors; the glossary lives on this tab, so a click
# on another tab first opens this one, then scrolls to the entry (Markdown cannot switch tabs).
RULE_LINKS_JS = """
() => {
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#rule-"]');
    if (!link) return;
    event.preventDefault();
    const id = link.getAttribute("href").slice(1);
    const shown = () => {
      const entry = document.getElementById(id);
      return entry && entry.offsetParent !== null ? entry : null;
    };
    if (!shown()) document.getElementById("tab-system-button")?.click();
    // The tab renders its content a few frames after the click (later on a busy machine):
    // scroll once the entry is laid out, giving up after about ten seconds of frames.
    let frames = 600;
    const scroll = () => {
      const entry = shown();
      if (entry) entry.scrollIntoView({block: "center"});
      else if (--frames > 0) requestAnimationFrame(scroll);
    };
    scroll();
  }, true);
}
"""


@dataclass
class SystemTab:
    decision_md: gr.Markdown
    rules_md: gr.Markdown
    samples_md: gr.Markdown
    sample_button: gr.Button
    preflight_md: gr.Markdown
    preflight_again: gr.Button


PREFLIGHT_ICONS = {"ok": "✅", "warn": "⚠️", "fail": "❌", "info": "ℹ️"}


def preflight_markdown(result: Preflight, t: Translator) -> str:
    """The pre-flight items as a list: what was found, and what to do where it is not fine."""
    if result.all_green:
        head = "✅ " + t("Everything is ready.")
    else:
        head = "⚠️ " + t("{count} item(s) need attention.", count=sum(
            item.status in ("warn", "fail") for item in result.checks))
    lines = [head, ""]
    for item in result.checks:
        params = {name: ", ".join(t(text) for text in value) if isinstance(value, tuple)
                  else value for name, value in item.params.items()}
        found = (reason_markdown(Reason(item.rule, item.message, params), t)
                 if item.rule else t(item.message, **params))
        advice = f" **{t(item.advice, **params)}**" if item.advice else ""
        lines.append(f"- {PREFLIGHT_ICONS[item.status]} {found}{advice}")
    return "\n".join(lines)


def preflight_update(ctx: AppContext) -> tuple[str, dict]:
    """(the list, the page-top accordion's update: open until everything is green)."""
    result = run_preflight(ctx.profile, ctx.workspace)
    return preflight_markdown(result, ctx.t), gr.update(open=not result.all_green)


def _gpu_table(profile: MachineProfile, t: Translator) -> str:
    if not profile.gpus:
        return t("No GPU found.") + " " + "; ".join(profile.notes)
    header = "| # | " + " | ".join([t("GPU"), t("Memory"), t("Free"), t("Compute capability"),
                                    t("Driver"), t("Source"), t("Can train?")]) + " |"
    lines = [header, "|" + "---|" * 8]
    for gpu in profile.gpus:
        verdict = classify_gpu(gpu)
        free = "?" if gpu.free_memory_bytes is None else f"{gpu.free_memory_bytes / GIB:.1f} GB"
        capability = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else "—"
        can = t("yes") if verdict.usable else t("no") + ": " + "; ".join(
            r.text(t) for r in verdict.reasons)
        lines.append(f"| {gpu.index} | {gpu.name} | {gpu.vram_gb} GB | {free} | {capability} | "
                     f"{gpu.driver or '—'} | {gpu.source} | {can} |")
    return "\n".join(lines)


def _machine_lines(profile: MachineProfile, t: Translator) -> str:
    return "\n".join([
        f"- {t('Operating system')}: {profile.os_name}",
        f"- {t('CPU')}: {profile.cpu_name} ({profile.cpu_count} {t('threads')})",
        f"- {t('Memory')}: {profile.ram_gb} GB",
        f"- {t('Apple MPS')}: {t('yes') if profile.mps_available else t('no')}",
    ])


def samples_markdown(samples: list[GpuSample], t: Translator) -> str:
    if not samples:
        return t("No GPU to sample.")

    def unknown(value: float | None, unit: str) -> str:
        return t("unknown") if value is None else f"{value:.0f}{unit}"

    lines = ["| # | " + " | ".join([t("Utilisation"), t("Memory used"), t("Temperature")])
             + " |", "|---|---|---|---|"]
    for sample in samples:
        used = None if sample.memory_used_bytes is None else sample.memory_used_bytes / GIB
        lines.append(f"| {sample.index} | {unknown(sample.utilisation_pct, ' %')} | "
                     f"{unknown(used, ' GB')} / {sample.memory_total_bytes / GIB:.0f} GB | "
                     f"{unknown(sample.temperature_c, ' °C')} |")
    return "\n".join(lines)


def glossary_markdown(t: Translator) -> str:
    """The "Rules" section: every rule id in plain language, each with the anchor reasons
    link to (``rule_anchor``)."""
    return "\n\n".join(f'<a id="{rule_anchor(entry.rule)}"></a>**{entry.rule} · '
                        f"{t(entry.title)}** — {t(entry.summary)}"
                        for entry in rule_glossary())


def build_preflight(ctx: AppContext) -> None:
    """The page-top pre-flight area (filled and opened on load when something needs doing)."""
    with gr.Accordion(ctx.t("Pre-flight check"), open=False, elem_id="preflight") as accordion:
        markdown = gr.Markdown(elem_id="preflight-items")
        gr.Markdown(ctx.t("The same list, with a button to check again, is on the System tab."))
    ctx.preflight = PreflightArea(accordion, markdown)


def build(ctx: AppContext) -> SystemTab:
    t = ctx.t
    gr.Markdown("### " + t("Pre-flight check"))
    preflight_md = gr.Markdown(elem_id="system-preflight")
    preflight_again = gr.Button(t("Check again"), variant="secondary",
                                elem_id="system-preflight-again")
    gr.Markdown("### " + t("This machine"))
    gr.Markdown(_machine_lines(ctx.profile, t))
    gr.Markdown("### " + t("GPUs"))
    gr.Markdown(_gpu_table(ctx.profile, t), elem_id="system-gpus")
    decision_md = gr.Markdown(elem_id="system-decision")
    gr.Markdown("### " + t("Live readings"))
    samples_md = gr.Markdown()
    sample_button = gr.Button(t("Read the GPUs now"), variant="secondary")
    gr.Markdown("### " + t("What each rule says now"))
    gr.Markdown(t("For the GPU chosen on the Training tab and the dataset summary."))
    rules_md = gr.Markdown(elem_id="system-rules")
    gr.Markdown("### " + t("Rules"))
    gr.Markdown(t("What each rule id means; the rule ids in every reason link here."))
    gr.Markdown(glossary_markdown(t), elem_id="system-glossary")
    return SystemTab(decision_md, rules_md, samples_md, sample_button, preflight_md,
                     preflight_again)


def refresh(ctx: AppContext, gpu: int | None, dpo: bool, minutes: float | None,
            p95_slice_s: float | None, clip_count: float | None, quality: str | None,
            reviewed_pct: float | None) -> tuple[str, str]:
    """The device decision, then every other rule as it applies now (none stated twice)."""
    t = ctx.t
    dataset = dataset_from_fields(minutes, p95_slice_s, clip_count, quality, reviewed_pct).summary
    decision = decide_device(ctx.profile, gpu_index(gpu), dataset)
    rules = rule_overview(ctx.profile, dataset, gpu_index=gpu_index(gpu), dpo=bool(dpo))
    shown = {reason.text() for reason in (*decision.reasons, *decision.warnings)}
    return (notice_markdown([*decision.reasons, *decision.warnings], t),
            "\n".join(f"- {reason_markdown(reason, t)}" for reason in rules
                      if reason.text() not in shown))


def wire(tab: SystemTab, ctx: AppContext) -> None:
    assert ctx.dataset is not None and ctx.gpu_choice is not None and ctx.dpo is not None, (
        "build the other tabs first")
    ctx.app.load(None, js=RULE_LINKS_JS)
    refresh_live(ctx, [ctx.gpu_choice, ctx.dpo, *ctx.dataset.components()],
                 [tab.decision_md, tab.rules_md], refresh)
    tab.sample_button.click(lambda: samples_markdown(sample_gpus(ctx.profile), ctx.t),
                            outputs=[tab.samples_md])
    assert ctx.preflight is not None, "build the page-top pre-flight area first"
    preflight_outputs = [ctx.preflight.markdown, ctx.preflight.accordion]

    def checked() -> tuple[str, dict, str]:
        text, opened = preflight_update(ctx)
        return text, opened, text

    gr.on([ctx.app.load, tab.preflight_again.click], checked,
          outputs=[*preflight_outputs, tab.preflight_md], show_progress="hidden")

