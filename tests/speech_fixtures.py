"""A folder of generated speech with planted problems, made by the real espeak-ng and sox.

Issue 10's "must hold" test (tests/integration/test_dataset_must_hold.py) runs the dataset
pipeline on it. Synthetic speech is used because its text is known: every file is built
from sentences whose text and position (seconds) are recorded, so a test can write the
`.list` by hand and map each slice back to its sentences (tiny ASR models give random text).

What ``build_speech_folder(folder)`` writes (44.1 kHz mono 16-bit unless said otherwise;
every speech file is peak-normalised to -1 dBFS first, so only the planted effect differs):

    file                 planted                       how
    clean_01.wav         nothing (English)             two sentences, 0.6 s of silence between
    clean_02.wav         nothing (English)             same, other sentences
    我的 录音 01.wav      nothing (Mandarin, a name with  espeak-ng ``-v cmn``
                         CJK characters and spaces)
    quiet.wav            loudness_outlier              ``gain -12`` after normalising
    clipped.wav          clipping                      ``gain 3`` without ``-G``: flat tops at
                                                       full scale (only +2 dB past the peak,
                                                       so its loudness stays near the others)
    noisy.wav            noisy                         white noise mixed in (``sox -m``)
    reverberant.wav      reverberant                   ``reverb 90 50 100`` (a large room)
    broken.wav           unreadable                    a RIFF/WAVE header, then random bytes
    long_40s.wav         too_long (unsliced)           ~40 s of sentences with 0.15 s gaps, so
                                                       no silence is long enough to cut at and
                                                       the slicer must re-cut it (Q-4)

Nothing here is random except the garbage bytes of ``broken.wav`` (seeded). The binaries
are real (``shutil.which``); ``missing_tools()`` says which are absent so a test can skip.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile

__all__ = [
    "SOURCE_RATE",
    "Sentence",
    "SpeechFile",
    "SpeechFolder",
    "build_speech_folder",
    "missing_tools",
]

SOURCE_RATE = 44100          # the "recordings" are at 44.1 kHz (espeak-ng speaks at 22.05)
LEAD_S = 0.3                 # silence before the first sentence
GAP_S = 0.6                  # silence between sentences (longer than the slicer's 300 ms)
LONG_GAP_S = 0.15            # ... in the 40-s file: shorter than 300 ms, never cut at
LONG_TARGET_S = 40.0
NOISE_AMPLITUDE = 0.1        # white noise peak (sox synth): about -25 dBFS RMS
QUIET_GAIN_DB = -12.0
CLIP_GAIN_DB = 3.0           # past the -1 dBFS peak: 2 dB of the waveform lands at full scale
NORMALISED_PEAK_DBFS = -1.0

ENGLISH = (
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore.",
    "A rainbow appears after the summer rain.",
    "Please bring the blue book to the library.",
    "The old clock in the hall stopped at noon.",
    "We walked along the river until sunset.",
    "My brother plays the violin every morning.",
    "Fresh bread smells wonderful in the kitchen.",
    "The train leaves the station at seven.",
    "Birds were singing in the tall green trees.",
    "He painted the fence a bright shade of red.",
    "The children built a castle made of sand.",
    "Our neighbours grow tomatoes in the garden.",
    "The museum opens its doors on Sunday.",
    "Snow covered the mountains far away.",
    "I would like a cup of hot tea please.",
)
MANDARIN = ("今天天气很好。", "我们一起去公园散步吧。")


@dataclass(frozen=True)
class Sentence:
    """One spoken sentence and where it lies in its file (seconds)."""

    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SpeechFile:
    """One generated file: its path, language (``.list`` code), sentences and planted checks."""

    path: Path
    language: str                   # "EN" | "ZH"
    sentences: tuple[Sentence, ...]
    planted: frozenset[str]         # quality checks this file must fail, unsliced

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences) if self.language == "EN" \
            else "".join(s.text for s in self.sentences)


@dataclass(frozen=True)
class SpeechFolder:
    folder: Path
    files: tuple[SpeechFile, ...]

    def by_name(self, name: str) -> SpeechFile:
        return next(f for f in self.files if f.path.name == name)


def missing_tools() -> list[str]:
    """What this module needs and does not find: the binaries on PATH, and espeak-ng's
    Mandarin voice (``cmn``); empty when all are there."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if "espeak-ng" not in missing:
        voices = subprocess.run(["espeak-ng", "--voices=cmn"], capture_output=True,
                                text=True, check=False).stdout
        if " cmn " not in voices:
            missing.append("espeak-ng's Mandarin voice (cmn)")
    return missing


def _run(*argv: str | Path) -> None:
    subprocess.run([str(a) for a in argv], check=True, capture_output=True)


def _seconds(path: Path) -> float:
    info = soundfile.info(str(path))
    return info.frames / info.samplerate


def _speak(text: str, voice: str, out: Path, work: Path) -> float:
    """One sentence at SOURCE_RATE with espeak-ng's own leading/trailing silence trimmed
    (so the gaps between sentences are exactly the ones we add); its length in seconds."""
    raw = work / (out.stem + "_raw.wav")
    _run("espeak-ng", "-v", voice, "-s", "170", "-w", raw, text)
    # silence 1 …: trim the start; reverse, trim, reverse: trim the end.
    _run("sox", "-D", raw, "-b", "16", out, "rate", str(SOURCE_RATE),
         "silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse")
    return _seconds(out)


