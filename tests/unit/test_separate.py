"""Vocal separation before slicing (issue 10): local files only, a clear "skipped" message
when the library, ffmpeg, the model or its data files are absent, never a crash and never a
network call; with audio-separator installed, a tiny MDX-Net model in UVR's real folder
format (ONNX file + download_checks.json + mdx/vr model data, built here) runs end to end.

audio-separator is the optional ``separation`` extra: the end-to-end tests are skipped where
it is not installed (this project's test venv, on purpose: it would replace torch and onnx).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import socket
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gsv_core.dataset import separate
from gsv_core.dataset.separate import (
    MODEL_LIST_FILE,
    chosen_stem,
    missing_files,
    separate_vocals,
    separation_status,
)
from gsv_core.dataset.slice_job import CleanupOptions, slice_audio
from gsv_core.errors import ModelMissing

SR = 32000
HAS_LIBRARY = importlib.util.find_spec("audio_separator") is not None
needs_library = pytest.mark.skipif(not HAS_LIBRARY, reason="audio-separator (the 'separation' "
                                   "extra) is not installed")
LISTS = ("vr_download_list", "mdx_download_list", "mdx_download_vip_list",
         "demucs_download_list", "mdx23c_download_list", "mdx23c_download_vip_list",
         "roformer_download_list")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here fails on any attempt to resolve a name or connect."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


def tiny_mdx_model(folder: Path, name: str = "tiny_vocals.onnx", gain: float = 0.5,
                   primary_stem: str = "Vocals") -> Path:
    """A tiny MDX-Net model folder as UVR lays it out: an ONNX network from the spectrogram
    ``input`` [batch, 4, dim_f, dim_t] to the primary stem's spectrogram (here: the input
    times ``gain``), its parameters in mdx_model_data.json under the file's MD5, and the
    model named in download_checks.json."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    folder.mkdir(parents=True, exist_ok=True)
    dim_f, dim_t_set, n_fft = 64, 8, 2048  # n_fft >= the separator's hop (1024)
    shape = ["batch", 4, dim_f, 2 ** dim_t_set]
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "gain"], ["output"])], "tiny_mdx",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, shape)],
        [numpy_helper.from_array(np.array(gain, np.float32), "gain")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = folder / name
    onnx.save(model, path)
    md5 = hashlib.md5(path.read_bytes()).hexdigest()
    (folder / "mdx_model_data.json").write_text(json.dumps({md5: {
        "compensate": 1.0, "mdx_dim_f_set": dim_f, "mdx_dim_t_set": dim_t_set,
        "mdx_n_fft_scale_set": n_fft, "primary_stem": primary_stem}}))
    (folder / "vr_model_data.json").write_text("{}")
    lists: dict[str, dict] = {key: {} for key in LISTS}
    lists["mdx_download_list"]["MDX-Net Model: tiny test"] = name
    (folder / MODEL_LIST_FILE).write_text(json.dumps(lists))
    return path


def tone_recording(path: Path, rate: int = 44100) -> Path:
    """2 s of a tone, 1 s of silence, 2 s of a tone (stereo, as UVR's models expect)."""
    t = np.arange(2 * rate) / rate
    tone = 0.4 * np.sin(2 * np.pi * 220 * t)
    mono = np.concatenate([tone, np.zeros(rate), tone]).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.stack([mono, mono], axis=1), rate)
    return path


# --- absent library, model or files: "skipped", with what to do --------------------------

def test_no_model_given_is_skipped_with_what_to_do() -> None:
    for value in (None, "", "   "):
        status = separation_status(value)
        assert not status.available
        assert status.message.startswith("vocal separation skipped:")
        assert "to enable:" in status.message


@pytest.mark.skipif(HAS_LIBRARY, reason="audio-separator is installed here")
def test_a_missing_library_is_skipped_naming_the_extra(tmp_path: Path) -> None:
    model = tiny_mdx_model(tmp_path / "models")  # a complete folder: only the library lacks
    status = separation_status(model)
    assert not status.available
    assert "audio-separator package is not installed" in status.message
    assert 'pip install "gsv-studio[separation]"' in status.message


