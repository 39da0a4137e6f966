"""Whether this machine can stream audio to the browser: Gradio encodes a stream with ffmpeg.

Gradio's streaming ``gr.Audio`` pipes every chunk through an ``ffmpeg`` executable (its
``audio_stream_encoder``); without one the stream fails mid-request with a bare error. The
Inference tab asks first and says what to install instead. Whole renders (WAV files) need
no ffmpeg.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from gsv_core.i18n import mark

__all__ = ["StreamingSupport", "streaming_support"]


@dataclass(frozen=True)
class StreamingSupport:
    """Where ffmpeg is, or how to get it (an i18n key, already marked)."""

    ffmpeg: Path | None
    install_hint: str

    @property
    def available(self) -> bool:
        return self.ffmpeg is not None


def streaming_support(platform: str = sys.platform) -> StreamingSupport:
    """Find ``ffmpeg`` on PATH (``shutil.which``, as Gradio looks it up)."""
    found = shutil.which("ffmpeg")
    if platform.startswith("win"):
        hint = mark("Install FFmpeg (for example `winget install ffmpeg`) and restart "
                    "GSV Studio.")
    elif platform == "darwin":
        hint = mark("Install FFmpeg (for example `brew install ffmpeg`) and restart "
                    "GSV Studio.")
    else:
        hint = mark("Install FFmpeg (on Debian or Ubuntu: `sudo apt-get install ffmpeg`; "
                    "./go-webui.sh does it when run as root) and restart GSV Studio.")
    return StreamingSupport(Path(found) if found else None, hint)
