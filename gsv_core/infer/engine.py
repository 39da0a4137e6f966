"""Text to speech with one GPT and one SoVITS model: the engine every front end uses.

One request (upstream's ``TTS.run`` at 48b1a01, the path of its api_v2):

1. the reference → prompt tokens, spectrograms, timbre and prompt phones
   (``reference.py``), cached by content across calls (``prompt_cache.py``);
2. the text → segments → phones and BERT per segment (``segments.py``), read with
   ``options.readings`` (issue 9: "improved" reads URLs, units, times… as a person would;
   the reference's prompt text is read the same way); segments with no spoken phone
   (emoji, marks: ``readable.py``) are left out, and a text with none at all is a TextError
   naming its lines;
3. the segments are decoded by the GPT in batches of up to the guideline limit
   (``gsv_core.guidelines.inference_batch_limit``), all sharing the one reference prompt:
   each row's text is the prompt phones followed by the segment's phones, as upstream;
4. the tokens are decoded by SoVITS with the reference's mean style, at ``speed``: at speed
   1 a GPT batch's segments in one joined decode, cut back at the token borders, as upstream
   does with parallel inference (``_decode_batch_audio``), else one segment at a time; a
   segment peaking above full scale is scaled down, and ``fragment_interval_s`` of silence
   follows every segment (upstream appends it to the last one too);
5. the segments are joined: float32 mono at 32 kHz.

Streaming (modes 1-3, one segment at a time) prepares only what the first sound needs before
it: the cut of the whole text, then the text front end and BERT of the first spoken segment,
and the reference (cached); the other segments' front end and BERT run in one batch right
after the first chunk is out (``_LazySegments``). Their features are the same as a whole
render's, but for BERT's float rounding in a different batch (``BertFeatures.
phone_features_batch``).

Randomness comes from generators seeded with the request's seed, never from torch's global
RNG: the GPT draws from one generator per request, and SoVITS' prior noise for segment ``i``
from its own generator seeded with ``seed + i``, so a segment's sound does not depend on what
was decoded before it. Same seed, same options → the same samples (bit-identical on the CPU).

The engine holds one model of each kind. ``load_gpt``/``load_sovits`` replace only their own
model; loading the file already loaded (same resolved path, size and mtime) does nothing.
Models are warmed up at load time (a short decode), so the first request is not the slow one.
Requests on one engine run one at a time (a lock): one GPU serves one request at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from gsv_core.audio import HUBERT_SAMPLE_RATE, SAMPLE_RATE, SAMPLES_PER_TOKEN
from gsv_core.errors import GsvError, ModelMissing, OutOfMemory
from gsv_core.features import BertFeatures, HubertFeatures
from gsv_core.guidelines import DeviceDecision, Limit, MemoryBudget, inference_batch_limit
from gsv_core.guidelines.hardware_rules import decide_device, gpu_memory_budget, memory_budget
from gsv_core.hardware import MachineProfile, detect_machine
from gsv_core.infer.model_files import (
    FileIdentity,
    file_identity,
    load_gpt_file,
    load_sovits_file,
)
from gsv_core.infer.options import InferenceOptions, Reference
from gsv_core.infer.precision import ModelDtypes, model_dtypes
from gsv_core.infer.prompt_cache import PromptCache, reference_key
from gsv_core.infer.readable import is_spoken, nothing_readable
from gsv_core.infer.reference import ReferenceFeatures, prepare_reference
from gsv_core.infer.segments import (
    CleanedSegment,
    Segment,
    clean_segments,
    segment_features,
    segments_with_bert,
    split_reading_language,
    split_segments,
)
from gsv_core.infer.stream import StreamedChunk, quiet_token_similarity, stream_segment_chunks
from gsv_core.models.gpt import Text2SemanticDecoder
from gsv_core.models.gpt_decode import DecodeResult, DecodeStopped, generate_batch, stream_tokens
from gsv_core.models.gpt_sampling import SamplingOptions
from gsv_core.models.sovits import SoVITSGenerator
from gsv_core.text import DEFAULT_READINGS, PolyphoneBackend, load_polyphone_backend
from gsv_core.workspace import Workspace

__all__ = ["AudioChunk", "InferenceEngine", "Synthesis"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
ShouldStop = Callable[[], bool]
_WARM_UP_PHONES = 8
_WARM_UP_STEPS = 2
_WARM_UP_TOKENS = 4
_WARM_UP_TEXTS = ("你好，世界。", "Hello world.")


@dataclass(frozen=True)
class Synthesis:
    """A finished render."""

    audio: np.ndarray  # float32 mono in [-1, 1]
    sample_rate: int  # 32000
    segments: tuple[str, ...]  # the text of each segment, in order
    seed: int  # the seed actually used
    stopped: bool = False  # should_stop() ended the render early; audio holds what was done

    @property
    def duration_s(self) -> float:
        return self.audio.shape[0] / self.sample_rate


@dataclass(frozen=True)
class AudioChunk:
    """A piece of a streamed render, ready to play."""

    audio: np.ndarray  # float32 mono
    sample_rate: int
    segment_index: int
    # segments as far as known: while a stream has not cleaned every text yet (its first
    # chunk), the texts not cleaned count too, and one found unreadable later lowers it
    segment_count: int
    final: bool  # True on the last chunk of the whole request


@dataclass(frozen=True)
class _Prepared:
    """A request after its text and reference are turned into tensors."""

    segments: tuple[Segment, ...]
    reference: ReferenceFeatures
    seed: int
    batch_size: int


class _LazySegments:
    """A streamed request's spoken segments, their front end and BERT run when needed.

    ``clean(texts)`` is the text front end of some texts (``CleanedSegment``s), ``featurize(
    cleaned)`` their BERT features (``Segment``s, one BERT batch). ``next_spoken()`` cleans
    the texts one at a time until a spoken one turns up and adds BERT for it: all the first
    chunk waits for. ``is_last(i)`` cleans (front end only) what it takes to know whether
    segment ``i`` is the last spoken one, so its final chunk is marked right. ``rest()``
    cleans the texts left and adds BERT for every pending segment in one batch, once the
    first chunk is out. ``count``: the segments as far as known, the spoken ones plus the
    texts not cleaned yet (it shrinks if one of those turns out to have nothing to read).
    """

    def __init__(self, texts: Sequence[str],
                 clean: Callable[[Sequence[str]], list[CleanedSegment]],
                 featurize: Callable[[Sequence[CleanedSegment]], list[Segment]]) -> None:
        self._texts = tuple(texts)
        self._clean = clean
        self._featurize = featurize
        self._cleaned = 0  # texts through the front end
        self._pending: list[CleanedSegment] = []  # spoken, cleaned, waiting for BERT
        self.ready: list[Segment] = []

    @property
    def complete(self) -> bool:
        return self._cleaned == len(self._texts) and not self._pending

    @property
    def count(self) -> int:
        return len(self.ready) + len(self._pending) + len(self._texts) - self._cleaned

    def _clean_more(self, texts: int) -> None:
        batch = self._texts[self._cleaned:self._cleaned + texts]
        self._cleaned += len(batch)
        spoken = [c for c in self._clean(batch) if c.norm_text and is_spoken(c.phone_ids)]
        if len(spoken) < len(batch):
            log.info("%d of %d segments have nothing to read aloud and are left out",
                     len(batch) - len(spoken), len(batch))
        self._pending += spoken

    def _find_spoken(self) -> bool:
        """Clean texts one at a time until a spoken one is pending; False if none is left."""
        while not self._pending and self._cleaned < len(self._texts):
            self._clean_more(1)
        return bool(self._pending)

    def next_spoken(self) -> bool:
        """Make one more segment ready (front end and BERT); False when none is left."""
        if not self._find_spoken():
            return False
        self.ready += self._featurize(self._pending[:1])
        del self._pending[:1]
        return True

    def is_last(self, index: int) -> bool:
        return index + 1 == len(self.ready) and not self._find_spoken()

    def rest(self) -> None:
        if self.complete:
            return
        self._clean_more(len(self._texts) - self._cleaned)
        self.ready += self._featurize(self._pending)
        self._pending = []


class _StopRequested(Exception):
    """``should_stop()`` fired between two blocks of a streamed segment's decode: raised from
    the token feed through the chunk decoder, so no chunk is rendered from a cut segment."""


def _gpt_out_of_memory(count: int, exc: torch.OutOfMemoryError) -> OutOfMemory:
    """The B-6 error for ``count`` segments decoded together: names the batch to try next."""
    smaller = max(count // 2, 1)
    return OutOfMemory(
        f"The GPU ran out of memory decoding {count} text segments together.",
        f"Set the batch size to {smaller}" + (
            "." if count > 1 else ", cut the text into shorter segments (cut "
            "method cut5), or close other programs using the GPU."),
        next_batch_size=smaller, details=str(exc))


# The most semantic tokens SoVITS decodes in one joined call (30 s of speech): beyond it the
# decoder's activations grow past what a small card holds (HiFiGAN's last stages keep ~10
# float tensors of 32,000 x channels values a second), for no gain in speed.
JOINED_DECODE_MAX_TOKENS = 750


def _joined_groups(token_counts: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive (first, end) index ranges holding at most JOINED_DECODE_MAX_TOKENS each
    (a single longer segment forms its own group)."""
    groups, first, total = [], 0, 0
    for i, count in enumerate(token_counts):
        if i > first and total + count > JOINED_DECODE_MAX_TOKENS:
            groups.append((first, i))
            first, total = i, 0
        total += count
    return [*groups, (first, len(token_counts))] if token_counts else []


