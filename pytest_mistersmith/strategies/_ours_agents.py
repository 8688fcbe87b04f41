"""Builders of our agent and task models, and what the system ones share (private).

``_ours`` holds the system models' builders and merges :data:`AGENT_BUILDERS` into
its ``OUR_BUILDERS``; the conventions are those of ``_builders``.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from pytest_mistersmith.strategies import _content as content
from pytest_mistersmith.strategies import _values as v
from pytest_mistersmith.strategies._layout import Ctx, Data, clean
from simulator.protocol import models as m
from simulator.protocol.models.types import UUID_PATTERN

__all__ = ["AGENT_BUILDERS"]

JsonObject = dict[str, Any]


def _values(enum: type[Any]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


def _literals(alias: object) -> tuple[str, ...]:
    return tuple(str(value) for value in typing.get_args(alias))


_AGENT_STATES = _values(m.AgentState)
_COMMAND_TYPES = _values(m.CommandType)
_DECISIONS = _values(m.HookDecision)
_HOOK_TYPES = _values(m.HookType)
_TASK_STATUSES = _values(m.TaskStatus)
_TASK_TYPES = _values(m.TaskType)
_SEVERITIES = _literals(m.Severity)
_HEALTH = _literals(m.HealthStatus)
_WORKFLOW_KINDS = _literals(m.WorkflowKind)
_LOG_LEVELS = _literals(m.AgentLog.model_fields["level"].annotation)
_TASK_EVENTS = _literals(m.TaskEvent.model_fields["event"].annotation)
_UUID_RE = re.compile(UUID_PATTERN.replace("^", r"\A").replace("$", r"\Z"))

_SERVICES = ("swarm", "dispatcher", "monitor", "hook_responder")
_COMPONENTS = ("agent", *_SERVICES, "nats", "jetstream")
_HEARTBEAT_TIMEOUTS = (5, 10, 15, 30, 60)
_HOOK_TIMEOUTS_MS = (1000, 2000, 5000, 10000, 30000)


def _count_of(value: object, default: int) -> int:
    """``value`` if it is a non-negative int (not a bool), else ``default``."""
    return value if type(value) is int and value >= 0 else default


# --- agents.{id}.metrics / logs / events -------------------------------------------------------

#: metric_type -> (unit, whether it is measured per task, how a value is made).
_METRICS: dict[str, tuple[str, bool, Callable[[v.Source], float]]] = {
    "task_duration": ("ms", True, lambda s: float(v.count(s, 50, 600_000))),
    "tokens_used": ("tokens", True, lambda s: float(v.count(s, 120, 200_000))),
    "tool_calls": ("calls", True, lambda s: float(v.count(s, 0, 120))),
    "cpu_percent": ("percent", False, lambda s: v.percent(s)),
    "memory_mb": ("MB", False, lambda s: v.megabytes(s, 16384.0)),
    "queue_depth": ("tasks", False, lambda s: float(v.count(s, 0, 500))),
    "latency_ms": ("ms", False, lambda s: round(s.rng.uniform(0.2, 2500.0), 3)),
    "error_rate": ("ratio", False, v.fraction),
}
_METRIC_TYPES = tuple(_METRICS)


def _agent_metric(c: Ctx) -> Data:
    s = c.src
    kind = c.req("metric_type", lambda: s.rng.choice(_METRIC_TYPES))
    known = _METRICS.get(kind) if isinstance(kind, str) else None
    return clean(
        {
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "metric_type": kind,
            "value": c.req(
                "value",
                lambda: known[2](s) if known else round(s.rng.uniform(0.0, 1000.0), 2),
            ),
            "unit": c.opt("unit", lambda: known[0] if known else "count", when=known is not None),
            "task_id": c.opt("task_id", lambda: v.uuid4(s), when=known is None or known[1]),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _log_message(s: v.Source, level: object, task: object) -> str:
    rng = s.rng
    tool = rng.choice(v.TOOLS)
    about = f"task {task}" if isinstance(task, str) else f"tool {tool}"
    if level == "debug":
        return rng.choice(
            (
                f"Loaded {rng.randint(3, 40)} tools for {about}",
                f"Heartbeat sent (seq {rng.randint(1, 100_000)})",
                f"Cache hit for {v.file_path(s)}",
                f"Polling tasks.{rng.choice(_TASK_TYPES)}.queue.{rng.randint(1, 10)}",
            )
        )
    if level == "warning":
        return rng.choice(
            (
                f"Retrying {about} (attempt {rng.randint(2, 3)}/3)",
                f"{about.capitalize()} took {rng.randint(5, 120)} s, over its budget",
                f"Context window {rng.randint(80, 99)}% full for {about}",
            )
        )
    if level == "error":
        if isinstance(task, str) and rng.random() < 0.5:
            return f"task {task} failed"
        return content.error_message(s)
    if isinstance(task, str):
        return rng.choice((f"Task {task} started", f"Task {task} completed", v.log_line(s)))
    caps = ", ".join(v.capabilities(s, 1, 3))
    return rng.choice((f"Agent ready with capabilities {caps}", v.log_line(s)))


def _agent_log(c: Ctx) -> Data:
    s = c.src
    level = c.req("level", lambda: v.pick_enum(s, _LOG_LEVELS))
    task = c.opt("task_id", lambda: v.uuid4(s))
    return clean(
        {
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "level": level,
            "message": c.req("message", lambda: _log_message(s, level, task)),
            "task_id": task,
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


#: event_type -> the states an agent is in once it published it.
_EVENT_STATES: dict[str, tuple[str, ...]] = {
    "started": ("idle",),
    "stopping": ("stopping",),
    "stopped": ("offline",),
    "crashed": ("error",),
    "paused": ("idle", "busy"),
    "resumed": ("idle", "busy"),
    "configured": ("idle", "busy"),
    "task_started": ("busy",),
    "task_completed": ("idle", "busy"),
}
_EVENT_TYPES = tuple(_EVENT_STATES)


def _event_data(s: v.Source, event_type: object) -> JsonObject | None:
    rng = s.rng
    if event_type == "started":
        return {"capabilities": v.capabilities(s, 1, 4)}
    if event_type == "stopping":
        return {
            "reason": rng.choice(("stop command", "swarm draining")),
            "running": rng.randint(0, 4),
        }
    if event_type == "stopped":
        return {"tasks_done": v.count(s, 0, 500)}
    if event_type == "configured":
        return {"max_tasks": rng.randint(1, 8), "capabilities": v.capabilities(s, 1, 4)}
    if event_type in ("task_started", "task_completed"):
        return {"task_id": v.uuid4(s), "task_type": rng.choice(_TASK_TYPES)}
    if event_type == "crashed":
        return {"error": content.error_message(s)}
    return None


def _agent_event(c: Ctx) -> Data:
    s = c.src
    kind = c.req("event_type", lambda: s.rng.choice(_EVENT_TYPES))
    states = _EVENT_STATES.get(kind, _AGENT_STATES) if isinstance(kind, str) else _AGENT_STATES
    return clean(
        {
            "event_id": c.req("event_id", lambda: v.uuid4(s)),
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "event_type": kind,
            "state": c.req("state", lambda: s.rng.choice(states)),
            "data": c.opt("data", lambda: _event_data(s, kind)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


# --- the reply to an agent command -------------------------------------------------------------


def _reply_data(s: v.Source, kind: object, accepted: object, status: Data) -> JsonObject | None:
    if accepted is True and kind == "execute":
        return {"task_id": v.uuid4(s)}
    if accepted is True and kind == "stop":
        running = _count_of(status.get("current_tasks"), s.rng.randint(0, 4))
        return {"running": running, "queued": v.count(s, 0, 6)}
    if accepted is False and kind == "configure":
        return {"unknown": s.rng.sample(("model", "temperature", "allowed_tools", "timeout"), 1)}
    return None


def _outcome(s: v.Source, kind: object, accepted: object, status: Data, data: object) -> str:
    state = status.get("status", "idle")
    extra = data if isinstance(data, dict) else {}
    if accepted is False:
        if kind == "execute":
            return f"not taking tasks ({state})"
        if kind == "stop":
            return f"already {state}"
        if kind == "configure":
            return "rejected: configure takes max_tasks (int >= 1) and capabilities (list of str)"
        return f"command for {v.agent_id(s, edges=False)} sent to {status.get('agent_id')}"
    if kind == "execute":
        return f"task {extra['task_id']} accepted" if "task_id" in extra else "task accepted"
    if kind == "stop":
        if "running" in extra and "queued" in extra:
            running, queued = extra["running"], extra["queued"]
            return f"stopping: {running} running task(s) will finish, {queued} queued released"
        return "stopping"
    if kind == "pause":
        return "paused: no new tasks until resume"
    if kind == "resume":
        return s.rng.choice(("resumed", "was not paused"))
    if kind == "configure":
        return f"configured: {sorted(s.rng.sample(('capabilities', 'max_tasks'), 1))}"
    return "done"


def _command_reply(c: Ctx) -> Data:
    """The AgentStatus builder's fields, then what the command did (spec-notes 20)."""
    # here, not at the top: _builders imports this module for OUR_BUILDERS
    from pytest_mistersmith.strategies._builders import BUILDERS

    s = c.src
    kind = c.opt("command_type", lambda: v.pick_enum(s, _COMMAND_TYPES))
    accepted = c.opt("accepted", lambda: s.rng.random() < 0.85)
    status_ctx = c
    if kind == "stop" and accepted is True and "status" not in c.given:
        given = {**c.given, "status": "stopping"}  # a stop is answered once draining began
        status_ctx = Ctx(c.src, c.choice, c.layout, given, c.offset)
    status = BUILDERS[m.AgentStatus](status_ctx)
    not_taking = kind == "execute" and status.get("status") in ("stopping", "offline")
    if not_taking and accepted is True and "accepted" not in c.given:
        accepted = False  # a draining or offline agent takes no task
    data = c.opt("data", lambda: _reply_data(s, kind, accepted, status))
    return clean(
        {
            **status,
            "command_id": c.opt("command_id", lambda: v.uuid4(s)),
            "command_type": kind,
            "accepted": accepted,
            "outcome": c.opt("outcome", lambda: _outcome(s, kind, accepted, status, data)),
            "data": data,
        }
    )


