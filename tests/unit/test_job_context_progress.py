"""JobContext.progress: the optional model name reaches the events file."""

from __future__ import annotations

from gsv_core.job_child import JobContext
from gsv_core.job_events import EventWriter, read_events


def test_progress_names_its_model_only_when_given(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        ctx = JobContext(tmp_path, writer)
        ctx.progress(1, 4, "one")
        ctx.progress(2, 4, "two", model="gpt")
    events, _ = read_events(path)
    progress = [event.data for event in events if event.kind == "progress"]
    assert progress == [{"done": 1.0, "total": 4.0, "message": "one"},
                        {"done": 2.0, "total": 4.0, "message": "two", "model": "gpt"}]
