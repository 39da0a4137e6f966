"""An inference engine made on first use, so what holds one starts without torch or models.

The Inference tab and the HTTP API mounted on the UI's server each hold one; the API's
wraps the tab's, so both use a single engine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gsv_core.infer.engine import AudioChunk, InferenceEngine, Synthesis

__all__ = ["LazyEngine"]


class LazyEngine:
    """Calls ``factory`` on the first use (once, thread-safe) and forwards to its engine."""

    def __init__(self, factory: Callable[[], InferenceEngine]) -> None:
        self._factory = factory
        self._engine: InferenceEngine | None = None
        self._lock = threading.Lock()

    def get(self) -> InferenceEngine:
        with self._lock:
            if self._engine is None:
                self._engine = self._factory()
            return self._engine

    @property
    def gpt_path(self) -> Path | None:
        return self.get().gpt_path

    @property
    def sovits_path(self) -> Path | None:
        return self.get().sovits_path

    def load_gpt(self, path: Path) -> None:
        self.get().load_gpt(path)

    def load_sovits(self, path: Path) -> None:
        self.get().load_sovits(path)

    def synthesize(self, *args: Any, **kwargs: Any) -> Synthesis:
        return self.get().synthesize(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[AudioChunk]:
        return self.get().stream(*args, **kwargs)
