"""Read and write upstream's `.list` label files (``wav|speaker|LANG|text``, one clip a line).

Upstream reads them with ``line.split("|")`` unpacked into four names (1-get-text.py), so a
``|`` in the text crashes it, a byte-order mark glues itself to the first path, and an
unknown language (``AUTO``, ``DE``) is skipped with a console warning. Here every problem
of a file is collected with its line number and what to do, so one pass over a list tells
the user everything to fix:

- blank lines are ignored; a BOM and CRLF line ends are accepted;
- the text is everything after the third ``|`` (it may contain ``|``);
- a relative audio path is resolved against the audio folder the caller names (else the
  list's own folder); a path that does not exist there is also looked for by its file
  name in the audio folder, as upstream does when "audio folder" is filled in
  (2-get-hubert-wav32k.py joins the folder with the base name), so a list made on
  another machine (``D:\\data\\a.wav``) still finds its clips;
- language codes are read as upstream reads them (ZH/zh, JP/JA/ja, EN/En/en, KO/Ko/ko,
  YUE/Yue/yue) and stored as our lower-case codes; anything else is ``unknown_language``
  (Q-5: an error at formatting time, never a silent skip);
- two lines whose audio has the same file name are ``duplicate_name``: upstream names
  every feature file after the audio's base name, so the second would overwrite the first.

Writing goes through ``write_atomically``; an existing file with other content is first
copied to a backup (``<name>.bak``, then ``<name>.bak.1`` ...), so no edit loses the
user's version.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import BinaryIO, Literal

from gsv_core.atomic_write import write_atomically
from gsv_core.errors import DatasetError

__all__ = [
    "LANGUAGE_CODES",
    "Clip",
    "LabelList",
    "ListIssue",
    "WriteResult",
    "format_line",
    "parse_list",
    "read_list",
    "write_list",
]

# Upstream's accepted spellings (1-get-text.py:110-126) → our codes (Q-5: zh en ja ko yue).
LANGUAGE_CODES = {
    "ZH": "zh", "zh": "zh", "JP": "ja", "jp": "ja", "JA": "ja", "ja": "ja",
    "EN": "en", "en": "en", "En": "en", "KO": "ko", "Ko": "ko", "ko": "ko",
    "yue": "yue", "YUE": "yue", "Yue": "yue",
}
# What we write: upper-case, as upstream's ASR scripts do, and accepted by every upstream reader.
_WRITTEN_CODES = {"zh": "ZH", "ja": "JA", "en": "EN", "ko": "KO", "yue": "YUE"}
_SUPPORTED_TEXT = "ZH, EN, JA, KO or YUE"

IssueCheck = Literal["bad_line", "missing_audio", "unknown_language", "duplicate_name"]


@dataclass(frozen=True)
class Clip:
    """One `.list` line: an audio file and its transcript.

    ``wav`` is the path as written in the file (kept when the list is written back);
    ``audio_path`` is where it was found (or would be, when missing). ``language`` is our
    code (``zh``...) or, when unknown, the code exactly as written.
    """

    wav: str
    speaker: str
    language: str
    text: str
    audio_path: Path
    line_number: int = 0   # 1-based; 0 for a clip that did not come from a file

    @property
    def name(self) -> str:
        """The audio's base name: upstream's key for the clip's feature files."""
        return _base_name(self.wav)

    @property
    def language_known(self) -> bool:
        return self.language in _WRITTEN_CODES


@dataclass(frozen=True)
class ListIssue:
    """One problem of one line; ``message`` names the line and says what to do."""

    check: IssueCheck
    line_number: int
    message: str
    wav: str = ""          # the audio path as written, when the line had one


@dataclass(frozen=True)
class LabelList:
    """A parsed `.list`: the clips (lines with four fields) and every problem found."""

    path: Path | None
    clips: tuple[Clip, ...]
    issues: tuple[ListIssue, ...] = ()

    def issues_of(self, check: IssueCheck) -> tuple[ListIssue, ...]:
        return tuple(issue for issue in self.issues if issue.check == check)

    def raise_for_issues(self, checks: Iterable[IssueCheck] | None = None) -> None:
        """Raise one ``DatasetError`` listing every issue (of ``checks``, default all)."""
        wanted = set(checks) if checks is not None else None
        issues = [i for i in self.issues if wanted is None or i.check in wanted]
        if not issues:
            return
        where = f"{self.path}" if self.path else "the label list"
        numbers = sorted({i.line_number for i in issues})
        lines = ", ".join(str(n) for n in numbers[:20])
        more = f" and {len(numbers) - 20} more" if len(numbers) > 20 else ""
        on = f"line {lines}" if len(numbers) == 1 else f"lines {lines}{more}"
        raise DatasetError(
            f"{where} has {len(issues)} problem(s) on {on}.",
            "Fix each line listed below (or remove it), then load the list again.",
            details="\n".join(i.message for i in issues))


