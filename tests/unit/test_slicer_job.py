"""The slicing job on real files: decoding, names, failures, re-runs, processes
(gsv_core/dataset/slice_job.py and audio_read.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gsv_core.dataset.audio_read import read_mono
from gsv_core.dataset.slice_job import (
    collect_inputs,
    default_output_dir,
    slice_audio,
    slice_name,
)
from gsv_core.errors import ConfigError, DatasetError
from gsv_core.workspace import Workspace

SR = 32000


def speech_like(seed: int = 0) -> np.ndarray:
    """5 s loud, 1 s of zeros, 5 s loud: two slices, [0, 160640) and [175680, 352000)
    (the cut positions are worked out in test_slicer.py)."""
    rng = np.random.default_rng(seed)
    loud = lambda: rng.uniform(-0.5, 0.5, 5 * SR).astype(np.float32)  # noqa: E731
    return np.concatenate([loud(), np.zeros(SR, np.float32), loud()])


EXPECTED = [(0, 160640), (175680, 352000)]


def write_wav(path: Path, audio: np.ndarray, rate: int = SR) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, rate, subtype="PCM_16")
    return path


def write_m4a(path: Path, audio: np.ndarray, rate: int = SR, codec: str = "aac") -> Path:
    """AAC in an MP4 container (or what the suffix names), encoded with PyAV (no ffmpeg
    executable needed)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(audio[None, :].astype(np.float32), format="fltp",
                                           layout="mono")
        frame.rate = rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def test_slices_are_32k_mono_int16_with_upstream_names(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "in" / "talk.wav", speech_like())
    result = slice_audio(source, tmp_path / "out", workers=1)
    assert result.ok
    assert [p.name for p in sorted((tmp_path / "out").iterdir())] == [
        "talk.wav_0000000000_0000160640.wav", "talk.wav_0000175680_0000352000.wav"]
    assert [(s.start_sample, s.end_sample, s.status) for s in result.slices] == \
        [(a, b, "written") for a, b in EXPECTED]
    info = sf.info(result.slices[0].path)
    assert (info.samplerate, info.channels, info.subtype) == (SR, 1, "PCM_16")
    assert info.frames == 160640
    assert result.audio_s == pytest.approx(11.0)
    # normalised as upstream mixes it: peak 0.5 -> 0.5 * (0.9 * 0.25 / 0.5 + 0.75) = 0.6
    samples, _ = sf.read(result.slices[0].path, dtype="int16")
    assert abs(int(np.abs(samples.astype(np.int32)).max()) - round(0.6 * 32767)) <= 2


def test_a_44k_stereo_file_is_resampled_and_mixed_down(tmp_path: Path) -> None:
    mono = speech_like()
    rate = 44100
    resampled = np.interp(np.arange(round(len(mono) * rate / SR)) * SR / rate,
                          np.arange(len(mono)), mono).astype(np.float32)
    source = write_wav(tmp_path / "stereo.flac", np.stack([resampled, resampled], 1), rate)
    decoded = read_mono(source)
    assert decoded.ndim == 1 and abs(len(decoded) - len(mono)) <= 1
    result = slice_audio(source, tmp_path / "out", workers=1)
    assert result.ok and len(result.slices) == 2
    assert all(sf.info(s.path).samplerate == SR for s in result.slices)


def test_an_m4a_file_decodes_through_pyav(tmp_path: Path) -> None:
    source = write_m4a(tmp_path / "voice memo.m4a", speech_like())
    decoded = read_mono(source)
    # AAC adds encoder delay and padding (one or two 1024-sample frames)
    assert 352000 <= len(decoded) <= 352000 + 3 * 1024
    assert 0.2 < float(np.sqrt(np.mean(decoded[: 5 * SR] ** 2))) < 0.4  # RMS 0.29 went in
    result = slice_audio(source, tmp_path / "out", workers=1)
    assert result.ok and len(result.slices) == 2
    assert result.slices[0].path.name.startswith("voice memo.m4a_0000000000_")


@pytest.mark.parametrize(("suffix", "codec", "rate"), [
    (".mkv", "aac", 44100), (".webm", "libopus", 48000), (".aac", "aac", 32000)])
