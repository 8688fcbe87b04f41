"""One task's run inside the hook flow: pre_task, progress, file change, post_task/on_error.

Final words (ERRATA 15: progress lines are task outputs, the final word is a task result):
``completed`` and ``cancelled`` go on ``tasks.{task_id}.result``, ``failed`` and ``timeout`` on
``tasks.{task_id}.error``. A task blocked by its pre_task hook ends ``cancelled`` (error code
``hook_blocked``, the hook's reason as message) before any progress line. Cancels
(``tasks.{task_id}.cancel``) and deadlines (``deadline`` of the assignment; status ``timeout``)
are checked while the task works, between progress lines.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Protocol

from pydantic import JsonValue

from simulator.agents._runtime import Runtime, Work
from simulator.agents.behaviour import TaskPlan, plan_task, rng_for, seeded_uuid
from simulator.bus import now
from simulator.protocol import subjects
from simulator.protocol.models import (
    AgentMetric,
    ErrorDetails,
    ExecutionMetrics,
    HookEvent,
    HookResponse,
    HookType,
    OutputStatus,
    SessionInfo,
    TaskInfo,
    TaskInfoType,
    TaskOutput,
    TaskResult,
    TaskStatus,
    make,
)
from simulator.swarm.scenario import AgentGroup

__all__ = ["Outcome", "Running", "TaskHost", "execute", "finish", "hook_event", "output"]


class TaskHost(Protocol):
    """What a task needs of the agent that runs it (the agent passes itself)."""

    agent_id: str
    group: AgentGroup
    runtime: Runtime
    session_info: SessionInfo

    async def log(self, level: str, message: str, task_id: str | None = None) -> None:
        """Publish a log line of the agent."""


@dataclass(frozen=True)
class Outcome:
    """How a task ended, and why its agent must stop (a hook said ``continue: false``)."""

    status: TaskStatus
    stop_reason: str | None = None


@dataclass
class Running:
    """A task in flight: cancel it by setting :attr:`cancelled` (with a reason)."""

    work: Work
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    reason: str = "cancelled"
    #: Set once the final word is out: a crash must not nak a task already reported.
    reported: bool = False


def hook_event(
    agent: TaskHost, hook: HookType, task_id: str | None, **fields: JsonValue | str | None
) -> tuple[HookEvent, str]:
    """A hook event of ``agent`` and its seeded event id (correlation header value)."""
    event = HookEvent.model_validate(
        {
            "hook_type": hook,
            "agent_id": agent.agent_id,
            "session_info": agent.session_info,
            "timestamp": now(),
            **({"context_id": task_id} if task_id else {}),
            **{k: v for k, v in fields.items() if v is not None},
        }
    )
    rng = rng_for(agent.runtime.seed, "hook-event", agent.agent_id, hook.value, task_id)
    return event, seeded_uuid(rng)


async def _work(plan: TaskPlan, running: Running, agent: TaskHost, deadline: float | None) -> str:
    """Publish the progress lines over the task's duration: ``done``, ``cancelled``, ``timeout``."""
    loop = asyncio.get_running_loop()
    a = running.work.assignment
    step = plan.duration / max(1, len(plan.progress))
    for line in plan.progress or ("working",):
        wait = step if deadline is None else min(step, deadline - loop.time())
        if wait < 0:
            return "timeout"
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(running.cancelled.wait(), wait)
        if running.cancelled.is_set():
            return "cancelled"
        if deadline is not None and loop.time() >= deadline:
            return "timeout"
        await _progress(agent, a.task_id, line, OutputStatus.RUNNING)
    return "done"


