"""One builder per model of our own (``_model_ours.OURS``): coherent, realistic fields (private).

The agent and task models' builders are in ``_ours_agents``; the system ones here.

The same conventions as ``_builders`` (which merges :data:`OUR_BUILDERS` into its
``BUILDERS``): a builder returns the fields of one instance (None for an absent optional field)
and takes each top-level override as given. Related fields agree: an agent event's ``state`` is
the one its ``event_type`` leaves the agent in, a log line or an alert names the task or the
agent of the message, a task event has a ``status`` only once ``completed``, a hook that timed
out has no ``decision``, ``agents_busy <= agents``, and a workflow's ``task_id`` and
``dependencies`` are drawn from its ``task_ids``. Values that become subject tokens
(``metric_type``, ``level``, ``event_type``, ``component``, ``action``, ``operation``) are
valid tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from pytest_mistersmith.strategies import _values as v
from pytest_mistersmith.strategies._layout import Ctx, Data, clean
from pytest_mistersmith.strategies._ours_agents import (
    _AGENT_STATES,
    _COMMAND_TYPES,
    _COMPONENTS,
    _DECISIONS,
    _HEALTH,
    _HEARTBEAT_TIMEOUTS,
    _HOOK_TIMEOUTS_MS,
    _HOOK_TYPES,
    _LOG_LEVELS,
    _SERVICES,
    _SEVERITIES,
    _UUID_RE,
    _WORKFLOW_KINDS,
    AGENT_BUILDERS,
    _count_of,
)
from simulator.protocol import models as m

__all__ = ["OUR_BUILDERS"]

JsonObject = dict[str, Any]


# --- system ------------------------------------------------------------------------------------


def _alert_message(s: v.Source, severity: object, component: object, agent: object) -> str:
    rng = s.rng
    who = agent if isinstance(agent, str) else v.agent_id(s, edges=False)
    quiet = rng.choice(_HEARTBEAT_TIMEOUTS)
    by_component = {
        "agent": {
            "info": f"agent {who} is beating again",
            "warning": f"no heartbeat from {who} for {quiet} s",
            "critical": f"agent {who} crashed: no heartbeat for {quiet} s after status error",
        },
        "hook_responder": {
            "info": f"hook responder answering {who} again",
            "warning": f"hook {rng.choice(_HOOK_TYPES)} of {who} timed out after "
            f"{rng.choice(_HOOK_TIMEOUTS_MS)} ms",
            "critical": f"every hook of {who} timed out: default decision applied",
        },
        "dispatcher": {
            "info": "task queue drained",
            "warning": f"{rng.randint(2, 400)} tasks waiting for a capable agent",
            "critical": f"task {v.uuid4(s)} undeliverable after {rng.randint(3, 10)} deliveries",
        },
        "jetstream": {
            "info": "stream task_lifecycle back under its limits",
            "warning": f"stream task_lifecycle at {rng.randint(80, 99)}% of max_bytes",
            "critical": "stream agent_events unavailable: no quorum",
        },
    }
    table = by_component.get(str(component))
    if table is None:
        n = rng.randint(2, 64)
        table = {
            "info": f"swarm running with {n} agents",
            "warning": f"{rng.randint(1, n - 1)} of {n} agents silent",
            "critical": f"all {n} agents silent",
        }
    return table.get(str(severity), table["warning"])


def _system_alert(c: Ctx) -> Data:
    s = c.src
    severity = c.req("severity", lambda: v.pick_enum(s, _SEVERITIES))
    component = c.req("component", lambda: s.rng.choice(_COMPONENTS))
    agent = c.opt("agent_id", lambda: v.agent_id(s), when=component in ("agent", "hook_responder"))
    return clean(
        {
            "alert_id": c.req("alert_id", lambda: v.uuid4(s)),
            "severity": severity,
            "component": component,
            "message": c.req("message", lambda: _alert_message(s, severity, component, agent)),
            "agent_id": agent,
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _health_detail(s: v.Source, status: object, component: object, agent: object) -> str:
    rng = s.rng
    if component == "agent":
        who = agent if isinstance(agent, str) else "agent"
        if status == "healthy":
            return "heartbeats resumed"
        if status == "degraded":
            return f"heartbeat of {who} late by {rng.randint(2, 20)} s"
        return f"no heartbeat from {who} for {rng.choice(_HEARTBEAT_TIMEOUTS)} s"
    if component == "swarm":
        total = rng.randint(1, 64)
        beating = {"healthy": total, "unhealthy": 0}.get(str(status), rng.randint(0, total - 1))
        return f"{beating} of {total} agents beating"
    if status == "healthy":
        return "all checks passed"
    if status == "degraded":
        budget = rng.choice((100, 250, 500))
        return f"p99 latency {rng.randint(budget + 1, 5 * budget)} ms above {budget} ms"
    return rng.choice(("connection refused: nats://localhost:4222", "no quorum for the stream"))


def _health_report(c: Ctx) -> Data:
    s = c.src
    component = c.req("component", lambda: s.rng.choice(_COMPONENTS))
    status = c.req("status", lambda: v.pick_enum(s, _HEALTH))
    agent = c.opt("agent_id", lambda: v.agent_id(s), when=component == "agent")
    return clean(
        {
            "component": component,
            "status": status,
            "agent_id": agent,
            "detail": c.opt("detail", lambda: _health_detail(s, status, component, agent)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _audit_record(c: Ctx) -> Data:
    s = c.src
    return clean(
        {
            "audit_id": c.req("audit_id", lambda: v.uuid4(s)),
            "action": c.req("action", lambda: v.pick_enum(s, _COMMAND_TYPES)),
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "command_id": c.opt("command_id", lambda: v.uuid4(s)),
            "source": c.opt("source", lambda: v.host(s)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


#: component -> the control operations it takes.
_OPERATIONS: dict[str, tuple[str, ...]] = {
    "swarm": ("start", "stop", "drain", "scale"),
    "dispatcher": ("pause", "resume", "drain"),
    "monitor": ("start", "stop"),
    "hook_responder": ("start", "stop"),
}


def _control_data(s: v.Source, operation: object, agents: object) -> JsonObject | None:
    rng = s.rng
    if operation == "start":
        return {
            "scenario": rng.choice(("smoke", "steady", "burst", "soak")),
            "seed": v.count(s, 0, 2**31 - 1),
        }
    if operation == "scale":
        return {"target_agents": max(1, _count_of(agents, 8) + rng.randint(-4, 16))}
    if operation in ("stop", "drain"):
        return {
            "timeout_s": rng.choice((10, 30, 60)),
            "reason": rng.choice(("duration reached", "operator request", "scenario done")),
        }
    return None


def _control_message(c: Ctx) -> Data:
    s = c.src
    component = c.req("component", lambda: s.rng.choice(("swarm", "swarm", *_SERVICES)))
    ops = _OPERATIONS.get(str(component), _OPERATIONS["swarm"])
    operation = c.req("operation", lambda: s.rng.choice(ops))
    agents = c.opt("agents", lambda: v.count(s, 0, 64, huge=10_000), when=component == "swarm")
    return clean(
        {
            "control_id": c.req("control_id", lambda: v.uuid4(s)),
            "operation": operation,
            "component": component,
            "run_id": c.opt("run_id", lambda: f"{s.rng.getrandbits(48):012x}"),
            "agents": agents,
            "data": c.opt("data", lambda: _control_data(s, operation, agents)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _settings(s: v.Source, component: object) -> JsonObject:
    rng = s.rng
    if component == "swarm":
        return {
            "agents": rng.randint(1, 64),
            "duration_s": rng.choice((30, 60, 300, 3600)),
            "seed": v.count(s, 0, 2**31 - 1),
            "tasks": {
                "rate": round(rng.uniform(0.1, 50.0), 1),
                "workflows_per_minute": rng.randint(0, 6),
            },
        }
    if component == "dispatcher":
        return {"task_rate": round(rng.uniform(0.1, 50.0), 1), "max_deliveries": rng.randint(1, 10)}
    if component == "monitor":
        return {"heartbeat_timeout": rng.choice(_HEARTBEAT_TIMEOUTS)}
    if component == "hook_responder":
        return {
            "default_decision": rng.choice(_DECISIONS),
            "timeout_ms": rng.choice(_HOOK_TIMEOUTS_MS),
            "dialect": rng.choice(("12.1", "2.1")),
        }
    return {"log_level": rng.choice(_LOG_LEVELS)}


def _config_change(c: Ctx) -> Data:
    s = c.src
    component = c.req("component", lambda: s.rng.choice(_SERVICES))
    return {
        "config_id": c.req("config_id", lambda: v.uuid4(s)),
        "component": component,
        "action": c.req("action", lambda: s.rng.choice(("applied", "updated", "reloaded"))),
        "settings": c.req("settings", lambda: _settings(s, component)),
        "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
    }


def _system_metrics(c: Ctx) -> Data:
    s = c.src
    agents = c.req("agents", lambda: v.count(s, 0, 64, huge=10_000))
    completed = c.req("tasks_completed", lambda: v.count(s, 0, 5000))
    failed = c.req("tasks_failed", lambda: v.count(s, 0, 200))
    done = _count_of(completed, 0) + _count_of(failed, 0)
    return {
        "component": c.req("component", lambda: s.rng.choice(("swarm", "swarm", "monitor"))),
        "agents": agents,
        "agents_busy": c.req("agents_busy", lambda: v.count(s, 0, _count_of(agents, 8))),
        "messages_published": c.req(
            "messages_published", lambda: done * s.rng.randint(3, 12) + v.count(s, 0, 1000)
        ),
        "tasks_completed": completed,
        "tasks_failed": failed,
        "uptime_seconds": c.req(
            "uptime_seconds", lambda: round(s.rng.uniform(0.0, 7 * 86400.0), 3)
        ),
        "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
    }


_SYSTEM_EVENTS = (
    "agent_missed",
    "agent_recovered",
    "agent_joined",
    "agent_left",
    "swarm_started",
    "swarm_stopped",
)


def _system_event(c: Ctx) -> Data:
    s = c.src
    kind = c.req("event_type", lambda: s.rng.choice(_SYSTEM_EVENTS))
    about_agent = isinstance(kind, str) and kind.startswith("agent_")

    def data() -> JsonObject:
        if kind == "agent_missed":
            return {
                "silent_for_s": s.rng.choice(_HEARTBEAT_TIMEOUTS),
                "last_state": s.rng.choice(_AGENT_STATES),
            }
        if about_agent:
            return {"capabilities": v.capabilities(s, 1, 4)}
        return {"agents": s.rng.randint(1, 64), "run_id": f"{s.rng.getrandbits(48):012x}"}

    return clean(
        {
            "event_id": c.req("event_id", lambda: v.uuid4(s)),
            "event_type": kind,
            "source": c.req("source", lambda: "agent" if about_agent else "swarm"),
            "agent_id": c.opt("agent_id", lambda: v.agent_id(s), when=about_agent),
            "data": c.opt("data", data),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


def _hook_triggered(c: Ctx) -> Data:
    s = c.src
    timed_out = c.opt("timed_out", lambda: s.rng.random() < 0.15)

    def round_trip() -> float:
        if timed_out is True:
            return float(s.rng.choice(_HOOK_TIMEOUTS_MS)) + round(s.rng.uniform(0.0, 5.0), 3)
        return 0.0 if s.rng.random() < 0.03 else round(s.rng.uniform(0.2, 400.0), 3)

    return clean(
        {
            "hook_type": c.req("hook_type", lambda: v.pick_enum(s, _HOOK_TYPES)),
            "agent_id": c.req("agent_id", lambda: v.agent_id(s)),
            "decision": c.opt(
                "decision", lambda: v.pick_enum(s, _DECISIONS), when=timed_out is not True
            ),
            "timed_out": timed_out,
            "round_trip_ms": c.opt("round_trip_ms", round_trip),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


# --- cli.context.{group_id}.{context_type} (Claude Code events without a hook type) -----------

_CONTEXT_TYPES = tuple(t.value for t in m.ClaudeContextType)
_PERMISSION_MODES = ("default", "plan", "acceptEdits", "dontAsk", "bypassPermissions")


def _context_data(s: v.Source, context_type: object) -> JsonObject:
    """The event's own fields, as Claude Code's hooks reference documents them."""
    rng = s.rng
    by_type: dict[str, Callable[[], JsonObject]] = {
        "user_prompt_submit": lambda: {"prompt": s.fake.sentence()},
        "notification": lambda: {
            "message": "Claude needs your permission to use Bash",
            "notification_type": rng.choice(("permission_prompt", "idle_prompt")),
        },
        "stop": lambda: {"stop_hook_active": rng.random() < 0.2},
        "subagent_stop": lambda: {"stop_hook_active": False, "agent_type": "Explore"},
        "pre_compact": lambda: {
            "trigger": rng.choice(("manual", "auto")),
            "custom_instructions": "",
        },
        "session_end": lambda: {
            "reason": rng.choice(("clear", "logout", "prompt_input_exit", "other"))
        },
        "permission_request": lambda: {
            "tool_name": "Bash",
            "tool_input": {"command": f"pytest {v.file_path(s, 'py')}"},
        },
    }
    make = by_type.get(str(context_type))
    return make() if make is not None else {}


def _claude_context(c: Ctx) -> Data:
    s = c.src
    context_type = c.req("context_type", lambda: v.pick_enum(s, _CONTEXT_TYPES))
    session = c.req("session_id", lambda: v.uuid4(s))
    token = session if isinstance(session, str) and _UUID_RE.match(session) else None
    return clean(
        {
            "context_id": c.req("context_id", lambda: v.uuid4(s)),
            "group_id": c.req("group_id", lambda: token or v.agent_id(s)),
            "context_type": context_type,
            "session_id": session,
            "agent_id": c.opt("agent_id", lambda: token or v.agent_id(s)),
            "transcript_path": c.opt(
                "transcript_path", lambda: f"/home/dev/.claude/projects/demo/{session}.jsonl"
            ),
            "cwd": c.opt("cwd", lambda: f"/home/dev/{s.fake.word()}"),
            "permission_mode": c.opt("permission_mode", lambda: v.pick_enum(s, _PERMISSION_MODES)),
            "data": c.opt("data", lambda: _context_data(s, context_type)),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


# --- workflow.{workflow_id}.{kind} -------------------------------------------------------------

_WORKFLOW_STATUSES: dict[str, tuple[str, ...]] = {
    "orchestration": ("started", "completed", "failed"),
    "coordination": ("assigned", "completed"),
    "dependencies": ("declared",),
    "rollback": ("step failed", "step timeout", "step cancelled"),
}


def _dependencies(s: v.Source, ids: list[str]) -> dict[str, list[str]]:
    """Some steps' ids -> earlier steps' ids they wait for (a DAG over ``ids``)."""
    return {
        ids[i]: s.rng.sample(ids[:i], s.rng.randint(1, min(i, 3)))
        for i in range(1, len(ids))
        if s.rng.random() < 0.7
    }


def _workflow_message(c: Ctx) -> Data:
    s = c.src
    kind = c.req("kind", lambda: v.pick_enum(s, _WORKFLOW_KINDS))
    statuses = _WORKFLOW_STATUSES.get(kind, ("started",)) if isinstance(kind, str) else ("started",)
    status = c.req("status", lambda: s.rng.choice(statuses))
    task_ids = c.req("task_ids", lambda: [v.uuid4(s) for _ in range(v.count(s, 1, 8))])
    listed = isinstance(task_ids, (list, tuple))
    ids = [t for t in task_ids if isinstance(t, str)] if listed else []
    uuids = [t for t in ids if _UUID_RE.match(t)]
    return clean(
        {
            "workflow_id": c.req("workflow_id", lambda: v.uuid4(s)),
            "kind": kind,
            "status": status,
            "task_ids": task_ids,
            "task_id": c.opt(
                "task_id",
                lambda: s.rng.choice(uuids) if uuids else v.uuid4(s),
                when=kind in ("coordination", "rollback") or status == "failed",
            ),
            "dependencies": c.opt(
                "dependencies", lambda: _dependencies(s, ids), when=kind == "dependencies"
            ),
            "timestamp": c.req("timestamp", lambda: v.timestamp(s)),
        }
    )


OUR_BUILDERS: dict[type[BaseModel], Callable[..., Data]] = {
    **AGENT_BUILDERS,
    m.SystemAlert: _system_alert,
    m.HealthReport: _health_report,
    m.AuditRecord: _audit_record,
    m.ControlMessage: _control_message,
    m.ConfigChange: _config_change,
    m.SystemMetrics: _system_metrics,
    m.SystemEvent: _system_event,
    m.HookTriggered: _hook_triggered,
    m.ClaudeContext: _claude_context,
    m.WorkflowMessage: _workflow_message,
}
"""The builder of every model of ``_model_ours.OURS``, merged into ``BUILDERS``."""
