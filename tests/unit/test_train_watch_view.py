"""gsv_core.train.watch_view: a training job's events → what the Training tab shows.

Events are built as the trainers write them (gsv_core/train/reporting.py's vocabulary and
the job layer's reserved kinds); the job status is a plain JobStatus. The loss figure of
gsv_core.train.loss_plot is drawn from the same fold.
"""

from __future__ import annotations

import math
from pathlib import Path

from gsv_core.i18n import Translator
from gsv_core.job_events import JobEvent
from gsv_core.jobs import JobStatus
from gsv_core.train.loss_plot import loss_figure, thin
from gsv_core.train.watch_view import (
    TrainingEvents,
    duration_text,
    exported_rows,
    log_text,
    progress_text,
    queue_kinds,
    status_text,
)

t = Translator("en_US")
ARGS = {"configs": [{"kind": "sovits", "experiment": "小明"},
                    {"kind": "gpt", "experiment": "小明"}]}


class Events:
    """Builds events with increasing seq and time."""

    def __init__(self) -> None:
        self.seq = 0

    def __call__(self, event_kind: str, /, **data) -> JobEvent:
        self.seq += 1
        return JobEvent(event_kind, self.seq, 1000.0 + self.seq, data)


def heartbeat(make: Events, kind: str | None, epoch: int, step: int, **extra) -> JobEvent:
    data = {"epoch": epoch, "epochs": 10, "step": step, "steps": 400, "epoch_step": step % 40,
            "epoch_steps": 40, "samples_per_s": 12.34, "eta_s": 250.0, "lr": 1e-4,
            "gpu_memory_gb": 3.21, **extra}
    if kind:
        data["kind"] = kind
    return make("train_step", **data)


def snapshot(fold: TrainingEvents, state: str = "running", **status):
    return fold.snapshot("job-1", Path("/ws/logs/小明/jobs/job-1"), ARGS,
                         JobStatus(state, **status))


def sovits_round_3() -> TrainingEvents:
    make = Events()
    fold = TrainingEvents(queue_kinds(ARGS))
    fold.add([make("started", pid=1), make("progress", done=0, total=400, message="starting")])
    for step in range(81, 121):   # round 3 is steps 81-120 at 40 steps per round
        fold.add([make("metric", name="sovits/loss_mel", value=20.0 - step / 100, step=step),
                  make("metric", name="sovits/lr", value=1e-4, step=step)])
    fold.add([heartbeat(make, None, 3, 120)])
    return fold


def test_t1_progress_names_rounds_and_steps_and_the_next_model():
    text = progress_text(snapshot(sovits_round_3()), t)
    assert text.startswith("SoVITS · round 3 of 10, step 120 of 400")
    assert "12.3 samples/s" in text and "ETA 4 min 10 s" in text and "then GPT" in text


def test_losses_per_kind_leave_out_the_learning_rate():
    view = snapshot(sovits_round_3())
    assert set(view.loss_series("sovits")) == {"loss_mel"}
    assert view.loss_series("sovits")["loss_mel"][0] == (81, 20.0 - 0.81)
    assert "lr" in view.losses["sovits"]   # kept, only not drawn as a loss
    assert view.loss_series("gpt") == {}


def test_exported_file_carries_its_epoch_and_the_mean_loss_of_that_epoch():
    fold = sovits_round_3()
    make = Events()
    make.seq = 500
    fold.add([make("exported", kind="sovits", path="/ws/SoVITS_weights_v2/小明_e3_s120.pth",
                   epoch=3, step=120)])
    (weight,) = snapshot(fold).exported
    expected = sum(20.0 - s / 100 for s in range(81, 121)) / 40
    assert (weight.epoch, weight.step, weight.loss_name) == (3, 120, "loss_mel")
    assert math.isclose(weight.loss, expected)
    assert exported_rows(snapshot(fold))[0][:3] == ["SoVITS", 3, 120]
    assert "exported 小明_e3_s120.pth (round 3)" in log_text(snapshot(fold), t)


def test_queue_moves_to_gpt_and_the_bar_counts_both_models():
    fold = sovits_round_3()
    make = Events()
    make.seq = 600
    assert snapshot(fold).fraction == (0 + 120 / 400) / 2
    fold.add([make("metric", name="gpt/loss", value=3.0, step=1),
              heartbeat(make, "gpt", 1, 10)])
    view = snapshot(fold)
    assert view.current_kind == "gpt"
    assert progress_text(view, t).startswith("GPT · round 1 of 10, step 10 of 400")
    assert view.fraction == (1 + 10 / 400) / 2
    assert set(view.loss_series("gpt")) == {"loss"}


def test_t3_completed_run_shows_the_last_round_one_based():
    make = Events()
    fold = TrainingEvents(["sovits"])
    fold.add([heartbeat(make, "sovits", 10, 400)])
    text = status_text(snapshot(fold, "succeeded", has_result=True), t)
    assert text.startswith("✅") and "round 10 of 10" in text and "T-3" in text


def test_a_failed_job_shows_cause_and_advice_and_never_finished():
    make = Events()
    fold = TrainingEvents(["sovits"])
    fold.add([heartbeat(make, "sovits", 2, 50),
              make("failed", stage="run", error_type="gsv_core.errors.OutOfMemory",
                   message="batch 14 failed on this card", advice="try 7", rule="B-6")])
    view = snapshot(fold, "failed", cause="batch 14 failed on this card", advice="try 7",
                    details="Traceback …\nOutOfMemory")
    text = status_text(view, t)
    assert text.startswith("❌") and "batch 14 failed on this card" in text
    assert "➡️ try 7" in text and "round 2 of 10, step 50 of 400" in text
    assert "completed" not in text and "✅" not in text
    assert "Failed: batch 14 failed on this card" in log_text(view, t)


