"""Formatting as a background job: ``gsv_core.prepare.job:run_job``, for ``start_job``.

The Dataset tab runs :func:`~gsv_core.prepare.prepare_dataset` in a child process (the UI
must survive a CUDA crash or running out of memory, and a reload must find the run again),
so its request travels as JSON arguments: paths as strings, devices as a list. The job
reports progress and its stop through the :class:`~gsv_core.job_child.JobContext`, and
records ``PrepareResult.to_json()`` as its result:

- clips that failed (unreadable audio, nothing to read in a label…) do **not** fail the
  job: it succeeds, and the failures are in the result (``failures``: line number, name,
  step, message), for the UI's warning table;
- an error raised before any work (a bad list, a missing model, a bad device) fails the
  job with its message and advice (the job machinery records them); its ``details`` (which
  lines, and why) are written to the job's log first, because a failed event carries only
  the message and the advice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gsv_core.errors import GsvError
from gsv_core.job_child import JobContext
from gsv_core.prepare.run import PrepareRequest, prepare_dataset
from gsv_core.settings import open_workspace
from gsv_core.text import DEFAULT_READINGS

__all__ = ["request_from_args", "run_job"]


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def request_from_args(list_path: str, experiment: str, workspace: str, *,
                      readings: str = DEFAULT_READINGS, devices: Sequence[str] = (),
                      precision: str | None = None, audio_dir: str | None = None,
                      bert_dir: str | None = None, hubert_dir: str | None = None,
                      sovits_path: str | None = None,
                      batch_seconds: float = PrepareRequest.batch_seconds,
                      bert_batch: int = PrepareRequest.bert_batch) -> PrepareRequest:
    """The :class:`PrepareRequest` the job's JSON arguments describe (empty path = default)."""
    return PrepareRequest(Path(list_path), experiment, open_workspace(Path(workspace)),
                          audio_dir=_path(audio_dir), readings=readings,
                          devices=tuple(devices), precision=precision or None,
                          bert_dir=_path(bert_dir), hubert_dir=_path(hubert_dir),
                          sovits_path=_path(sovits_path), batch_seconds=float(batch_seconds),
                          bert_batch=int(bert_batch))


def run_job(ctx: JobContext, list_path: str, experiment: str, workspace: str, *,
            readings: str = DEFAULT_READINGS, devices: Sequence[str] = (),
            precision: str | None = None, audio_dir: str | None = None,
            bert_dir: str | None = None, hubert_dir: str | None = None,
            sovits_path: str | None = None, batch_seconds: float = PrepareRequest.batch_seconds,
            bert_batch: int = PrepareRequest.bert_batch) -> dict[str, Any]:
    """Format ``list_path`` into ``logs/<experiment>/`` of ``workspace``; returns the
    result as JSON (``PrepareResult.to_json``). See the module docstring for what fails."""
    request = request_from_args(list_path, experiment, workspace, readings=readings,
                                devices=devices, precision=precision, audio_dir=audio_dir,
                                bert_dir=bert_dir, hubert_dir=hubert_dir,
                                sovits_path=sovits_path, batch_seconds=batch_seconds,
                                bert_batch=bert_batch)
    try:
        result = prepare_dataset(request, progress=ctx.progress, should_stop=ctx.should_stop)
    except GsvError as error:
        if error.details:
            ctx.log(error.details, level="error")
        raise
    for failure in result.failures:
        ctx.log(str(failure), level="warning")
    return result.to_json()
