"""The history checker against a hand-checked history: it must find what was lost."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from simulator.faults.checker import FaultWindow, Stored, check
from simulator.faults.history import History, PublishOp
from simulator.protocol import channels
from simulator.protocol.models import TaskResult, TaskStatus


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _result(task_id: str, status: str = "completed") -> tuple[str, bytes]:
    name = "task_result" if status == "completed" else "task_error"
    chan = channels.channel(name)
    model = TaskResult(
        task_id=task_id,
        agent_id="worker-0",
        status=TaskStatus(status),
        timestamp=datetime.now(timezone.utc),
    )
    return chan.subject_for(model.model_dump()), model.model_dump_json(exclude_none=True).encode()


def _history() -> tuple[History, _Clock]:
    """a-d acknowledged at 1-4; e timed out (stored at 5 all the same); f acked twice."""
    clock = _Clock()
    history = History(clock=clock)
    for seq, msg_id in enumerate("abcd", start=1):
        op = history.invoke("tasks.analysis.assignment", msg_id)
        clock.now += 0.1
        history.acked(op, "S", seq, duplicate=False)
    slow = history.invoke("tasks.analysis.assignment", "e")  # invoked at 100.4
    clock.now += 2.0
    history.attempt_failed(slow, TimeoutError("no ack"), timeout=True)
    history.gave_up(slow)  # completed at 102.4: indeterminate
    for _ in range(2):
        op = history.invoke("tasks.analysis.assignment", "f")
        history.acked(op, "S", 6, duplicate=True)
    return history, clock


def test_a_history_with_losses_is_reported_with_the_lost_sequences() -> None:
    history, _ = _history()
    stored = {
        "S": [
            Stored("S", 1, "tasks.analysis.assignment", "a"),
            Stored("S", 2, "tasks.analysis.assignment", "b"),
            # the stream lost 3 and 4 and began again: its 3 is another message
            Stored("S", 3, "tasks.analysis.assignment", "x"),
            Stored("S", 5, "tasks.analysis.assignment", "e"),
            Stored("S", 6, "tasks.analysis.assignment", "f"),
            Stored("S", 7, "tasks.analysis.assignment", "f"),
        ]
    }
    report = check(history.ops, stored, started=100.0)
    s = report.streams["S"]
    assert (s.acknowledged, s.found, s.lost) == (6, 4, [3, 4])
    assert (s.duplicated, s.unacked_found, s.stored) == (["f"], 1, 6)
    assert report.lost == 2
    assert report.outcomes == {"ok": 6, "info": 1}
    data = report.to_dict()
    assert data["lost"] == 2 and data["streams"]["S"]["lost_seqs"] == [3, 4]  # type: ignore[index,call-overload]


def test_a_clean_history_passes() -> None:
    history, _ = _history()
    stored = {
        "S": [
            Stored("S", seq, "tasks.analysis.assignment", msg_id)
            for seq, msg_id in enumerate("abcd", start=1)
        ]
        + [Stored("S", 6, "tasks.analysis.assignment", "f")]
    }
    report = check(history.ops, stored)
    assert report.lost == 0
    assert report.streams["S"].duplicated == []
    assert report.streams["S"].unacked_found == 0  # e timed out and is not stored: no loss


def test_windows_are_named_by_the_fault_they_overlap() -> None:
    history, _ = _history()
    report = check(
        history.ops,
        {},
        faults=[FaultWindow("kill:stream-leader", 0.3, 1.5)],
        started=100.0,
    )
    assert report.windows == [
        {"fault": "kill:stream-leader", "start_s": 0.4, "end_s": 2.4, "duration_s": 2.0}
    ]


def test_tasks_with_none_one_or_more_final_results() -> None:
    one, none, two = (str(uuid.uuid4()) for _ in range(3))
    messages = [_result(one), _result(two), _result(two, "failed")]
    stored = {
        "T": [Stored("T", i, subject, None, data) for i, (subject, data) in enumerate(messages)]
        + [Stored("T", 9, "tasks.analysis.assignment", "x", b"{}")]
    }
    report = check([], stored, assigned=[one, none, two], redeliveries={"T/c": 2})
    t = report.tasks
    assert (t.assigned, t.exactly_one, t.none, t.more_than_one) == (3, 1, [none], [two])
    assert report.redeliveries == {"T/c": 2}


def test_an_op_is_pending_until_it_completes() -> None:
    op = PublishOp("s", None, 1.0)
    assert not op.acked and op.outcome == "pending"
