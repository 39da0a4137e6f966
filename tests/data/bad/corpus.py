"""The bad-input corpus (issue 14): what real users feed the product, generated on demand.

Each :class:`Case` writes its input into a folder (``build``) and names the entry points it
goes through. ``run_case`` sends it through each and sorts what came back:

- ``refused``: a clear error — a ``GsvError`` (or a list issue, a skipped-file record, a
  quality problem) whose text names ``mention`` (the file, the line, the field) and says
  what to do;
- ``accepted``: the input is valid after all (48 kHz stereo is resampled and mixed, a BOM
  is dropped) and was processed;
- ``crash``: anything else — an exception that is not ours, or an error that does not say
  where. The tests fail on every crash and on every outcome that differs from the case's
  ``expect``.

Nothing here is committed as data: the inputs are made by code (a 2-hour file would be
230 MB), so ``python tests/data/bad/corpus.py OUT`` writes them all to ``OUT`` for a look.
``scripts/reliability.py`` runs the corpus and writes docs/reliability.md.
"""

from __future__ import annotations

import math
import os
import struct
import sys
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

RATE = 32_000


@dataclass(frozen=True)
class Case:
    """One bad (or odd) input.

    ``build(folder)`` writes it and returns the path to give the entry points; ``mention``
    is what a refusal must name (default: that path's file name); ``expect`` maps each entry
    point to ``"refused"`` or ``"accepted"``.
    """

    id: str
    group: str
    description: str
    build: Callable[[Path], Path]
    expect: dict[str, str]
    mention: str | None = None


@dataclass
class Outcome:
    case: str
    entry: str
    status: str           # refused / accepted / crash
    detail: str = ""
    expected: str = ""

    @property
    def as_expected(self) -> bool:
        return self.status == self.expected


# --- audio ---------------------------------------------------------------------------------

