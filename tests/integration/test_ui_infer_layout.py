"""The Inference tab's layout and model lists, in process (no models loaded, no torch).

The GPUs are simulated (GSV_FAKE_GPU); the weight files are empty stand-ins, since listing
them reads only names and times.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gradio as gr

from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.workspace import Workspace
from tabs import infer
from tabs.common import AppContext

GPU = "NVIDIA GeForce RTX 4090:24"
# Components that take input but cannot carry info= in Gradio (the label or a note says it).
NO_INFO_TYPES = {"audio", "file", "button", "state", "markdown", "accordion"}


def context(workspace: Workspace) -> AppContext:
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine(), workspace=workspace,
                      app=app)


def touch(path: Path, modified_s: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (modified_s, modified_s))


def test_every_inference_control_has_info(fake_gpu, tmp_path) -> None:
    import webui

    fake_gpu(GPU)
    config = webui.build_app(workspace=tmp_path / "ws").get_config_file()
    controls = [c for c in config["components"]
                if str(c["props"].get("elem_id", "")).startswith(("infer-", "ref-", "text-"))
                and c["type"] not in NO_INFO_TYPES and c["props"].get("visible") is not False]
    assert len(controls) >= 16
    missing = [c["props"]["elem_id"] for c in controls if not c["props"].get("info")]
    assert missing == []


def test_empty_workspace_says_where_models_go(fake_gpu, tmp_path) -> None:
    fake_gpu(GPU)
    ws = Workspace(tmp_path / "ws")
    gpt, sovits, notice = infer.refresh(context(ws))
    assert gpt["choices"] == [] and gpt["value"] is None and sovits["choices"] == []
    assert str(ws.gpt_weights_dir) in notice and str(ws.sovits_weights_dir) in notice
    assert "Settings tab" in notice
    touch(ws.gpt_weights_dir / "a-e1.ckpt", 1)
    touch(ws.sovits_weights_dir / "a_e1_s5.pth", 1)
    assert infer.refresh(context(ws))[2] == ""


def test_model_lists_group_experiments_and_refresh_keeps_the_pick(fake_gpu, tmp_path) -> None:
    fake_gpu(GPU)
    ws = Workspace(tmp_path / "ws")
    touch(ws.gpt_weights_dir / "alice-e2.ckpt", 10)
    touch(ws.gpt_weights_dir / "alice-e10.ckpt", 20)
    touch(ws.gpt_weights_dir / "bob-e1.ckpt", 30)
    touch(ws.pretrained_v2_dir / "s2G2333k.pth", 40)
    ctx = context(ws)
    gpt, sovits, _ = infer.refresh(ctx)
    assert [label for label, _ in gpt["choices"]] == [
        "bob · epoch 1 (bob-e1.ckpt)", "alice · epoch 10 (alice-e10.ckpt)",
        "alice · epoch 2 (alice-e2.ckpt)"]
    assert gpt["value"] == str(ws.gpt_weights_dir / "bob-e1.ckpt")  # the newest by default
    assert sovits["choices"] == [("Official pretrained (s2G2333k.pth)",
                                  str(ws.pretrained_v2_dir / "s2G2333k.pth"))]
    picked = str(ws.gpt_weights_dir / "alice-e2.ckpt")
    touch(ws.gpt_weights_dir / "carol-e5.ckpt", 50)  # trained meanwhile: listed first
    gpt, _, _ = infer.refresh(ctx, picked, None)
    assert gpt["choices"][0][0] == "carol · epoch 5 (carol-e5.ckpt)" and gpt["value"] == picked


def test_picking_a_dataset_clip_fills_its_text_and_language(fake_gpu, tmp_path) -> None:
    from tabs.infer.sections import reference

    fake_gpu(GPU)
    ws = Workspace(tmp_path / "ws").create()
    touch(ws.slicer_dir / "a.wav", 1)
    (ws.asr_dir / "slicer_opt.list").write_text(
        f"{ws.slicer_dir / 'a.wav'}|spk|JA|こんにちは\n", encoding="utf-8")
    ctx = context(ws)
    assert [value for _, value in reference.refresh(ctx)[0]["choices"]] == [
        str(ws.slicer_dir / "a.wav")]
    text, language = reference.pick_clip(ctx, str(ws.slicer_dir / "a.wav"))
    assert (text["value"], language["value"]) == ("こんにちは", "all_ja")


def test_an_exported_emotion_reference_is_offered_and_fills_the_reference(fake_gpu,
                                                                         tmp_path) -> None:
    """The Emotion tab's export beside an asr_opt list: its candidates are offered by
    emotion, its variant lists are not listed again as dataset clips."""
    from gsv_core.emotion.export import export_emotions
    from gsv_core.emotion.results import LABELS, EmotionRow, results_path, write_results
    from tabs.infer.sections import reference
    from tests.infer_fixtures import write_voiced_wav

    fake_gpu(GPU)
    ws = Workspace(tmp_path / "ws").create()
    clips = [write_voiced_wav(ws.slicer_dir / f"{name}.wav", seconds, 16_000)
             for name, seconds in (("a", 4.0), ("b", 5.0))]
    list_path = ws.asr_dir / "voice.list"
    list_path.write_text("".join(f"{clip}|spk|ZH|第{i}句。\n" for i, clip in enumerate(clips)),
                         encoding="utf-8")
    scores = tuple(0.9 if label == "happy" else 0.0125 for label in LABELS)
    write_results(results_path(list_path), [EmotionRow(str(clip), "happy", 0.9, scores)
                                            for clip in clips])
    export_emotions(list_path)
    ctx = context(ws)
    clips_update, emotions_update = reference.refresh(ctx)
    assert [value for _, value in clips_update["choices"]] == [str(c) for c in clips]
    offered = emotions_update["choices"]
    assert [value for _, value in offered] == [str(c) for c in clips]
    assert offered[0][0].startswith("happy · a.wav (0.90) — 第0句。")
    clip, text, language = reference.pick_emotion(ctx, str(clips[1]))
    assert (clip["value"], text["value"], language["value"]) == (str(clips[1]), "第1句。",
                                                                 "all_zh")


def test_the_results_folder_goes_with_the_app_and_a_killed_apps_at_the_next_start(
        tmp_path, monkeypatch) -> None:
    """Stopping the app (SIGTERM, as Ctrl+C) deletes its result files; a killed app cannot,
    so the next start deletes them (its owner is gone)."""
    from gsv_core.infer.history import RESULTS_PREFIX
    from tests.browser.conftest import start_app, stop_app

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # where tempfile puts the app's folder

    def folders_of(pid: int) -> list[Path]:
        return [folder for folder in temp.glob(RESULTS_PREFIX + "*")
                if json.loads((folder / "owner.json").read_text())["pid"] == pid]

    killed, _ = start_app(GPU, tmp_path / "ws", tmp_path / "killed.log")
    killed.kill()
    killed.wait()
    [left_behind] = folders_of(killed.pid)
    app, _ = start_app(GPU, tmp_path / "ws", tmp_path / "app.log")
    try:
        assert not left_behind.exists()
        assert len(folders_of(app.pid)) == 1
    finally:
        stop_app(app)
    assert list(temp.glob(RESULTS_PREFIX + "*")) == [], (tmp_path / "app.log").read_text()


def release_handlers(app: gr.Blocks) -> dict[str, object]:
    """elem_id → the handler its slider's ``release`` runs (what the browser calls)."""
    config = app.get_config_file()
    ids = {c["id"]: c["props"].get("elem_id") for c in config["components"]}
    return {ids[target]: app.fns[d["id"]].fn for d in config["dependencies"]
            for target, event in d["targets"] if event == "release" and ids.get(target)}