@dataclass(frozen=True)
class WriteResult:
    """What ``write_list`` did: ``written`` False when the file already had this content."""

    path: Path
    written: bool
    backup: Path | None = None


def _base_name(wav: str) -> str:
    """The file name of a path written on Linux or Windows (``D:\\a\\b.wav`` → ``b.wav``)."""
    return PureWindowsPath(wav).name if "\\" in wav else Path(wav).name


def _resolve(wav: str, audio_dir: Path | None, list_dir: Path | None) -> Path:
    """Where the clip's audio is: see the module docstring for the order of places."""
    written = Path(wav)
    windows = "\\" in wav or PureWindowsPath(wav).drive != ""
    if not windows and written.is_absolute():
        candidate = written
    else:
        base = audio_dir or list_dir or Path.cwd()
        candidate = base / (PureWindowsPath(wav).name if windows else written)
    if audio_dir is not None and not candidate.exists():
        by_name = audio_dir / _base_name(wav)
        if by_name.exists():
            return by_name
    return candidate


@dataclass
class _Parser:
    """State of one parse: which names were seen on which line."""

    audio_dir: Path | None
    list_dir: Path | None
    check_audio: bool
    clips: list[Clip] = field(default_factory=list)
    issues: list[ListIssue] = field(default_factory=list)
    first_line_of: dict[str, int] = field(default_factory=dict)

    def line(self, number: int, raw: str) -> None:
        fields = raw.split("|", 3)
        if len(fields) < 4:
            self.issues.append(ListIssue("bad_line", number, (
                f"Line {number}: expected 'audio|speaker|language|text' (4 fields separated by "
                f"'|'), found {len(fields)}: {raw[:80]!r}. Add the missing fields or delete "
                "the line.")))
            return
        wav, speaker, code, text = (fields[0].strip(), fields[1].strip(), fields[2].strip(),
                                    fields[3].strip())
        if not wav or not text:
            missing = "audio path" if not wav else "text"
            self.issues.append(ListIssue("bad_line", number, (
                f"Line {number}: the {missing} is empty. Fill it in or delete the line."),
                wav=wav))
            return
        language = LANGUAGE_CODES.get(code, code)
        if language not in _WRITTEN_CODES:
            self.issues.append(ListIssue("unknown_language", number, (
                f"Line {number}: language {code!r} is not supported (Q-5). Use "
                f"{_SUPPORTED_TEXT}; an AUTO label from ASR must be replaced by the "
                "clip's language."), wav=wav))
        clip = Clip(wav=wav, speaker=speaker, language=language, text=text,
                    audio_path=_resolve(wav, self.audio_dir, self.list_dir),
                    line_number=number)
        if self.check_audio and not clip.audio_path.is_file():
            self.issues.append(ListIssue("missing_audio", number, (
                f"Line {number}: audio file {os.fspath(clip.audio_path)!r} does not exist. "
                "Choose the folder the clips are in (audio folder), or fix the path."),
                wav=wav))
        first = self.first_line_of.setdefault(clip.name.casefold(), number)
        if first != number:
            # casefold: Windows and macOS file systems treat A.wav and a.wav as one file.
            self.issues.append(ListIssue("duplicate_name", number, (
                f"Line {number}: audio name {clip.name!r} is also used on line {first}; "
                "feature files are named after it, so one would overwrite the other. Rename "
                "one of the files (and its line) or delete the repeated line."), wav=wav))
        self.clips.append(clip)