def _silence(seconds: float, out: Path) -> None:
    _run("sox", "-D", "-n", "-r", str(SOURCE_RATE), "-c", "1", "-b", "16", out,
         "trim", "0", f"{seconds:.3f}")


def _join(texts: tuple[str, ...], voice: str, gap_s: float, out: Path,
          work: Path) -> tuple[Sentence, ...]:
    """Speak ``texts`` into one file: LEAD_S of silence, the sentences ``gap_s`` apart,
    peak-normalised to NORMALISED_PEAK_DBFS; the sentences' positions."""
    pieces: list[Path] = []
    sentences = []
    lead, gap = work / "lead.wav", work / f"gap_{gap_s:.3f}.wav"
    _silence(LEAD_S, lead)
    _silence(gap_s, gap)
    position = LEAD_S
    pieces.append(lead)
    for number, text in enumerate(texts):
        spoken = work / f"{out.stem}_{number:02d}.wav"
        seconds = _speak(text, voice, spoken, work)
        if number:
            pieces.append(gap)
            position += gap_s
        pieces.append(spoken)
        sentences.append(Sentence(text, position, position + seconds))
        position += seconds
    pieces.append(lead)  # a little silence at the end too
    _run("sox", "-D", *pieces, out, "gain", "-n", str(NORMALISED_PEAK_DBFS))
    return tuple(sentences)


def _effect(source: Path, out: Path, *effect: str) -> None:
    _run("sox", "-D", source, "-b", "16", out, *effect)


def _broken(out: Path, like: Path) -> None:
    """A file named .wav that no decoder reads: a real RIFF/WAVE header, then garbage."""
    garbage = random.Random(10).randbytes(6000)
    out.write_bytes(like.read_bytes()[:12] + garbage)


def build_speech_folder(folder: Path) -> SpeechFolder:
    """Write the files of the module docstring into ``folder`` (created) and describe them.

    Raises:
        subprocess.CalledProcessError: espeak-ng or sox failed (missing voice, bad sox).
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: list[SpeechFile] = []
    with tempfile.TemporaryDirectory(prefix="gsv-speech-") as temp:
        work = Path(temp)

        def spoken(name: str, texts: tuple[str, ...], voice: str = "en-us",
                   gap_s: float = GAP_S) -> tuple[Path, tuple[Sentence, ...]]:
            out = work / name
            return out, _join(texts, voice, gap_s, out, work)

        def add(name: str, source: Path, sentences: tuple[Sentence, ...], planted: set[str],
                language: str = "EN", *effect: str) -> None:
            target = folder / name
            if effect:
                _effect(source, target, *effect)
            else:
                shutil.copyfile(source, target)
            files.append(SpeechFile(target, language, sentences, frozenset(planted)))

        source, sentences = spoken("clean_01.wav", ENGLISH[0:2])
        add("clean_01.wav", source, sentences, set())
        source, sentences = spoken("clean_02.wav", ENGLISH[2:4])
        add("clean_02.wav", source, sentences, set())
        source, sentences = spoken("zh.wav", MANDARIN, voice="cmn")
        add("我的 录音 01.wav", source, sentences, set(), "ZH")
        source, sentences = spoken("quiet.wav", ENGLISH[4:6])
        add("quiet.wav", source, sentences, {"loudness_outlier"}, "EN",
            "gain", str(QUIET_GAIN_DB))
        source, sentences = spoken("clipped.wav", ENGLISH[6:8])
        add("clipped.wav", source, sentences, {"clipping"}, "EN", "gain", str(CLIP_GAIN_DB))
        source, sentences = spoken("noisy.wav", ENGLISH[8:10])
        noise = work / "noise.wav"
        _run("sox", "-D", "-n", "-r", str(SOURCE_RATE), "-c", "1", "-b", "16", noise,
             "synth", f"{_seconds(source):.4f}", "whitenoise", "vol", str(NOISE_AMPLITUDE))
        noisy = work / "noisy_mixed.wav"
        # -v 1 on each input: sox -m otherwise halves both.
        _run("sox", "-D", "-m", "-v", "1", source, "-v", "1", noise, "-b", "16", noisy)
        add("noisy.wav", noisy, sentences, {"noisy"})
        source, sentences = spoken("reverberant.wav", ENGLISH[10:12])
        add("reverberant.wav", source, sentences, {"reverberant"}, "EN",
            "reverb", "90", "50", "100")
        texts: list[str] = []
        while len(texts) * 2.3 < LONG_TARGET_S:   # ~2.3 s per sentence with its gap
            texts.append(ENGLISH[len(texts) % len(ENGLISH)])
        source, sentences = spoken("long_40s.wav", tuple(texts), gap_s=LONG_GAP_S)
        add("long_40s.wav", source, sentences, {"too_long"})
        _broken(folder / "broken.wav", folder / "clean_01.wav")
        files.append(SpeechFile(folder / "broken.wav", "EN", (), frozenset({"unreadable"})))
    return SpeechFolder(folder, tuple(files))
