"""Classify every clip of a ``.list`` with emotion2vec through funasr (issue 12 item 1).

The model folder is checked first (``models.check_model_folder``: a missing file would make
funasr go to the hub) and loaded with ``disable_update=True``, never ``trust_remote_code``.
funasr is imported here, on first use only: the import takes 9-16 s, and this runs in the
classification job's child process. Clips are read as float32 at 16 kHz (the model's rate)
and passed in batches; funasr answers in input order, with the nine scores in the order of
the folder's ``tokens.txt``, which is checked to be :data:`~gsv_core.emotion.results.LABELS`.

Results go beside the list (``<list>.emotion.tsv``, ``results``), rewritten after every
batch: a stopped or crashed run keeps the finished clips, and the next run classifies only
the others. A clip already classified is not classified again unless ``again`` is set; a
person's corrections and review marks survive either way (``results.merge``). A clip that
cannot be read, or is under 25 ms (the model's shortest input), is reported with its line
and skipped; the others finish.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gsv_core.dataset.annotations import Clip, read_list
from gsv_core.emotion.models import check_model_folder, read_labels
from gsv_core.emotion.results import (
    LABELS,
    EmotionRow,
    merge,
    read_results,
    results_path,
    write_results,
)
from gsv_core.errors import DatasetError, GsvError, ModelMissing

__all__ = ["MIN_SAMPLES", "SAMPLE_RATE", "ClassifyResult", "ClipProblem", "Emotion2vec",
           "classify_list", "embeddings_path", "read_embeddings", "write_embeddings"]

logger = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
MIN_SAMPLES = 400          # 25 ms: shorter input is smaller than the conv stack's field
Progress = Callable[[float, float, str], None]   # (done, total, message)


@dataclass(frozen=True)
class ClipProblem:
    """A clip left out, with its ``.list`` line and what to do."""

    line_number: int
    path: str
    message: str


@dataclass
class ClassifyResult:
    """What a run did: clips classified now, kept from before, and left out."""

    results_path: Path
    total: int
    classified: int = 0
    kept: int = 0
    problems: list[ClipProblem] = field(default_factory=list)
    stopped: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if not self.problems and not self.stopped else 1


class Emotion2vec:
    """An emotion2vec model loaded through funasr (``classify`` many clips at once).

    funasr's own ``generate`` runs emotion2vec one clip at a time whatever its batch size,
    which leaves a GPU mostly idle. ``batched`` (default: on CUDA) runs a batch as one
    forward pass instead: each clip normalised on its own as funasr does, zero-padded with a
    padding mask, and its frames averaged over its own length only. The scores then differ
    from funasr's one-at-a-time ones by about 1e-3 for a clip much shorter than its batch's
    longest (the positional convolution sees the padding); :func:`classify_list` batches
    clips of similar lengths, which keeps that smaller. ``batched=False`` is funasr's path.
    """

    def __init__(self, model_dir: str | os.PathLike[str], device: str = "cpu", *,
                 batched: bool | None = None) -> None:
        folder = check_model_folder(model_dir)
        labels = read_labels(folder / "tokens.txt")
        if labels != LABELS:
            raise ModelMissing(f"{folder / 'tokens.txt'} lists {', '.join(labels)}, not the "
                               f"nine emotion2vec_plus labels ({', '.join(LABELS)}).",
                               "Use an emotion2vec_plus model folder (large, base or seed).",
                               expected_paths=(os.fspath(folder / "tokens.txt"),))
        import torch

        with contextlib.redirect_stdout(sys.stderr):  # funasr prints its version to stdout
            from funasr import AutoModel

            try:
                self._model = AutoModel(model=os.fspath(folder), disable_update=True,
                                        device=device, ncpu=torch.get_num_threads(),
                                        disable_pbar=True, log_level="WARNING")
            except (AssertionError, KeyError, TypeError, ValueError, RuntimeError,
                    OSError) as exc:
                raise ModelMissing(f"funasr could not load the emotion2vec model in "
                                   f"{os.fspath(folder)!r}.", "The folder's files may be "
                                   "damaged or of another version; download it again.",
                                   expected_paths=(os.fspath(folder),),
                                   details=repr(exc)) from exc
        self.folder, self.device = folder, device
        self.batched = device.startswith("cuda") if batched is None else batched
        logger.info("emotion2vec loaded from %s on %s (%s)", folder, device,
                    "batched" if self.batched else "one clip at a time")

    def classify(self, clips: Sequence[np.ndarray]) -> list[tuple[float, ...]]:
        """The nine scores of each clip (float32 at 16 kHz, at least 25 ms), in order."""
        return self.classify_with_embeddings(clips, embeddings=False)[0]

    def classify_with_embeddings(self, clips: Sequence[np.ndarray], embeddings: bool = True,
                                 ) -> tuple[list[tuple[float, ...]], list[np.ndarray]]:
        """The scores and, with ``embeddings``, each clip's utterance embedding (its frames'
        mean, float32 ``[D]``, what funasr returns as ``feats``); [] without."""
        if self.batched and len(clips) > 1:
            return self._classify_batch(clips, embeddings)
        with contextlib.redirect_stdout(sys.stderr):
            out = self._model.generate(input=list(clips), granularity="utterance",
                                       extract_embedding=embeddings, fs=SAMPLE_RATE,
                                       batch_size=len(clips), disable_pbar=True)
        if len(out) != len(clips):
            raise RuntimeError(f"emotion2vec answered {len(out)} results for {len(clips)} "
                               "clips.")
        scores = []
        for item in out:
            values = tuple(float(s) for s in item["scores"])
            if len(values) != len(LABELS):
                raise RuntimeError(f"emotion2vec gave {len(values)} scores, not "
                                   f"{len(LABELS)}.")
            scores.append(values)
        vectors = [np.asarray(item["feats"], dtype=np.float32) for item in out] \
            if embeddings else []
        return scores, vectors


    def _classify_batch(self, clips: Sequence[np.ndarray], embeddings: bool,
                        ) -> tuple[list[tuple[float, ...]], list[np.ndarray]]:
        import torch
        import torch.nn.functional as F

        inner = self._model.model
        device = next(inner.parameters()).device
        waves = [torch.from_numpy(np.ascontiguousarray(clip, dtype=np.float32))
                 for clip in clips]
        if getattr(inner.cfg, "normalize", False):   # per clip, as funasr does it
            waves = [F.layer_norm(wave, wave.shape) for wave in waves]
        longest = max(wave.shape[0] for wave in waves)
        source = torch.zeros(len(waves), longest)
        padding = torch.ones(len(waves), longest, dtype=torch.bool)
        for row, wave in enumerate(waves):
            source[row, :wave.shape[0]] = wave
            padding[row, :wave.shape[0]] = False
        with torch.inference_mode():
            out = inner.extract_features(source.to(device), padding_mask=padding.to(device))
            frames = out["x"]
            mask = out.get("padding_mask")
            valid = (torch.ones(frames.shape[:2], device=frames.device) if mask is None
                     else (~mask).to(frames.dtype))
            pooled = (frames * valid[..., None]).sum(1) / valid.sum(1, keepdim=True)
            scores = torch.softmax(inner.proj(pooled).float(), dim=-1).cpu()
        if scores.shape[1] != len(LABELS):
            raise RuntimeError(f"emotion2vec gave {scores.shape[1]} scores, not "
                               f"{len(LABELS)}.")
        vectors = list(pooled.float().cpu().numpy()) if embeddings else []
        return [tuple(float(s) for s in row) for row in scores], vectors


def _row(path: str, scores: tuple[float, ...]) -> EmotionRow:
    best = int(np.argmax(scores))
    return EmotionRow(path=path, label=LABELS[best], score=scores[best], scores=scores)


def embeddings_path(list_path: str | os.PathLike[str]) -> Path:
    path = Path(list_path)
    return path.with_name(path.name + ".emotion.embeddings.npz")


def read_embeddings(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Clip path → utterance embedding ({} when there is no file yet)."""
    file = Path(path)
    if not file.is_file():
        return {}
    with np.load(file, allow_pickle=False) as data:
        return {str(p): v for p, v in zip(data["paths"], data["vectors"], strict=True)}