def parse_list(text: str, *, audio_dir: str | os.PathLike[str] | None = None,
               list_path: str | os.PathLike[str] | None = None,
               check_audio: bool = True) -> LabelList:
    """Parse `.list` text; never raises for bad lines (they are in ``issues``).

    ``audio_dir``: the folder relative paths (and moved clips) are looked for in;
    ``list_path``: where the text came from (relative paths fall back to its folder);
    ``check_audio``: whether missing audio files are an issue.
    """
    path = Path(list_path) if list_path is not None else None
    parser = _Parser(audio_dir=Path(audio_dir) if audio_dir is not None else None,
                     list_dir=path.parent if path is not None else None,
                     check_audio=check_audio)
    text = text.removeprefix("\ufeff")
    # split("\n") rather than splitlines(): a U+2028 inside a transcript is not a line end
    # for upstream either, and must not shift every later line number.
    for number, raw in enumerate(text.split("\n"), start=1):
        raw = raw.removesuffix("\r")
        if raw.strip():
            parser.line(number, raw)
    return LabelList(path=path, clips=tuple(parser.clips), issues=tuple(parser.issues))


def read_list(path: str | os.PathLike[str], *, audio_dir: str | os.PathLike[str] | None = None,
              check_audio: bool = True) -> LabelList:
    """Read and parse a `.list` file (UTF-8, with or without BOM).

    Raises:
        DatasetError: the file cannot be read or is not UTF-8 (bad lines do not raise).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"Cannot read the label list {os.fspath(path)!r}.",
                           "Check the path and that the file is readable.",
                           details=str(exc)) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DatasetError(
            f"The label list {os.fspath(path)!r} is not UTF-8 text (line {line}).",
            "Save it as UTF-8 in your editor (GPT-SoVITS reads .list files as UTF-8).",
            details=str(exc)) from exc
    return parse_list(text, audio_dir=audio_dir, list_path=path, check_audio=check_audio)


def format_line(clip: Clip) -> str:
    """The `.list` line of a clip (no line end); upper-case language as upstream writes it.

    Raises:
        DatasetError: a field holds a line break, or the path/speaker holds a '|'.
    """
    for name, value in (("audio path", clip.wav), ("speaker", clip.speaker),
                        ("language", clip.language), ("text", clip.text)):
        if "\n" in value or "\r" in value:
            raise DatasetError(f"The {name} of clip {clip.name!r} contains a line break.",
                               "Remove the line break: a .list holds one clip per line.")
        if name != "text" and "|" in value:
            raise DatasetError(f"The {name} of clip {clip.name!r} contains '|'.",
                               "Remove the '|': it separates the fields of a .list line.")
    code = _WRITTEN_CODES.get(clip.language, clip.language)
    return f"{clip.wav}|{clip.speaker}|{code}|{clip.text}"


def _free_backup_name(path: Path, current: bytes) -> tuple[Path, bool]:
    """The backup to write (``False``) or an existing identical backup to reuse (``True``)."""
    for number in range(10_000):
        candidate = path.with_name(path.name + (".bak" if number == 0 else f".bak.{number}"))
        if not candidate.exists():
            return candidate, False
        if candidate.is_file() and candidate.read_bytes() == current:
            return candidate, True
    raise DatasetError(f"Too many backups of {os.fspath(path)!r} already exist.",
                       "Delete old .bak files beside it.")


def write_list(path: str | os.PathLike[str], clips: Sequence[Clip], *,
               backup: bool = True) -> WriteResult:
    """Write ``clips`` as a `.list` atomically (UTF-8, no BOM, ``\\n`` line ends).

    When ``path`` exists with other content it is first copied to a backup beside it
    (``backup=False`` refuses to replace it instead). Identical content is not rewritten.

    Raises:
        DatasetError: a clip cannot be written (see ``format_line``), or ``backup`` is False
            and the file exists with other content.
    """
    path = Path(path)
    data = "".join(format_line(clip) + "\n" for clip in clips).encode("utf-8")
    if not path.exists():
        write_atomically(path, lambda handle: handle.write(data))
        return WriteResult(path=path, written=True)
    current = path.read_bytes()
    if current == data:
        return WriteResult(path=path, written=False)
    if not backup:
        raise DatasetError(f"{os.fspath(path)!r} already exists with other content.",
                           "Choose another file name, or allow a backup of the old file.")
    backup_path, exists = _free_backup_name(path, current)
    if not exists:
        def copy(handle: BinaryIO) -> None:
            handle.write(current)

        write_atomically(backup_path, copy, replace_existing=False)
    write_atomically(path, lambda handle: handle.write(data))
    return WriteResult(path=path, written=True, backup=backup_path)