def test_a_value_typed_outside_a_slider_shows_the_value_used_and_says_why(
        fake_gpu, tmp_path) -> None:
    """The browser sends the typed 5 with the release, then clamps its box to 1, and every
    later event reads 1 (tests/browser/test_infer_tab.py): the box shows 1 with a note."""
    import webui

    fake_gpu(GPU)
    handlers = release_handlers(webui.build_app(workspace=tmp_path / "ws"))
    temperature = handlers["infer-temperature"]
    hot = temperature(5)
    assert hot["value"] == 1 and hot["info"].startswith("⚠️ 5 → 1:")
    assert "0.05 to 1" in hot["info"]
    fine = temperature(0.7)  # in range: the note goes, the value is left alone
    assert "value" not in fine and fine["info"] == "Lower is steadier, higher is livelier."
    emptied = temperature(None)  # the browser's box then shows its minimum
    assert emptied["value"] == 0.05 and emptied["info"].startswith("⚠️ empty → 0.05:")
    assert handlers["infer-speed"](3)["value"] == 1.65
    assert handlers["infer-pause"](-1)["value"] == 0
    assert handlers["infer-top-k"](500)["value"] == 100
    assert handlers["infer-top-p"](0.5)["info"].startswith("Sample from")


def test_the_batch_size_is_governed_by_the_rule_for_the_engines_device(
        fake_gpu, tmp_path) -> None:
    """Simulated cards run the engine on the CPU, so the CPU row of the rule (H-2) binds;
    the engine is not made to read it."""
    import webui
    from gsv_core.infer.options import batch_size_limit

    fake_gpu(GPU)
    built = webui.build_ui(workspace=tmp_path / "ws")
    config = built.app.get_config_file()
    [batch] = [c for c in config["components"] if c["props"].get("elem_id") == "infer-batch"]
    limit = batch_size_limit(detect_machine(), "cpu")
    assert batch["props"]["maximum"] == limit.max and batch["props"]["minimum"] == 1
    assert "[H-2]" in batch["props"]["info"]
    slider, fixed = release_handlers(built.app)["infer-batch"](limit.max + 50)
    assert slider["value"] == limit.max and fixed["visible"] is False
    assert f"{limit.max + 50} → {limit.max} (clamped)" in slider["info"]
    assert release_handlers(built.app)["infer-batch"](None)[0]["value"] == limit.default
    assert built.inference_engine.__self__._engine is None  # no engine was made