def write_embeddings(path: str | os.PathLike[str], kept: dict[str, np.ndarray]) -> None:
    """Write every clip's vector (atomically: a crash leaves the old file whole)."""
    import io

    from gsv_core.atomic_write import write_atomically

    buffer = io.BytesIO()
    np.savez(buffer, paths=np.array(list(kept), dtype=str),
             vectors=np.stack([np.asarray(v, dtype=np.float32) for v in kept.values()]))
    data = buffer.getvalue()
    write_atomically(path, lambda handle: handle.write(data))


def _frames(clip: Clip) -> int:
    """The clip's length from its header (0 when unreadable: it fails, reported, later)."""
    import soundfile

    try:
        info = soundfile.info(os.fspath(clip.audio_path))
    except (OSError, RuntimeError):
        return 0
    return int(info.frames * SAMPLE_RATE / max(info.samplerate, 1))


def _read(clip: Clip) -> np.ndarray:
    from gsv_core.audio import load_audio

    audio = load_audio(clip.audio_path, SAMPLE_RATE).astype(np.float32, copy=False)
    if audio.shape[0] < MIN_SAMPLES:
        raise DatasetError(f"the clip is {audio.shape[0] / SAMPLE_RATE * 1000:.0f} ms long, "
                           "under the 25 ms emotion2vec needs.",
                           "Remove it from the list, or slice the recording again.")
    return audio


