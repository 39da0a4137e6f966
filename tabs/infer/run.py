"""The Inference tab's handlers: turn the control values into a request, run it, show the result.

The engine is heavy (torch, the models), so the app makes one on the first request and keeps
it (``EngineSlot``); building the app imports no torch. Requests of all sessions share that
engine, so the events run one at a time (one queue: ``ENGINE_QUEUE``). A stop request is
kept per browser session (``StopRequests``) and polled by the engine between segments.

Every failure the library names (a ``GsvError``) is shown as the tab's one error message
(``error_markdown``), never as a Gradio toast.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np

from gsv_core.errors import GsvError, ModelMissing
from gsv_core.i18n import Translator
from gsv_core.infer.history import SessionHistory, record
from gsv_core.infer.lazy import LazyEngine
from tabs.common import AppContext, StopRequests, error_markdown  # StopRequests re-exported
from tabs.infer.sections.output import history_updates
from tabs.infer.sections.sampling import batch_limit, engine_device, seed_value

if TYPE_CHECKING:
    from gsv_core.infer.engine import InferenceEngine
    from gsv_core.infer.options import InferenceOptions, Reference

log = logging.getLogger(__name__)

ENGINE_QUEUE = "gsv-inference"  # Gradio concurrency id shared by every event using the engine
# Stream button: chunks within each segment (upstream's mode 2), so the first sound comes
# before the first segment is fully decoded.
STREAMING_MODE = 2


class EngineSlot(LazyEngine):
    """The app's one ``InferenceEngine``, created on first use (thread-safe)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(lambda: _new_engine(ctx))


def _new_engine(ctx: AppContext) -> InferenceEngine:
    from gsv_core.infer.engine import InferenceEngine

    # The device the batch size control was built for (sampling.batch_limit).
    return InferenceEngine(ctx.workspace, device=engine_device(ctx.profile))


@dataclass
class InferRuntime:
    """What the handlers share in one app: the engine, the stop requests, the result folder."""

    engine: EngineSlot
    stops: StopRequests
    results: Path
    history_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Request:
    """One synthesis request, read from the control values."""

    gpt: Path
    sovits: Path
    reference: Reference
    text: str
    options: InferenceOptions


def _paths(files: object) -> tuple[Path, ...]:
    if not files:
        return ()
    items = files if isinstance(files, list | tuple) else [files]
    return tuple(Path(getattr(item, "name", item)) for item in items)


