"""The Dataset tab's handlers on generated WAVs, in process (no browser): proofreading,
the quality report feeding the summary fields, and the slicer.

Every handler is the one the tab wires; the files are real (soundfile), so each test checks
what is on disk after the edit, the way a reload would see it.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import soundfile
from matplotlib.figure import Figure

from gsv_core.dataset.proofread import ProofreadSession
from gsv_core.dataset.review_store import review_path
from gsv_core.dataset.ui_support import field_sources, list_files, reviewed_percent
from gsv_core.hardware import detect_machine
from gsv_core.i18n import Translator
from gsv_core.workspace import Workspace
from tabs import dataset
from tabs.common import AppContext
from tabs.dataset import proofread, quality, slicer
from tests.unit.test_quality import RATE, speech_like

ROW_PARTS = 7      # ClipRow.outputs
HEAD = 5           # message, progress, page, page label, names


def make_list(folder: Path, count: int, *, clipped: int | None = None) -> Path:
    """``voice.list`` over ``count`` 3 s clips (absolute paths); clip ``clipped`` is clipped."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for number in range(count):
        audio = speech_like(3.0, number)
        if number == clipped:
            audio[RATE:RATE + 200] = 1.0   # 200 samples at full scale: clipped, as loud
        path = folder / f"clip_{number:02d}.wav"
        soundfile.write(path, audio, RATE, subtype="PCM_16")
        lines.append(f"{path}|voice|EN|Sentence number {number}.")
    list_path = folder / "voice.list"
    list_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list_path


@pytest.fixture
def ctx(fake_gpu, tmp_path: Path) -> AppContext:
    fake_gpu("NVIDIA GeForce RTX 4090:24")
    with gr.Blocks() as app:
        pass
    return AppContext(t=Translator("en_US"), profile=detect_machine(),
                      workspace=Workspace(tmp_path / "ws"), app=app)


def rows(result: tuple) -> list[dict]:
    """Each row's updates as a dict (group, audio, text, language, reviewed, split...)."""
    names = ("group", "audio", "text", "language", "reviewed", "split_at", "second_text")
    body = result[HEAD:HEAD + proofread.PAGE_SIZE * ROW_PARTS]
    assert len(body) == proofread.PAGE_SIZE * ROW_PARTS
    return [dict(zip(names, body[i:i + ROW_PARTS], strict=True))
            for i in range(0, len(body), ROW_PARTS)]


def test_the_tab_finds_the_lists_of_the_workspace(ctx: AppContext) -> None:
    assert list_files(ctx.workspace) == []   # no output folders yet: nothing, no error
    made = make_list(ctx.workspace.asr_dir / "voice", 1)
    assert list_files(ctx.workspace) == [made]


def test_opening_a_list_shows_its_first_page_and_its_share_reviewed(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 12)
    result = proofread.opened(ctx, proofread.ProofreadRuntime(), str(list_path), 1, {})
    page, measured, reviewed_box = result[:-2], result[-2], result[-1]
    shown = rows(page)
    assert [row["group"]["visible"] for row in shown] == [True] * proofread.PAGE_SIZE
    assert shown[0]["text"]["value"] == "Sentence number 0."
    rate, samples = shown[0]["audio"]["value"]
    assert rate == RATE and len(samples) == 3 * RATE
    assert page[4] == [f"clip_{n:02d}.wav" for n in range(10)]   # the names the rows carry
    assert "0 of 12 reviewed" in page[1]
    assert "Page 1 of 2" in page[3]
    assert measured["reviewed_pct"] == 0.0 and reviewed_box["value"] == 0.0

    second = rows(proofread.show_page(ctx, proofread.ProofreadRuntime(), str(list_path), 2))
    assert [row["group"]["visible"] for row in second][:3] == [True, True, False]


def test_edits_and_marks_are_on_disk_at_once(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 3)
    runtime = proofread.ProofreadRuntime()
    names = [f"clip_{n:02d}.wav" for n in range(3)]
    message = proofread.edit_clip(ctx, runtime, 1, str(list_path), 1, names,
                                  "An edited sentence.", None)
    assert message.startswith("✅")
    assert proofread.edit_clip(ctx, runtime, 1, str(list_path), 1, names,
                               "An edited sentence.", None) == ""   # unchanged: no save
    proofread.edit_clip(ctx, runtime, 2, str(list_path), 1, names, None, "ja")
    result = proofread.set_reviewed(ctx, runtime, 1, str(list_path), 1, names, True, {})
    assert "1 of 3 reviewed" in result[1]
    assert result[2]["reviewed_pct"] == 33.0 and result[3]["value"] == 33.0

    again = ProofreadSession(list_path)   # what a reload or a restart reads
    assert again.clips[1].text == "An edited sentence."
    assert again.clips[2].language == "ja"
    assert again.is_reviewed(1) and not again.is_reviewed(0)
    assert review_path(list_path).is_file()
    reloaded = rows(proofread.show_page(ctx, runtime, str(list_path), 1))
    assert reloaded[1]["text"]["value"] == "An edited sentence."
    assert reloaded[1]["reviewed"]["value"] is True


