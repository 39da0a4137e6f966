"""Settings tab: the launch settings saved in the workspace (gsv_core.settings), and the
pretrained-model manager (tabs.models).

Layout and events only; checking and writing the file is ``gsv_core.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.i18n import available_languages
from gsv_core.settings import (
    THEMES,
    TRAIN_PRECISIONS,
    LaunchSettings,
    load_settings,
    save_settings,
    settings_path,
)
from tabs import models as models_section
from tabs.common import AppContext
from tabs.models import ModelsSection


@dataclass
class SettingsTab:
    problems_md: gr.Markdown
    lang: gr.Dropdown
    host: gr.Textbox
    port: gr.Number
    open_browser: gr.Checkbox
    theme: gr.Radio
    train_precision: gr.Radio
    models_dir: gr.Textbox
    hub_endpoint: gr.Textbox
    save: gr.Button
    status_md: gr.Markdown
    models: ModelsSection

    def values(self) -> list[gr.components.Component]:
        return [self.lang, self.host, self.port, self.open_browser, self.theme,
                self.train_precision, self.models_dir, self.hub_endpoint]


def build(ctx: AppContext) -> SettingsTab:
    t = ctx.t
    saved, problems = load_settings(ctx.workspace.root)
    gr.Markdown(t("Saved in {path}; they apply at the next start. An option given on the "
                  "command line (--lang, --host, --port, --no-browser) still wins.",
                  path=f"`{settings_path(ctx.workspace.root)}`"))
    problems_md = gr.Markdown("\n\n".join(f"⚠️ {problem}" for problem in problems),
                              elem_id="settings-problems")
    with gr.Row():
        lang = gr.Dropdown(available_languages(), value=saved.lang, label=t("Language"),
                           elem_id="settings-lang",
                           info=t("The language of the whole UI."))
        host = gr.Textbox(value=saved.host, label=t("Address to listen on"),
                          elem_id="settings-host",
                          info=t("127.0.0.1: this computer only. Any other address asks for a "
                                 "login (a generated password is printed at the start)."))
        port = gr.Number(value=saved.port, precision=0, label=t("Port"),
                         elem_id="settings-port",
                         info=t("When it is busy, the next free port is used and printed."))
        open_browser = gr.Checkbox(value=saved.open_browser, label=t("Open the browser at the "
                                                                     "start"),
                                   elem_id="settings-browser",
                                   info=t("Off for a server without a screen."))
    theme_names = {"system": t("As the system"), "light": t("Light"), "dark": t("Dark")}
    theme = gr.Radio([(theme_names[name], name) for name in THEMES], value=saved.theme,
                     label=t("Colours"), elem_id="settings-theme",
                     info=t("Light or dark pages; \"As the system\" follows the computer's "
                            "setting."))
    train_precision = gr.Radio(list(TRAIN_PRECISIONS), value=saved.train_precision,
                               label=t("Training precision"), elem_id="settings-precision",
                               info=t("auto: bf16 where the card has it (RTX 30 series and "
                                      "newer), else fp16. The others force one on an NVIDIA "
                                      "GPU; the CPU always trains in fp32. Used from the "
                                      "next training on, no restart needed."))
    gr.Markdown("### " + t("Pretrained models"))
    with gr.Row():
        models_dir = gr.Textbox(
            value=saved.models_dir, label=t("Pretrained models folder"),
            elem_id="settings-models-dir",
            placeholder=str(ctx.workspace.root / "GPT_SoVITS" / "pretrained_models"),
            info=t("Empty: the workspace's own GPT_SoVITS/pretrained_models. To use the "
                   "models of a GPT-SoVITS install without downloading them again, give its "
                   "GPT_SoVITS/pretrained_models folder. Used from the next start."))
        hub_endpoint = gr.Textbox(
            value=saved.hub_endpoint, label=t("Download address"),
            elem_id="settings-hub-endpoint", placeholder="https://huggingface.co",
            info=t("Empty: the Hugging Face hub (or the HF_ENDPOINT variable). Give a "
                   "mirror's address when the hub cannot be reached from here; the download "
                   "button uses what is written here now."))
    models = models_section.build(ctx)
    save = gr.Button(t("Save settings"), variant="primary", elem_id="settings-save")
    status_md = gr.Markdown(elem_id="settings-status")
    if saved.theme != "system":
        ctx.app.load(None, js=theme_js(saved.theme))
    return SettingsTab(problems_md, lang, host, port, open_browser, theme, train_precision,
                       models_dir, hub_endpoint, save, status_md, models)


def theme_js(theme: str) -> str:
    """The page-load script that sets the saved colours, unless the address names its own
    (``?__theme=``); Gradio marks dark pages with the ``dark`` class on the body."""
    dark = "true" if theme == "dark" else "false"
    return ("() => { if (!new URLSearchParams(window.location.search).has('__theme')) "
            f"document.body.classList.toggle('dark', {dark}); }}")


def saved_message(ctx: AppContext, lang: str | None, host: str | None, port: float | None,
                  open_browser: bool, theme: str | None = "system",
                  train_precision: str | None = "auto", models_dir: str | None = "",
                  hub_endpoint: str | None = "") -> tuple[str, str]:
    """(the outcome, the problems line): saved, or what is wrong with a value (no toast)."""
    t = ctx.t
    try:
        whole = isinstance(port, (int, float)) and float(port).is_integer()
        wanted = LaunchSettings(lang=lang or "", host=(host or "").strip(),
                                port=int(port) if whole else port,  # type: ignore[arg-type]
                                open_browser=bool(open_browser), theme=theme or "system",
                                train_precision=train_precision or "auto",
                                models_dir=(models_dir or "").strip(),
                                hub_endpoint=(hub_endpoint or "").strip())
        path = save_settings(ctx.workspace.root, wanted)
    except (ValueError, OSError) as exc:
        return "❌ " + t("Not saved: {why}", why=str(exc)), gr.update()
    return "✅ " + t("Saved to {path}. Restart the app to use them.", path=f"`{path}`"), ""


def wire(tab: SettingsTab, ctx: AppContext) -> None:
    tab.save.click(lambda *values: saved_message(ctx, *values), inputs=tab.values(),
                   outputs=[tab.status_md, tab.problems_md], show_progress="hidden")
    models_section.wire(tab.models, ctx, tab.hub_endpoint)
