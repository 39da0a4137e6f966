"""The Inference tab in process: real Gradio components, the real engine on the tiny models.

Nothing is mocked but the browser: the handlers get the values the controls would send
(``tests/infer_fixtures.py`` builds tiny BERT/HuBERT folders; the GPT/SoVITS files are the
shared tiny fixtures), and a recording stand-in replaces ``gr.Progress``, which only reports
to a browser session.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.infer.history import SessionHistory, results_folder
from gsv_core.workspace import Workspace
from tabs.common import AppContext
from tabs.infer import run
from tabs.infer.sections.output import history_updates
from tests.infer_fixtures import REFERENCE_TEXT, infer_setup, write_voiced_wav  # noqa: F401

TEXT = "我们一起去公园吧。今天天气很不错。你好世界。"


def make_context(workspace: Workspace) -> AppContext:
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine(), workspace=workspace,
                      app=app)


@pytest.fixture(scope="module")
def setup(request):
    """The tiny workspace (``infer_setup`` from tests/infer_fixtures.py)."""
    return request.getfixturevalue("infer_setup")


@pytest.fixture(scope="module")
def ui(setup):
    """One app context and one runtime (one engine) for the module, as in a running app."""
    ctx = make_context(setup.workspace)
    runtime = run.InferRuntime(engine=run.EngineSlot(ctx), stops=run.StopRequests(),
                               results=results_folder())
    return ctx, runtime


class RecordingProgress:
    def __init__(self, on_call=None) -> None:
        self.calls: list[tuple[object, str]] = []
        self.on_call = on_call

    def __call__(self, fraction, desc: str = "") -> None:
        self.calls.append((fraction, desc))
        if self.on_call is not None:
            self.on_call()


def values(setup, **changes) -> list:
    """The control values in ``run.read_request``'s order (what the browser would send)."""
    fields = {"gpt": str(setup.gpt_path), "sovits": str(setup.sovits_path),
              "ref_audio": str(setup.reference_wav), "ref_clip": None,
              "ref_text": REFERENCE_TEXT, "ref_language": "all_zh", "prompt_free": False,
              "extra_audio": None, "text": TEXT, "text_language": "all_zh",
              "cut_method": "cut5", "top_k": 15, "top_p": 1.0, "temperature": 1.0,
              "repetition_penalty": 1.35, "speed": 1.0, "pause_s": 0.3, "seed": 7,
              "random_seed": False, "batch_size": None, "readings": "improved", **changes}
    return list(fields.values())


def generate(ui, setup, history=None, progress=None, **changes) -> dict:
    ctx, runtime = ui
    history = history or SessionHistory()
    result = run.generate(ctx, runtime, history, *values(setup, **changes),
                          progress=progress)
    message, audio, new_history, *slots = result
    assert len(slots) == len(history_updates(history, ctx.t))
    return {"message": message, "audio": audio, "history": new_history, "slots": slots}


def test_generate_renders_audio_and_records_it_in_the_history(ui, setup) -> None:
    progress = RecordingProgress()
    out = generate(ui, setup, progress=progress)
    assert out["message"].startswith("✅") and "seed 7" in out["message"]
    audio, rate = soundfile.read(out["audio"])
    assert rate == 32000 and len(audio) > 0.3 * rate
    entry = out["history"].entries[0]
    assert entry.text == TEXT and entry.seed == 7 and str(entry.audio_path) == out["audio"]
    assert ("top-k", "15") in entry.settings and ("split", "cut5") in entry.settings
    empty_note, first_text, first_audio, second_text, *_ = out["slots"]
    assert empty_note["visible"] is False
    assert first_text["visible"] and TEXT in first_text["value"]
    assert first_audio["value"] == out["audio"] and second_text["visible"] is False
    # progress says "segment i of n", ending at n of n
    descriptions = [desc for _, desc in progress.calls]
    count = progress.calls[-1][0][1]
    assert count == 3 and descriptions[-1] == f"Segment {count} of {count}"


def test_same_seed_same_audio_and_the_history_grows_newest_first(ui, setup) -> None:
    first = generate(ui, setup, text="你好世界。")
    second = generate(ui, setup, history=first["history"], text="你好世界。")
    assert [e.number for e in second["history"].entries] == [2, 1]
    a, _ = soundfile.read(first["audio"])
    b, _ = soundfile.read(second["audio"])
    assert (a == b).all()


def test_random_seed_reports_the_seed_it_used(ui, setup) -> None:
    out = generate(ui, setup, text="你好世界。", seed=None, random_seed=True)
    seed = out["history"].entries[0].seed
    assert seed >= 0 and f"seed {seed}" in out["message"]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"text": "  "}, "text"),
    ({"gpt": None}, "No model is picked"),
    ({"top_k": 0.5}, "top_k"),
    ({"text_language": "klingon"}, "klingon"),
    ({"top_p": None}, "top_p"),            # an emptied box: refused, not a silent default
    ({"speed": 9.0}, "speed"),
    ({"seed": 1.5}, "seed"),
])
def test_bad_input_is_one_error_message_and_keeps_the_result(ui, setup, changes,
                                                             expected) -> None:
    out = generate(ui, setup, **changes)
    assert out["message"].startswith("❌") and expected in out["message"]
    assert "➡️" in out["message"]  # the advice: what to change
    assert out["audio"] == {"__type__": "update"} and out["history"].entries == ()


