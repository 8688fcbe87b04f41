"""The spec's messages (2.1.1, 12.2) and 2.4's capability messages, as they go on the wire.

Private: import them from :mod:`simulator.protocol.models`, whose docstring states the rules.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge
from pydantic import Field, Strict, StrictBool

from simulator.protocol.models._enums import (
    AgentState,
    CommandType,
    HookDecision,
    HookType,
    OutputStatus,
    TaskInfoType,
    TaskStatus,
    TaskType,
)
from simulator.protocol.models.types import (
    AgentId,
    Fraction,
    Integer,
    JsonObject,
    NonNegativeInt,
    NonNegativeNumber,
    Number,
    Omittable,
    Percent,
    PositiveInt,
    Priority,
    PublishSubject,
    ReplyToSubject,
    Text,
    TextList,
    Timestamp,
    Uuid,
    WireModel,
)

__all__ = [
    "NESTED",
    "SPEC",
    "AgentCommand",
    "AgentStatus",
    "Availability",
    "CapabilityQuery",
    "CapabilityResponse",
    "CommandMetadata",
    "ErrorDetails",
    "ExecutionMetrics",
    "HookEvent",
    "HookResponse",
    "ResourceRequirements",
    "ResourceUsage",
    "SessionInfo",
    "TaskAssignment",
    "TaskInfo",
    "TaskOutput",
    "TaskRequirements",
    "TaskResult",
]

# --- 2.1.1 Claude CLI hook messages -----------------------------------------------------------


class SessionInfo(WireModel):
    """2.1.1 ``session_info`` of a hook event: the agent's Claude session."""

    agent_id: AgentId
    session_id: Text
    model: Text
    start_time: Timestamp


class HookEvent(WireModel):
    """2.1.1 hook event, published by an agent when a hook fires."""

    hook_type: HookType
    agent_id: AgentId
    tool_name: Omittable[Text] = None
    tool_input: Omittable[JsonObject] = None
    tool_response: Omittable[JsonObject] = None
    session_info: SessionInfo
    timestamp: Timestamp
    context_id: Omittable[Text] = None


class HookResponse(WireModel):
    """2.1.1 hook response; ``continue`` (attribute ``continue_``) defaults to true if absent."""

    decision: HookDecision
    reason: Omittable[Text] = None
    continue_: StrictBool = Field(
        default=True,
        validation_alias="continue",
        serialization_alias="continue",
        description="false stops the agent whatever the decision (ERRATA 16)",
    )
    stop_reason: Omittable[Text] = None
    modifications: Omittable[JsonObject] = None

    @property
    def stops_agent(self) -> bool:
        """Whether the agent stops: ``continue: false``, whatever the decision (ERRATA 16)."""
        return not self.continue_

    @property
    def blocks_task(self) -> bool:
        """Whether the decision is ``block``, which stops the task (ERRATA 16)."""
        return self.decision is HookDecision.BLOCK

    @property
    def lets_task_run(self) -> bool:
        """Whether the task runs (with ``modifications`` applied to ``tool_input``)."""
        return not (self.stops_agent or self.blocks_task)


class TaskInfo(WireModel):
    """2.1.1 ``task_info`` of a task output: the task named by agent id or by description."""

    type: TaskInfoType
    value: Text | Integer | Number


class TaskOutput(WireModel):
    """2.1.1 task output: one line of a running task's output (progress, not the result)."""

    task_info: TaskInfo
    output_line: Text
    task_status: OutputStatus
    timestamp: Timestamp
    agent_id: AgentId


# --- 12.2 message payload schemas -------------------------------------------------------------


class CommandMetadata(WireModel):
    """12.2 agent command ``metadata``."""

    source: Omittable[Text] = None
    trace_id: Omittable[Uuid] = None
    user_id: Omittable[Text] = None
    session_id: Omittable[Uuid] = None


class AgentCommand(WireModel):
    """12.2 AGENT_COMMAND_SCHEMA: a command sent to one agent."""

    command_id: Uuid
    command_type: CommandType
    agent_id: AgentId
    timestamp: Timestamp
    payload: Omittable[JsonObject] = None
    priority: Omittable[Priority] = None
    timeout_ms: Omittable[Annotated[int, Strict(), Ge(1000)]] = None
    reply_to: Omittable[ReplyToSubject] = None
    correlation_id: Omittable[Uuid] = None
    metadata: Omittable[CommandMetadata] = None


