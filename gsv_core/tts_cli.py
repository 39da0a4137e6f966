"""``gsv-studio tts``: the synthesis of the Inference tab and the API, from the shell.

    gsv-studio tts --gpt G.ckpt --sovits S.pth --ref ref.wav --prompt-text "..." \\
        --prompt-lang zh --text "..." --lang zh --out out.wav

Bad input exits with status 2 and one line that names the option to change (a missing file,
an unknown language, a value out of range, a reference clip outside 3-10 s); nothing is
written then. ``--out`` is never overwritten unless ``--overwrite`` is given, and it is
written atomically (a temporary file renamed into place), so a failed run leaves no half file.
The format follows the suffix of ``--out``: .wav (16-bit PCM), .ogg, .raw (int16) or .aac
(ffmpeg).

``--readings improved`` (the default) reads URLs, units, times, model numbers… as a person
would; ``--readings upstream`` reads the text exactly as upstream's front end does (issue 9).
A text with nothing to read aloud (only marks or emoji) exits 2 naming its lines.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import (
    CheckpointError,
    ConfigError,
    GsvError,
    ModelMissing,
    ReferenceAudioError,
    TextError,
)

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "build_parser", "main"]

EXIT_OK, EXIT_BAD_INPUT = 0, 2
_SUFFIX_MEDIA = {".wav": "wav", ".ogg": "ogg", ".raw": "raw", ".pcm": "raw", ".aac": "aac"}
# InferenceOptions field → the option that sets it, so a range error names the option
_OPTION_OF_FIELD = {
    "text_language": "--lang", "cut_method": "--cut", "top_k": "--top-k", "top_p": "--top-p",
    "temperature": "--temperature", "repetition_penalty": "--repetition-penalty",
    "seed": "--seed", "speed": "--speed", "fragment_interval_s": "--fragment-interval",
    "noise_scale": "--noise-scale", "batch_size": "--batch-size", "readings": "--readings",
}


class _BadInput(Exception):
    """Bad input for one option: the message is printed after the option's name."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")


def _describe(exc: GsvError, option: str | None = None) -> str:
    """The error's message and advice (and its rule id), without a repeated option name."""
    message = exc.message.removeprefix(f"{option}: ") if option else exc.message
    text = f"{message} {exc.advice}".strip()
    return f"{text} [{exc.rule}]" if exc.rule else text


def build_parser() -> argparse.ArgumentParser:
    from gsv_core.infer.options import (
        CUT_METHODS_ORDER,
        LANGUAGE_MODES,
        READINGS,
        InferenceOptions,
    )

    defaults = InferenceOptions()
    languages = ", ".join(LANGUAGE_MODES)
    parser = argparse.ArgumentParser(
        prog="gsv-studio tts",
        description="Speak a text in the voice of a reference clip with GPT-SoVITS v2 weights "
                    "(yours, upstream's, or the official pretrained ones).")
    models = parser.add_argument_group("models")
    models.add_argument("--gpt", type=Path, help="GPT weights (.ckpt); default: the official "
                                                 "pretrained GPT of the workspace")
    models.add_argument("--sovits", type=Path, help="SoVITS weights (.pth); default: the "
                                                    "official pretrained SoVITS of the workspace")
    models.add_argument("--workspace", type=Path, default=Path.cwd(),
                        help="workspace with the BERT and HuBERT folders (default: the current "
                             "folder)")
    models.add_argument("--device", help="cpu, cuda:0, mps… (default: the best one here)")
    models.add_argument("--precision", choices=("fp32", "fp16", "bf16"),
                        help="default: fp16/bf16 on a capable CUDA card, else fp32")
    voice = parser.add_argument_group("reference")
    voice.add_argument("--ref", type=Path, required=True, help="reference clip, 3-10 s")
    voice.add_argument("--prompt-text", default="",
                       help="what the reference clip says; empty: prompt-free")
    voice.add_argument("--prompt-lang", default="all_zh",
                       help=f"language of --prompt-text: {languages} (default all_zh)")
    voice.add_argument("--extra-ref", type=Path, action="append", default=[],
                       help="another clip of the same voice whose timbre is averaged in "
                            "(repeatable)")
    text = parser.add_argument_group("text")
    source = text.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to speak")
    source.add_argument("--text-file", type=Path, help="a UTF-8 file with the text to speak")
    text.add_argument("--lang", default=defaults.text_language,
                      help=f"language mode of the text: {languages} "
                           f"(default {defaults.text_language})")
    text.add_argument("--cut", default=defaults.cut_method, choices=CUT_METHODS_ORDER,
                      help=f"how to cut the text into segments (default {defaults.cut_method})")
    text.add_argument("--readings", default=defaults.readings, choices=READINGS,
                      help="how URLs, units, times, model numbers… are read: improved, as a "
                           "person would, or upstream, as upstream's text front end does "
                           f"(default {defaults.readings})")
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument("--top-k", type=int, default=defaults.top_k)
    sampling.add_argument("--top-p", type=float, default=defaults.top_p)
    sampling.add_argument("--temperature", type=float, default=defaults.temperature)
    sampling.add_argument("--repetition-penalty", type=float,
                          default=defaults.repetition_penalty)
    sampling.add_argument("--seed", type=int, default=defaults.seed,
                          help="-1: random (the seed used is printed)")
    sampling.add_argument("--speed", type=float, default=defaults.speed)
    sampling.add_argument("--fragment-interval", type=float,
                          default=defaults.fragment_interval_s,
                          help="seconds of silence between segments")
    sampling.add_argument("--noise-scale", type=float, default=defaults.noise_scale)
    sampling.add_argument("--batch-size", type=int, default=None,
                          help="segments decoded together (default: the most this device "
                               "takes)")
    output = parser.add_argument_group("output")
    output.add_argument("--out", type=Path, required=True,
                        help="file to write: .wav (16-bit PCM), .ogg, .raw or .aac")
    output.add_argument("--overwrite", action="store_true",
                        help="replace --out when it exists")
    return parser


