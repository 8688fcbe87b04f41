"""The status service over a real NATS server, with pytest-mistersmith's fixtures."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from nats.js import JetStreamContext
from status_service import CONSUMER, STREAM, StatusService, result_for

from pytest_mistersmith.contracts import ASSIGNMENT_TO_RESULT, ContractChecker
from pytest_mistersmith.janitor import TopologyState
from simulator.protocol import subjects
from simulator.protocol.models import TaskAssignment, TaskResult, TaskType


def _assignment(task_type: TaskType = TaskType.ANALYSIS) -> TaskAssignment:
    return TaskAssignment(
        task_id=str(uuid.uuid4()),
        task_type=task_type,
        assigned_agent="agent-1",
        timestamp=datetime.now(timezone.utc),
    )


async def _publish(jetstream: JetStreamContext, assignment: TaskAssignment) -> None:
    payload = assignment.model_dump_json(by_alias=True, exclude_none=True).encode()
    ack = await jetstream.publish(subjects.task_assignment(str(assignment.task_type)), payload)
    assert ack.stream == STREAM


def test_result_for_answers_the_task() -> None:
    """The answer itself needs no server."""
    assignment = _assignment()
    result = result_for(assignment, "status-service")
    assert result.task_id == assignment.task_id
    assert str(result.status) == "completed"


async def test_one_assignment_gets_exactly_one_result(
    mistersmith_topology: TopologyState,
    jetstream: JetStreamContext,
    nats_capture: Any,
    status_service: StatusService,
) -> None:
    """Publish one assignment: one TaskResult on tasks.{task_id}.result, the assignment acked."""
    assignment = _assignment()
    async with nats_capture("tasks.*.result", model=TaskResult) as capture:
        await _publish(jetstream, assignment)
        [message] = await capture.wait_for(1, timeout=5)
        await status_service.stop()  # drains: what it took is answered and acked
        consumer = await jetstream.consumer_info(STREAM, CONSUMER)
    # delivered once, acked, nothing pending or redelivered: no second result can follow
    assert consumer.delivered.consumer_seq == 1
    assert (consumer.num_ack_pending, consumer.num_redelivered, consumer.num_pending) == (0, 0, 0)
    assert message.subject == subjects.task_result(assignment.task_id)
    assert [result.task_id for result in capture.models] == [assignment.task_id]
    assert status_service.answered == 1


async def test_each_of_several_assignments_is_answered(
    mistersmith_topology: TopologyState,
    jetstream: JetStreamContext,
    nats_capture: Any,
    status_service: StatusService,
) -> None:
    """Three assignments of different types: three results, one per task id."""
    assignments = [
        _assignment(t) for t in (TaskType.ANALYSIS, TaskType.SYNTHESIS, TaskType.EXECUTION)
    ]
    async with nats_capture("tasks.*.result", model=TaskResult) as capture:
        for assignment in assignments:
            await _publish(jetstream, assignment)
        await capture.wait_for(3, timeout=5)
    assert sorted(r.task_id for r in capture.models) == sorted(a.task_id for a in assignments)


async def test_an_invalid_assignment_is_terminated_unanswered(
    mistersmith_topology: TopologyState,
    jetstream: JetStreamContext,
    nats_capture: Any,
    status_service: StatusService,
) -> None:
    """A payload that is no TaskAssignment gets no result; a valid one after it does."""
    valid = _assignment()
    async with nats_capture("tasks.*.result", model=TaskResult) as capture:
        await jetstream.publish(subjects.task_assignment(TaskType.ANALYSIS), b'{"task_id": "no"}')
        await _publish(jetstream, valid)
        await capture.wait_for(1, timeout=5)
    assert [r.task_id for r in capture.models] == [valid.task_id]
    assert status_service.rejected == 1


async def test_a_readable_invalid_assignment_gets_a_failed_result(
    mistersmith_topology: TopologyState,
    jetstream: JetStreamContext,
    nats_capture: Any,
    status_service: StatusService,
) -> None:
    """An assignment with a task id but no assigned agent: a failed TaskResult naming the field."""
    task_id = str(uuid.uuid4())
    payload = (
        f'{{"task_id": "{task_id}", "task_type": "analysis", "timestamp": "2026-01-01T00:00:00Z"}}'
    )
    async with nats_capture("tasks.*.error", model=TaskResult) as capture:
        await jetstream.publish(subjects.task_assignment(TaskType.ANALYSIS), payload.encode())
        [message] = await capture.wait_for(1, timeout=5)
    assert message.subject == subjects.task_error(task_id)
    [report] = capture.models
    assert str(report.status) == "failed" and report.error_details is not None
    assert "assigned_agent" in (report.error_details.error_message or "")


async def test_the_service_keeps_the_assignment_contract(
    status_service: StatusService, mistersmith_contracts: ContractChecker
) -> None:
    """The contract it serves, as a downstream project checks it: every valid assignment gets
    exactly one TaskResult (from this service's own agent id: any worker may take it), and
    every invalid one is reported naming the field, with the valid ones still served."""
    await mistersmith_contracts.check(ASSIGNMENT_TO_RESULT)
    await mistersmith_contracts.rejects(ASSIGNMENT_TO_RESULT.with_options(reports_rejections=True))