# --- tasks -------------------------------------------------------------------------------------

_CANCEL_REASONS: dict[str, tuple[str, ...]] = {
    "dispatcher": (
        "cancelled by the dispatcher",
        "deadline exceeded",
        "workflow rolled back",
        "no capable agent left",
    ),
    "operator": ("user requested cancellation", "superseded by a newer task", "wrong input"),
}


def _task_cancel(c: Ctx) -> Data:
    s = c.src
    who = c.opt(
        "requested_by",
        lambda: "dispatcher" if s.rng.random() < 0.6 else v.user_name(s),
    )
    pool = _CANCEL_REASONS["dispatcher" if who in (None, "dispatcher") else "operator"]
    return clean(
        {
            "task_id": c.req("task_id", lambda: v.uuid4(s)),
            "reason": c.opt("reason", lambda: s.rng.choice(pool)),
            "requested_by": who,
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _task_event(c: Ctx) -> Data:
    s = c.src
    event = c.req("event", lambda: v.pick_enum(s, _TASK_EVENTS))
    return clean(
        {
            "event": event,
            "task_id": c.req("task_id", lambda: v.uuid4(s)),
            "task_type": c.req("task_type", lambda: v.pick_enum(s, _TASK_TYPES)),
            "agent_id": c.opt("agent_id", lambda: v.agent_id(s), when=event != "created"),
            "status": c.opt(
                "status", lambda: v.pick_enum(s, _TASK_STATUSES), when=event == "completed"
            ),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


AGENT_BUILDERS: dict[type[BaseModel], Callable[..., Data]] = {
    m.AgentMetric: _agent_metric,
    m.AgentLog: _agent_log,
    m.AgentEvent: _agent_event,
    m.CommandReply: _command_reply,
    m.TaskCancel: _task_cancel,
    m.TaskEvent: _task_event,
}
