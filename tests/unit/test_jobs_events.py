"""The events file of a job (gsv_core.job_events) and the JobContext that writes it, in-process."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from gsv_core.job_child import JobContext
from gsv_core.job_events import EventWriter, JobEvent, collect_metrics, read_events, to_json_line


def line(kind: str, seq: int, **data: object) -> str:
    return json.dumps({"kind": kind, "seq": seq, "time": 1.5, **data}) + "\n"


def test_a_partial_last_line_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first, second = line("started", 0, pid=1), line("progress", 1, done=1, total=2)
    path.write_text(first + second[:10], encoding="utf-8")

    events, offset = read_events(path)
    assert [e.kind for e in events] == ["started"]
    assert offset == len(first.encode())
    assert read_events(path, offset) == ([], offset)  # still partial: nothing, same offset

    with open(path, "a", encoding="utf-8") as handle:
        handle.write(second[10:])
    events, offset = read_events(path, offset)

    assert events == [JobEvent("progress", 1, 1.5, {"done": 1, "total": 2})]
    assert offset == path.stat().st_size


def test_a_damaged_line_is_skipped_and_later_events_kept(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes((line("started", 0) + "{not json\n" + '{"kind": "x"}\n'
                      + line("result", 3, value=7)).encode() + b"\xff\xfe\n")

    with caplog.at_level(logging.WARNING, logger="gsv_core.job_events"):
        events, offset = read_events(path)

    assert [(e.kind, e.seq) for e in events] == [("started", 0), ("result", 3)]
    assert offset == path.stat().st_size
    assert len([r for r in caplog.records if "unreadable event line" in r.message]) == 3


def test_a_missing_events_file_reads_as_no_events(tmp_path: Path) -> None:
    assert read_events(tmp_path / "nope.jsonl", 12) == ([], 12)


def test_non_ascii_text_survives_and_a_line_holds_no_newline() -> None:
    encoded = to_json_line({"message": "第一行\n第二行"})
    assert encoded.count(b"\n") == 1 and encoded.endswith(b"\n")
    assert json.loads(encoded)["message"] == "第一行\n第二行"


@dataclass
class _Summary:
    folder: Path
    sizes: tuple[int, ...]


def test_dataclasses_paths_and_numpy_scalars_are_converted() -> None:
    decoded = json.loads(to_json_line({"s": _Summary(Path("/a/b"), (1, 2)),
                                       "x": np.float32(0.5), "n": np.int64(3)}))
    assert decoded == {"s": {"folder": "/a/b", "sizes": [1, 2]}, "x": 0.5, "n": 3}


def test_an_object_json_cannot_hold_is_refused_with_its_type() -> None:
    with pytest.raises(TypeError, match=r"builtins\.object"):
        to_json_line({"value": object()})
    with pytest.raises(TypeError, match="ndarray"):
        to_json_line({"value": np.zeros(3)})  # a whole array is not a 0-d number


def test_the_writer_numbers_its_lines_and_collect_metrics_groups_them(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as writer:
        writer.write("metric", name="loss", value=2.0, step=0)
        writer.write("metric", name="lr", value=1e-4, step=0)
        writer.write("metric", name="loss", value=math.inf, step=1)

    events, _ = read_events(path)

    assert [e.seq for e in events] == [0, 1, 2]
    assert collect_metrics(events) == {"loss": [(0, 2.0), (1, math.inf)], "lr": [(0, 1e-4)]}


@pytest.fixture
def context(tmp_path: Path):
    writer = EventWriter(tmp_path / "events.jsonl")
    yield JobContext(tmp_path, writer), tmp_path / "events.jsonl"
    writer.close()


def test_should_stop_follows_the_stop_file_and_says_so_once(context) -> None:
    ctx, path = context
    assert not ctx.should_stop()
    (ctx.job_dir / "stop.json").write_text("{}", encoding="utf-8")

    assert ctx.should_stop() and ctx.should_stop()
    assert [e.kind for e in read_events(path)[0]] == ["stop_seen"]


def test_the_result_is_recorded_once_and_must_be_json(context) -> None:
    ctx, path = context
    with pytest.raises(TypeError):
        ctx.result({"model": object()})
    assert not ctx.has_result and read_events(path)[0] == []  # nothing half-written

    ctx.result({"epochs": 2})
    with pytest.raises(RuntimeError, match="already recorded"):
        ctx.result({"epochs": 3})
    assert [(e.kind, dict(e.data)) for e in read_events(path)[0]] == [
        ("result", {"value": {"epochs": 2}})]


def test_own_events_cannot_take_a_reserved_kind(context) -> None:
    ctx, path = context
    for kind in ("result", "failed", "progress", "not a name"):
        with pytest.raises(ValueError, match="cannot be a job's own event kind"):
            ctx.emit(kind, x=1)
    with pytest.raises(ValueError, match="log level"):
        ctx.log("hi", level="loud")
    ctx.emit("step", step=3, loss=0.5)
    ctx.progress(2, None, "two")

    assert [(e.kind, dict(e.data)) for e in read_events(path)[0]] == [
        ("step", {"step": 3, "loss": 0.5}),
        ("progress", {"done": 2.0, "total": None, "message": "two"})]
