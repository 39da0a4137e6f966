"""What the API does for a request: resolve its files, queue it on the GPU, encode its audio.

One :class:`TtsService` owns one inference engine. Requests run one at a time behind a lock
(one GPU, one model: a second request waits its turn instead of competing for memory), each in
a worker thread so the server keeps answering. A streamed request hands its chunks to the
server through a small bounded buffer; when the client goes away the server sets the stop
flag, the engine's ``should_stop`` sees it, and the work ends at the next chunk — also while
the request is still waiting for its turn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gsv_core.api.params import TtsParams
from gsv_core.api.paths import PathPolicy
from gsv_core.errors import ConfigError
from gsv_core.infer import audio_io
from gsv_core.infer.options import InferenceOptions, Reference

if TYPE_CHECKING:
    from gsv_core.infer.engine import AudioChunk, Synthesis

__all__ = ["ChunkStream", "SpeechEngine", "TtsService"]

log = logging.getLogger(__name__)

STREAM_BUFFER_CHUNKS = 4  # chunks made ahead of what the client has taken
_POLL_S = 0.1  # how often a waiting worker looks at the stop flag


class SpeechEngine(Protocol):
    """The part of ``gsv_core.infer.engine.InferenceEngine`` the API uses."""

    @property
    def gpt_path(self) -> Path | None: ...
    @property
    def sovits_path(self) -> Path | None: ...
    def load_gpt(self, path: Path) -> None: ...
    def load_sovits(self, path: Path) -> None: ...
    def synthesize(self, reference: Reference, text: str, options: InferenceOptions,
                   progress: Callable[[int, int], None] | None = None,
                   should_stop: Callable[[], bool] | None = None) -> Synthesis: ...
    def stream(self, reference: Reference, text: str, options: InferenceOptions,
               should_stop: Callable[[], bool] | None = None) -> Iterator[AudioChunk]: ...


_END = object()


class ChunkStream:
    """Runs a blocking chunk producer in a thread, holding the GPU lock, and hands its chunks to
    asyncio. ``stop()`` (the client left) makes the producer's ``should_stop`` true and frees
    the thread at its next chunk."""

    def __init__(self, produce: Callable[[Callable[[], bool]], Iterator[bytes]],
                 gpu_lock: threading.Lock, description: str) -> None:
        self._produce = produce
        self._gpu_lock = gpu_lock
        self._description = description
        self._stop = threading.Event()
        self._slots = threading.Semaphore(STREAM_BUFFER_CHUNKS)
        self._loop = asyncio.get_running_loop()
        self._items: asyncio.Queue[object] = asyncio.Queue()
        self.chunks_made = 0
        threading.Thread(target=self._run, name="gsv-api-synthesis", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _wait(self, acquire: Callable[..., bool]) -> bool:
        while not self._stop.is_set():
            if acquire(timeout=_POLL_S):
                return True
        return False

    def _deliver(self, item: object) -> bool:
        if not self._wait(self._slots.acquire):
            return False
        self._loop.call_soon_threadsafe(self._items.put_nowait, item)
        return True

    def _run(self) -> None:
        if not self._wait(self._gpu_lock.acquire):
            log.info("%s: the client left while the request waited for the GPU", self._description)
            return
        try:
            for chunk in self._produce(self._stop.is_set):
                if not self._deliver(chunk):
                    break
                self.chunks_made += 1
            else:
                self._deliver(_END)
        except Exception as exc:  # handed to the server, which answers or logs it
            self._deliver(exc)
        finally:
            self._gpu_lock.release()
        if self._stop.is_set():
            log.info("%s stopped: the client disconnected after %d chunks", self._description,
                     self.chunks_made)

    async def next(self) -> bytes | None:
        """The next chunk, or None at the end; re-raises the producer's exception."""
        item = await self._items.get()
        self._slots.release()
        if item is _END:
            return None
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[return-value]

    async def chunks(self, first: bytes) -> AsyncIterator[bytes]:
        """``first``, then every later chunk; stops the producer when the response ends early
        (a disconnect cancels this generator)."""
        try:
            yield first
            while (chunk := await self.next()) is not None:
                yield chunk
        except Exception:
            log.exception("%s failed after the audio started", self._description)
        finally:
            self.stop()