def _peak_limited(wav: np.ndarray) -> np.ndarray:
    """Upstream's guard against 16-bit clipping: a segment peaking above 1 is scaled to 1."""
    peak = float(np.abs(wav).max()) if wav.size else 0.0
    return wav / peak if peak > 1 else wav


class InferenceEngine:
    """Loaded models plus everything needed to turn text into speech.

    Args:
        workspace: gives the default BERT/HuBERT folders and the g2pW model.
        device: ``"cpu"``, ``"cuda:0"``, ``"mps"``…; None asks the guideline engine
            (``decide_device(...).inference_device``).
        precision: ``"fp32"``, ``"fp16"`` or ``"bf16"``; None picks by device (half only
            on capable CUDA cards, see ``precision.py``).
        bert_dir, hubert_dir: model folders other than the workspace's.
        profile: the machine (None: detected); tests pass a simulated one.
    """

    def __init__(self, workspace: Workspace, *, device: str | None = None,
                 precision: str | None = None, bert_dir: Path | None = None,
                 hubert_dir: Path | None = None, profile: MachineProfile | None = None) -> None:
        self.workspace = workspace
        self._profile = profile if profile is not None else detect_machine()
        decision = decide_device(self._profile)
        self.device = torch.device(device if device is not None else decision.inference_device)
        self.dtypes: ModelDtypes = model_dtypes(self.device, precision)
        self._budget = self._memory_budget(decision)
        self.bert_dir = Path(bert_dir) if bert_dir is not None else workspace.bert_dir
        self.hubert_dir = Path(hubert_dir) if hubert_dir is not None else workspace.hubert_dir
        self._gpt: Text2SemanticDecoder | None = None
        self._gpt_file: FileIdentity | None = None
        self._sovits: SoVITSGenerator | None = None
        self._sovits_file: FileIdentity | None = None
        self._bert: BertFeatures | None = None
        self._hubert: HubertFeatures | None = None
        self._polyphones: PolyphoneBackend | None = None
        self._prompts: PromptCache[ReferenceFeatures] = PromptCache()
        self._lock = threading.RLock()

    # -- models ---------------------------------------------------------------------------

    def _memory_budget(self, decision: DeviceDecision) -> MemoryBudget:
        """The memory the batch rule reads: the inference card's, else the computer's."""
        if self.device.type == "cuda":
            index = self.device.index or 0
            for gpu in self._profile.gpus:
                if gpu.index == index:
                    return gpu_memory_budget(gpu)
        return memory_budget(self._profile, replace(decision, gpu=None))

    @property
    def gpt_path(self) -> Path | None:
        return self._gpt_file.path if self._gpt_file else None

    @property
    def sovits_path(self) -> Path | None:
        return self._sovits_file.path if self._sovits_file else None

    @property
    def gpt_model(self) -> Text2SemanticDecoder | None:
        """The loaded GPT (for benchmarks and the stream helper)."""
        return self._gpt

    @property
    def sovits_model(self) -> SoVITSGenerator | None:
        return self._sovits

    def batch_limit(self, requested: int | None = None) -> Limit:
        """How many segments decode together on this device (the guideline rule)."""
        ram = None if self._budget.on_gpu else self._profile.ram_gb
        return inference_batch_limit(self._budget, requested, ram_gb=ram)

    def load_gpt(self, path: Path | str) -> None:
        """Load a GPT ``.ckpt`` (ours, upstream's, the official pretrained); same file: no-op."""
        identity = file_identity(path)
        with self._lock:
            if identity == self._gpt_file:
                return
            model = load_gpt_file(identity.path, self.device, self.dtypes.gpt)
            self._warm_up_gpt(model)
            self._gpt, self._gpt_file = model, identity
            self._warm_up_text()
            log.info("GPT loaded: %s (%s, %s)", identity.path, self.device, self.dtypes.gpt)

    def load_sovits(self, path: Path | str) -> None:
        """Load a SoVITS ``.pth``; the GPT stays loaded. Same file again: no-op."""
        identity = file_identity(path)
        with self._lock:
            if identity == self._sovits_file:
                return
            model = load_sovits_file(identity.path, self.device, self.dtypes.sovits)
            self._warm_up_sovits(model)
            self._sovits, self._sovits_file = model, identity
            self._warm_up_hubert()
            log.info("SoVITS loaded: %s (%s, %s)", identity.path, self.device,
                     self.dtypes.sovits)

    def _warm_up_gpt(self, model: Text2SemanticDecoder) -> None:
        """A two-step decode: allocates kernels and workspaces before the first request."""
        phones = torch.zeros(_WARM_UP_PHONES, dtype=torch.long)
        bert = torch.zeros(model.bert_proj.in_features, _WARM_UP_PHONES)
        prompt = torch.zeros(_WARM_UP_TOKENS, dtype=torch.long)
        options = SamplingOptions(max_steps=_WARM_UP_STEPS, min_steps_before_eos=0)
        generate_batch(model, [phones], [bert], prompt, options,
                       torch.Generator(self.device).manual_seed(0))

    @torch.inference_mode()
    def _warm_up_text(self) -> None:
        """Load BERT and the text front end (dictionaries, segmenters) before the first request.

        Skipped while the BERT folder is absent: the request then names what is missing.
        """
        if self._bert is not None or not self.bert_dir.is_dir():
            return
        try:
            segment_features(list(_WARM_UP_TEXTS), "auto", self._bert_model(),
                             self._polyphone_backend(), readings=DEFAULT_READINGS)
        except GsvError as exc:  # a broken folder: the first request reports it
            log.warning("text front end not warmed up: %s", exc)

    @torch.inference_mode()
    def _warm_up_hubert(self) -> None:
        if self._hubert is not None or not self.hubert_dir.is_dir():
            return
        try:
            self._hubert_model()(torch.zeros(HUBERT_SAMPLE_RATE))
        except GsvError as exc:
            log.warning("HuBERT not warmed up: %s", exc)

    def _warm_up_sovits(self, model: SoVITSGenerator) -> None:
        codes = torch.zeros(1, 1, _WARM_UP_TOKENS, dtype=torch.long, device=self.device)
        phones = torch.zeros(1, _WARM_UP_PHONES, dtype=torch.long, device=self.device)
        ge = torch.zeros(1, model.config.gin_channels, 1, device=self.device)
        model.decode(codes, phones, ge=ge, noise_scale=0.0)

    def _require_models(self) -> tuple[Text2SemanticDecoder, SoVITSGenerator]:
        if self._gpt is None or self._sovits is None:
            missing = [name for name, model in (("GPT", self._gpt), ("SoVITS", self._sovits))
                       if model is None]
            raise ModelMissing(f"No {' and no '.join(missing)} model is loaded.",
                               "Pick the GPT and SoVITS weights first (your trained ones or "
                               "the official pretrained).")
        return self._gpt, self._sovits

    def _bert_model(self) -> BertFeatures:
        if self._bert is None:
            self._bert = BertFeatures.load(self.bert_dir, self.device, self.dtypes.features)
        return self._bert

    def _hubert_model(self) -> HubertFeatures:
        if self._hubert is None:
            self._hubert = HubertFeatures.load(self.hubert_dir, self.device,
                                               self.dtypes.features)
        return self._hubert

    def _polyphone_backend(self) -> PolyphoneBackend:
        if self._polyphones is None:
            self._polyphones = load_polyphone_backend(self.workspace, bert_dir=self.bert_dir)
        return self._polyphones

    # -- preparing a request --------------------------------------------------------------

    def _reference_features(self, reference: Reference, sovits: SoVITSGenerator,
                            readings: str) -> ReferenceFeatures:
        """The reference's features, cached; ``readings`` reads its prompt text (and so is
        part of the key when there is one)."""
        assert self._sovits_file is not None
        clips = [reference.audio_path, *reference.extra_audio_paths]
        key = reference_key(clips, [
            reference.text if reference.uses_prompt else "",
            reference.language.strip().lower() if reference.uses_prompt else "",
            readings if reference.uses_prompt else "",
            str(reference.uses_prompt), str(len(reference.extra_audio_paths)),
            self._sovits_file.token, str(self.hubert_dir.resolve()),
            str(self.bert_dir.resolve()), str(self.dtypes)])
        return self._prompts.get_or_compute(key, lambda: prepare_reference(
            reference, hubert=self._hubert_model() if reference.uses_prompt else None,
            sovits=sovits, bert=self._bert_model(), polyphones=self._polyphone_backend(),
            readings=readings))

    @torch.inference_mode()
    def _prepare(self, reference: Reference, text: str, options: InferenceOptions,
                 sovits: SoVITSGenerator) -> _Prepared:
        options.validate()
        reference.validate()
        segments = self._spoken_segments(text, options)
        features = self._reference_features(reference, sovits, options.readings)
        batch = self.batch_limit(options.batch_size).value
        return _Prepared(segments=tuple(segments), reference=features,
                         seed=options.with_seed_drawn().seed, batch_size=int(batch))

    @torch.inference_mode()
    def _prepare_streamed(self, reference: Reference, text: str, options: InferenceOptions,
                          sovits: SoVITSGenerator) -> tuple[_Prepared, _LazySegments]:
        """``_prepare`` for a stream decoding one segment at a time: the segments come from
        the returned ``_LazySegments`` (the first spoken one is ready), ``segments`` is
        empty. Raises what ``_prepare`` raises, before any chunk."""
        options.validate()
        reference.validate()
        lazy = self._lazy_segments(text, options)
        if not lazy.next_spoken():
            raise nothing_readable(text, options.language_mode, options.readings,
                                   self._polyphone_backend())
        features = self._reference_features(reference, sovits, options.readings)
        return _Prepared(segments=(), reference=features, seed=options.with_seed_drawn().seed,
                         batch_size=1), lazy

    def _lazy_segments(self, text: str, options: InferenceOptions) -> _LazySegments:
        """The segment texts of ``text`` (its spans read once, before the cut), their front
        end and BERT to come, each text's once."""
        mode, readings = options.language_mode, options.readings
        texts = split_segments(text, mode, options.cut_method, readings=readings)
        read_in = split_reading_language(text, mode, readings)
        bert, polyphones = self._bert_model(), self._polyphone_backend()

        def clean(some: Sequence[str]) -> list[CleanedSegment]:
            return clean_segments(some, mode, polyphones, readings, read_in=read_in)

        def featurize(cleaned: Sequence[CleanedSegment]) -> list[Segment]:
            with torch.inference_mode():
                return segments_with_bert(cleaned, bert)

        return _LazySegments(texts, clean, featurize)

    def _spoken_segments(self, text: str, options: InferenceOptions) -> list[Segment]:
        """The segments of ``text`` that hold a spoken phone, read with ``options.readings``.

        A segment of emoji or marks alone cleans to marks and UNK phones; left in, the GPT
        would babble for it, so it is dropped (the rest still renders: long messy text must
        not fail). Checked before the reference is computed, so an unreadable text fails
        fast. Every segment's features in one batch.

        Raises:
            TextError: the text is empty, or no segment has a spoken phone (names the lines).
        """
        lazy = self._lazy_segments(text, options)
        lazy.rest()
        if not lazy.ready:
            raise nothing_readable(text, options.language_mode, options.readings,
                                   self._polyphone_backend())
        return lazy.ready

    # -- decoding -------------------------------------------------------------------------

    @staticmethod
    def _gpt_inputs(prepared: _Prepared, batch: Sequence[Segment]
                    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Phones and BERT per segment as the GPT reads them: the reference's first, as
        upstream, when the reference has a prompt."""
        ref = prepared.reference
        if ref.prompt_codes is not None and ref.prompt_phone_ids is not None:
            assert ref.prompt_bert is not None
            return ([torch.cat([ref.prompt_phone_ids, s.phone_ids]) for s in batch],
                    [torch.cat([ref.prompt_bert, s.bert], dim=1) for s in batch])
        return [s.phone_ids for s in batch], [s.bert for s in batch]

    @torch.inference_mode()
    def _decode_tokens(self, gpt: Text2SemanticDecoder, prepared: _Prepared,
                       batch: Sequence[Segment], options: InferenceOptions,
                       generator: torch.Generator, should_stop: ShouldStop | None = None
                       ) -> list[DecodeResult]:
        """Decode a batch of segments; raises DecodeStopped when should_stop fires inside."""
        phones, bert = self._gpt_inputs(prepared, batch)
        try:
            return generate_batch(gpt, phones, bert, prepared.reference.prompt_codes,
                                  options.sampling(), generator, should_stop=should_stop)
        except torch.OutOfMemoryError as exc:  # B-6: name the batch to try next
            raise _gpt_out_of_memory(len(batch), exc) from exc

    def _segment_generator(self, seed: int, index: int) -> torch.Generator:
        return torch.Generator(self.device).manual_seed((seed + index) % 2**64)

    @torch.inference_mode()
    def _decode_audio(self, sovits: SoVITSGenerator, prepared: _Prepared, segment: Segment,
                      tokens: torch.Tensor, index: int, options: InferenceOptions) -> np.ndarray:
        codes = tokens.to(self.device).view(1, 1, -1)
        phones = segment.phone_ids.to(self.device).unsqueeze(0)
        out = sovits.decode(codes, phones, ge=prepared.reference.style,
                            noise_scale=options.noise_scale, speed=options.speed,
                            generator=self._segment_generator(prepared.seed, index))
        return _peak_limited(out.wav[0, 0].float().cpu().numpy())

    def _pause(self, options: InferenceOptions) -> np.ndarray:
        return np.zeros(int(SAMPLE_RATE * options.fragment_interval_s), dtype=np.float32)

    def _segment_tokens(self, gpt: Text2SemanticDecoder, prepared: _Prepared,
                        options: InferenceOptions, should_stop: ShouldStop | None
                        ) -> Iterator[tuple[int, list[torch.Tensor]]]:
        """(index of the batch's first segment, tokens for SoVITS per segment), a GPT batch
        at a time, in order."""
        generator = torch.Generator(self.device).manual_seed(prepared.seed)
        segments = prepared.segments
        for start in range(0, len(segments), prepared.batch_size):
            if should_stop is not None and should_stop():
                return
            batch = segments[start:start + prepared.batch_size]
            try:
                results = self._decode_tokens(gpt, prepared, batch, options, generator,
                                              should_stop)
            except DecodeStopped:  # a stop inside the batch: its segments are not rendered
                return
            yield start, [result.semantic_for_sovits for result in results]

    @torch.inference_mode()
    def _decode_batch_audio(self, sovits: SoVITSGenerator, prepared: _Prepared, start: int,
                            tokens: Sequence[torch.Tensor], options: InferenceOptions
                            ) -> list[np.ndarray]:
        """Audio of one GPT batch's segments (``start`` is the first one's index).

        At speed 1 the segments are decoded by SoVITS together, as upstream's ``TTS.run``
        does with parallel inference (48b1a01): their tokens and phones joined end to end in
        one ``decode`` (a few hundred kernel launches instead of that many per segment, which
        is what a decode costs on a GPU), then cut back at the token borders (1280 samples a
        token). The content encoder then sees the neighbouring segments too, as upstream's
        does. Joined decodes hold at most ``JOINED_DECODE_MAX_TOKENS``; one that runs out of
        GPU memory is redone a segment at a time. At another speed, or for a single segment,
        each segment is decoded alone. The prior noise of a decode starting at segment ``i``
        comes from a generator seeded ``seed + i``, so batch size 1 gives the per-segment
        render exactly.
        """
        if options.speed != 1.0 or len(tokens) == 1:
            return [self._decode_audio(sovits, prepared, prepared.segments[start + i], t,
                                       start + i, options) for i, t in enumerate(tokens)]
        wavs: list[np.ndarray] = []
        for first, last in _joined_groups([t.numel() for t in tokens]):
            group = range(first, last)
            try:
                wavs += self._decode_joined(sovits, prepared, start + first,
                                            [tokens[i] for i in group], options)
            except torch.OutOfMemoryError:
                log.warning("joined SoVITS decode ran out of memory: decoding segments %d-%d "
                            "one at a time", start + first + 1, start + last)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                wavs += [self._decode_audio(sovits, prepared, prepared.segments[start + i],
                                            tokens[i], start + i, options) for i in group]
        return wavs

    def _decode_joined(self, sovits: SoVITSGenerator, prepared: _Prepared, start: int,
                       tokens: Sequence[torch.Tensor], options: InferenceOptions
                       ) -> list[np.ndarray]:
        segments = prepared.segments[start:start + len(tokens)]
        codes = torch.cat([t.to(self.device) for t in tokens]).view(1, 1, -1)
        phones = torch.cat([s.phone_ids for s in segments]).to(self.device).unsqueeze(0)
        out = sovits.decode(codes, phones, ge=prepared.reference.style,
                            noise_scale=options.noise_scale, speed=1.0,
                            generator=self._segment_generator(prepared.seed, start))
        wav = out.wav[0, 0].float().cpu().numpy()
        borders = np.cumsum([0, *(t.numel() * SAMPLES_PER_TOKEN for t in tokens)])
        return [_peak_limited(wav[a:b]) for a, b in pairwise(borders)]

    def _segment_audio(self, reference: Reference, text: str, options: InferenceOptions,
                       should_stop: ShouldStop | None
                       ) -> tuple[_Prepared, Iterator[tuple[int, np.ndarray]]]:
        gpt, sovits = self._require_models()
        prepared = self._prepare(reference, text, options, sovits)

        def audio() -> Iterator[tuple[int, np.ndarray]]:
            for start, tokens in self._segment_tokens(gpt, prepared, options, should_stop):
                if should_stop is not None and should_stop():
                    return
                wavs = self._decode_batch_audio(sovits, prepared, start, tokens, options)
                for offset, wav in enumerate(wavs):
                    if offset and should_stop is not None and should_stop():
                        return  # a joined batch is handed out a segment at a time, as before
                    yield start + offset, np.concatenate([wav, self._pause(options)]).astype(
                        np.float32)

        return prepared, audio()

    # -- entry points ---------------------------------------------------------------------

    def synthesize(self, reference: Reference, text: str, options: InferenceOptions,
                   progress: Progress | None = None,
                   should_stop: ShouldStop | None = None) -> Synthesis:
        """Render ``text`` in the voice of ``reference``.

        ``progress(i, n)`` is called after each segment (i = 1..n); ``should_stop()`` is
        checked between segments and between blocks of GPT steps (every step on the eager
        path, every ``STOP_CHECK_STEPS`` with CUDA graphs), so a Stop acts within a long
        segment; a stop returns what was rendered so far (``stopped`` True): the segments of
        a batch stopped mid-decode are left out.

        Raises:
            ConfigError: an option or a language (the message names it).
            TextError: empty text, or nothing in it can be read aloud (names the lines).
            ReferenceAudioError: a reference clip is missing, unreadable or not 3-10 s.
            ModelMissing: no GPT/SoVITS loaded, or the BERT/HuBERT folder is missing.
            OutOfMemory: the GPU ran out of memory; ``next_batch_size`` says what to try (B-6).
        """
        with self._lock:
            prepared, pieces = self._segment_audio(reference, text, options, should_stop)
            total = len(prepared.segments)
            parts: list[np.ndarray] = []
            for index, wav in pieces:
                parts.append(wav)
                if progress is not None:
                    progress(index + 1, total)
            audio = np.concatenate(parts) if parts else self._pause(options)
            return Synthesis(audio=audio.astype(np.float32, copy=False), sample_rate=SAMPLE_RATE,
                             segments=tuple(s.text for s in prepared.segments),
                             seed=prepared.seed, stopped=len(parts) < total)

    def stream(self, reference: Reference, text: str, options: InferenceOptions,
               should_stop: ShouldStop | None = None) -> Iterator[AudioChunk]:
        """Yield the render as it is ready: mode 0 once, 1 per segment, 2/3 in chunks.

        Streaming is for the first sound to come early, so the GPT decodes one segment at a
        time: always in modes 2/3 (upstream turns parallel inference off there), and in mode 1
        unless ``batch_size`` is set. Modes 2/3 hand the GPT's tokens to the chunk decoder
        (``stream.stream_segment_chunks``) as the GPT makes them, so the first chunk is out
        after about ``min_chunk_length`` tokens, not after the whole segment; the pause
        follows each segment's last chunk. ``should_stop()`` is checked between chunks and
        between blocks of GPT steps; a stop ends the stream without rendering the cut
        segment. The engine is held from the first chunk until the generator ends or is
        closed (``close()``, or leaving a ``for`` loop over it early).

        One segment at a time (modes 2/3, mode 1 at batch size 1), the first chunk waits only
        for the first spoken segment's text front end and BERT (and the reference); the other
        segments are cleaned and get their BERT features in one batch right after the first
        chunk is out (``_LazySegments``; mode 1 cleans the second segment first, to know
        whether the first is the last). Their features are those of ``synthesize`` up to
        BERT's float rounding in another batch.

        Modes 2/3 give SoVITS every new token of a segment. Upstream's whole render (and
        ``synthesize``, mode 1) drops a segment's first token when the decode ends at the
        length limit rather than on EOS (``DecodeResult.semantic_for_sovits``); a stream
        has played that token before the end is known. After an EOS stop both are the same.
        """
        options.validate()
        if options.streaming_mode in (2, 3) or (
                options.streaming_mode == 1 and options.batch_size is None):
            options = replace(options, batch_size=1)
        if options.streaming_mode == 0:
            whole = self.synthesize(reference, text, options, should_stop=should_stop)
            yield AudioChunk(whole.audio, whole.sample_rate, 0, max(len(whole.segments), 1),
                             final=True)
            return
        with self._lock:
            if options.streaming_mode == 1:
                yield from self._stream_segments(reference, text, options, should_stop)
            else:
                yield from self._stream_chunks(reference, text, options, should_stop)

    def _stream_segments(self, reference: Reference, text: str, options: InferenceOptions,
                         should_stop: ShouldStop | None) -> Iterator[AudioChunk]:
        if options.batch_size != 1:  # segments decoded together: all prepared first
            prepared, pieces = self._segment_audio(reference, text, options, should_stop)
            total = len(prepared.segments)  # at least 1: _prepare raises on unreadable text
            for index, wav in pieces:
                yield AudioChunk(wav, SAMPLE_RATE, index, total, final=index == total - 1)
            return
        # One segment at a time, as _segment_audio does at batch size 1, the segments' features
        # computed as they are needed (_LazySegments).
        gpt, sovits = self._require_models()
        prepared, lazy = self._prepare_streamed(reference, text, options, sovits)
        generator = torch.Generator(self.device).manual_seed(prepared.seed)  # the GPT's
        index = 0
        while index < len(lazy.ready):
            segment = lazy.ready[index]
            if should_stop is not None and should_stop():
                return
            try:
                (result,) = self._decode_tokens(gpt, prepared, [segment], options, generator,
                                                should_stop)
            except DecodeStopped:  # a stop inside the segment: it is not rendered
                return
            if should_stop is not None and should_stop():
                return
            wav = self._decode_audio(sovits, prepared, segment, result.semantic_for_sovits,
                                     index, options)
            wav = np.concatenate([wav, self._pause(options)]).astype(np.float32)
            final = lazy.is_last(index)
            yield AudioChunk(wav, SAMPLE_RATE, index, lazy.count, final=final)
            lazy.rest()  # the first chunk is out: the other segments' features now
            index += 1

    def _stream_chunks(self, reference: Reference, text: str, options: InferenceOptions,
                       should_stop: ShouldStop | None) -> Iterator[AudioChunk]:
        gpt, sovits = self._require_models()
        prepared, lazy = self._prepare_streamed(reference, text, options, sovits)
        quiet = None
        if options.streaming_mode == 2:
            quiet = quiet_token_similarity(gpt.ar_audio_embedding.word_embeddings.weight)
        generator = torch.Generator(self.device).manual_seed(prepared.seed)  # the GPT's
        index = 0
        while index < len(lazy.ready):
            segment = lazy.ready[index]
            if should_stop is not None and should_stop():
                return
            tokens = self._streamed_tokens(gpt, prepared, segment, options, generator,
                                           should_stop)
            pieces = self._chunk_pieces(sovits, prepared, segment, tokens, index, options,
                                        quiet)
            with closing(pieces), closing(tokens):
                try:
                    for piece in pieces:
                        if should_stop is not None and should_stop():
                            return
                        audio = _peak_limited(piece.audio.astype(np.float32, copy=False))
                        final = False
                        if piece.final:
                            audio = np.concatenate([audio, self._pause(options)])
                            final = lazy.is_last(index)
                        yield AudioChunk(audio.astype(np.float32, copy=False), SAMPLE_RATE,
                                         index, lazy.count, final=final)
                        lazy.rest()  # the first chunk is out: the other segments' features
                except _StopRequested:
                    return
            index += 1

    def _streamed_tokens(self, gpt: Text2SemanticDecoder, prepared: _Prepared,
                         segment: Segment, options: InferenceOptions, generator: torch.Generator,
                         should_stop: ShouldStop | None) -> Generator[torch.Tensor, None, None]:
        """One segment's new tokens in pieces as the GPT makes them (modes 2/3).

        The request's one GPT generator carries on from segment to segment, as in
        ``_segment_tokens``, so the tokens are those of a decode one segment at a time.
        ``should_stop()`` is asked before each further block of steps; True raises
        _StopRequested (the decode is closed on the way out).
        """
        phones, bert = self._gpt_inputs(prepared, [segment])
        stream = stream_tokens(gpt, phones[0], bert[0], prepared.reference.prompt_codes,
                               options.sampling(), generator)
        with closing(stream):
            while True:
                try:
                    piece = next(stream, None)
                except torch.OutOfMemoryError as exc:  # B-6, as a batch of one
                    raise _gpt_out_of_memory(1, exc) from exc
                if piece is None:
                    return
                yield piece
                if stream.result is None and should_stop is not None and should_stop():
                    raise _StopRequested

    def _chunk_pieces(self, sovits: SoVITSGenerator, prepared: _Prepared, segment: Segment,
                      tokens: torch.Tensor | Iterator[torch.Tensor], index: int,
                      options: InferenceOptions, quiet: torch.Tensor | None
                      ) -> Generator[StreamedChunk, None, None]:
        """The chunk decoder's pieces, each computed under inference mode (not the yields);
        with a token feed, the GPT's blocks run there too."""
        pieces = stream_segment_chunks(
            sovits, tokens, segment.phone_ids.to(self.device).unsqueeze(0),
            ge=prepared.reference.style, speed=options.speed, noise_scale=options.noise_scale,
            generator=self._segment_generator(prepared.seed, index),
            overlap_length=options.overlap_length, min_chunk_length=options.min_chunk_length,
            quiet_similarity=quiet)
        while True:
            with torch.inference_mode():
                piece = next(pieces, None)
            if piece is None:
                return
            yield piece