def test_errors_are_shown_inline_and_change_nothing(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 2)
    runtime = proofread.ProofreadRuntime()
    before = list_path.read_bytes()
    names = ["clip_00.wav", "clip_01.wav"]
    assert proofread.edit_clip(ctx, runtime, 0, str(list_path), 1, names, "  ",
                               None).startswith("❌")
    # a row drawn before the list changed: refused, not applied to another clip
    stale = proofread.edit_clip(ctx, runtime, 0, str(list_path), 1, ["other.wav", names[1]],
                                "New text.", None)
    assert stale.startswith("❌") and "other.wav" in stale
    split = proofread.change_list(ctx, runtime, proofread.split_action, str, 0,
                                  str(list_path), 1, names, 1.5, "Sentence", "")
    assert split[0].startswith("❌") and "second piece" in split[0]
    assert rows(split)[0]["group"]["visible"] is True   # the page is still shown
    assert list_path.read_bytes() == before
    missing = proofread.opened(ctx, runtime, str(tmp_path / "nope.list"), 1, {"x": 1})
    assert missing[0].startswith("❌") and missing[-2] == {"x": 1}


def test_delete_merge_and_split_redraw_the_page_and_keep_the_audio(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 4)
    runtime = proofread.ProofreadRuntime()

    def names() -> list[str]:
        return [clip.name for clip in ProofreadSession(list_path).clips]

    said = dataset._said(ctx, "{name}")
    result = proofread.change_list(ctx, runtime, proofread.delete_action, said, 0,
                                   str(list_path), 1, names())
    assert result[0] == "✅ clip_00.wav" and (tmp_path / "set" / "clip_00.wav").is_file()
    assert names() == ["clip_01.wav", "clip_02.wav", "clip_03.wav"]
    result = proofread.change_list(ctx, runtime, proofread.merge_action, said, 0,
                                   str(list_path), 1, names())
    assert result[0] == "✅ clip_01_merged.wav"
    assert names() == ["clip_01_merged.wav", "clip_03.wav"]
    result = proofread.change_list(ctx, runtime, proofread.split_action, said, 1,
                                   str(list_path), 1, names(), 1.0, "First.", "Second.")
    assert names() == ["clip_01_merged.wav", "clip_03_01.wav", "clip_03_02.wav"]
    assert [row["text"]["value"] for row in rows(result)[:3]][1:] == ["First.", "Second."]
    assert (tmp_path / "set" / "clip_03.wav").is_file()
    removed = result[-1]["choices"]
    assert [name for _, name in removed] == ["clip_00.wav", "clip_01.wav", "clip_02.wav",
                                             "clip_03.wav"]
    assert removed[0][0] == "clip_00.wav — deleted"
    restored = proofread.restore_clip(ctx, runtime, str(list_path), 1, "clip_00.wav")
    assert restored[0].startswith("✅") and names()[0] == "clip_00.wav"
    again = proofread.restore_clip(ctx, runtime, str(list_path), 1, "clip_00.wav")
    assert again[0].startswith("❌")   # nothing of that name is removed any more


def test_a_clip_without_audio_still_shows_its_row(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 2)
    (tmp_path / "set" / "clip_01.wav").unlink()
    shown = rows(proofread.show_page(ctx, proofread.ProofreadRuntime(), str(list_path), 1))
    assert shown[0]["split_at"]["info"].startswith("Between 0.25 and 2.75 s")
    assert "audio missing" in shown[1]["audio"]["label"] and shown[1]["audio"]["value"] is None
    assert "cannot be split" in shown[1]["split_at"]["info"]
    assert shown[1]["text"]["value"] == "Sentence number 1."


def test_next_unreviewed_goes_to_its_page(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 12)
    session = ProofreadSession(list_path)
    for index in range(11):
        session.mark_reviewed(index)
    result = proofread.jump_unreviewed(ctx, proofread.ProofreadRuntime(), True,
                                       str(list_path), 1)
    assert result[2] == 2 and "Clip 12" in result[0]
    session.mark_reviewed(11)
    done = proofread.jump_unreviewed(ctx, proofread.ProofreadRuntime(), False,
                                     str(list_path), 2)
    assert "Every clip is reviewed" in done[0]