def test_a_reference_outside_3_to_10_s_names_its_length(ui, setup, tmp_path) -> None:
    short = write_voiced_wav(tmp_path / "short.wav", 1.5)
    out = generate(ui, setup, ref_audio=str(short))
    assert out["message"].startswith("❌") and "1.5" in out["message"]


def test_a_dataset_clip_is_the_reference_when_nothing_is_uploaded(ui, setup) -> None:
    out = generate(ui, setup, ref_audio=None, ref_clip=str(setup.reference_wav),
                   text="你好世界。")
    assert out["message"].startswith("✅")
    out = generate(ui, setup, ref_audio=None, ref_clip=None)
    assert out["message"].startswith("❌") and "reference" in out["message"].lower()


def test_stop_ends_a_long_render_after_the_current_segment(ui, setup) -> None:
    _, runtime = ui
    progress = RecordingProgress()
    progress.on_call = lambda: (run.stop(runtime) if progress.calls[-1][1].startswith("Segment")
                                else None)  # "Stop" pressed once segment 1 is done
    out = generate(ui, setup, progress=progress)
    assert out["message"].startswith("⏹")
    assert [desc for _, desc in progress.calls][-1] == "Segment 1 of 3"  # 2 and 3 never ran
    full = generate(ui, setup)  # the next request starts with the flag cleared
    assert full["message"].startswith("✅")
    stopped_len = soundfile.info(out["audio"]).frames
    assert stopped_len < soundfile.info(full["audio"]).frames


def test_stream_yields_chunks_then_the_whole_result_in_the_history(ui, setup) -> None:
    ctx, runtime = ui
    steps = list(run.stream(ctx, runtime, SessionHistory(), *values(setup)))
    chunks = [step[1] for step in steps if isinstance(step[1], tuple)]
    assert len(chunks) >= 3  # at least one chunk per segment
    # int16, so Gradio need not convert (and warn) on the way to the browser
    assert all(rate == 32000 and len(audio) > 0 and audio.dtype == "int16"
               for rate, audio in chunks)
    message, live, result, history, *slots = steps[-1]
    assert message.startswith("✅") and live is None
    assert history.entries[0].audio_path == Path(result)
    assert ("batch", "1") in history.entries[0].settings  # chunks decode one segment at a time
    total = sum(len(audio) for _, audio in chunks)
    assert soundfile.info(result).frames == total
    assert slots[1]["visible"] and TEXT in slots[1]["value"]


def test_stream_shows_errors_in_the_message(ui, setup) -> None:
    ctx, runtime = ui
    steps = list(run.stream(ctx, runtime, SessionHistory(), *values(setup, text="")))
    assert steps[-1][0].startswith("❌") and "➡️" in steps[-1][0]
    assert all(step[1] is None for step in steps)  # no audio was streamed


def test_the_engine_is_made_once_on_first_use(ui) -> None:
    ctx, _ = ui
    slot = run.EngineSlot(ctx)
    assert slot._engine is None  # building the tab made no engine
    assert slot.get() is slot.get()


def test_the_batch_size_reaches_the_engine_clamped_by_its_rule(ui, setup) -> None:
    from gsv_core.infer.options import batch_size_limit

    ctx, _ = ui
    maximum = int(batch_size_limit(ctx.profile, "cpu").max)
    assert run.read_request(ctx, *values(setup, batch_size=2)).options.batch_size == 2
    assert run.read_request(ctx, *values(setup, batch_size=maximum + 7)).options.batch_size == (
        maximum)
    assert run.read_request(ctx, *values(setup)).options.batch_size == maximum  # the default
    out = generate(ui, setup, batch_size=1)
    assert out["message"].startswith("✅")
    assert ("batch", "1") in out["history"].entries[0].settings


PROFILES = ["NVIDIA GeForce RTX 4090:24;NVIDIA GeForce RTX 3060:12", "NVIDIA GTX 1050:4",
            "NVIDIA H200:141"]


@pytest.mark.parametrize("spec", PROFILES)
@pytest.mark.parametrize("device", ["cuda:0", "cuda:1", "cuda:7", "cpu", "mps"])
def test_the_tabs_batch_limit_is_the_engines_without_making_one(fake_gpu, spec: str,
                                                                device: str) -> None:
    """The tab reads the rule before any engine exists; it must be the rule the engine uses
    (``InferenceEngine.batch_limit``) for the same machine and device."""
    from dataclasses import replace

    from gsv_core.infer.engine import InferenceEngine
    from gsv_core.infer.options import batch_size_limit

    fake_gpu(spec)
    for profile in (detect_machine(), replace(detect_machine(), ram_gb=8)):
        # fp32, so building an engine for a CUDA device reads nothing from a GPU
        engine = InferenceEngine(Workspace(Path("unused")), device=device, precision="fp32",
                                 profile=profile)
        for requested in (None, 2, 99, 0):
            assert batch_size_limit(profile, device, requested) == engine.batch_limit(
                requested), (device, requested)


def test_the_readings_choice_reaches_the_engine_and_the_history(ui, setup) -> None:
    text = "电池5000mAh。"
    upstream = generate(ui, setup, text=text, readings="upstream")
    improved = generate(ui, setup, history=upstream["history"], text=text,
                        readings="improved")
    assert upstream["message"].startswith("✅") and improved["message"].startswith("✅")
    entries = improved["history"].entries
    assert ("readings", "improved") in entries[0].settings
    assert ("readings", "upstream") in entries[1].settings
    # same seed, other phones ("五千毫安时" instead of "五零零零"): other audio
    assert not np.array_equal(soundfile.read(improved["audio"])[0],
                              soundfile.read(upstream["audio"])[0])