def test_video_containers_and_raw_aac_decode_through_pyav(tmp_path: Path, suffix: str,
                                                           codec: str, rate: int) -> None:
    mono = speech_like()
    audio = np.interp(np.arange(round(len(mono) * rate / SR)) * SR / rate,
                      np.arange(len(mono)), mono).astype(np.float32)
    decoded = read_mono(write_m4a(tmp_path / f"take{suffix}", audio, rate, codec))
    assert abs(len(decoded) - 352000) <= 2 * 1024 * SR / rate + 400  # codec delay/padding
    assert 0.2 < float(np.sqrt(np.mean(decoded[SR: 4 * SR] ** 2))) < 0.4


@pytest.mark.parametrize(("suffix", "subtype"), [(".ogg", "VORBIS"), (".mp3", "MPEG_LAYER_III")])
def test_ogg_and_mp3_decode_through_soundfile(tmp_path: Path, suffix: str, subtype: str) -> None:
    path = tmp_path / f"take{suffix}"
    sf.write(path, speech_like(), SR, subtype=subtype)
    decoded = read_mono(path)
    assert abs(len(decoded) - 352000) <= 2048
    result = slice_audio(path, tmp_path / "out", workers=1)
    assert result.ok and len(result.slices) == 2


def test_an_undecodable_file_is_a_dataset_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really a wave file" * 10)
    with pytest.raises(DatasetError) as error:
        read_mono(bad)
    assert "bad.wav" in error.value.message
    assert "soundfile" in error.value.details and "PyAV" in error.value.details