def test_the_quality_report_names_the_planted_problem_and_fills_the_summary(
        ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 4, clipped=2)
    ProofreadSession(list_path).mark_reviewed(0)
    seen: list[tuple] = []
    result = quality.run_report(ctx, str(list_path), {}, lambda: False,
                                lambda fraction, desc=None: seen.append(fraction))
    verdict, problems, lengths, loudness, measured, *fields = result
    assert "poor" in verdict
    assert [row[0] for row in problems] == ["clipping"]
    assert problems[0][1] == "clip_02.wav"
    assert isinstance(lengths, Figure) and isinstance(loudness, Figure)
    assert seen[-1] == (4, 4)
    assert [field["value"] for field in fields] == [pytest.approx(0.2), pytest.approx(3.0),
                                                     4, "poor", 25.0]
    assert measured["source"] == str(list_path)
    # the fields now read "measured"; a typed value reads "overridden"
    shown = {"minutes": 0.2, "p95_slice_s": 3.0, "clip_count": 4, "quality": "poor",
             "reviewed_pct": 25.0}
    assert set(field_sources(measured, shown).values()) == {"measured"}
    text = dataset.show_provenance(ctx, measured, 0.2, 3.0, 99, "poor", 25.0)
    assert "overridden (measured: 4)" in text and text.count("measured") >= 5


def test_a_stopped_report_leaves_the_summary_alone(ctx, tmp_path) -> None:
    list_path = make_list(tmp_path / "set", 3)
    result = quality.run_report(ctx, str(list_path), {"a": 1}, lambda: True,
                                lambda fraction, desc=None: None)
    assert result[0].startswith("⏹") and result[4] == {"a": 1}
    assert all(update == gr.update() for update in result[5:])


def test_a_report_without_a_list_says_what_to_do(ctx) -> None:
    result = quality.run_report(ctx, " ", {}, lambda: False, lambda fraction, desc=None: None)
    assert result[0].startswith("❌") and "➡️" in result[0]


def test_inconsistent_slicer_settings_are_refused_naming_the_field(ctx, tmp_path) -> None:
    message = slicer.run_slicer(ctx, str(tmp_path), "", 10, -34, 1000, 2000, 10, 500, 0.9,
                                0.25, should_stop=lambda: False,
                                progress=lambda fraction, desc=None: None)
    assert message.startswith("❌") and "min_length_ms" in message


def test_slicing_writes_slices_and_lists_a_bad_file(ctx, tmp_path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    speech = np.concatenate([speech_like(5.0, 1), np.zeros(RATE, np.float32),
                             speech_like(5.0, 2)])
    soundfile.write(recordings / "talk.wav", speech, RATE)
    (recordings / "broken.wav").write_bytes(b"RIFF not really a wav")
    output = slicer.default_output(ctx, str(recordings), "")["value"]
    assert output == str(ctx.workspace.slicer_dir / "recordings")
    seen: list[tuple] = []
    message = slicer.run_slicer(ctx, str(recordings), output, 10, -34, 4000, 300, 10, 500,
                                0.9, 0.25, should_stop=lambda: False,
                                progress=lambda fraction, desc=None: seen.append(fraction))
    written = sorted(Path(output).glob("talk.wav_*.wav"))
    assert len(written) >= 2   # at least the two halves around the second of silence
    assert message.startswith("⚠️") and f"{len(written)} slices written" in message
    assert "broken.wav" in message and "1 file(s) failed" in message
    assert seen[-1] == (2, 2)


def test_reviewed_percent_never_rounds_up_to_all() -> None:
    from gsv_core.dataset.proofread import ReviewProgress

    assert reviewed_percent(ReviewProgress(199, 200)) == 99.0
    assert reviewed_percent(ReviewProgress(3, 3)) == 100.0
    assert reviewed_percent(ReviewProgress(0, 0)) == 0.0


def test_field_sources_tell_measured_overridden_and_typed() -> None:
    measured = {"minutes": 61.5, "clip_count": None}
    sources = field_sources(measured, {"minutes": 61.5000000001, "clip_count": 7,
                                       "quality": "good"})
    assert sources == {"minutes": "measured", "p95_slice_s": "manual",
                       "clip_count": "overridden", "quality": "manual",
                       "reviewed_pct": "manual"}


def test_every_dataset_control_explains_itself(ctx: AppContext) -> None:
    """Every input of the tab has ``info=`` text; players, buttons and outputs do not need it."""
    with gr.Blocks() as app:
        ctx.app = app
        tab = dataset.build(ctx)
        dataset.wire(tab, ctx)
    kinds = (gr.Textbox, gr.Number, gr.Slider, gr.Dropdown, gr.Checkbox)
    controls = [block for block in app.blocks.values() if isinstance(block, kinds)]
    assert len(controls) > 5 * proofread.PAGE_SIZE   # the rows: 5 inputs each
    unexplained = [block.label for block in controls if not block.info]
    assert unexplained == []