async def execute(agent: TaskHost, running: Running) -> Outcome:
    """Run one task through the hook flow; publish its final word; say how it ended."""
    work = running.work
    a = work.assignment
    rt = agent.runtime
    plan = plan_task(rt.seed, agent.group, a.task_id, a.task_type.value)
    loop = asyncio.get_running_loop()
    deadline = None
    if a.deadline is not None:
        deadline = loop.time() + (a.deadline - now()).total_seconds()
    started = loop.time()
    rt.metrics.task_started()

    event, event_id = hook_event(
        agent, HookType.PRE_TASK, a.task_id, tool_name=plan.tool_name, tool_input=plan.tool_input
    )
    pre = await rt.gateway.ask(event, event_id)
    if pre.stops_agent or pre.blocks_task:
        reason = (pre.stop_reason or pre.reason or "continue: false") if pre.stops_agent else None
        blocked = ErrorDetails(
            error_code="agent_stopped" if pre.stops_agent else "hook_blocked",
            error_message=reason or pre.reason or "blocked by the pre_task hook",
        )
        await finish(agent, running, TaskStatus.CANCELLED, started, details=blocked)
        stop = f"pre_task hook: {blocked.error_message}" if pre.stops_agent else None
        return Outcome(TaskStatus.CANCELLED, stop)
    tool_input: dict[str, JsonValue] = {**plan.tool_input, **(pre.modifications or {})}

    outcome = await _work(plan, running, agent, deadline)
    if outcome == "cancelled":
        why = ErrorDetails(error_code="cancelled", error_message=running.reason)
        await finish(agent, running, TaskStatus.CANCELLED, started, details=why)
        return Outcome(TaskStatus.CANCELLED)
    if plan.file_path is not None:
        changed, _ = hook_event(
            agent,
            HookType.ON_FILE_CHANGE,
            a.task_id,
            tool_name=plan.tool_name,
            tool_input={"file_path": plan.file_path},
        )
        await rt.gateway.file_changed(changed, agent.group.name)

    answer: HookResponse
    details: ErrorDetails | None
    result_data: dict[str, JsonValue] = {**plan.result_data, "tool_input": tool_input}
    if outcome == "done" and not plan.fails:
        await _progress(agent, a.task_id, "done", OutputStatus.COMPLETED)
        event, event_id = hook_event(
            agent,
            HookType.POST_TASK,
            a.task_id,
            tool_name=plan.tool_name,
            tool_input=tool_input,
            tool_response=result_data,
        )
        answer = await rt.gateway.ask(event, event_id)
        status, details = TaskStatus.COMPLETED, None
    else:
        status = TaskStatus.TIMEOUT if outcome == "timeout" else TaskStatus.FAILED
        message = "deadline passed" if outcome == "timeout" else f"{plan.tool_name} failed"
        details = ErrorDetails(
            error_code=status.value, error_message=message, retry_count=work.retry
        )
        await _progress(agent, a.task_id, message, OutputStatus.FAILED)
        event, event_id = hook_event(
            agent,
            HookType.ON_ERROR,
            a.task_id,
            tool_name=plan.tool_name,
            tool_input=tool_input,
            tool_response={"error": message},
        )
        answer = await rt.gateway.ask(event, event_id)
        result_data = {}
    await finish(agent, running, status, started, details=details, data=result_data, plan=plan)
    if answer.stops_agent:
        return Outcome(status, f"{event.hook_type.value} hook: {answer.stop_reason or 'stop'}")
    return Outcome(status)


async def finish(
    agent: TaskHost,
    running: Running,
    status: TaskStatus,
    started: float,
    *,
    details: ErrorDetails | None = None,
    data: dict[str, JsonValue] | None = None,
    plan: TaskPlan | None = None,
) -> None:
    """Publish the task's final word, then ack its JetStream message (if it came from one)."""
    work = running.work
    a = work.assignment
    elapsed_ms = int((asyncio.get_running_loop().time() - started) * 1000)
    result = make(
        TaskResult,
        task_id=a.task_id,
        agent_id=agent.agent_id,
        status=status,
        timestamp=now(),
        execution_time_ms=max(0, elapsed_ms),
        result_data=data or None,
        error_details=details,
        metrics=(
            make(
                ExecutionMetrics,
                cpu_usage_percent=plan.cpu_percent,
                memory_peak_mb=plan.memory_mb,
                io_operations=plan.io_operations,
            )
            if plan is not None
            else None
        ),
    )
    bus = agent.runtime.bus
    # Set before the publish: a crash cancelling this task from here on must not nak it (the
    # publish queues its bytes before its first await, so the result goes out regardless).
    running.reported = True
    if status in (TaskStatus.COMPLETED, TaskStatus.CANCELLED):
        await bus.publish("task_result", subjects.task_result(a.task_id), result)
    else:
        await bus.publish("task_error", subjects.task_error(a.task_id), result)
    if work.msg is not None:
        await work.msg.ack()
    latency = (now() - a.timestamp).total_seconds() * 1000
    agent.runtime.metrics.task_finished(status.value, max(0.0, latency))
    metric = AgentMetric(
        agent_id=agent.agent_id,
        metric_type="task_duration",
        value=float(elapsed_ms),
        unit="ms",
        task_id=a.task_id,
        timestamp=now(),
    )
    subject = subjects.agent_metrics(agent.agent_id, "task_duration")
    await bus.publish("agent_metrics", subject, metric)
    if status is TaskStatus.FAILED:
        await agent.log("error", f"task {a.task_id} failed", a.task_id)


async def _progress(agent: TaskHost, task_id: str, line: str, status: OutputStatus) -> None:
    """Publish one task output line on ``tasks.{task_id}.progress``."""
    payload = output(agent.agent_id, task_id, line, status)
    await agent.runtime.bus.publish("task_progress", subjects.task_progress(task_id), payload)


def output(agent_id: str, task_id: str, line: str, status: OutputStatus) -> TaskOutput:
    """A 2.1.1 task output line naming the task by its id (``task_info.type: description``)."""
    return TaskOutput(
        task_info=TaskInfo(type=TaskInfoType.DESCRIPTION, value=task_id),
        output_line=line,
        task_status=status,
        timestamp=now(),
        agent_id=agent_id,
    )