def whole(value: float | None) -> int | float | None:
    """A typed whole number as an int; anything else unchanged, for validate() to refuse."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def read_request(ctx: AppContext, gpt: str | None, sovits: str | None, ref_audio: str | None,
                 ref_clip: str | None, ref_text: str, ref_language: str, prompt_free: bool,
                 extra_audio: object, text: str, text_language: str, cut_method: str,
                 top_k: float | None, top_p: float | None, temperature: float | None,
                 repetition_penalty: float | None, speed: float | None,
                 pause_s: float | None, seed: float | None, random_seed: bool,
                 batch_size: float | None = None, readings: str = "improved") -> Request:
    """The control values as a validated request (``GsvError`` naming what to change).

    ``batch_size`` is clamped by the guideline rule the engine applies (None: its default),
    so the request, and the history, hold the batch size the engine will use.
    """
    from gsv_core.infer.options import InferenceOptions, Reference

    t = ctx.t

    if not gpt or not sovits:
        raise ModelMissing(t("No model is picked."),
                           t("Pick a GPT and a SoVITS model above; if the lists are empty, "
                             "put weight files in the folders named there or download the "
                             "official pretrained models on the Settings tab."))
    audio = ref_audio or ref_clip
    reference = Reference(audio_path=Path(audio) if audio else None, text=ref_text or "",
                          language=ref_language, extra_audio_paths=_paths(extra_audio),
                          prompt_free=bool(prompt_free))

    def typed(value: float | None) -> float:
        # An emptied box reaches validate() as NaN, refused there with the field's range
        # (a silent default would render something other than what the page shows).
        return float("nan") if value is None else value

    options = InferenceOptions(
        text_language=text_language, cut_method=cut_method, top_k=whole(top_k),
        top_p=typed(top_p), temperature=typed(temperature),
        repetition_penalty=typed(repetition_penalty), speed=typed(speed),
        fragment_interval_s=typed(pause_s), seed=seed_value(seed, random_seed),
        batch_size=int(batch_limit(ctx.profile, batch_size).value), readings=readings)
    return Request(Path(gpt), Path(sovits), reference.validate(), text or "",
                   options.validate())


def settings_of(request: Request, t: Translator) -> dict[str, object]:
    """What the history shows beside a result: enough to reproduce it."""
    options = request.options
    return {t("GPT"): request.gpt.name, t("SoVITS"): request.sovits.name,
            t("language"): options.text_language, t("split"): options.cut_method,
            t("top-k"): options.top_k, t("top-p"): options.top_p,
            t("temperature"): options.temperature,
            t("repetition penalty"): options.repetition_penalty,
            t("speed"): options.speed, t("pause"): f"{options.fragment_interval_s:g} s",
            # batches share one random generator, so the batch size is part of the recipe
            t("batch"): options.batch_size, t("readings"): options.readings}


def _load(runtime: InferRuntime, request: Request) -> InferenceEngine:
    engine = runtime.engine.get()
    engine.load_gpt(request.gpt)      # the same file as last time: no work
    engine.load_sovits(request.sovits)
    return engine


def unexpected_markdown(exc: Exception, t: Translator) -> str:
    log.exception("inference failed")
    return "❌ " + t("Unexpected error: {error}. The console log has the details.",
                     error=f"{type(exc).__name__}: {exc}")


def _session(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or "no-session"


def _finish(runtime: InferRuntime, history: SessionHistory, audio: np.ndarray,
            sample_rate: int, seed: int, request: Request,
            t: Translator) -> tuple[str, str, SessionHistory, list[dict]]:
    with runtime.history_lock:
        history = record(history, audio, sample_rate, request.text,
                         settings_of(request, t), seed, runtime.results)
    entry = history.entries[0]
    message = "✅ " + t("{duration} s of audio, seed {seed}.",
                        duration=f"{entry.duration_s:.1f}", seed=seed)
    return message, str(entry.audio_path), history, history_updates(history, t)


def generate(ctx: AppContext, runtime: InferRuntime, history: SessionHistory, *values: Any,
             request: gr.Request | None = None,
             progress: gr.Progress | None = None) -> tuple:
    """Whole render: (message, result audio, history, *history slots)."""
    t = ctx.t
    session = _session(request)
    runtime.stops.clear(session)
    unchanged = (gr.update(), history, *[gr.update()] * len(history_updates(history, t)))
    try:
        parsed = read_request(ctx, *values)
        if progress is not None:
            progress(0, desc=t("Loading the models…"))
        engine = _load(runtime, parsed)

        def on_segment(done: int, count: int) -> None:  # called after segment ``done``
            if progress is not None:
                progress((done, count), desc=t("Segment {i} of {n}", i=done, n=count))

        synthesis = engine.synthesize(parsed.reference, parsed.text, parsed.options,
                                      progress=on_segment,
                                      should_stop=runtime.stops.checker(session))
    except GsvError as exc:
        return (error_markdown(exc, t), *unchanged)
    except Exception as exc:  # shown instead of a toast, and logged
        return (unexpected_markdown(exc, t), *unchanged)
    stopped = runtime.stops.checker(session)()
    runtime.stops.clear(session)
    message, path, history, slots = _finish(runtime, history, synthesis.audio,
                                            synthesis.sample_rate, synthesis.seed, parsed, t)
    if stopped:  # the engine returns what it rendered before the stop
        message = "⏹ " + t("Stopped: the segments rendered so far are below.")
    return (message, path, history, *slots)


def stream(ctx: AppContext, runtime: InferRuntime, history: SessionHistory, *values: Any,
           request: gr.Request | None = None) -> Iterator[tuple]:
    """Streamed render: yields (message, live chunk, result, history, *history slots)."""
    t = ctx.t
    session = _session(request)
    runtime.stops.clear(session)
    slot_count = len(history_updates(history, t))
    keep = [gr.update()] * slot_count
    chunks: list[np.ndarray] = []
    try:
        parsed = read_request(ctx, *values)
        yield ("⏳ " + t("Loading the models…"), None, gr.update(), history, *keep)
        engine = _load(runtime, parsed)
        from gsv_core.infer.audio_io import to_int16
        # A chunk does not carry the seed, so a random one is drawn here, to be shown; the
        # stream decodes one segment at a time (the engine's rule for chunked modes), which
        # the history then states.
        options = replace(parsed.options.with_seed_drawn(), streaming_mode=STREAMING_MODE,
                          batch_size=1)
        parsed = replace(parsed, options=options)
        seed = options.seed
        sample_rate = 0
        for chunk in engine.stream(parsed.reference, parsed.text, options,
                                   should_stop=runtime.stops.checker(session)):
            sample_rate = chunk.sample_rate
            chunks.append(chunk.audio)
            yield ("⏳ " + t("Segment {i} of {n}", i=chunk.segment_index + 1,
                             n=chunk.segment_count),
                   (chunk.sample_rate, to_int16(chunk.audio)), gr.update(), history, *keep)
    except GsvError as exc:
        yield (error_markdown(exc, t), None, gr.update(), history, *keep)
        return
    except Exception as exc:  # shown instead of a toast, and logged
        yield (unexpected_markdown(exc, t), None, gr.update(), history, *keep)
        return
    if runtime.stops.checker(session)():
        runtime.stops.clear(session)
        yield ("⏹ " + t("Stopped."), None, gr.update(), history, *keep)
        return
    if not chunks:
        return
    message, path, history, slots = _finish(runtime, history, np.concatenate(chunks),
                                            sample_rate, seed, parsed, t)
    yield (message, None, path, history, *slots)


def stop(runtime: InferRuntime, request: gr.Request | None = None) -> None:
    runtime.stops.request(_session(request))
