"""One builder per model: coherent, realistic field values from one draw (private).

A builder returns the fields of one instance (None for an absent optional field), taking each
top-level override as given. Related fields are coherent: ``session_info.agent_id`` is the
event's agent, ``deadline`` follows ``timestamp``, ``current_tasks <= max_tasks``, tool input
and response match the tool, a task's callback subject is its own result subject. The builders
of our own models (``_ours``) are merged in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from pytest_mistersmith.strategies import _content as content
from pytest_mistersmith.strategies import _values as v
from pytest_mistersmith.strategies._layout import Ctx, Data, clean
from pytest_mistersmith.strategies._ours import OUR_BUILDERS
from simulator.errors import SubjectError
from simulator.protocol import models as m
from simulator.protocol import subjects

__all__ = ["BUILDERS"]


def _values(enum: type[Any]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


_HOOK_TYPES = _values(m.HookType)
_DECISIONS = _values(m.HookDecision)
_INFO_TYPES = _values(m.TaskInfoType)
_OUTPUT_STATUSES = _values(m.OutputStatus)
_COMMAND_TYPES = _values(m.CommandType)
_AGENT_STATES = _values(m.AgentState)
_TASK_TYPES = _values(m.TaskType)
_TASK_STATUSES = _values(m.TaskStatus)


def _session_info(c: Ctx, agent: object = None, at: object = None) -> Data:
    s = c.src
    return {
        "agent_id": c.req("agent_id", lambda: agent if isinstance(agent, str) else v.agent_id(s)),
        "session_id": c.req("session_id", lambda: v.uuid4(s)),
        "model": c.req("model", lambda: s.rng.choice(v.MODEL_NAMES)),
        "start_time": c.req("start_time", lambda: v.shifted(s, at, -8 * 3600, 0)),
    }


def _hook_event(c: Ctx) -> Data:
    s = c.src
    hook_type = str(c.req("hook_type", lambda: v.pick_enum(s, _HOOK_TYPES)))
    agent = c.req("agent_id", lambda: v.agent_id(s))
    ts = c.req("timestamp", lambda: v.timestamp(s))
    tool = c.opt("tool_name", lambda: s.rng.choice(v.TOOLS), when=hook_type != "startup")
    return clean(
        {
            "hook_type": hook_type,
            "agent_id": agent,
            "tool_name": tool,
            "tool_input": c.opt(
                "tool_input", lambda: content.tool_input(s, tool), when=tool is not None
            ),
            "tool_response": c.opt(
                "tool_response",
                lambda: content.tool_response(s, tool),
                when=tool is not None and hook_type in ("post_task", "on_error"),
            ),
            "session_info": c.req(
                "session_info", lambda: c.child("session_info", _session_info, agent=agent, at=ts)
            ),
            "timestamp": ts,
            "context_id": c.opt("context_id", lambda: f"ctx-{s.rng.getrandbits(32):08x}"),
        }
    )


def _hook_response(c: Ctx) -> Data:
    s = c.src
    decision = c.req("decision", lambda: v.pick_enum(s, _DECISIONS))
    go_on = c.req("continue_", lambda: not c.on("continue_"))
    return clean(
        {
            "decision": decision,
            "reason": c.opt("reason", lambda: content.hook_reason(s, decision)),
            "continue_": go_on,
            "stop_reason": c.opt("stop_reason", lambda: content.stop_reason(s), when=not go_on),
            "modifications": c.opt(
                "modifications", lambda: content.modifications(s), when=decision != "block"
            ),
        }
    )


def _task_info(c: Ctx, agent: object = None) -> Data:
    s = c.src
    kind = str(c.req("type", lambda: v.pick_enum(s, _INFO_TYPES)))

    def value() -> object:
        if kind == "agent_id":
            return agent if isinstance(agent, str) else v.agent_id(s)
        return s.rng.randint(1, 9999) if s.rng.random() < 0.2 else s.fake.sentence(nb_words=6)

    return {"type": kind, "value": c.req("value", value)}


def _task_output(c: Ctx) -> Data:
    s = c.src
    agent = c.req("agent_id", lambda: v.agent_id(s))
    return {
        "task_info": c.req("task_info", lambda: c.child("task_info", _task_info, agent=agent)),
        "output_line": c.req("output_line", lambda: v.log_line(s)),
        "task_status": c.req("task_status", lambda: v.pick_enum(s, _OUTPUT_STATUSES)),
        "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        "agent_id": agent,
    }


def _command_metadata(c: Ctx) -> Data:
    s = c.src
    return clean(
        {
            "source": c.opt("source", lambda: v.host(s)),
            "trace_id": c.opt("trace_id", lambda: v.uuid4(s)),
            "user_id": c.opt("user_id", lambda: v.user_name(s)),
            "session_id": c.opt("session_id", lambda: v.uuid4(s)),
        }
    )


def _agent_command(c: Ctx) -> Data:
    s = c.src
    kind = c.req("command_type", lambda: v.pick_enum(s, _COMMAND_TYPES))
    timeouts = (1000, 5000, 30000, 60000, 300000)
    return clean(
        {
            "command_id": c.req("command_id", lambda: v.uuid4(s)),
            "command_type": kind,
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
            "payload": c.opt("payload", lambda: content.command_payload(s, kind)),
            "priority": c.opt("priority", lambda: v.count(s, 1, 10)),
            "timeout_ms": c.opt("timeout_ms", lambda: s.rng.choice(timeouts)),
            "reply_to": c.opt("reply_to", lambda: v.inbox(s)),
            "correlation_id": c.opt("correlation_id", lambda: v.uuid4(s)),
            "metadata": c.opt("metadata", lambda: c.child("metadata", _command_metadata)),
        }
    )


def _resource_usage(c: Ctx) -> Data:
    s = c.src
    return clean(
        {
            "cpu_percent": c.opt("cpu_percent", lambda: v.percent(s)),
            "memory_mb": c.opt("memory_mb", lambda: v.megabytes(s)),
            "disk_mb": c.opt("disk_mb", lambda: v.megabytes(s, 512_000.0)),
        }
    )


def _agent_status(c: Ctx) -> Data:
    s = c.src
    ts = c.req("timestamp", lambda: v.timestamp(s))
    most = c.opt("max_tasks", lambda: v.count(s, 1, 16, huge=1024))
    limit = most if type(most) is int and most >= 0 else 8
    current = c.opt("current_tasks", lambda: v.count(s, 0, limit))

    def capacity() -> float:
        if type(current) is int and type(most) is int and 0 <= current <= most > 0:
            return round(1 - current / most, 2)
        return v.fraction(s)

    return clean(
        {
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "status": c.req("status", lambda: v.pick_enum(s, _AGENT_STATES)),
            "timestamp": ts,
            "capacity": c.opt("capacity", capacity),
            "current_tasks": current,
            "max_tasks": most,
            "uptime_seconds": c.opt("uptime_seconds", lambda: v.count(s, 0, 30 * 86400)),
            "last_heartbeat": c.opt("last_heartbeat", lambda: v.shifted(s, ts, -30, 0)),
            "capabilities": c.opt("capabilities", lambda: v.capabilities(s)),
            "resource_usage": c.opt(
                "resource_usage", lambda: c.child("resource_usage", _resource_usage)
            ),
        }
    )


def _resource_requirements(c: Ctx) -> Data:
    s = c.src
    memory = (256, 512, 1024, 2048, 4096, 8192, 16384)
    return clean(
        {
            "cpu_cores": c.opt("cpu_cores", lambda: v.count(s, 1, 16, huge=128)),
            "memory_mb": c.opt("memory_mb", lambda: s.rng.choice(memory)),
            "disk_mb": c.opt("disk_mb", lambda: v.count(s, 100, 100_000)),
        }
    )


def _task_requirements(c: Ctx) -> Data:
    s = c.src
    return clean(
        {
            "capabilities": c.opt("capabilities", lambda: v.capabilities(s, 1, 4)),
            "resources": c.opt("resources", lambda: c.child("resources", _resource_requirements)),
        }
    )


def _callback(s: v.Source, task_id: object, agent: object) -> str:
    try:
        if s.rng.random() < 0.8:
            return subjects.task_result(str(task_id))
        return subjects.agent_events(str(agent), "task_completed")
    except SubjectError:  # overridden with values that make no subject: use fresh ones
        return subjects.task_result(v.uuid4(s))


def _task_assignment(c: Ctx) -> Data:
    s = c.src
    task_id = c.req("task_id", lambda: v.uuid4(s))
    kind = c.req("task_type", lambda: v.pick_enum(s, _TASK_TYPES))
    agent = c.req("assigned_agent", lambda: v.agent_id(s))
    ts = c.req("timestamp", lambda: v.timestamp(s))
    return clean(
        {
            "task_id": task_id,
            "task_type": kind,
            "assigned_agent": agent,
            "timestamp": ts,
            "priority": c.opt("priority", lambda: v.count(s, 1, 10)),
            "deadline": c.opt("deadline", lambda: v.shifted(s, ts, 60, 7 * 86400)),
            "requirements": c.opt(
                "requirements", lambda: c.child("requirements", _task_requirements)
            ),
            "task_data": c.opt("task_data", lambda: content.task_data(s, kind)),
            "dependencies": c.opt(
                "dependencies", lambda: [v.uuid4(s) for _ in range(s.rng.randint(0, 3))]
            ),
            "callback_subject": c.opt("callback_subject", lambda: _callback(s, task_id, agent)),
        }
    )


def _error_details(c: Ctx) -> Data:
    s = c.src
    code = c.opt("error_code", lambda: content.error_code(s))
    return clean(
        {
            "error_code": code,
            "error_message": c.opt("error_message", lambda: content.error_message(s, code)),
            "stack_trace": c.opt("stack_trace", lambda: content.stack_trace(s)),
            "retry_count": c.opt("retry_count", lambda: v.count(s, 0, 5)),
        }
    )


def _execution_metrics(c: Ctx) -> Data:
    s = c.src
    return clean(
        {
            "cpu_usage_percent": c.opt("cpu_usage_percent", lambda: v.percent(s, 400.0)),
            "memory_peak_mb": c.opt("memory_peak_mb", lambda: v.megabytes(s, 32768.0)),
            "io_operations": c.opt("io_operations", lambda: v.count(s, 0, 100_000, huge=2**31 - 1)),
        }
    )


def _task_result(c: Ctx) -> Data:
    s = c.src
    status = c.req("status", lambda: v.pick_enum(s, _TASK_STATUSES))
    return clean(
        {
            "task_id": c.req("task_id", lambda: v.uuid4(s)),
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "status": status,
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
            "execution_time_ms": c.opt(
                "execution_time_ms", lambda: v.count(s, 0, 3_600_000, huge=2**31 - 1)
            ),
            "result_data": c.opt("result_data", lambda: content.result_data(s, status)),
            "error_details": c.opt(
                "error_details", lambda: c.child("error_details", _error_details)
            ),
            "metrics": c.opt("metrics", lambda: c.child("metrics", _execution_metrics)),
        }
    )


def _capability_query(c: Ctx) -> Data:
    s = c.src
    return clean(
        {
            "query_id": c.req("query_id", lambda: v.uuid4(s)),
            "required_capabilities": c.req(
                "required_capabilities", lambda: v.capabilities(s, 0, 3)
            ),
            "requester": c.opt("requester", lambda: v.agent_id(s)),
            "reply_to": c.opt("reply_to", lambda: v.inbox(s)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _availability(c: Ctx) -> Data:
    s = c.src
    most = c.opt("max_tasks", lambda: v.count(s, 1, 16))
    limit = most if type(most) is int and most >= 0 else 8
    return clean(
        {
            "status": c.req("status", lambda: v.pick_enum(s, _AGENT_STATES)),
            "capacity": c.opt("capacity", lambda: v.fraction(s)),
            "current_tasks": c.opt("current_tasks", lambda: v.count(s, 0, limit)),
            "max_tasks": most,
        }
    )


def _capability_response(c: Ctx) -> Data:
    s = c.src
    return {
        "query_id": c.req("query_id", lambda: v.uuid4(s)),
        "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
        "capabilities": c.req("capabilities", lambda: v.capabilities(s, 1, 5)),
        "availability": c.req("availability", lambda: c.child("availability", _availability)),
        "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
    }


BUILDERS: dict[type[BaseModel], Callable[..., Data]] = {
    m.HookEvent: _hook_event,
    m.HookResponse: _hook_response,
    m.TaskOutput: _task_output,
    m.AgentCommand: _agent_command,
    m.AgentStatus: _agent_status,
    m.TaskAssignment: _task_assignment,
    m.TaskResult: _task_result,
    m.CapabilityQuery: _capability_query,
    m.CapabilityResponse: _capability_response,
    m.SessionInfo: _session_info,
    m.TaskInfo: _task_info,
    m.CommandMetadata: _command_metadata,
    m.ResourceUsage: _resource_usage,
    m.ResourceRequirements: _resource_requirements,
    m.TaskRequirements: _task_requirements,
    m.ErrorDetails: _error_details,
    m.ExecutionMetrics: _execution_metrics,
    m.Availability: _availability,
    **OUR_BUILDERS,
}
