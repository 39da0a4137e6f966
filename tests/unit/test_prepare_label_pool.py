"""Labels cleaned in worker processes (gsv_core.prepare.label_pool) equal those cleaned here.

The workers are real spawned processes (two, forced: the automatic count would clean a list
this short in the calling process).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from gsv_core.prepare.label_pool import LabelCleaner, LabelTask, PolyphoneSource, worker_count
from gsv_core.prepare.labels import ClipText
from gsv_core.prepare.outcome import ClipFailure

TASKS = [LabelTask(f"clip{i}.wav", text, language, i + 1) for i, (text, language) in
         enumerate([("你好，今天天气很不错。", "zh"), ("Hello there, this is a test.", "en"),
                    ("。。。", "zh"), ("我买了两个AirPods。", "zh"), ("我们明天见。", "zh"),
                    ("It went up 50% today.", "en")] * 3)]
SOURCE = PolyphoneSource(needed=True)   # no workspace: pypinyin, in the parent as in workers


@pytest.mark.parametrize(("labels", "cpus", "expected"), [
    (10, 16, 0),      # too few labels for a pool
    (360, 16, 0),     # one hour of 10 s clips: in-process measured faster on the H200 host
    (1000, 16, 4),    # 250 labels a worker, at most four
    (600, 16, 0),
    (10_000, 4, 2),   # two cores kept for the formatting process
    (10_000, 3, 0),   # one spare core: not worth a pool
    (10_000, 2, 0),
])
def test_worker_count_follows_the_list_and_the_cores(labels, cpus, expected):
    assert worker_count(labels, cpus) == expected


def clean(workers: int, should_stop=lambda: False):
    with LabelCleaner(TASKS, "improved", None, SOURCE, workers=workers) as cleaner:
        assert cleaner.in_workers == (workers > 0)
        return cleaner.collect(should_stop)


def test_workers_give_the_same_labels_and_failures_in_the_same_order():
    here_texts, here_failures, here_stopped = clean(0)
    texts, failures, stopped = clean(2)
    assert not stopped and not here_stopped
    assert all(isinstance(t, ClipText) for t in texts)
    assert texts == here_texts
    assert [t.name for t in texts] == [t.name for t in TASKS if t.text != "。。。"]
    assert failures == here_failures
    assert [f.line_number for f in failures] == [3, 9, 15]
    assert all(isinstance(f, ClipFailure) and f.stage == "text" for f in failures)
    assert "nothing to read" in failures[0].message


def test_a_stop_before_the_first_chunk_returns_nothing_and_says_stopped():
    texts, failures, stopped = clean(2, should_stop=lambda: True)
    assert stopped and texts == [] and failures == []


def test_the_worker_modules_do_not_import_torch():
    """The point of the workers: they start in ~2 s because torch is not loaded there."""
    code = ("import sys, gsv_core.prepare.label_pool; "
            "sys.exit(3 if 'torch' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
