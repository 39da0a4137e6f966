"""Kill a training process at a named point (issue 14's fault injection).

    python -m tests.faults POINT CONFIG.json

runs ``train_sovits`` or ``train_gpt`` on the :class:`TrainConfig` in ``CONFIG.json`` with
one function of the trainer wrapped so that its ``n``-th call sends the process SIGKILL: no
``finally``, no atexit, no flush — what a power cut, the OOM killer or a closed console does.
The write points kill *inside* a write: ``half`` after half of the bytes went to the
temporary file, ``full`` after all of them (before the rename).
"""

from __future__ import annotations

import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# point -> (module, attribute path, which call kills, how: "before" the call, "after" it,
# or "half"/"full" inside the write_atomically it makes)
POINTS: dict[str, tuple[str, str, int, str]] = {
    "sovits-first-item": ("gsv_core.train.sovits_data", "SovitsDataset.__getitem__", 1,
                          "before"),
    "sovits-mid-step": ("gsv_core.train.sovits", "generator_losses", 1, "after"),
    "sovits-between-optimizers": ("torch.optim", "AdamW.step", 3, "before"),
    "sovits-checkpoint-half": ("gsv_core.train.resume", "write_atomically", 1, "half"),
    "sovits-checkpoint-before-rename": ("gsv_core.train.resume", "write_atomically", 1,
                                        "full"),
    "sovits-export-half": ("gsv_core.models.checkpoint", "write_atomically", 1, "half"),
    "sovits-after-export": ("gsv_core.train.sovits", "append_epoch_loss", 1, "before"),
    "sovits-second-checkpoint-half": ("gsv_core.train.resume", "write_atomically", 2, "half"),
    "gpt-mid-step": ("gsv_core.train.gpt", "sequence_logps", 2, "after"),
    "gpt-checkpoint-half": ("gsv_core.train.resume", "write_atomically", 1, "half"),
}


def _kill() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _killing_write(real: Callable[..., Path], how: str) -> Callable[..., Path]:
    """A ``write_atomically`` that dies inside the write: it writes the temporary file as
    the real one names it, then is killed there (``half``) or just before the rename."""
    def write(path: str | os.PathLike[str], writer: Callable[[Any], None], **kw: Any) -> Path:
        import io

        buffer = io.BytesIO()
        writer(buffer)
        data = buffer.getvalue()
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.0123456789abcdef.tmp"  # as the real one names it
        with open(tmp, "wb") as handle:
            handle.write(data if how == "full" else data[: len(data) // 2])
            handle.flush()
            os.fsync(handle.fileno())
        _kill()
        return real(path, writer, **kw)  # never reached
    return write


def install(point: str) -> None:
    """Wrap the function of ``point`` (see :data:`POINTS`)."""
    module_name, attribute, nth, how = POINTS[point]
    owner: Any = importlib.import_module(module_name)
    parts = attribute.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    real = getattr(owner, parts[-1])
    calls = [0]
    if how in ("half", "full"):
        killing = _killing_write(real, how)

        @functools.wraps(real)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return (killing if calls[0] == nth else real)(*args, **kwargs)
    else:
        @functools.wraps(real)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] == nth and how == "before":
                _kill()
            result = real(*args, **kwargs)
            if calls[0] == nth and how == "after":
                _kill()
            return result
    setattr(owner, parts[-1], wrapped)


def main(point: str, config_path: str) -> None:
    from gsv_core.train.config import TrainConfig
    from gsv_core.train.reporting import SilentReporter

    config = TrainConfig.read(config_path)
    install(point)
    if config.kind == "sovits":
        from gsv_core.train.sovits import train_sovits

        train_sovits(config, SilentReporter())
    else:
        from gsv_core.train.gpt import train_gpt

        train_gpt(config, SilentReporter())
    print("finished without reaching the fault point", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
