"""Proofreading one `.list`: paged clips, text and language edits, delete/restore, merge, split.

A ``ProofreadSession`` is what the Dataset tab's table calls. Every edit is saved at
once (the list through ``write_list``'s atomic write and backup rule, the reviewed marks
and removed clips in ``<stem>.review.json``, see ``review_store``), so a browser reload
or an app restart loses nothing. Unlike upstream's subfix_webui.py, which saves on page
turns, overwrites the original audio on a split and merges into the first file:

- **audio is never deleted or rewritten**: delete takes the line out of the list and
  records it (``removed``, ``restore``); merge and split write new WAVs beside the
  originals and keep them on disk (also recorded, so they can be restored);
- **new names never collide** with a file in the folder, a clip of the list or a removed
  clip (feature files are named after the audio's base name): a split of ``x.wav`` gives
  ``x_01.wav`` and ``x_02.wav`` (upstream's ``<name>_NN``; the next free pair when those
  exist), a merge of ``x.wav`` with the next clip gives ``x_merged.wav`` (then
  ``x_merged_2.wav``...);
- **a list changed on disk since it was loaded is never silently merged**: every edit
  first compares the content hash of the list and of the review file with what this
  session read or wrote, and refuses with ``StaleListError`` (reload, then redo the edit);
- a list with lines that are not clips (``bad_line``) is refused when opened: writing it
  back would drop those lines.

Merging concatenates the two clips with a linear crossfade (10 ms by default; 0 = plain
concatenation). Slices end in silence, so the fade only hides a click where a boundary
is not at zero; it shortens the result by the crossfade length. A split is lossless: the
samples before and after the cut, in the original's sample format.

Clip indices are 0-based positions in the list; page numbers are 1-based. A reviewed
mark belongs to the clip's name: editing the text keeps it (editing is reviewing), a
merge or split makes new, unreviewed clips, and two lines with the same name (a
``duplicate_name`` issue) share one mark. Two processes editing the same list at the
same instant are not locked against each other; the hash check catches any later edit.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np
import soundfile

from gsv_core.atomic_write import write_atomically
from gsv_core.dataset.annotations import (
    LANGUAGE_CODES,
    Clip,
    LabelList,
    ListIssue,
    format_line,
    parse_list,
    read_list,
    write_list,
)
from gsv_core.dataset.review_store import (
    RemovedClip,
    ReviewState,
    load_review,
    review_path,
    save_review,
    sha256_of,
)
from gsv_core.errors import DatasetError

__all__ = [
    "DEFAULT_CROSSFADE_S",
    "DEFAULT_PAGE_SIZE",
    "MIN_SPLIT_PIECE_S",
    "Page",
    "PageItem",
    "ProofreadSession",
    "ReviewProgress",
    "StaleListError",
]

DEFAULT_PAGE_SIZE = 10        # rows per page, as upstream's proofreading tool shows
DEFAULT_CROSSFADE_S = 0.01    # merge: long enough to hide a click, short against a syllable
MIN_SPLIT_PIECE_S = 0.25      # split: a piece shorter than this holds no syllable
_OUR_LANGUAGES = ("zh", "en", "ja", "ko", "yue")
# Scripts written without spaces between words: a merged text is joined without one.
_NO_SPACE_LANGUAGES = ("zh", "ja", "yue")
# Sample formats read as integers, so that a split copies the samples exactly.
_SUBTYPE_DTYPES = {"PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32",
                   "FLOAT": "float32", "DOUBLE": "float64"}


class StaleListError(DatasetError):
    """The list or its review file changed on disk since this session read it."""


@dataclass(frozen=True)
class PageItem:
    """One row of the table: the clip, where it is in the list, and its review mark."""

    index: int
    clip: Clip
    reviewed: bool
    audio_exists: bool
    issues: tuple[ListIssue, ...] = ()   # this line's problems (unknown language...)


@dataclass(frozen=True)
class Page:
    """One page of clips; ``number`` is the page actually shown (out-of-range is clamped)."""

    number: int
    size: int
    page_count: int
    clip_count: int
    items: tuple[PageItem, ...]


@dataclass(frozen=True)
class ReviewProgress:
    """"N of M reviewed": what the progress bar shows and rules R-3 and D-3 consume."""

    reviewed: int
    total: int

    @property
    def fraction(self) -> float:
        """0-1 (``DatasetSummary.reviewed_fraction``); an empty list counts as 0 reviewed."""
        return self.reviewed / self.total if self.total else 0.0

    @property
    def percent(self) -> float:
        """0-100 (``dataset_from_fields``' ``reviewed_pct``)."""
        return 100.0 * self.fraction


@dataclass(frozen=True)
class _Audio:
    samples: np.ndarray   # (frames, channels) in the file's own sample format
    sample_rate: int
    subtype: str          # the WAV subtype to write it back with

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def _read_audio(path: Path) -> _Audio:
    try:
        info = soundfile.info(os.fspath(path))
        dtype = _SUBTYPE_DTYPES.get(info.subtype, "float32")
        samples, rate = soundfile.read(os.fspath(path), dtype=dtype, always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise DatasetError(f"Cannot read the audio {os.fspath(path)!r}.",
                           "Check that the file exists and is a sound file.",
                           details=str(exc)) from exc
    subtype = info.subtype if info.subtype in _SUBTYPE_DTYPES else "PCM_16"
    return _Audio(samples=samples, sample_rate=int(rate), subtype=subtype)


def _write_new_wav(path: Path, audio: _Audio) -> None:
    """Write a WAV that did not exist (``FileExistsError`` if one appeared meanwhile)."""
    write_atomically(path, lambda handle: soundfile.write(
        handle, audio.samples, audio.sample_rate, format="WAV", subtype=audio.subtype),
        replace_existing=False)


def _crossfade_concat(first: np.ndarray, second: np.ndarray, fade_frames: int) -> np.ndarray:
    """``first`` then ``second``, overlapping ``fade_frames`` with a linear fade (same dtype)."""
    if fade_frames <= 0:
        return np.concatenate([first, second])
    ramp = np.linspace(0.0, 1.0, fade_frames + 2)[1:-1, None]   # (fade, 1), ends excluded
    mixed = (first[-fade_frames:].astype(np.float64) * (1.0 - ramp)
             + second[:fade_frames].astype(np.float64) * ramp)
    if np.issubdtype(first.dtype, np.integer):
        limits = np.iinfo(first.dtype)
        mixed = np.clip(np.rint(mixed), limits.min, limits.max)
    return np.concatenate([first[:-fade_frames], mixed.astype(first.dtype),
                           second[fade_frames:]])


def _sibling_wav(wav: str, name: str) -> str:
    """``wav`` as written in the list, with its file name replaced (keeps its folder/style)."""
    if "\\" in wav or PureWindowsPath(wav).drive:
        return str(PureWindowsPath(wav).with_name(name))
    return str(PurePosixPath(wav).with_name(name))


def _normalise_language(code: str) -> str:
    language = LANGUAGE_CODES.get(code.strip()) or LANGUAGE_CODES.get(code.strip().upper())
    if language not in _OUR_LANGUAGES:
        raise DatasetError(f"Language {code!r} is not supported (Q-5).",
                           "Choose ZH, EN, JA, KO or YUE.", rule="Q-5")
    return language


def _clean_text(text: str, what: str = "text") -> str:
    cleaned = text.strip()
    if not cleaned:
        raise DatasetError(f"The {what} is empty.",
                           "Type the words spoken in the clip (or delete the clip).")
    if "\n" in cleaned or "\r" in cleaned:
        raise DatasetError(f"The {what} contains a line break.",
                           "Write it on one line: a .list holds one clip per line.")
    return cleaned


def _list_bytes(clips: Sequence[Clip]) -> bytes:
    """What ``write_list`` writes for ``clips`` (to compare hashes with the file)."""
    return "".join(format_line(clip) + "\n" for clip in clips).encode("utf-8")


def _file_sha256(path: Path) -> str | None:
    try:
        return sha256_of(path.read_bytes())
    except FileNotFoundError:
        return None


class ProofreadSession:
    """Proofreading state of one `.list` and its audio folder; every edit is saved at once.

    ``audio_dir``: where relative paths (and clips of a list made elsewhere) are looked
    for, as in ``read_list``; default the list's folder. Methods taking ``expected_name``
    refuse to act when the clip at ``index`` has another name (a table row shown before
    another tab changed the list).

    Raises (on opening):
        DatasetError: the list cannot be read, has lines that are not clips, or its review
            file is unreadable.
    """

    def __init__(self, list_path: str | os.PathLike[str], *,
                 audio_dir: str | os.PathLike[str] | None = None) -> None:
        self.list_path = Path(list_path)
        self.audio_dir = Path(audio_dir) if audio_dir is not None else None
        self.review_path = review_path(self.list_path)
        self._lock = threading.RLock()   # the tab may call from several request threads
        self.reload()

    # ---- loading -------------------------------------------------------------------

    def reload(self) -> None:
        """Read the list and the review file again (after a ``StaleListError``)."""
        with self._lock:
            try:
                data = self.list_path.read_bytes()
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                read_list(self.list_path)   # raises its DatasetError naming file and line
                raise
            parsed = parse_list(text, audio_dir=self.audio_dir, list_path=self.list_path)
            parsed.raise_for_issues(["bad_line"])
            state, store_sha = load_review(self.review_path)
            self._parsed: LabelList = parsed
            self._clips: list[Clip] = list(parsed.clips)
            self._list_sha: str = sha256_of(data)
            self._state: ReviewState = state
            self._store_sha: str | None = store_sha

    @property
    def clips(self) -> tuple[Clip, ...]:
        return tuple(self._clips)

    @property
    def issues(self) -> tuple[ListIssue, ...]:
        """Problems of the list as it is now (missing audio, unknown language...)."""
        return self._parsed.issues

    @property
    def removed(self) -> tuple[RemovedClip, ...]:
        """Clips that left the list, oldest first; ``restore`` brings one back."""
        return self._state.removed

    # ---- reading -------------------------------------------------------------------

    def page_count(self, size: int = DEFAULT_PAGE_SIZE) -> int:
        """Number of pages (at least 1, so an empty list still shows an empty page)."""
        return max(1, math.ceil(len(self._clips) / self._page_size(size)))

    def page_of(self, index: int, size: int = DEFAULT_PAGE_SIZE) -> int:
        """The 1-based page showing clip ``index``."""
        return self._check_index(index) // self._page_size(size) + 1

    def page(self, number: int, size: int = DEFAULT_PAGE_SIZE) -> Page:
        """Page ``number`` (1-based, clamped to the pages that exist) of ``size`` clips."""
        size = self._page_size(size)
        count = self.page_count(size)
        number = min(max(1, number), count)
        start = (number - 1) * size
        by_line: dict[int, list[ListIssue]] = {}
        for issue in self._parsed.issues:
            by_line.setdefault(issue.line_number, []).append(issue)
        items = tuple(PageItem(index=i, clip=clip, reviewed=self.is_reviewed(i),
                               audio_exists=clip.audio_path.is_file(),
                               issues=tuple(by_line.get(clip.line_number, ())))
                      for i, clip in enumerate(self._clips[start:start + size], start=start))
        return Page(number=number, size=size, page_count=count,
                    clip_count=len(self._clips), items=items)

    def duration_s(self, index: int) -> float:
        """Length of clip ``index`` from its file header (the split slider's range).

        Raises:
            DatasetError: the audio cannot be read.
        """
        path = self._clips[self._check_index(index)].audio_path
        try:
            return float(soundfile.info(os.fspath(path)).duration)
        except (OSError, RuntimeError) as exc:
            raise DatasetError(f"Cannot read the audio {os.fspath(path)!r}.",
                               "Check that the file exists and is a sound file.",
                               details=str(exc)) from exc

    def is_reviewed(self, index: int) -> bool:
        return self._clips[self._check_index(index)].name in self._state.reviewed

    def progress(self) -> ReviewProgress:
        """How many clips of the list are marked reviewed."""
        marked = sum(clip.name in self._state.reviewed for clip in self._clips)
        return ReviewProgress(reviewed=marked, total=len(self._clips))

    def next_unreviewed(self, after: int | None = None, *, wrap: bool = True) -> int | None:
        """The first unreviewed clip after ``after`` (from the start when None); None: all done."""
        count = len(self._clips)
        start = 0 if after is None else max(after + 1, 0)
        order = [*range(start, count), *(range(min(start, count)) if wrap else ())]
        return next((i for i in order if not self.is_reviewed(i)), None)

    def previous_unreviewed(self, before: int | None = None, *,
                            wrap: bool = True) -> int | None:
        """The last unreviewed clip before ``before`` (from the end when None)."""
        end = len(self._clips) if before is None else min(before, len(self._clips))
        order: list[int] = list(range(end - 1, -1, -1))
        if wrap:
            order += list(range(len(self._clips) - 1, end - 1, -1))
        return next((i for i in order if not self.is_reviewed(i)), None)

    # ---- edits ---------------------------------------------------------------------

    def edit(self, index: int, *, text: str | None = None, language: str | None = None,
             expected_name: str | None = None) -> Clip:
        """Change a clip's text and/or language (``ZH``/``zh``/``JP``... as upstream reads)."""
        with self._lock:
            clip = self._clip(index, expected_name)
            changed = replace(
                clip,
                text=clip.text if text is None else _clean_text(text),
                language=clip.language if language is None else _normalise_language(language))
            if changed == clip:
                return clip   # nothing to save (and no backup of an untouched file)
            clips = list(self._clips)
            clips[index] = changed
            self._commit(clips, self._state)
            return changed

    def mark_reviewed(self, index: int, reviewed: bool = True, *,
                      expected_name: str | None = None) -> ReviewProgress:
        """Set or clear a clip's reviewed mark; returns the new progress."""
        with self._lock:
            name = self._clip(index, expected_name).name
            marks = self._state.reviewed | {name} if reviewed else self._state.reviewed - {name}
            self._commit(None, replace(self._state, reviewed=frozenset(marks)))
            return self.progress()

    def review_and_next(self, index: int, *, expected_name: str | None = None) -> int | None:
        """Mark clip ``index`` reviewed and return the next unreviewed one (the "mark" key)."""
        with self._lock:
            self.mark_reviewed(index, expected_name=expected_name)
            return self.next_unreviewed(index)

    def delete(self, index: int, *, expected_name: str | None = None) -> RemovedClip:
        """Take a clip out of the list; its audio stays on disk and it can be restored."""
        with self._lock:
            clip = self._clip(index, expected_name)
            record = RemovedClip(name=clip.name, line=format_line(clip), index=index,
                                 reason="deleted")
            clips = self._clips[:index] + self._clips[index + 1:]
            self._commit(clips, replace(self._state, removed=(*self._state.removed, record)))
            return record

    def restore(self, name: str) -> int:
        """Put the latest removed clip called ``name`` back where it was; returns its index.

        Raises:
            DatasetError: no removed clip has that name, or the list already holds a clip
                with that name (it would be a duplicate).
        """
        with self._lock:
            positions = [i for i, r in enumerate(self._state.removed) if r.name == name]
            if not positions:
                raise DatasetError(f"No removed clip is called {name!r}.",
                                   "Pick one of the removed clips listed.")
            if any(clip.name.casefold() == name.casefold() for clip in self._clips):
                raise DatasetError(f"The list already has a clip called {name!r}.",
                                   "Delete or rename that clip first.")
            position = positions[-1]
            record = self._state.removed[position]
            parsed = parse_list(record.line, audio_dir=self.audio_dir,
                                list_path=self.list_path, check_audio=False)
            if len(parsed.clips) != 1:
                raise DatasetError(f"The removed line of {name!r} cannot be read back.",
                                   "Add it to the list by hand.", details=record.line)
            index = min(record.index, len(self._clips))
            clips = [*self._clips[:index], parsed.clips[0], *self._clips[index:]]
            removed = self._state.removed[:position] + self._state.removed[position + 1:]
            self._commit(clips, replace(self._state, removed=removed))
            return index

    def merge(self, index: int, *, text: str | None = None,
              crossfade_s: float = DEFAULT_CROSSFADE_S,
              expected_names: tuple[str, str] | None = None) -> Clip:
        """Merge clip ``index`` with the next one into a new WAV beside the first.

        The new line takes their place; its text is ``text``, or the two texts joined (with
        a space, except for Chinese, Japanese and Cantonese). Both clips must have the same
        speaker, language, sample rate and channel count.

        Raises:
            DatasetError: there is no next clip, they differ in any of the above, or an
                audio file cannot be read.
        """
        with self._lock:
            first = self._clip(index, expected_names[0] if expected_names else None)
            if index + 1 >= len(self._clips):
                raise DatasetError("The last clip has no next clip to merge with.",
                                   "Choose the clip before it.")
            second = self._clip(index + 1, expected_names[1] if expected_names else None)
            for what, a, b in (("speaker", first.speaker, second.speaker),
                               ("language", first.language, second.language)):
                if a != b:
                    raise DatasetError(
                        f"Clips {first.name!r} and {second.name!r} have different {what}s "
                        f"({a!r}, {b!r}).", f"Give both the same {what} first.")
            if not (math.isfinite(crossfade_s) and crossfade_s >= 0):
                raise DatasetError(f"Crossfade {crossfade_s!r} s is not possible.",
                                   "Use 0 (none) or a few milliseconds, e.g. 0.01.")
            joined = (first.text + ("" if first.language in _NO_SPACE_LANGUAGES else " ")
                      + second.text)
            merged_text = _clean_text(joined if text is None else text)
            self._check_fresh()   # before writing audio: a refused edit leaves no new file
            audio_a, audio_b = _read_audio(first.audio_path), _read_audio(second.audio_path)
            formats = [(a.sample_rate, a.samples.shape[1], a.subtype) for a in (audio_a, audio_b)]
            if formats[0] != formats[1]:
                raise DatasetError(
                    f"Clips {first.name!r} and {second.name!r} differ in format (sample rate, "
                    "channels, sample type).", "Merge only clips made by the same slicing run.",
                    details=f"{formats[0]} vs {formats[1]}")
            fade = min(round(crossfade_s * audio_a.sample_rate),
                       audio_a.samples.shape[0] // 2, audio_b.samples.shape[0] // 2)
            samples = _crossfade_concat(audio_a.samples, audio_b.samples, fade)
            name = self._free_names(first, lambda k: (
                f"{Path(first.name).stem}_merged{'' if k == 1 else f'_{k}'}.wav",))[0]
            merged = self._new_clip(first, name, merged_text)
            _write_new_wav(merged.audio_path, replace(audio_a, samples=samples))
            records = (
                RemovedClip(name=first.name, line=format_line(first), index=index,
                            reason="merged", replaced_by=(name,)),
                RemovedClip(name=second.name, line=format_line(second), index=index + 1,
                            reason="merged", replaced_by=(name,)))
            clips = [*self._clips[:index], merged, *self._clips[index + 2:]]
            self._commit(clips, replace(self._state,
                                        removed=(*self._state.removed, *records)))
            return merged

    def split(self, index: int, at_s: float, first_text: str, second_text: str, *,
              min_piece_s: float = MIN_SPLIT_PIECE_S,
              expected_name: str | None = None) -> tuple[Clip, Clip]:
        """Cut clip ``index`` at ``at_s`` seconds into two new WAVs (the original is kept).

        Raises:
            DatasetError: ``at_s`` is outside the clip or closer than ``min_piece_s`` to
                either end, a text is empty, or the audio cannot be read.
        """
        with self._lock:
            clip = self._clip(index, expected_name)
            texts = (_clean_text(first_text, "first piece's text"),
                     _clean_text(second_text, "second piece's text"))
            self._check_fresh()   # before writing audio: a refused edit leaves no new file
            audio = _read_audio(clip.audio_path)
            duration = audio.duration_s
            if not (math.isfinite(at_s) and min_piece_s <= at_s <= duration - min_piece_s):
                raise DatasetError(
                    f"Cannot split {clip.name!r} ({duration:.2f} s) at {at_s!r} s.",
                    f"Choose a time between {min_piece_s:g} s and "
                    f"{max(duration - min_piece_s, 0.0):.2f} s: each piece must be at least "
                    f"{min_piece_s:g} s long.")
            cut = round(at_s * audio.sample_rate)
            stem = Path(clip.name).stem
            names = self._free_names(clip, lambda k: (f"{stem}_{2 * k - 1:02d}.wav",
                                                      f"{stem}_{2 * k:02d}.wav"))
            pieces = tuple(self._new_clip(clip, n, t) for n, t in zip(names, texts, strict=True))
            _write_new_wav(pieces[0].audio_path, replace(audio, samples=audio.samples[:cut]))
            _write_new_wav(pieces[1].audio_path, replace(audio, samples=audio.samples[cut:]))
            record = RemovedClip(name=clip.name, line=format_line(clip), index=index,
                                 reason="split", replaced_by=names)
            clips = [*self._clips[:index], *pieces, *self._clips[index + 1:]]
            self._commit(clips, replace(self._state, removed=(*self._state.removed, record)))
            return pieces[0], pieces[1]

    # ---- internals -----------------------------------------------------------------

    @staticmethod
    def _page_size(size: int) -> int:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise DatasetError(f"Page size {size!r} is not possible.",
                               "Use a whole number of clips per page, at least 1.")
        return size

    def _check_index(self, index: int) -> int:
        if isinstance(index, bool) or not isinstance(index, int) or not (
                0 <= index < len(self._clips)):
            shown = index + 1 if isinstance(index, int) else index   # rows count from 1
            raise DatasetError(f"There is no clip {shown!r} "
                               f"(the list has {len(self._clips)} clips).",
                               "Reload the page: the list may have changed.")
        return index

    def _clip(self, index: int, expected_name: str | None) -> Clip:
        clip = self._clips[self._check_index(index)]
        if expected_name is not None and clip.name != expected_name:
            raise StaleListError(
                f"Clip {index + 1} is now {clip.name!r}, not {expected_name!r}.",
                "Reload the page: the list changed since it was shown.")
        return clip

    def _new_clip(self, like: Clip, name: str, text: str) -> Clip:
        """A clip for a new file ``name`` beside ``like``'s audio, written in its style."""
        return Clip(wav=_sibling_wav(like.wav, name), speaker=like.speaker,
                    language=like.language, text=text,
                    audio_path=like.audio_path.parent / name)

    def _free_names(self, beside: Clip, candidates: Callable[[int], tuple[str, ...]]
                    ) -> tuple[str, ...]:
        """The first ``candidates(k)`` (k = 1, 2...) whose names are all unused.

        Unused: no file of that name in the folder, and no clip of the list or removed
        clip with that name (compared case-insensitively, as ``duplicate_name`` is).
        """
        folder = beside.audio_path.parent
        taken = {c.name.casefold() for c in self._clips}
        taken |= {r.name.casefold() for r in self._state.removed}
        for k in range(1, 100_000):
            names = candidates(k)
            if not any(n.casefold() in taken or (folder / n).exists() for n in names):
                return names
        raise DatasetError(f"No free file name is left beside {beside.name!r}.",
                           "Move older merged or split files away.")

    def _check_fresh(self) -> None:
        """Refuse to write over a list or review file someone else changed meanwhile."""
        for path, known in ((self.list_path, self._list_sha),
                            (self.review_path, self._store_sha)):
            if _file_sha256(path) != known:
                raise StaleListError(
                    f"{os.fspath(path)!r} changed on disk since it was loaded.",
                    "Reload the list (your earlier edits are saved), then redo this edit.")

    def _commit(self, clips: list[Clip] | None, state: ReviewState) -> None:
        """Save the new list (``None``: unchanged) and review state, then adopt them.

        The list is written first: if the review file then fails, the next write still
        sees that the list is not our last version and backs it up (safe side).
        """
        self._check_fresh()
        list_sha = self._list_sha
        if clips is not None:
            data = _list_bytes(clips)   # raises before any write when a clip cannot be written
            if self._list_sha == self._state.list_sha256:
                # the file on disk is our own last write (checked above): no backup needed
                write_atomically(self.list_path, lambda handle: handle.write(data))
            else:
                write_list(self.list_path, clips)   # backs up the user's version first
            list_sha = sha256_of(data)
            state = replace(state, list_sha256=list_sha)
        store_sha = save_review(self.review_path, state)
        if clips is not None:
            # read back what was written: line numbers, audio paths and issues are then
            # exactly what a new session (or the formatting step) will see
            self._parsed = parse_list(data.decode("utf-8"), audio_dir=self.audio_dir,
                                      list_path=self.list_path)
            self._clips = list(self._parsed.clips)
        self._list_sha, self._state, self._store_sha = list_sha, state, store_sha
