"""Our own message models: the channels whose payload the spec leaves without a schema.

The spec gives schemas for commands, agent status, task assignments and results (12.2) and for
hook events, hook responses and task output (2.1.1). Every other channel of the catalogue
(:mod:`simulator.protocol.channels`) carries one of the models below, in the same style
(``WireModel``: unknown fields kept, explicit nulls rejected, RFC 3339 timestamps, UUID ids).
Each docstring starts with "Ours", which is also the first word of its JSON Schema's
``description`` (spec-notes 19).
"""

from __future__ import annotations

from typing import Literal

from pydantic import StrictBool

from simulator.protocol.models._enums import (
    AgentState,
    ClaudeContextType,
    CommandType,
    HookDecision,
    HookType,
    TaskStatus,
    TaskType,
)
from simulator.protocol.models._spec import AgentStatus
from simulator.protocol.models.types import (
    AgentId,
    JsonObject,
    NonNegativeInt,
    NonNegativeNumber,
    Number,
    Omittable,
    Text,
    TextList,
    Timestamp,
    Uuid,
    WireModel,
)

__all__ = [
    "OURS",
    "AgentEvent",
    "AgentLog",
    "AgentMetric",
    "AuditRecord",
    "ClaudeContext",
    "CommandReply",
    "ConfigChange",
    "ControlMessage",
    "HealthReport",
    "HealthStatus",
    "HookTriggered",
    "Severity",
    "SystemAlert",
    "SystemEvent",
    "SystemMetrics",
    "TaskCancel",
    "TaskEvent",
    "WorkflowKind",
    "WorkflowMessage",
]

Severity = Literal["info", "warning", "critical"]
HealthStatus = Literal["healthy", "degraded", "unhealthy"]
WorkflowKind = Literal["orchestration", "coordination", "dependencies", "rollback"]
TaskEventKind = Literal["created", "assigned", "completed"]


class AgentMetric(WireModel):
    """Ours: one measurement of an agent, on ``agents.{id}.metrics.{metric_type}``."""

    agent_id: AgentId
    metric_type: Text
    value: Number
    unit: Omittable[Text] = None
    task_id: Omittable[Uuid] = None
    timestamp: Timestamp


class AgentLog(WireModel):
    """Ours: one log line of an agent, on ``agents.{id}.logs.{level}``."""

    agent_id: AgentId
    level: Literal["debug", "info", "warning", "error"]
    message: Text
    task_id: Omittable[Uuid] = None
    timestamp: Timestamp


class AgentEvent(WireModel):
    """Ours: a lifecycle event of an agent, on ``agents.{id}.events.{event_type}``."""

    event_id: Uuid
    agent_id: AgentId
    event_type: Text
    state: AgentState
    data: Omittable[JsonObject] = None
    timestamp: Timestamp


class CommandReply(AgentStatus):
    """Ours: the reply to an agent command: the agent's status (2.4's StatusUpdate) after it.

    Every AgentStatus is a valid reply; the simulator also says which command it answers, whether
    it was accepted and what happened (spec-notes 20).
    """

    command_id: Omittable[Uuid] = None
    command_type: Omittable[CommandType] = None
    accepted: Omittable[StrictBool] = None
    outcome: Omittable[Text] = None
    data: Omittable[JsonObject] = None


class TaskCancel(WireModel):
    """Ours: a request to cancel a task, on ``tasks.{task_id}.cancel``."""

    task_id: Uuid
    reason: Omittable[Text] = None
    requested_by: Omittable[Text] = None
    timestamp: Timestamp


class TaskEvent(WireModel):
    """Ours: a task lifecycle event of 2.1's topic conventions, on ``task.{event}``."""

    event: TaskEventKind
    task_id: Uuid
    task_type: TaskType
    agent_id: Omittable[AgentId] = None
    status: Omittable[TaskStatus] = None
    timestamp: Timestamp


class SystemAlert(WireModel):
    """Ours: an alert, on ``system.alerts.{severity}``."""

    alert_id: Uuid
    severity: Severity
    component: Text
    message: Text
    agent_id: Omittable[AgentId] = None
    timestamp: Timestamp