class ResourceUsage(WireModel):
    """12.2 agent status ``resource_usage``."""

    cpu_percent: Omittable[Percent] = None
    memory_mb: Omittable[NonNegativeNumber] = None
    disk_mb: Omittable[NonNegativeNumber] = None


class AgentStatus(WireModel):
    """12.2 AGENT_STATUS_SCHEMA: an agent's state and load (2.4's StatusUpdate)."""

    agent_id: AgentId
    status: AgentState
    timestamp: Timestamp
    capacity: Omittable[Fraction] = None
    current_tasks: Omittable[NonNegativeInt] = None
    max_tasks: Omittable[PositiveInt] = None
    uptime_seconds: Omittable[NonNegativeInt] = None
    last_heartbeat: Omittable[Timestamp] = None
    capabilities: Omittable[TextList] = None
    resource_usage: Omittable[ResourceUsage] = None


class ResourceRequirements(WireModel):
    """12.2 task assignment ``requirements.resources``."""

    cpu_cores: Omittable[PositiveInt] = None
    memory_mb: Omittable[Annotated[int, Strict(), Ge(256)]] = None
    disk_mb: Omittable[Annotated[int, Strict(), Ge(100)]] = None


class TaskRequirements(WireModel):
    """12.2 task assignment ``requirements``."""

    capabilities: Omittable[TextList] = None
    resources: Omittable[ResourceRequirements] = None


class TaskAssignment(WireModel):
    """12.2 TASK_ASSIGNMENT_SCHEMA: a task given to an agent (2.4's TaskAssignment)."""

    task_id: Uuid
    task_type: TaskType
    assigned_agent: AgentId
    timestamp: Timestamp
    priority: Omittable[Priority] = None
    deadline: Omittable[Timestamp] = None
    requirements: Omittable[TaskRequirements] = None
    task_data: Omittable[JsonObject] = None
    dependencies: Omittable[list[Uuid]] = None
    callback_subject: Omittable[PublishSubject] = None


class ErrorDetails(WireModel):
    """12.2 task result ``error_details``."""

    error_code: Omittable[Text] = None
    error_message: Omittable[Text] = None
    stack_trace: Omittable[Text] = None
    retry_count: Omittable[NonNegativeInt] = None


class ExecutionMetrics(WireModel):
    """12.2 task result ``metrics`` (2.4's ExecutionMetrics)."""

    cpu_usage_percent: Omittable[Number] = None
    memory_peak_mb: Omittable[Number] = None
    io_operations: Omittable[Integer] = None


class TaskResult(WireModel):
    """12.2 TASK_RESULT_SCHEMA: the final word on a task (2.4's ResultNotification)."""

    task_id: Uuid
    agent_id: AgentId
    status: TaskStatus
    timestamp: Timestamp
    execution_time_ms: Omittable[NonNegativeInt] = None
    result_data: Omittable[JsonObject] = None
    error_details: Omittable[ErrorDetails] = None
    metrics: Omittable[ExecutionMetrics] = None


# --- 2.4 capability discovery (no schema in the spec: ERRATA 11) --------------------------------


class CapabilityQuery(WireModel):
    """Ours, after 2.4's outline (ERRATA 11): a capability query, which agents offer these?"""

    query_id: Uuid
    required_capabilities: TextList
    requester: Omittable[AgentId] = None
    reply_to: Omittable[ReplyToSubject] = None
    timestamp: Timestamp


class Availability(WireModel):
    """Capability response ``availability``: the 12.2 agent status vocabulary and load."""

    status: AgentState
    capacity: Omittable[Fraction] = None
    current_tasks: Omittable[NonNegativeInt] = None
    max_tasks: Omittable[PositiveInt] = None


class CapabilityResponse(WireModel):
    """Ours, after 2.4's outline (ERRATA 11): one agent's answer to a capability query."""

    query_id: Uuid
    agent_id: AgentId
    capabilities: TextList
    availability: Availability
    timestamp: Timestamp


SPEC: tuple[type[WireModel], ...] = (
    HookEvent,
    HookResponse,
    TaskOutput,
    AgentCommand,
    AgentStatus,
    TaskAssignment,
    TaskResult,
    CapabilityQuery,
    CapabilityResponse,
)
"""The messages of 2.1.1, 12.2 and 2.4, in the order the schemas are exported."""

NESTED: tuple[type[WireModel], ...] = (
    SessionInfo,
    TaskInfo,
    CommandMetadata,
    ResourceUsage,
    ResourceRequirements,
    TaskRequirements,
    ErrorDetails,
    ExecutionMetrics,
    Availability,
)
"""The objects nested in those messages."""