def test_missing_files_names_what_an_offline_load_needs(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    model = tiny_mdx_model(folder)
    assert missing_files(model) == []
    (folder / MODEL_LIST_FILE).unlink()
    (folder / "vr_model_data.json").unlink()
    assert missing_files(model) == [MODEL_LIST_FILE, "vr_model_data.json"]
    assert missing_files(folder / "absent.pth") == ["absent.pth", MODEL_LIST_FILE,
                                                    "vr_model_data.json"]


def test_a_ckpt_model_needs_the_yaml_its_listing_names(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "roformer.ckpt").write_bytes(b"weights")
    lists: dict[str, dict] = {key: {} for key in LISTS}
    lists["roformer_download_list"]["Roformer Model: test"] = {"roformer.ckpt": "roformer.yaml"}
    (folder / MODEL_LIST_FILE).write_text(json.dumps(lists))
    assert missing_files(folder / "roformer.ckpt") == ["roformer.yaml"]
    (folder / "roformer.yaml").write_text("audio: {}\n")
    assert missing_files(folder / "roformer.ckpt") == []


@needs_library
@pytest.mark.parametrize(("make", "expected"), [
    (lambda d: d / "absent.onnx", "does not exist"),
    (lambda d: d, "is a folder"),
    (lambda d: d / "notes.txt", "is not a separation model"),
])
def test_a_bad_model_path_is_skipped_with_the_reason(tmp_path: Path, make, expected: str) -> None:
    folder = tmp_path / "models"
    tiny_mdx_model(folder)
    (folder / "notes.txt").write_text("not a model")
    status = separation_status(make(folder))
    assert not status.available
    assert expected in status.message and "to enable:" in status.message


@needs_library
def test_an_incomplete_folder_is_skipped_naming_the_missing_files(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    model = tiny_mdx_model(folder)
    (folder / MODEL_LIST_FILE).unlink()
    status = separation_status(model)
    assert not status.available
    assert MODEL_LIST_FILE in status.message and "would have to be downloaded" in status.message


@needs_library
def test_no_ffmpeg_is_skipped_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_mdx_model(tmp_path / "models")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status = separation_status(model)
    assert not status.available and "ffmpeg" in status.message


def test_the_download_hook_refuses_instead_of_fetching(tmp_path: Path) -> None:
    hook = separate._NoDownload()
    present = tmp_path / "there.json"
    present.write_text("{}")
    hook("https://example.invalid/there.json", str(present))  # present: passes
    with pytest.raises(ModelMissing, match=r"missing\.json"):
        hook("https://example.invalid/missing.json", str(tmp_path / "missing.json"))


@pytest.mark.parametrize(("primary", "secondary", "kept"), [
    ("Vocals", "Instrumental", "Vocals"),
    ("Instrumental", "Vocals", "Vocals"),
    ("Reverb", "No Reverb", "No Reverb"),
    ("No Echo", "Echo", "No Echo"),
    ("Noise", "No Noise", "No Noise"),
    ("dry", "other", "dry"),
])
def test_the_voice_stem_is_kept(primary: str, secondary: str, kept: str) -> None:
    assert chosen_stem(primary, secondary) == kept


def test_a_model_without_a_voice_stem_is_refused() -> None:
    with pytest.raises(ModelMissing, match="neither of which is the voice"):
        chosen_stem("Drums", "No Drums")
    with pytest.raises(ModelMissing):
        chosen_stem("Instrumental", "No Vocals")


def test_the_job_slices_without_separation_and_says_why(tmp_path: Path) -> None:
    source = tone_recording(tmp_path / "in" / "song.wav")
    before = source.read_bytes()
    result = slice_audio(source, tmp_path / "out", workers=1,
                         cleanup=CleanupOptions(separate_model=tmp_path / "none.onnx"))
    assert result.ok and len(result.slices) >= 1
    assert len(result.notices) == 1
    assert result.notices[0].startswith("vocal separation skipped:")
    assert source.read_bytes() == before
    assert all(not p.name.startswith(".") for p in (tmp_path / "out").iterdir())


def test_separate_vocals_raises_a_clear_error_when_it_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="Vocal separation cannot run"):
        separate_vocals(tmp_path / "a.wav", tmp_path / "none.onnx", tmp_path / "work", "x")


# --- with audio-separator installed: a tiny real model, offline --------------------------

@needs_library
def test_a_tiny_mdx_model_separates_offline(tmp_path: Path) -> None:
    model = tiny_mdx_model(tmp_path / "models", gain=0.5)
    assert separation_status(model).available
    source = tone_recording(tmp_path / "song.wav")
    voice = separate_vocals(source, model, tmp_path / "work", "recording")
    assert voice.name == "recording.voice.wav"
    assert (tmp_path / "work" / "recording.rest.wav").is_file()
    audio, rate = sf.read(voice)
    assert rate == 44100 and len(audio) == sf.info(source).frames
    assert np.abs(audio).max() > 0.01  # the "voice" is the tone (half of it, renormalised)


@needs_library
def test_the_job_separates_then_slices_and_removes_the_stems(tmp_path: Path) -> None:
    model = tiny_mdx_model(tmp_path / "models")
    folder = tmp_path / "in"
    tone_recording(folder / "a.wav")
    (folder / "broken.flac").write_bytes(b"fLaC but not really")
    before = (folder / "a.wav").read_bytes()
    result = slice_audio(folder, tmp_path / "out", workers=1,
                         cleanup=CleanupOptions(separate_model=model, keep_dir=tmp_path / "kept"))
    assert not result.notices
    assert [f.source.name for f in result.failures] == ["broken.flac"]
    assert "separation" in result.failures[0].message.lower()
    assert {s.source.name for s in result.slices} == {"a.wav"}
    assert [p.name for p in result.cleaned] == ["a.wav_cleaned.wav"]
    assert sf.info(result.cleaned[0]).samplerate == SR
    assert (folder / "a.wav").read_bytes() == before
    assert all(not p.name.startswith(".") for p in (tmp_path / "out").iterdir())


@needs_library
def test_a_missing_data_file_found_at_load_fails_per_file_without_a_download(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tiny_mdx_model(tmp_path / "models")
    # the pre-check passes, but the loader then needs a file the folder lacks
    monkeypatch.setattr(separate, "missing_files", lambda path: [])
    (tmp_path / "models" / "mdx_model_data.json").unlink()
    separate._separators.clear()
    source = tone_recording(tmp_path / "song.wav")
    result = slice_audio(source, tmp_path / "out", workers=1,
                         cleanup=CleanupOptions(separate_model=model))
    assert len(result.failures) == 1
    assert "mdx_model_data.json" in result.failures[0].message