def _existing_file(path: Path | None, option: str) -> Path | None:
    if path is not None and not path.is_file():
        raise _BadInput(option, f"{path} is not a file")
    return path


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None:
        return args.text
    _existing_file(args.text_file, "--text-file")
    try:
        return args.text_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _BadInput("--text-file", f"cannot read {args.text_file}: {exc}") from exc


def _options(args: argparse.Namespace):
    from gsv_core.infer.options import InferenceOptions, check_language

    try:
        check_language(args.lang, "--lang")
    except ConfigError as exc:
        raise _BadInput("--lang", _describe(exc, "--lang")) from exc
    try:
        return InferenceOptions(
            text_language=args.lang.strip().lower(), readings=args.readings,
            cut_method=args.cut, top_k=args.top_k,
            top_p=args.top_p, temperature=args.temperature,
            repetition_penalty=args.repetition_penalty, seed=args.seed, speed=args.speed,
            fragment_interval_s=args.fragment_interval, noise_scale=args.noise_scale,
            batch_size=args.batch_size).validate()
    except ConfigError as exc:
        field = exc.message.split(" ", 1)[0].rstrip(":")
        option = _OPTION_OF_FIELD.get(field)
        if option is None:
            raise
        raise _BadInput(option, _describe(exc, field)) from exc


def _reference(args: argparse.Namespace):
    from gsv_core.infer.options import Reference, check_language

    _existing_file(args.ref, "--ref")
    for extra in args.extra_ref:
        _existing_file(extra, "--extra-ref")
    prompt = args.prompt_text.strip()
    language = args.prompt_lang
    if prompt:
        try:
            language = check_language(args.prompt_lang, "--prompt-lang")
        except ConfigError as exc:
            raise _BadInput("--prompt-lang", _describe(exc, "--prompt-lang")) from exc
    return Reference(audio_path=args.ref, text=prompt, language=language,
                     extra_audio_paths=tuple(args.extra_ref), prompt_free=not prompt)


def _media_type(out: Path) -> str:
    from gsv_core.infer.audio_io import require_media_type

    media_type = _SUFFIX_MEDIA.get(out.suffix.lower())
    if media_type is None:
        raise _BadInput("--out", f"{out.name}: unknown suffix; use .wav, .ogg, .raw or .aac")
    try:
        return require_media_type(media_type)
    except ConfigError as exc:
        raise _BadInput("--out", _describe(exc)) from exc


def _write_new(out: Path, data: bytes, overwrite: bool) -> None:
    """Write ``data`` to ``out`` atomically; without ``overwrite`` an existing file (even one
    made meanwhile by another program) is left alone."""
    try:
        write_atomically(out, lambda handle: handle.write(data), replace_existing=overwrite)
    except FileExistsError as exc:
        raise _BadInput("--out", f"{out} exists; pass --overwrite to replace it") from exc


def _load_models(engine, args: argparse.Namespace) -> None:
    from gsv_core.models.registry import inference_models

    found = inference_models(engine.workspace)
    for option, given, official, load in (
            ("--gpt", args.gpt, found.official_gpt, engine.load_gpt),
            ("--sovits", args.sovits, found.official_sovits, engine.load_sovits)):
        path = _existing_file(given, option) or official
        if path is None:
            raise _BadInput(option, f"no weights given, and the workspace "
                                    f"{engine.workspace.root} has no official pretrained "
                                    f"ones; pass {option} FILE")
        try:
            load(path)
        except (CheckpointError, ModelMissing) as exc:
            raise _BadInput(option, _describe(exc)) from exc


def _text_option(args: argparse.Namespace) -> str:
    return "--text" if args.text is not None else "--text-file"


def _run(args: argparse.Namespace) -> int:
    from gsv_core.infer import audio_io
    from gsv_core.infer.engine import InferenceEngine
    from gsv_core.settings import open_workspace

    if args.out.exists() and not args.overwrite:
        raise _BadInput("--out", f"{args.out} exists; pass --overwrite to replace it")
    media_type = _media_type(args.out)
    text = _read_text(args)
    options = _options(args)
    reference = _reference(args)
    engine = InferenceEngine(open_workspace(args.workspace), device=args.device,
                             precision=args.precision)
    _load_models(engine, args)
    try:
        result = engine.synthesize(reference, text, replace(options, streaming_mode=0))
    except ReferenceAudioError as exc:
        raise _BadInput("--ref", _describe(exc)) from exc
    except TextError as exc:  # empty or unreadable text
        raise _BadInput(_text_option(args), _describe(exc)) from exc
    _write_new(args.out, audio_io.encode(result.audio, result.sample_rate, media_type),
               args.overwrite)
    print(f"{args.out}: {result.duration_s:.2f} s, {len(result.segments)} segments, "
          f"seed {result.seed}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 itself on a missing or malformed option
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    try:
        return _run(args)
    except _BadInput as exc:
        print(f"gsv-studio tts: error: {exc}", file=sys.stderr)
    except GsvError as exc:
        print(f"gsv-studio tts: error: {_describe(exc)}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
