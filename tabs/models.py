"""The pretrained-model manager on the Settings tab: each model present or the exact files
missing, the folder to drop files into, and a download with progress and a stop button.

Layout and events only: which files are needed is ``gsv_core.models.registry``, fetching
them ``gsv_core.models.download``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from gsv_core.errors import GsvError
from gsv_core.i18n import Translator
from gsv_core.models.download import DownloadRun, DownloadStopped, download_missing
from gsv_core.models.registry import HF_REPO, pretrained_status
from gsv_core.settings import setting_problem
from gsv_core.workspace import Workspace
from tabs.common import AppContext, error_markdown

MB = 1024 * 1024


@dataclass
class ModelsSection:
    models_md: gr.Markdown
    download: gr.Button
    stop: gr.Button
    download_md: gr.Markdown


def models_markdown(workspace: Workspace, t: Translator) -> str:
    """Each pretrained model: present, or the exact files that are missing."""
    lines = [t("Pretrained models in {folder}:", folder=f"`{workspace.pretrained_dir}`"), ""]
    for status in pretrained_status(workspace):
        if status.present:
            lines.append(f"- ✅ {t(status.model.title)}")
        else:
            missing = ", ".join(f"`{path}`" for path in status.missing)
            lines.append(f"- ⚠️ {t(status.model.title)}: {t('missing')} {missing}")
    return "\n".join(lines)


def download_models(ctx: AppContext, run: DownloadRun, endpoint: str | None,
                    progress: gr.Progress) -> tuple[str, str]:
    """Fetch every missing pretrained file, with the bytes of each file as progress.

    ``endpoint`` is the download address box as it is now ("" = the default hub); a wrong
    one is said in the result line, never as an error pop-up.
    """
    t = ctx.t
    endpoint = (endpoint or "").strip()
    why = setting_problem("hub_endpoint", endpoint, ctx.workspace.root)
    if why is not None:
        return models_markdown(ctx.workspace, t), "❌ " + t("Not downloaded: the download "
                                                          "address {why}.", why=why)
    missing = [path for status in pretrained_status(ctx.workspace) for path in status.missing]
    if not missing:
        return models_markdown(ctx.workspace, t), t("Every pretrained model is present.")
    if not run.begin():
        return models_markdown(ctx.workspace, t), t("A download is already running (in "
                                                    "another window?); wait for it or stop "
                                                    "it there.")
    started: list[str] = []

    def on_bytes(repo_path: str, done: int, total: int | None) -> None:
        place = t("file {n} of {count}", n=len(started), count=len(missing))
        desc = t("Downloading {file} ({place}): {done} of {total} MB", file=repo_path,
                 place=place, done=round(done / MB), total=round(total / MB) if total else "?")
        progress(done / total if total else None, desc=desc)

    try:
        download_missing(ctx.workspace, on_file=started.append, on_bytes=on_bytes,
                         should_stop=run.should_stop, endpoint=endpoint or None)
    except DownloadStopped as stopped:
        return models_markdown(ctx.workspace, t), "⏹️ " + t(
            "Stopped before {file} was complete. Press download again to go on; the "
            "finished files are kept.", file=stopped.repo_path)
    except GsvError as error:  # offline, or a file missing on the hub: say which and why
        return models_markdown(ctx.workspace, t), error_markdown(error, t)
    finally:
        run.end()
    return models_markdown(ctx.workspace, t), "✅ " + t(
        "Downloaded {n} files from {repo}.", n=len(missing), repo=HF_REPO)


def stop_download(ctx: AppContext, run: DownloadRun) -> str:
    if run.stop():
        return ctx.t("Stopping the download…")
    return ctx.t("No download is running.")


def build(ctx: AppContext) -> ModelsSection:
    t = ctx.t
    models_md = gr.Markdown(models_markdown(ctx.workspace, t), elem_id="settings-models")
    gr.Markdown(t("Missing files can also be copied by hand into that folder, under the "
                  "names shown (as in a GPT-SoVITS install). Downloads come from {repo} only "
                  "when you press the button; nothing else goes online.", repo=HF_REPO))
    with gr.Row():
        download = gr.Button(t("Download missing pretrained models"), variant="secondary",
                             elem_id="settings-download")
        stop = gr.Button(t("Stop the download"), variant="stop", elem_id="settings-download-stop")
    download_md = gr.Markdown(elem_id="settings-download-status")
    return ModelsSection(models_md, download, stop, download_md)


def wire(section: ModelsSection, ctx: AppContext, endpoint_box: gr.Textbox) -> None:
    run = DownloadRun()

    def download(endpoint: str | None,
                 progress: gr.Progress = gr.Progress()) -> tuple[str, str]:  # noqa: B008
        return download_models(ctx, run, endpoint, progress)

    section.download.click(download, inputs=[endpoint_box],
                           outputs=[section.models_md, section.download_md])
    section.stop.click(lambda: stop_download(ctx, run), outputs=[section.download_md],
                       show_progress="hidden")