class HealthReport(WireModel):
    """Ours: the health of a component, on ``system.health.{component}``."""

    component: Text
    status: HealthStatus
    agent_id: Omittable[AgentId] = None
    detail: Omittable[Text] = None
    timestamp: Timestamp


class AuditRecord(WireModel):
    """Ours: one audited action (every agent command), on ``system.audit.{action}``."""

    audit_id: Uuid
    action: Text
    agent_id: AgentId
    command_id: Omittable[Uuid] = None
    source: Omittable[Text] = None
    timestamp: Timestamp


class ControlMessage(WireModel):
    """Ours: a control operation of a component (a swarm started, stopping), on
    ``system.control.{operation}``."""

    control_id: Uuid
    operation: Text
    component: Text
    run_id: Omittable[Text] = None
    agents: Omittable[NonNegativeInt] = None
    data: Omittable[JsonObject] = None
    timestamp: Timestamp


class ConfigChange(WireModel):
    """Ours: a configuration applied to a component, on ``system.config.{component}.{action}``."""

    config_id: Uuid
    component: Text
    action: Text
    settings: JsonObject
    timestamp: Timestamp


class SystemMetrics(WireModel):
    """Ours: a component's periodic figures, on 2.1's ``system.metrics``."""

    component: Text
    agents: NonNegativeInt
    agents_busy: NonNegativeInt
    messages_published: NonNegativeInt
    tasks_completed: NonNegativeInt
    tasks_failed: NonNegativeInt
    uptime_seconds: NonNegativeNumber
    timestamp: Timestamp


class SystemEvent(WireModel):
    """Ours: a system event of 2.1, on ``events.{event_type}``."""

    event_id: Uuid
    event_type: Text
    source: Text
    agent_id: Omittable[AgentId] = None
    data: Omittable[JsonObject] = None
    timestamp: Timestamp


class HookTriggered(WireModel):
    """Ours: a hook ran and was answered (2.1's hook lifecycle events), on
    ``hook.{hook_type}.triggered``."""

    hook_type: HookType
    agent_id: AgentId
    decision: Omittable[HookDecision] = None
    timed_out: Omittable[StrictBool] = None
    round_trip_ms: Omittable[NonNegativeNumber] = None
    timestamp: Timestamp


class ClaudeContext(WireModel):
    """Ours: a Claude Code hook event the spec has no hook type for (``Stop``,
    ``UserPromptSubmit``, ``Notification``, ...), on ``cli.context.{group_id}.{context_type}``
    with the session as the group (spec-notes 27).

    ``data`` holds the event's own fields as Claude Code sent them (``prompt``, ``message``,
    ``reason``, ``trigger``, ...); the five every event carries are fields of their own.
    """

    context_id: Uuid
    group_id: AgentId
    context_type: ClaudeContextType
    session_id: Text
    agent_id: Omittable[AgentId] = None
    transcript_path: Omittable[Text] = None
    cwd: Omittable[Text] = None
    permission_mode: Omittable[Text] = None
    data: Omittable[JsonObject] = None
    timestamp: Timestamp


class WorkflowMessage(WireModel):
    """Ours: a workflow step, on ``workflow.{workflow_id}.{kind}``."""

    workflow_id: Uuid
    kind: WorkflowKind
    status: Text
    task_ids: TextList
    task_id: Omittable[Uuid] = None
    dependencies: Omittable[dict[str, list[str]]] = None
    timestamp: Timestamp


OURS: tuple[type[WireModel], ...] = (
    AgentMetric,
    AgentLog,
    AgentEvent,
    CommandReply,
    TaskCancel,
    TaskEvent,
    SystemAlert,
    HealthReport,
    AuditRecord,
    ControlMessage,
    ConfigChange,
    SystemMetrics,
    SystemEvent,
    HookTriggered,
    ClaudeContext,
    WorkflowMessage,
)
"""Our models, in the order the schemas are exported."""
