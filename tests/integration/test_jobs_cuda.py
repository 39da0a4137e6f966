"""CUDA failures inside a job stay inside the job (gsv_core.jobs); skipped without CUDA.

What the UI relies on: an out-of-memory error or a device-side assert in a training job is a
``failed`` status with the CUDA message as its cause, and the UI process (this one) keeps a
working GPU. ``CUDA_VISIBLE_DEVICES`` given to :func:`start_job` is how a job is put on a card.
"""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from gsv_core.jobs import JobContext, start_job  # noqa: E402 (after the skip)

HERE = "tests.integration.test_jobs_cuda"
LIMIT_S = 300.0  # CUDA start-up in a fresh process can take a while on a busy machine
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def run_out_of_memory(ctx: JobContext) -> None:
    free_bytes, _ = torch.cuda.mem_get_info()
    torch.empty(int(free_bytes * 4), dtype=torch.uint8, device="cuda")


def trip_a_device_assert(ctx: JobContext) -> None:
    values = torch.zeros(4, device="cuda")
    index = torch.tensor([1000], device="cuda")
    values[index] = 1.0  # out of bounds inside the kernel: a device-side assert
    torch.cuda.synchronize()


def train_on_the_gpu(ctx: JobContext, steps: int) -> dict:
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 1).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    inputs, targets = torch.randn(256, 64, device="cuda"), torch.randn(256, 1, device="cuda")
    for step in range(steps):
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        ctx.metric("loss", loss.item(), step)
        ctx.progress(step + 1, steps)
    return {"device": torch.cuda.get_device_name(), "peak_bytes": torch.cuda.max_memory_allocated()}


def count_cuda_devices(ctx: JobContext) -> int:
    return torch.cuda.device_count()


def _gpu_still_works_here() -> bool:
    return torch.ones(8, device="cuda").sum().item() == 8.0


def test_running_out_of_gpu_memory_fails_the_job_not_the_ui(tmp_path: Path) -> None:
    status = start_job(f"{HERE}:run_out_of_memory", folder=tmp_path).wait(LIMIT_S)

    assert status.state == "failed"
    assert status.cause.startswith("OutOfMemoryError: CUDA out of memory"), status
    assert _gpu_still_works_here()


def test_a_device_side_assert_fails_the_job_with_the_cuda_message(tmp_path: Path) -> None:
    status = start_job(f"{HERE}:trip_a_device_assert", folder=tmp_path).wait(LIMIT_S)

    assert status.state == "failed"
    assert "device-side assert" in status.cause + status.details, status
    assert _gpu_still_works_here()


def test_a_gpu_job_reports_its_losses_and_succeeds(tmp_path: Path) -> None:
    handle = start_job(f"{HERE}:train_on_the_gpu", {"steps": 20}, folder=tmp_path)
    status = handle.wait(LIMIT_S)

    assert status.state == "succeeded", status
    losses = [e.data["value"] for e in handle.events()[0] if e.kind == "metric"]
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert status.result["peak_bytes"] > 0


def test_the_job_sees_only_the_cards_it_is_given(tmp_path: Path) -> None:
    status = start_job(f"{HERE}:count_cuda_devices", folder=tmp_path,
                       env={"CUDA_VISIBLE_DEVICES": "0"}).wait(LIMIT_S)
    hidden = start_job(f"{HERE}:count_cuda_devices", folder=tmp_path,
                       env={"CUDA_VISIBLE_DEVICES": ""}).wait(LIMIT_S)

    assert (status.state, status.result) == ("succeeded", 1)
    assert (hidden.state, hidden.result) == ("succeeded", 0)
