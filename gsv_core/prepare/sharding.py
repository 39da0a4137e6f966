"""Formatting on several devices at once: one spawned worker process per device.

Each worker loads its own HuBERT and SoVITS on its device and runs
:func:`gsv_core.prepare.audio_stage.run_audio_stage` on its share of the clips; shares are
balanced by audio length (longest clip to the least loaded device). Progress and the stop
request travel through a manager's queue and event, so the parent's progress bar and Stop
button work as with one device. A worker that crashes fails the whole run with its error
(its clips are not silently dropped).
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

from gsv_core.prepare.audio_stage import AudioOutcome, AudioTask, DeviceModels, run_audio_stage
from gsv_core.prepare.layout import ExperimentFiles

__all__ = ["balanced_shares", "run_sharded"]


def balanced_shares(tasks: Sequence[AudioTask], count: int) -> list[list[AudioTask]]:
    """``tasks`` split into ``count`` shares of about equal audio length."""
    shares: list[list[AudioTask]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for task in sorted(tasks, key=lambda t: -t.seconds):
        lightest = loads.index(min(loads))
        shares[lightest].append(task)
        loads[lightest] += task.seconds or 1.0
    return shares


def _worker(tasks: list[AudioTask], files: ExperimentFiles, spec: DeviceModels,
            messages: queue.Queue, stop: threading.Event) -> AudioOutcome:
    return run_audio_stage(tasks, files, spec,
                           progress=lambda n, text: messages.put((n, text)),
                           should_stop=stop.is_set)


def run_sharded(tasks: Sequence[AudioTask], files: ExperimentFiles,
                specs: Sequence[DeviceModels], *,
                progress: Callable[[int, str], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> AudioOutcome:
    """:func:`run_audio_stage` over ``specs`` (one device each), outcomes merged."""
    shares = balanced_shares(tasks, len(specs))
    merged = AudioOutcome()
    context = multiprocessing.get_context("spawn")  # CUDA cannot be used in a forked child
    with context.Manager() as manager, ProcessPoolExecutor(len(specs),
                                                           mp_context=context) as pool:
        messages, stop = manager.Queue(), manager.Event()
        futures = [pool.submit(_worker, share, files, spec, messages, stop)
                   for share, spec in zip(shares, specs, strict=True) if share]
        while not all(f.done() for f in futures):
            if should_stop is not None and should_stop():
                stop.set()
            try:
                finished, text = messages.get(timeout=0.2)
            except queue.Empty:
                continue
            if progress is not None:
                progress(finished, text)
        while not messages.empty() and progress is not None:
            progress(*messages.get())
        for future in futures:
            outcome = future.result()   # re-raises a worker's error
            merged.codes.update(outcome.codes)
            merged.hubert_done.extend(outcome.hubert_done)
            merged.failures.extend(outcome.failures)
            merged.stopped = merged.stopped or outcome.stopped
            for phase, seconds in outcome.seconds.items():  # summed over the devices
                merged.seconds[phase] = merged.seconds.get(phase, 0.0) + seconds
    return merged
