"""Payload models for the subjects whose payload the spec leaves unstated, and which model
goes on which subject.

The spec (12.2) gives schemas only for commands, agent status, task assignments and results,
and 2.1.1 for hook events, hook responses and task output. Everything else the simulator
publishes uses the small models below, in the same style (``WireModel``: unknown fields kept,
explicit nulls rejected, RFC 3339 timestamps, UUID ids). The mapping, subject by subject:

=========================================  =============================================
subject                                    payload
=========================================  =============================================
``agents.{id}.status`` / ``.status.{st}``  :class:`AgentStatus` (``{st}`` is the state)
``agents.{id}.heartbeat``                  :class:`AgentStatus` with ``last_heartbeat``
``agents.{id}.capabilities``               :class:`AgentStatus` with ``capabilities``
``agents.{id}.metrics.{metric_type}``      :class:`AgentMetric`
``agents.{id}.logs.{level}``               :class:`AgentLog`
``agents.{id}.events.{event_type}``        :class:`AgentEvent`
``agents.{id}.commands.{command_type}``    :class:`AgentCommand`, reply :class:`CommandReply`
``system.discovery.{service_type}``        :class:`CapabilityQuery`, replies
                                           :class:`CapabilityResponse`
``tasks.{type}.assignment`` / ``.queue.*`` :class:`TaskAssignment`
``tasks.{id}.progress``                    :class:`TaskOutput`
``tasks.{id}.result`` / ``.error``         :class:`TaskResult`
``tasks.{id}.cancel``                      :class:`TaskCancel`
``cli.startup``, ``cli.hooks.*.*``,        :class:`HookEvent`
``cli.context.{gid}.file_change``
``cli.responses.{id}``,                    :class:`HookResponse`
``cli.mutations.{id}``,
``agent.{id}.hook_response``
``system.alerts.{severity}``               :class:`SystemAlert`
``system.health.{component}``              :class:`HealthReport`
``system.audit.{action}``                  :class:`AuditRecord`
``workflow.{id}.*``                        :class:`WorkflowMessage`
=========================================  =============================================

:data:`PAYLOADS` maps each subject template name to its model, for checks and captures.
"""

from __future__ import annotations

from typing import Literal, TypeVar

from pydantic import BaseModel

from simulator.protocol._model_types import (
    AgentId,
    JsonObject,
    Number,
    Omittable,
    Text,
    TextList,
    Timestamp,
    Uuid,
    WireModel,
)
from simulator.protocol.models import (
    AgentCommand,
    AgentState,
    AgentStatus,
    CapabilityQuery,
    CapabilityResponse,
    CommandType,
    HookEvent,
    HookResponse,
    TaskAssignment,
    TaskOutput,
    TaskResult,
)

__all__ = [
    "PAYLOADS",
    "REPLIES",
    "AgentEvent",
    "AgentLog",
    "AgentMetric",
    "AuditRecord",
    "CommandReply",
    "HealthReport",
    "SystemAlert",
    "TaskCancel",
    "WorkflowMessage",
    "make",
]

M = TypeVar("M", bound=BaseModel)


def make(model: type[M], **fields: object) -> M:
    """Build ``model`` leaving out the fields given as None (the models reject explicit nulls)."""
    return model.model_validate({k: v for k, v in fields.items() if v is not None})


Severity = Literal["info", "warning", "critical"]
HealthStatus = Literal["healthy", "degraded", "unhealthy"]
WorkflowKind = Literal["orchestration", "coordination", "dependencies", "rollback"]


class AgentMetric(WireModel):
    """One measurement of an agent, on ``agents.{id}.metrics.{metric_type}``."""

    agent_id: AgentId
    metric_type: Text
    value: Number
    unit: Omittable[Text] = None
    task_id: Omittable[Uuid] = None
    timestamp: Timestamp


class AgentLog(WireModel):
    """One log line of an agent, on ``agents.{id}.logs.{level}``."""

    agent_id: AgentId
    level: Literal["debug", "info", "warning", "error"]
    message: Text
    task_id: Omittable[Uuid] = None
    timestamp: Timestamp


class AgentEvent(WireModel):
    """A lifecycle event of an agent, on ``agents.{id}.events.{event_type}``."""

    event_id: Uuid
    agent_id: AgentId
    event_type: Text
    state: AgentState
    data: Omittable[JsonObject] = None
    timestamp: Timestamp


class CommandReply(WireModel):
    """The reply to an agent command: whether it was accepted and what happened."""

    command_id: Uuid
    agent_id: AgentId
    command_type: CommandType
    accepted: bool
    outcome: Text
    state: AgentState
    data: Omittable[JsonObject] = None
    timestamp: Timestamp


class TaskCancel(WireModel):
    """A request to cancel a task, on ``tasks.{task_id}.cancel``."""

    task_id: Uuid
    reason: Omittable[Text] = None
    requested_by: Omittable[Text] = None
    timestamp: Timestamp


class SystemAlert(WireModel):
    """An alert, on ``system.alerts.{severity}``."""

    alert_id: Uuid
    severity: Severity
    component: Text
    message: Text
    agent_id: Omittable[AgentId] = None
    timestamp: Timestamp


class HealthReport(WireModel):
    """The health of a component, on ``system.health.{component}``."""

    component: Text
    status: HealthStatus
    agent_id: Omittable[AgentId] = None
    detail: Omittable[Text] = None
    timestamp: Timestamp


class AuditRecord(WireModel):
    """One audited action (every agent command), on ``system.audit.{action}``."""

    audit_id: Uuid
    action: Text
    agent_id: AgentId
    command_id: Omittable[Uuid] = None
    source: Omittable[Text] = None
    timestamp: Timestamp


class WorkflowMessage(WireModel):
    """A workflow step, on ``workflow.{workflow_id}.{kind}``."""

    workflow_id: Uuid
    kind: WorkflowKind
    status: Text
    task_ids: TextList
    task_id: Omittable[Uuid] = None
    dependencies: Omittable[dict[str, list[str]]] = None
    timestamp: Timestamp


PAYLOADS: dict[str, type[BaseModel]] = {
    "agent_status": AgentStatus,
    "agent_status_base": AgentStatus,
    "agent_heartbeat": AgentStatus,
    "agent_capabilities": AgentStatus,
    "agent_metrics": AgentMetric,
    "agent_logs": AgentLog,
    "agent_events": AgentEvent,
    "agent_commands": AgentCommand,
    "system_discovery": CapabilityQuery,
    "task_assignment": TaskAssignment,
    "task_queue": TaskAssignment,
    "task_progress": TaskOutput,
    "task_result": TaskResult,
    "task_error": TaskResult,
    "task_cancel": TaskCancel,
    "cli_startup": HookEvent,
    "cli_hook": HookEvent,
    "cli_context": HookEvent,
    "cli_response": HookResponse,
    "cli_mutation": HookResponse,
    "control_startup": HookEvent,
    "agent_hook": HookEvent,
    "ctx_file_change": HookEvent,
    "agent_hook_response": HookResponse,
    "system_alerts": SystemAlert,
    "system_health": HealthReport,
    "system_audit": AuditRecord,
    "workflow_orchestration": WorkflowMessage,
    "workflow_coordination": WorkflowMessage,
    "workflow_dependencies": WorkflowMessage,
    "workflow_rollback": WorkflowMessage,
}
"""The payload model of each subject template the simulator publishes on (by template name)."""

#: Replies (to inboxes, so no template): the reply model of each request-reply template.
REPLIES: dict[str, type[BaseModel]] = {
    "agent_commands": CommandReply,
    "system_discovery": CapabilityResponse,
    "agent_hook": HookResponse,
}