def classify_list(list_path: str | os.PathLike[str],
                  model: Emotion2vec | Callable[[], Emotion2vec], *, batch_size: int = 8,
                  audio_dir: str | os.PathLike[str] | None = None, again: bool = False,
                  progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  embeddings: bool = False) -> ClassifyResult:
    """Classify the clips of ``list_path`` (see the module docstring) and write the results.

    ``model`` may be a function that loads it: it is called only when a clip needs it, so a
    run with nothing left to do does not wait for funasr. ``embeddings`` also keeps each
    classified clip's utterance embedding in ``<list>.emotion.embeddings.npz``.

    Raises:
        DatasetError: the list cannot be read.
        ModelMissing: the model folder is not an emotion2vec_plus folder.
    """
    if batch_size < 1:
        raise DatasetError(f"batch size {batch_size} is below 1.", "Use 1 or more.")
    labels = read_list(list_path, audio_dir=audio_dir)
    out = results_path(list_path)
    previous = read_results(out)
    done = {row.path: row for row in previous} if not again else {}
    clips = list(labels.clips)
    result = ClassifyResult(out, len(clips))
    vectors_file = embeddings_path(list_path)
    vectors = read_embeddings(vectors_file) if embeddings else {}
    # with embeddings asked for, a clip tagged by an earlier run without them is done again
    kept_rows = {clip.wav: done[clip.wav] for clip in clips
                 if clip.wav in done and (not embeddings or clip.wav in vectors)}
    result.kept = len(kept_rows)
    # similar lengths batched together: less padding (see Emotion2vec); the results file
    # keeps the list's order whatever the order of work
    todo = sorted((clip for clip in clips if clip.wav not in kept_rows), key=_frames)
    fresh: dict[str, EmotionRow] = {}
    loaded: Emotion2vec | None = model if isinstance(model, Emotion2vec) else None

    def save() -> None:
        rows = [kept_rows.get(c.wav) or fresh.get(c.wav) for c in clips]
        write_results(out, merge(previous, [r for r in rows if r is not None]))

    finished = result.kept
    if progress is not None:
        progress(finished, len(clips), "emotions: starting")
    for first in range(0, len(todo), batch_size):
        if should_stop is not None and should_stop():
            result.stopped = True
            break
        batch, audio = [], []
        for clip in todo[first:first + batch_size]:
            try:
                audio.append(_read(clip))
                batch.append(clip)
            except (GsvError, OSError, ValueError, RuntimeError) as exc:
                message = exc.message if isinstance(exc, GsvError) else str(exc)
                result.problems.append(ClipProblem(clip.line_number, clip.wav, message))
        if batch:
            if loaded is None:
                loaded = model()  # type: ignore[operator]
            scores, batch_vectors = loaded.classify_with_embeddings(audio, embeddings)
            for clip, clip_scores in zip(batch, scores, strict=True):
                fresh[clip.wav] = _row(clip.wav, clip_scores)
            if embeddings:   # the file read once above, rewritten from memory
                vectors.update(zip((c.wav for c in batch), batch_vectors, strict=True))
                write_embeddings(vectors_file, vectors)
            result.classified += len(batch)
            save()
        chunk = todo[first:first + batch_size]
        finished += len(chunk)
        if progress is not None:
            progress(finished, len(clips), f"emotions: {Path(chunk[-1].wav).name}")
    if not todo or result.classified == 0:
        save()   # kept rows (a list whose clips were all classified before) still written
    result.problems.sort(key=lambda problem: problem.line_number)
    return result
