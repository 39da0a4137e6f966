"""The A/B handler: render the ticked epochs with one seed and fill the players.

``gsv_core.infer.ab.render_epochs`` does the work (it swaps the SoVITS weights and keeps the
GPT); this module reads the controls, picks the one seed when "random" is ticked, writes
each render where the browser can play it and labels it with its epoch and loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from gsv_core.errors import ConfigError, GsvError
from gsv_core.i18n import Translator
from gsv_core.infer.history import discard, write_result
from tabs.common import AppContext, error_markdown
from tabs.infer.run import InferRuntime, read_request, unexpected_markdown
from tabs.infer.sections.compare import AB_SLOTS


def epoch_label(epoch: int | None, loss: float | None, name: str, t: Translator) -> str:
    if epoch is None:
        return name
    if loss is None:
        return t("Epoch {epoch}", epoch=epoch)
    return t("Epoch {epoch} · loss {loss}", epoch=epoch, loss=f"{loss:.3g}")


def render(ctx: AppContext, runtime: InferRuntime, shown: list[str] | None,
           checkpoints: list[str] | None, *values: Any,
           progress: gr.Progress | None = None) -> tuple:
    """(message, files now shown, *player updates for ``AB_SLOTS`` players).

    ``shown`` are the files of this session's previous comparison; a new one replaces them
    (and deletes them), so repeated comparisons do not fill the disk.
    """
    t = ctx.t
    hidden = [gr.update(value=None, visible=False)] * AB_SLOTS
    shown = list(shown or [])
    try:
        picked = [Path(path) for path in checkpoints or []]
        if not 1 <= len(picked) <= AB_SLOTS:
            raise ConfigError(t("{n} epochs are ticked.", n=len(picked)),
                              t("Tick between 1 and {max} epochs to compare.", max=AB_SLOTS))
        parsed = read_request(ctx, *values)
        from gsv_core.infer.ab import render_epochs

        options = parsed.options.with_seed_drawn()
        engine = runtime.engine.get()
        engine.load_gpt(parsed.gpt)

        def on_epoch(done: int, count: int) -> None:
            if progress is not None:
                progress((done, count), desc=t("Epoch {i} of {n}", i=done, n=count))

        renders = render_epochs(engine, picked, parsed.reference, parsed.text, options,
                                progress=on_epoch)
    except GsvError as exc:
        return (error_markdown(exc, t), shown, *[gr.update()] * AB_SLOTS)
    except Exception as exc:  # shown instead of a toast, and logged
        return (unexpected_markdown(exc, t), shown, *[gr.update()] * AB_SLOTS)
    discard(Path(path) for path in shown)
    players, files = [], []
    for item in renders:
        path = write_result(item.synthesis.audio, item.synthesis.sample_rate, runtime.results,
                            f"ab-{item.checkpoint.stem}-")
        files.append(str(path))
        players.append(gr.update(value=str(path), visible=True,
                                 label=epoch_label(item.epoch, item.loss, item.checkpoint.name,
                                                   t)))
    message = "✅ " + t("{n} epochs rendered with seed {seed}.", n=len(renders), seed=options.seed)
    return (message, files, *players, *hidden[len(players):])