def _tone(seconds: float, rate: int = RATE, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    wave_ = 0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return np.repeat(wave_[:, None], channels, axis=1).astype(np.float32)


def _sf(name: str, seconds: float = 4.0, rate: int = RATE, channels: int = 1,
        subtype: str = "PCM_16", fmt: str | None = None) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        soundfile.write(path, _tone(seconds, rate, channels), rate, subtype=subtype, format=fmt)
        return path
    return build


def _bytes(name: str, content: bytes) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path
    return build


def _truncated(folder: Path) -> Path:
    whole = folder / "whole.wav"
    soundfile.write(whole, _tone(4.0), RATE, subtype="PCM_16")
    path = folder / "truncated.wav"
    path.write_bytes(whole.read_bytes()[:30])  # cut inside the header
    whole.unlink()
    return path


def _cut_data(folder: Path) -> Path:
    """A WAV whose header promises 4 s but whose data stops after 1 s (a copy cut short)."""
    whole = folder / "whole.wav"
    soundfile.write(whole, _tone(4.0), RATE, subtype="PCM_16")
    path = folder / "cut short.wav"
    path.write_bytes(whole.read_bytes()[:44 + 2 * RATE])
    whole.unlink()
    return path


def _empty_wav(folder: Path) -> Path:
    path = folder / "no samples.wav"
    with wave.open(os.fspath(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
    return path


def _two_hours(folder: Path) -> Path:
    """Two hours of 8 kHz 8-bit mono: a header and a sparse run of zero bytes (57.6 MB)."""
    path = folder / "two hours.wav"
    frames = 2 * 3600 * 8000
    header = (b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVEfmt "
              + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
              + b"data" + struct.pack("<I", frames))
    with open(path, "wb") as handle:
        handle.write(header)
        handle.seek(len(header) + frames - 1)
        handle.write(b"\x80")
    return path


def _float_with(name: str, value: float) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        audio = _tone(4.0)
        audio[RATE: RATE + 100] = value
        path = folder / name
        soundfile.write(path, audio, RATE, subtype="FLOAT")
        return path
    return build


def _a_folder(folder: Path) -> Path:
    path = folder / "a folder.wav"
    path.mkdir()
    return path


def _missing(folder: Path) -> Path:
    return folder / "not there.wav"


REFERENCE_OK = {"read": "accepted", "slice": "accepted", "quality": "accepted",
                "reference": "accepted"}
AUDIO_REFUSED = {"read": "refused", "slice": "refused", "quality": "refused",
                 "reference": "refused"}


def _audio_cases() -> list[Case]:
    ok = REFERENCE_OK
    bad = AUDIO_REFUSED
    short = {**ok, "reference": "refused"}
    cases = [
        Case("audio-empty-file", "audio", "a 0-byte .wav", _bytes("empty.wav", b""), bad),
        Case("audio-truncated-header", "audio", "a .wav cut inside its header", _truncated,
             bad),
        Case("audio-data-cut-short", "audio", "a .wav whose data stops before its header "
             "says", _cut_data, {**ok, "reference": "refused"}),
        Case("audio-random-bytes", "audio", "random bytes named .wav",
             _bytes("noise bytes.wav", np.random.default_rng(0).bytes(20_000)), bad),
        Case("audio-text-renamed", "audio", "a text file renamed .wav",
             _bytes("notes.wav", "这是一个文本文件，不是音频。\n".encode() * 50), bad),
        Case("audio-no-samples", "audio", "a valid WAV header with 0 samples", _empty_wav,
             {**bad, "read": "accepted"}),  # the decoder gives 0 samples; its users refuse
        Case("audio-two-hours", "audio", "a 2-hour recording as the reference clip",
             _two_hours, {"reference": "refused"}),
        Case("audio-8bit", "audio", "8-bit unsigned PCM", _sf("u8.wav", subtype="PCM_U8"), ok),
        Case("audio-24bit", "audio", "24-bit PCM", _sf("pcm24.wav", subtype="PCM_24"), ok),
        Case("audio-32bit-int", "audio", "32-bit integer PCM",
             _sf("pcm32.wav", subtype="PCM_32"), ok),
        Case("audio-float", "audio", "32-bit float", _sf("float.wav", subtype="FLOAT"), ok),
        Case("audio-double", "audio", "64-bit float", _sf("double.wav", subtype="DOUBLE"), ok),
        Case("audio-48k", "audio", "48 kHz", _sf("48k.wav", rate=48_000), ok),
        Case("audio-8k", "audio", "8 kHz telephone audio", _sf("8k.wav", rate=8_000), ok),
        Case("audio-odd-rate", "audio", "an odd sample rate (11,025 Hz)",
             _sf("11025.wav", rate=11_025), ok),
        Case("audio-192k", "audio", "192 kHz", _sf("192k.wav", rate=192_000), ok),
        Case("audio-stereo", "audio", "stereo", _sf("stereo.wav", channels=2), ok),
        Case("audio-5.1", "audio", "5.1 surround (6 channels)",
             _sf("surround.wav", channels=6), ok),
        Case("audio-flac", "audio", "FLAC", _sf("clip.flac", fmt="FLAC"), ok),
        Case("audio-ogg", "audio", "Ogg Vorbis", _sf("clip.ogg", fmt="OGG",
                                                     subtype="VORBIS"), ok),
        Case("audio-chinese-name", "audio", "a file named in Chinese with spaces",
             _sf("我的 录音 01.wav"), ok),
        Case("audio-nan", "audio", "float samples that are NaN",
             _float_with("nan.wav", math.nan), bad),
        Case("audio-inf", "audio", "float samples that are infinite",
             _float_with("inf.wav", math.inf), bad),
        Case("audio-over-full-scale", "audio", "float samples far above full scale (8.0)",
             _float_with("loud.wav", 8.0), ok),
        Case("audio-silence", "audio", "4 s of digital silence",
             lambda f: _silence(f, "silence.wav"), {**ok, "slice": "refused"}),
        Case("audio-one-sample", "audio", "a single sample", _sf("one.wav", seconds=1 / RATE),
             short),
        Case("audio-ref-0.5s", "audio", "a 0.5 s reference", _sf("half.wav", seconds=0.5),
             short),
        Case("audio-ref-2.9s", "audio", "a 2.9 s reference (under 3 s)",
             _sf("2.9s.wav", seconds=2.9), short),
        Case("audio-ref-3.0s", "audio", "a 3.0 s reference (the shortest allowed)",
             _sf("3.0s.wav", seconds=3.0), ok),
        Case("audio-ref-10.0s", "audio", "a 10.0 s reference (the longest allowed)",
             _sf("10.0s.wav", seconds=10.0), ok),
        Case("audio-ref-10.5s", "audio", "a 10.5 s reference (over 10 s)",
             _sf("10.5s.wav", seconds=10.5), {**ok, "reference": "refused"}),
        Case("audio-folder", "audio", "a folder named .wav", _a_folder, bad),
        Case("audio-missing", "audio", "a path that does not exist", _missing, bad),
    ]
    return cases


def _silence(folder: Path, name: str) -> Path:
    path = folder / name
    soundfile.write(path, np.zeros(4 * RATE, np.float32), RATE, subtype="PCM_16")
    return path


# --- .list files ---------------------------------------------------------------------------

def _list(name: str, lines: list[str] | bytes, *, clips: tuple[str, ...] = ("a.wav", "b.wav"),
          newline: str = "\n") -> Callable[[Path], Path]:
    """A .list named ``name`` beside real clips ``clips`` (4 s tones)."""
    def build(folder: Path) -> Path:
        for clip in clips:
            (folder / clip).parent.mkdir(parents=True, exist_ok=True)
            soundfile.write(folder / clip, _tone(4.0), RATE, subtype="PCM_16")
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        content = lines if isinstance(lines, bytes) else newline.join(lines).encode("utf-8")
        path.write_bytes(content)
        return path
    return build


LIST_OK = {"list": "accepted"}
LIST_BAD = {"list": "refused"}


def _list_cases() -> list[Case]:
    good = ["a.wav|spk|ZH|你好世界。", "b.wav|spk|ZH|今天天气很好。"]
    return [
        Case("list-pipe-in-text", "list", "a '|' inside the text",
             _list("pipe.list", ["a.wav|spk|EN|left | right", good[1]]), LIST_OK),
        Case("list-missing-fields", "list", "a line with two fields",
             _list("fields.list", [good[0], "b.wav|spk"]), LIST_BAD, mention="line 2"),
        Case("list-bom", "list", "a UTF-8 byte-order mark", _list(
            "bom.list", b"\xef\xbb\xbf" + "\n".join(good).encode()), LIST_OK),
        Case("list-crlf", "list", "Windows line ends", _list("crlf.list", good,
                                                             newline="\r\n"), LIST_OK),
        Case("list-gbk", "list", "GBK bytes (not UTF-8)",
             _list("gbk.list", "\n".join(good).encode("gbk")), LIST_BAD),
        Case("list-latin1", "list", "a Latin-1 byte in a line",
             _list("latin1.list", good[0].encode() + b"\n" + b"b.wav|spk|EN|caf\xe9"),
             LIST_BAD),
        Case("list-unknown-language", "list", "language code DE",
             _list("de.list", [good[0], "b.wav|spk|DE|Guten Tag."]), LIST_BAD,
             mention="line 2"),
        Case("list-auto-language", "list", "language code AUTO",
             _list("auto.list", ["a.wav|spk|AUTO|hello", good[1]]), LIST_BAD, mention="line 1"),
        Case("list-lower-case-codes", "list", "codes in lower case and upstream's spellings",
             _list("codes.list", ["a.wav|spk|zh|你好。", "b.wav|spk|Ja|こんにちは。"]),
             LIST_BAD, mention="line 2"),
        Case("list-upstream-codes", "list", "upstream's codes JP / YUE / Ko",
             _list("upcodes.list", ["a.wav|spk|JP|こんにちは。", "b.wav|spk|YUE|你好。"]),
             LIST_OK),
        Case("list-relative-paths", "list", "paths relative to the list's folder",
             _list("rel.list", ["sub/a.wav|spk|ZH|你好。"], clips=("sub/a.wav",)), LIST_OK),
        Case("list-dotdot-path", "list", "a path with ..",
             _list("inner/dots.list", ["../a.wav|spk|ZH|你好。"], clips=("a.wav",)), LIST_OK),
        Case("list-chinese-path", "list", "a clip path in Chinese with spaces",
             _list("zh.list", ["我的 录音.wav|说话人|ZH|你好。"], clips=("我的 录音.wav",)),
             LIST_OK),
        Case("list-trailing-space-path", "list", "a path with a trailing space",
             _list("trail.list", ["a.wav |spk|ZH|你好。"], clips=("a.wav",)), LIST_OK),
        Case("list-windows-path", "list", "an absolute Windows path from another machine",
             _list("win.list", [r"D:\data\a.wav|spk|ZH|你好。"], clips=("a.wav",)), LIST_OK),
        Case("list-duplicate-names", "list", "two lines with the same clip name",
             _list("dup.list", [good[0], "sub/a.wav|spk|ZH|再来一次。"],
                   clips=("a.wav", "sub/a.wav")), LIST_BAD, mention="line 2"),
        Case("list-missing-audio", "list", "a clip that does not exist",
             _list("gone.list", [good[0], "gone.wav|spk|ZH|不见了。"]), LIST_BAD,
             mention="line 2"),
        Case("list-blank-lines", "list", "blank lines between clips",
             _list("blank.list", ["", good[0], "", "   ", good[1], ""]), LIST_OK),
        Case("list-empty-file", "list", "an empty file", _list("empty.list", []), LIST_BAD),
        Case("list-only-blank", "list", "only blank lines",
             _list("blanks.list", ["", "  ", ""]), LIST_BAD),
        Case("list-tabs", "list", "tab-separated fields",
             _list("tabs.list", ["a.wav\tspk\tZH\t你好。"]), LIST_BAD, mention="line 1"),
        Case("list-empty-text", "list", "a clip with no text",
             _list("notext.list", [good[0], "b.wav|spk|ZH|"]), LIST_BAD, mention="line 2"),
        Case("list-only-pipes", "list", "a line of only '|||'",
             _list("pipes.list", [good[0], "|||"]), LIST_BAD, mention="line 2"),
        Case("list-binary", "list", "a binary file named .list",
             _list("binary.list", np.random.default_rng(1).bytes(3000)), LIST_BAD),
        Case("list-long-text", "list", "a 20,000-character transcript",
             _list("long.list", ["a.wav|spk|ZH|" + "很长的句子。" * 3400]), LIST_OK),
        Case("list-missing-file", "list", "a list path that does not exist",
             lambda folder: folder / "no such.list", LIST_BAD),
    ]


# --- experiment names ----------------------------------------------------------------------

NAME_BAD = {"name": "refused"}


def _written(name: str, value: str) -> Callable[[Path], Path]:
    """A builder writing ``value`` (UTF-8) to ``folder/name``: typed input kept exactly."""
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_text(value, encoding="utf-8")
        return path
    return build


def _name(value: str) -> Callable[[Path], Path]:
    return _written("name.txt", value)


def _name_cases() -> list[Case]:
    refused = [("slash", "a/b"), ("backslash", "a\\b"), ("dotdot", ".."),
               ("dotdot-path", "../escape"), ("con", "CON"), ("nul", "nul"),
               ("com1", "COM1"), ("lpt9", "lpt9"), ("aux-ext", "AUX.txt"),
               ("trailing-dot", "voice."), ("trailing-space", "voice "),
               ("leading-space", " voice"), ("empty", ""), ("spaces", "   "),
               ("colon", "a:b"), ("question", "why?"), ("control", "a\tb"),
               ("too-long", "x" * 200)]
    cases = [Case(f"name-{key}", "name", f"experiment name {value!r}", _name(value), NAME_BAD,
                  mention=repr(value)) for key, value in refused]
    cases += [Case(f"name-ok-{key}", "name", f"experiment name {value!r}", _name(value),
                   {"name": "accepted"})
              for key, value in (("chinese", "小明 的声音"), ("unicode", "Zoë-voix_2"),
                                 ("dots-inside", "v1.2 final"), ("con-inside", "CONTROL"))]
    return cases


# --- feature files and checkpoints ---------------------------------------------------------

def _pt(name: str, make: Callable[[], object]) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        import torch

        path = folder / name
        torch.save(make(), path)
        return path
    return build


class _Boom:
    """Unpickling this would run ``os.system``: the loaders must refuse it unrun."""

    marker = ""

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _pickled_code(name: str) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        import torch

        boom = _Boom()
        boom.marker = os.fspath(folder / f"{name}.RAN")  # created only if the code ran
        path = folder / name
        torch.save({"weight": {}, "config": boom, "info": boom}, path)
        return path
    return build


def _feature_cases() -> list[Case]:
    import torch

    feature = {"features": "refused"}
    # the loader names the experiment's file (the case file is copied in as a clip's)
    cases = [
        Case("feature-hubert-nan", "features", "NaN in a 4-cnhubert file",
             _pt("nan.wav.pt", lambda: torch.full((1, 768, 50), math.nan)), feature,
             mention="4-cnhubert"),
        Case("feature-hubert-inf", "features", "inf in a 4-cnhubert file",
             _pt("inf.wav.pt", lambda: torch.full((1, 768, 50), math.inf)), feature,
             mention="4-cnhubert"),
        Case("feature-hubert-shape", "features", "a 4-cnhubert file of the wrong shape",
             _pt("shape.wav.pt", lambda: torch.zeros(50, 768)), feature,
             mention="4-cnhubert"),
        Case("feature-not-a-tensor", "features", "a 4-cnhubert file holding a dict",
             _pt("dict.wav.pt", lambda: {"a": 1}), feature, mention="4-cnhubert"),
        Case("feature-truncated", "features", "a truncated feature file",
             lambda f: _truncate(_pt("cut.wav.pt", lambda: torch.zeros(1, 768, 50))(f)),
             feature, mention="4-cnhubert"),
        Case("feature-pickled-code", "features", "a feature file with code in it",
             _pickled_code("code.wav.pt"), feature, mention="4-cnhubert"),
    ]
    checkpoint = {"gpt": "refused", "sovits": "refused"}
    cases += [
        Case("ckpt-empty", "checkpoint", "an empty weights file", _bytes("empty.ckpt", b""),
             checkpoint),
        Case("ckpt-random", "checkpoint", "random bytes as weights",
             _bytes("random.pth", np.random.default_rng(2).bytes(5000)), checkpoint),
        Case("ckpt-text", "checkpoint", "a text file named .ckpt",
             _bytes("notes.ckpt", b"not a checkpoint\n" * 20), checkpoint),
        Case("ckpt-truncated-gpt", "checkpoint", "the GPT fixture cut in half",
             lambda f: _half_of(f, "gpt_v2.ckpt"), checkpoint),
        Case("ckpt-truncated-sovits", "checkpoint", "the SoVITS fixture cut in half",
             lambda f: _half_of(f, "sovits_v2.pth"), checkpoint),
        Case("ckpt-gpt-as-sovits", "checkpoint", "a GPT file given as SoVITS",
             lambda f: _copy_fixture(f, "gpt_v2.ckpt"), {"sovits": "refused",
                                                        "gpt": "accepted"}),
        Case("ckpt-sovits-as-gpt", "checkpoint", "a SoVITS file given as GPT",
             lambda f: _copy_fixture(f, "sovits_v2.pth"), {"gpt": "refused",
                                                          "sovits": "accepted"}),
        Case("ckpt-pickled-code", "checkpoint", "a checkpoint with code in it",
             _pickled_code("code.pth"), checkpoint),
        Case("ckpt-no-weight", "checkpoint", "a dict without weights",
             _pt("empty-dict.pth", lambda: {"config": {}, "info": "x"}), checkpoint),
        Case("ckpt-v3-sovits", "checkpoint", "a SoVITS file of another version (v3 marker)",
             lambda f: _relabelled_sovits(f), {"sovits": "refused"}),
        Case("ckpt-missing", "checkpoint", "a weights path that does not exist",
             lambda f: f / "gone.pth", checkpoint),
    ]
    return cases


def _truncate(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: max(1, path.stat().st_size // 2)])
    return path


def _fixture(name: str) -> Path:
    from tests.fixture_paths import tiny_fixture

    return tiny_fixture(name)


def _copy_fixture(folder: Path, name: str) -> Path:
    path = folder / f"copy-of-{name}"
    path.write_bytes(_fixture(name).read_bytes())
    return path


def _half_of(folder: Path, name: str) -> Path:
    return _truncate(_copy_fixture(folder, name))


def _relabelled_sovits(folder: Path) -> Path:
    """The tiny SoVITS with a v3 file marker where upstream writes one (its first bytes)."""
    path = folder / "v3-sovits.pth"
    data = bytearray(_fixture("sovits_v2.pth").read_bytes())
    data[:2] = b"03"  # upstream marks v3/v4 files by their first two bytes ("03"/"04")
    path.write_bytes(bytes(data))
    return path


# --- inference text and API numbers ---------------------------------------------------------

def _text(value: str) -> Callable[[Path], Path]:
    return _written("text.txt", value)


def _text_cases() -> list[Case]:
    refused = {"text": "refused"}
    ok = {"text": "accepted"}
    return [
        Case("text-empty", "text", "no text", _text(""), refused, mention="empty"),
        Case("text-spaces", "text", "only spaces and line breaks", _text("  \n\n \t "),
             refused, mention="empty"),
        Case("text-punctuation", "text", "punctuation only", _text("。。。！！？？……"),
             refused, mention="line 1"),
        Case("text-emoji", "text", "emoji only", _text("😀🎉👍"), refused,
             mention="line 1"),
        Case("text-emoji-mixed", "text", "emoji among words", _text("你好😀世界🎉。"), ok),
        Case("text-long", "text", "20,000 characters", _text("今天天气很好，我们去公园散步。" *
                                                             1334), ok),
        Case("text-blank-lines", "text", "many blank lines between sentences",
             _text("你好。\n\n\n\n\n世界。\n\n\n"), ok),
        Case("text-mixed-scripts", "text", "Chinese, English and Japanese mixed",
             _text("我喜欢 Python 和 ひらがな。"), ok),
        Case("text-control-chars", "text", "control characters",
             _text("你好\x00\x07世界\x1b。"), ok),
        Case("text-arabic", "text", "a script the model cannot read (Arabic)",
             _text("مرحبا بالعالم"), refused, mention="line 1"),
    ]


def _number(field_name: str, value: object) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        import json

        path = folder / f"{field_name}.json"
        path.write_text(json.dumps({field_name: value}), encoding="utf-8")
        return path
    return build


def _api_cases() -> list[Case]:
    refused = {"api": "refused"}
    wrong = [("top_k", -1), ("temperature", 0), ("temperature", -1.5),
             ("speed_factor", 0), ("speed_factor", 1000), ("batch_size", 0),
             ("batch_size", "many"), ("repetition_penalty", -1), ("seed", "abc"),
             ("fragment_interval", -1), ("text_lang", "xx"), ("media_type", "exe"),
             ("streaming_mode", 9), ("text_split_method", "cut99"),
             ("temperature", "NaN")]
    cases = [Case(f"api-{name}-{str(value).lower()}", "api", f"{name}={value!r}",
                  _number(name, value), refused, mention=name) for name, value in wrong]
    # Accepted as upstream's api_v2 accepts them (docs/api.md): its clients send these.
    compatible = [("top_p", 2.0, "top_p above 1 means 1"),
                  ("top_k", 10**9, "top_k above the vocabulary keeps every token"),
                  ("sample_steps", -4, "a v3/v4 field, ignored for v2 models")]
    cases += [Case(f"api-{name}-{str(value).lower()}", "api", f"{name}={value!r}: {why}",
                   _number(name, value), {"api": "accepted"}) for name, value, why in compatible]
    return cases


def all_cases() -> list[Case]:
    return [*_audio_cases(), *_list_cases(), *_name_cases(), *_feature_cases(),
            *_text_cases(), *_api_cases()]


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad-inputs")
    for case in all_cases():
        folder = out / case.group / case.id
        folder.mkdir(parents=True, exist_ok=True)
        print(case.id, case.build(folder))
