"""Pydantic models of every message of the spec (2.1.1, 2.4, 12.2), as they go on the wire.

The 12.2 JSON Schemas are canonical (ERRATA 11); every constraint of theirs is enforced, plus:

* ERRATA 12: UUIDs must be real, in canonical 8-4-4-4-12 hex form (kept as the given ``str``);
  date-times must be RFC 3339 strings with an offset (naive times, unix numbers, a space
  separator or missing seconds are rejected). They are held as aware ``datetime`` objects, which
  keep microseconds: extra fraction digits are truncated and UTC is written back as ``Z``.
* ERRATA 13: patterns match the whole string (a trailing newline is rejected) and agent ids are
  at most 128 characters. ERRATA 14: ``reply_to`` and ``callback_subject`` are valid publish
  subjects. Each rule is stated in ``model_json_schema()`` too (``pattern``, ``maxLength``).

Typing follows JSON Schema, not Python coercion: an integer rejects strings, booleans and also
``5.0`` (jsonschema accepts 5.0 as an integer, the Rust framework's serde does not: a deliberate
divergence), a number rejects strings and booleans, a string rejects numbers. An optional field
is either absent or of its type: an explicit ``null`` is rejected, as the schemas do.

Unknown fields are accepted and kept (``extra="allow"``): the schemas allow additional
properties, and a testbed must not lose what an agent sent. They round-trip through
``model_dump_json(by_alias=True, exclude_none=True)``, except unknown fields holding ``null``,
which ``exclude_none`` drops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from annotated_types import Ge
from pydantic import BaseModel, Field, Strict, StrictBool

from simulator.protocol._model_enums import (
    AgentState,
    CommandType,
    HookDecision,
    HookType,
    OutputStatus,
    TaskInfoType,
    TaskStatus,
    TaskType,
)
from simulator.protocol._model_types import (
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
    "JSON_SCHEMA_DIALECT",
    "MODELS",
    "AgentCommand",
    "AgentState",
    "AgentStatus",
    "Availability",
    "CapabilityQuery",
    "CapabilityResponse",
    "CommandMetadata",
    "CommandType",
    "ErrorDetails",
    "ExecutionMetrics",
    "HookDecision",
    "HookEvent",
    "HookResponse",
    "HookType",
    "OutputStatus",
    "ResourceRequirements",
    "ResourceUsage",
    "ResultNotification",
    "SessionInfo",
    "StatusUpdate",
    "TaskAssignment",
    "TaskInfo",
    "TaskInfoType",
    "TaskOutput",
    "TaskRequirements",
    "TaskResult",
    "TaskStatus",
    "TaskType",
    "WireModel",
    "export_schemas",
    "json_schemas",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The dialect of the schemas pydantic generates, stated as ``$schema`` by ``json_schemas()``."""


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
    """Capability query (2.4, defined by ERRATA 11): which agents offer these capabilities?"""

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
    """Capability response (2.4, defined by ERRATA 11): one agent's answer to a query."""

    query_id: Uuid
    agent_id: AgentId
    capabilities: TextList
    availability: Availability
    timestamp: Timestamp


StatusUpdate = AgentStatus
"""2.4's StatusUpdate: an alias of the 12.2 agent status (ERRATA 11)."""
ResultNotification = TaskResult
"""2.4's ResultNotification: an alias of the 12.2 task result (ERRATA 11)."""

MODELS: dict[str, type[BaseModel]] = {
    model.__name__: model
    for model in (
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
}
"""Every top-level message model by class name (aliases not repeated)."""


def json_schemas() -> dict[str, dict[str, Any]]:
    """Return each message's JSON Schema (wire names, ``$schema`` stated), keyed by class name."""
    return {
        name: {"$schema": JSON_SCHEMA_DIALECT, **model.model_json_schema(by_alias=True)}
        for name, model in MODELS.items()
    }


def export_schemas(directory: Path) -> list[Path]:
    """Write ``<ClassName>.schema.json`` for every message into ``directory``; return the paths."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name, schema in json_schemas().items():
        path = target / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
