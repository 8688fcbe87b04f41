"""A small downstream service: it answers each task assignment with a TaskResult.

It pulls assignments (``tasks.*.assignment``) from the durable ``task_processor`` consumer of
the ``task_lifecycle`` stream, publishes a :class:`TaskResult` on ``tasks.{task_id}.result``
for each one, then acks the assignment and waits for the server to confirm the ack. An
assignment that is not a valid :class:`TaskAssignment` is terminated (never redelivered) and
gets no result.

Run it against any server with the topology applied (``mistersmith server`` prints a URL)::

    python status_service.py nats://127.0.0.1:PORT
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from datetime import datetime, timezone

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.client import JetStreamContext
from pydantic import ValidationError

from simulator.errors import SubjectError
from simulator.protocol.models import ErrorDetails, TaskAssignment, TaskResult, TaskStatus
from simulator.protocol.subjects import task_error, task_result

__all__ = ["CONSUMER", "STREAM", "StatusService", "rejection_for", "result_for"]

STREAM = "task_lifecycle"
CONSUMER = "task_processor"


def result_for(assignment: TaskAssignment, agent_id: str, elapsed_ms: int = 0) -> TaskResult:
    """The TaskResult that answers ``assignment`` (no I/O: testable without a server)."""
    return TaskResult(
        task_id=assignment.task_id,
        agent_id=agent_id,
        status=TaskStatus.COMPLETED,
        timestamp=datetime.now(timezone.utc),
        execution_time_ms=elapsed_ms,
        result_data={"task_type": str(assignment.task_type), "answered_by": agent_id},
    )


def rejection_for(data: bytes, error: ValidationError, agent_id: str) -> TaskResult | None:
    """The failed TaskResult that reports an invalid assignment, naming the broken fields; None
    when the payload has no readable ``task_id`` to report it under."""
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:  # not UTF-8 or not JSON
        return None
    task_id = body.get("task_id") if isinstance(body, dict) else None
    if not isinstance(task_id, str):
        return None
    try:
        task_error(task_id)  # a task id is a UUID: anything else names no task
    except SubjectError:
        return None
    fields = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<payload>'}: {e['msg']}" for e in error.errors()
    )
    return TaskResult(
        task_id=task_id,
        agent_id=agent_id,
        status=TaskStatus.FAILED,
        timestamp=datetime.now(timezone.utc),
        error_details=ErrorDetails(
            error_code="invalid_assignment", error_message=f"invalid TaskAssignment: {fields}"
        ),
    )


class StatusService:
    """Pulls assignments from ``task_processor`` and answers each with a TaskResult."""

    def __init__(
        self, client: Client, *, agent_id: str = "status-service", batch: int = 10
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.batch = batch
        self.answered = 0
        self.rejected = 0
        self._js: JetStreamContext = client.jetstream()
        self._sub: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._busy = False

    async def start(self) -> None:
        """Bind to the durable consumer and start pulling."""
        self._stopping = False
        self._sub = await self._js.pull_subscribe_bind(CONSUMER, STREAM)
        self._task = asyncio.create_task(self._run(self._sub), name="status-service")

    async def stop(self) -> None:
        """Stop pulling; the assignments in hand are answered and acked first."""
        self._stopping = True
        if self._task is not None:
            if not self._busy:  # waiting in fetch(): nothing in hand
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def __aenter__(self) -> StatusService:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _run(self, sub: JetStreamContext.PullSubscription) -> None:
        while not self._stopping:
            try:
                messages = await sub.fetch(self.batch, timeout=1.0)
            except NatsTimeoutError:
                continue  # nothing to do for a second: ask again
            self._busy = True
            try:
                for msg in messages:
                    await self.handle(msg)
            finally:
                self._busy = False

    async def handle(self, msg: Msg) -> TaskResult | None:
        """Answer one assignment message; terminate it when it is not a TaskAssignment."""
        started = time.perf_counter()
        try:
            assignment = TaskAssignment.model_validate_json(msg.data)
        except ValidationError as error:
            report = rejection_for(msg.data, error, self.agent_id)
            if report is not None:
                payload = report.model_dump_json(by_alias=True, exclude_none=True).encode()
                await self._js.publish(task_error(report.task_id), payload)
            await msg.term()
            self.rejected += 1
            return None
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        result = result_for(assignment, self.agent_id, elapsed_ms)
        payload = result.model_dump_json(by_alias=True, exclude_none=True).encode()
        await self._js.publish(task_result(result.task_id), payload)
        await msg.ack_sync()
        self.answered += 1
        return result


async def _main(url: str) -> None:
    client = await nats.connect(url, name="status-service")
    try:
        async with StatusService(client):
            await asyncio.Event().wait()  # until Ctrl-C
    finally:
        await client.drain()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else "nats://127.0.0.1:4222"))