@dataclass(frozen=True)
class _Call:
    reference: Reference
    text: str
    options: InferenceOptions
    media_type: str


class TtsService:
    """The engine behind the API, the folders its paths may name, and the optional login."""

    def __init__(self, engine: SpeechEngine, paths: PathPolicy, *,
                 login: tuple[str, str] | None = None,
                 control: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.paths = paths
        self.login = login
        self.control = control
        self.gpu_lock = threading.Lock()
        self._default_reference: Path | None = None

    @property
    def default_reference(self) -> Path | None:
        """The clip ``/set_refer_audio`` chose, used when a request names none."""
        return self._default_reference

    def set_reference(self, path_text: str | None) -> Path:
        path = self.paths.resolve(path_text or "", "refer_audio_path")
        self._default_reference = path
        return path

    def _weights(self, path_text: str | None, kind: str) -> Path:
        if not path_text:
            raise ConfigError(f"{kind} weight path is required", "Send weights_path.")
        return self.paths.resolve(path_text, "weights_path")

    def set_gpt_weights(self, path_text: str | None) -> Path:
        """Load GPT weights (blocking; waits for the GPU like a request)."""
        path = self._weights(path_text, "gpt")
        with self.gpu_lock:
            self.engine.load_gpt(path)
        return path

    def set_sovits_weights(self, path_text: str | None) -> Path:
        path = self._weights(path_text, "sovits")
        with self.gpu_lock:
            self.engine.load_sovits(path)
        return path

    def _call(self, params: TtsParams) -> _Call:
        if params.reference_path is not None:
            clip = self.paths.resolve(params.reference_path, "ref_audio_path")
        elif self._default_reference is not None:
            clip = self._default_reference
        else:
            raise ConfigError("ref_audio_path is required", "Send ref_audio_path.")
        extras = tuple(self.paths.resolve(p, "aux_ref_audio_paths")
                       for p in params.extra_reference_paths)
        reference = Reference(audio_path=clip, text=params.prompt_text,
                              language=params.prompt_language, extra_audio_paths=extras,
                              prompt_free=not params.prompt_text).validate()
        return _Call(reference, params.text, params.options, params.media_type)

    def start(self, params: TtsParams) -> ChunkStream:
        """Queue a request; its chunks are bodies to send in order (one body when not
        streamed). Path errors raise here, before anything is queued; synthesis errors come
        out of the stream's first :meth:`ChunkStream.next`."""
        call = self._call(params)
        if params.streaming:
            return ChunkStream(lambda stop: self._stream_bodies(call, stop), self.gpu_lock,
                               "streamed synthesis")
        return ChunkStream(lambda stop: self._whole_body(call, stop), self.gpu_lock,
                           "synthesis")

    def _whole_body(self, call: _Call, should_stop: Callable[[], bool]) -> Iterator[bytes]:
        result = self.engine.synthesize(call.reference, call.text, call.options,
                                        should_stop=should_stop)
        yield audio_io.encode(result.audio, result.sample_rate, call.media_type)

    def _stream_bodies(self, call: _Call, should_stop: Callable[[], bool]) -> Iterator[bytes]:
        """Upstream's wire format: a WAV stream is the 0-frame header and then raw PCM; every
        other type sends each chunk encoded on its own (an ogg chunk is a whole ogg file)."""
        header_sent = False
        for chunk in self.engine.stream(call.reference, call.text, call.options,
                                        should_stop=should_stop):
            if call.media_type == "wav":
                body = audio_io.encode(chunk.audio, chunk.sample_rate, "raw")
                if not header_sent:
                    body = audio_io.streaming_wav_header(chunk.sample_rate) + body
                    header_sent = True
            else:
                body = audio_io.encode(chunk.audio, chunk.sample_rate, call.media_type)
            yield body