def test_x5_a_corrupt_file_is_reported_and_the_others_are_sliced(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    write_wav(folder / "a.wav", speech_like(1))
    (folder / "b.wav").write_bytes(b"\x00garbage" * 500)
    write_wav(folder / "c.wav", speech_like(2))
    messages = []
    result = slice_audio(folder, tmp_path / "out", workers=1,
                         progress=lambda done, total, text: messages.append((done, total, text)))
    assert not result.ok
    assert [f.source.name for f in result.failures] == ["b.wav"]
    assert "b.wav" in result.failures[0].message and result.failures[0].advice
    assert sorted({s.source.name for s in result.slices}) == ["a.wav", "c.wav"]
    assert len(result.slices) == 4
    assert [m[:2] for m in messages] == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert "FAILED" in messages[2][2]


def test_two_processes_give_the_same_result(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    for number in range(3):
        write_wav(folder / f"{number}.wav", speech_like(number))
    (folder / "broken.mp3").write_bytes(b"ID3 but nothing else")
    here = slice_audio(folder, tmp_path / "one", workers=1)
    pool = slice_audio(folder, tmp_path / "two", workers=2)
    assert [(s.path.name, s.start_sample, s.end_sample) for s in pool.slices] == \
        [(s.path.name, s.start_sample, s.end_sample) for s in here.slices]
    assert [f.source.name for f in pool.failures] == ["broken.mp3"]
    for one, two in zip(here.slices, pool.slices, strict=True):
        assert one.path.read_bytes() == two.path.read_bytes()


def test_folders_are_searched_recursively_and_same_names_do_not_collide(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    write_wav(folder / "x.wav", speech_like(1))
    write_wav(folder / "day2" / "x.wav", speech_like(2))
    (folder / "notes.txt").write_text("not audio")
    write_wav(folder / ".hidden" / "y.wav", speech_like(3))
    assert [p.relative_to(folder).as_posix() for p in collect_inputs(folder)] == \
        ["x.wav", "day2/x.wav"]
    result = slice_audio(folder, tmp_path / "out", workers=1)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["day2_x.wav_0000000000_0000160640.wav", "day2_x.wav_0000175680_0000352000.wav",
                     "x.wav_0000000000_0000160640.wav", "x.wav_0000175680_0000352000.wav"]
    assert result.ok


def test_a_rerun_overwrites_nothing(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "talk.wav", speech_like())
    out = tmp_path / "out"
    first = slice_audio(source, out, workers=1)
    stamps = {p: p.stat().st_mtime_ns for p in out.iterdir()}
    again = slice_audio(source, out, workers=1)
    assert [s.status for s in again.slices] == ["unchanged", "unchanged"]
    assert [s.path for s in again.slices] == [s.path for s in first.slices]
    assert {p: p.stat().st_mtime_ns for p in out.iterdir()} == stamps

    # the user edited one slice: it is kept, and the new slice goes to a free name
    edited = first.slices[0].path
    write_wav(edited, np.zeros(1000, np.float32))
    user_bytes = edited.read_bytes()
    third = slice_audio(source, out, workers=1)
    assert [s.status for s in third.slices] == ["renamed", "unchanged"]
    assert third.slices[0].path.name == "talk.wav_0000000000_0000160640-2.wav"
    assert edited.read_bytes() == user_bytes
    assert sf.info(third.slices[0].path).frames == 160640


def test_a_silent_file_is_a_failure_and_the_output_folder_is_not_an_input(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    write_wav(folder / "quiet.wav", np.zeros(3 * SR, np.float32))
    write_wav(folder / "talk.wav", speech_like())
    out = folder / "sliced"
    first = slice_audio(folder, out, workers=1)
    assert [f.source.name for f in first.failures] == ["quiet.wav"]
    assert "threshold" in first.failures[0].message
    again = slice_audio(folder, out, workers=1)  # the slices in sliced/ are not re-sliced
    assert [s.status for s in again.slices] == ["unchanged", "unchanged"]
    assert len(list(out.iterdir())) == 2


def test_importing_the_slicer_loads_neither_torch_nor_pyav() -> None:
    code = ("import sys, gsv_core.dataset.slice_job, gsv_core.dataset.slice_cli\n"
            "assert 'torch' not in sys.modules and 'av' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_should_stop_keeps_finished_files_and_lists_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    for number in range(3):
        write_wav(folder / f"{number}.wav", speech_like(number))
    calls = []
    result = slice_audio(folder, tmp_path / "out", workers=1,
                         should_stop=lambda: calls.append(1) or len(calls) > 1)
    assert result.stopped and not result.ok
    assert [p.name for p in result.not_started] == ["1.wav", "2.wav"]
    assert {s.source.name for s in result.slices} == {"0.wav"}


def test_should_stop_cancels_queued_files_in_the_pool(tmp_path: Path) -> None:
    # with 2 workers at most 3 files are handed to the processes at once (2 running, 1
    # queued); asked to stop at once, the pool cancels the others and finishes those
    folder = tmp_path / "recordings"
    for number in range(6):
        write_wav(folder / f"{number}.wav", speech_like(number))
    result = slice_audio(folder, tmp_path / "out", workers=2, should_stop=lambda: True)
    assert result.stopped and len(result.not_started) >= 3
    done = {s.source for s in result.slices}
    assert done.isdisjoint(result.not_started)
    assert len(done) + len(result.not_started) == 6
    assert sorted(result.not_started) == list(result.not_started)


def test_bad_job_arguments_are_refused_before_any_work(tmp_path: Path) -> None:
    source = write_wav(tmp_path / "talk.wav", speech_like())
    with pytest.raises(ConfigError, match="workers"):
        slice_audio(source, tmp_path / "out", workers=0)
    with pytest.raises(ConfigError, match="does not exist"):
        slice_audio(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no audio file"):
        slice_audio(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_default_output_dir_is_named_after_the_input(tmp_path: Path) -> None:
    workspace = Workspace(tmp_path / "ws")
    (tmp_path / "my recordings").mkdir()
    assert default_output_dir(workspace, tmp_path / "my recordings") == \
        workspace.root / "output" / "slicer_opt" / "my recordings"
    source = write_wav(tmp_path / "talk.wav", speech_like())
    assert default_output_dir(workspace, source) == workspace.slicer_dir / "talk"


def test_slice_name_pads_offsets_to_ten_digits() -> None:
    assert slice_name("a.wav", 0, 123) == "a.wav_0000000000_0000000123.wav"
    assert slice_name("a.wav", 5, 6, copy=3) == "a.wav_0000000005_0000000006-3.wav"


def test_a_clipped_recording_is_warned_about_before_its_slices_are_normalised(
        tmp_path: Path) -> None:
    clipped = np.clip(speech_like(1) * 3.0, -1.0, 1.0)   # flat tops at full scale
    write_wav(tmp_path / "in" / "clipped.wav", clipped)
    write_wav(tmp_path / "in" / "clean.wav", speech_like(2))
    result = slice_audio(tmp_path / "in", tmp_path / "out")
    assert result.ok and len(result.warnings) == 1
    assert result.warnings[0].startswith("clipped.wav: ") and "clipped" in result.warnings[0]
    peaks = [np.abs(sf.read(s.path)[0]).max() for s in result.slices
             if s.source.name == "clipped.wav"]
    assert peaks and max(peaks) < 0.99   # why: the slices alone no longer look clipped