def test_an_unexpected_failure_points_at_the_log_file():
    text = status_text(snapshot(TrainingEvents(["gpt"]), "failed",
                                cause="killed by signal 9 (SIGKILL)"), t)
    assert "killed by signal 9" in text and "stderr.log" in text


def test_t2_a_stopped_job_says_starting_again_resumes():
    make = Events()
    fold = TrainingEvents(["sovits"])
    fold.add([heartbeat(make, "sovits", 4, 150), make("stop_seen")])
    text = status_text(snapshot(fold, "stopped", stop_requested=True), t)
    assert text.startswith("⏹") and "round 4 of 10" in text and "resume" in text
    assert "T-2" in text


def test_running_with_a_stop_asked_says_it_is_stopping():
    text = status_text(snapshot(TrainingEvents(["sovits"]), "running", stop_requested=True), t)
    assert "Stopping" in text


def test_resumed_event_is_kept_and_logged():
    make = Events()
    fold = TrainingEvents(["sovits"])
    fold.add([make("resumed", kind="sovits", path="/x/ckpt.pt", epoch=3, step=120)])
    view = snapshot(fold)
    assert view.resumed_from["sovits"] == ("/x/ckpt.pt", 3, 120)
    assert "resumed from the save point of round 3, step 120" in log_text(view, t)


def test_trainer_log_lines_keep_their_level():
    make = Events()
    fold = TrainingEvents(["sovits"])
    fold.add([make("log", message="no pretrained discriminator: D from scratch",
                   level="warning")])
    assert log_text(snapshot(fold), t) == "⚠️ no pretrained discriminator: D from scratch"


def test_queue_kinds_from_the_job_arguments():
    assert queue_kinds(ARGS) == ("sovits", "gpt")
    assert queue_kinds({"config": {"kind": "gpt"}}) == ("gpt",)
    assert queue_kinds({}) == ()


def test_duration_text():
    assert duration_text(3725, t) == "1 h 02 min"
    assert duration_text(59.6, t) == "1 min 00 s"
    assert duration_text(None, t) == "unknown"
    assert duration_text(float("nan"), t) == "unknown"


def test_loss_figure_one_axis_per_model_with_a_legend_and_nan_counted():
    fold = sovits_round_3()
    make = Events()
    make.seq = 700
    fold.add([make("metric", name="gpt/loss", value=3.0, step=1),
              make("metric", name="gpt/loss", value=float("nan"), step=2)])
    view = snapshot(fold)
    figure = loss_figure({kind: view.loss_series(kind) for kind in ("sovits", "gpt")}, t)
    sovits_axis, gpt_axis = figure.axes
    assert sovits_axis.get_title() == "SoVITS"
    assert [text.get_text() for text in sovits_axis.get_legend().get_texts()] == ["loss_mel"]
    assert "1 non-finite value(s) left out" in gpt_axis.get_title()
    assert "step" in sovits_axis.get_xlabel()
    figure.canvas.draw()   # renders on Agg without a display


def test_loss_figure_is_none_before_the_first_point():
    assert loss_figure({"sovits": {}}, t) is None


def test_thin_keeps_the_last_point_and_the_limit():
    points = [(i, float(i)) for i in range(10_000)]
    thinned = thin(points, 100)
    assert len(thinned) == 100 and thinned[-1] == points[-1] and thinned[0] == points[0]


def test_a_job_event_names_its_model_in_model_since_kind_is_the_event_kind():
    make = Events()
    fold = TrainingEvents(["sovits", "gpt"])
    fold.add([make("exported", model="gpt", path="/ws/GPT_weights_v2/小明-e2.ckpt", epoch=2,
                   step=8)])
    (weight,) = snapshot(fold).exported
    assert (weight.kind, weight.name, weight.loss) == ("gpt", "小明-e2.ckpt", None)
    assert snapshot(fold).current_kind == "gpt"


def test_gpus_of_the_job_from_its_configs():
    fold = TrainingEvents(["sovits"])
    view = fold.snapshot("j", Path("/j"), {"configs": [{"kind": "sovits", "device": "cuda",
                                                        "gpus": [1]},
                                                       {"kind": "gpt", "device": "cuda",
                                                        "gpus": [1, 2]}]},
                         JobStatus("running"))
    assert view.gpus == (1, 2)
    cpu = fold.snapshot("j", Path("/j"), {"configs": [{"kind": "sovits", "device": "cpu",
                                                       "gpus": []}]}, JobStatus("running"))
    assert cpu.gpus == ()


def test_progress_relayed_from_two_parallel_runs_stays_with_its_model():
    """Two runs on two cards relay into one job; each progress event names its model."""
    make = Events()
    fold = TrainingEvents(queue_kinds(ARGS))
    fold.add([make("progress", done=0, total=None, message="SoVITS: spectrograms",
                   model="sovits"),
              make("progress", done=0, total=None, message="GPT: loading", model="gpt"),
              make("progress", done=1, total=None, message="SoVITS: models", model="sovits")])
    assert fold.progress["sovits"].message == "SoVITS: models"
    assert fold.progress["gpt"].message == "GPT: loading"
