"""Pydantic models of every message of the catalogue, as they go on the wire.

The spec's messages (2.1.1, 2.4, 12.2) and ours, for the channels the spec leaves without a
schema (each marked "Ours" in its docstring and its schema's description; see
:mod:`simulator.protocol.channels`).

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
from typing import TypeVar

from pydantic import BaseModel, JsonValue, ValidationError

from simulator.protocol.models._enums import (
    AgentState,
    ClaudeContextType,
    CommandType,
    HookDecision,
    HookType,
    OutputStatus,
    TaskInfoType,
    TaskStatus,
    TaskType,
)
from simulator.protocol.models._ours import (
    OURS,
    AgentEvent,
    AgentLog,
    AgentMetric,
    AuditRecord,
    ClaudeContext,
    CommandReply,
    ConfigChange,
    ControlMessage,
    HealthReport,
    HealthStatus,
    HookTriggered,
    Severity,
    SystemAlert,
    SystemEvent,
    SystemMetrics,
    TaskCancel,
    TaskEvent,
    WorkflowKind,
    WorkflowMessage,
)
from simulator.protocol.models._spec import (
    NESTED,
    SPEC,
    AgentCommand,
    AgentStatus,
    Availability,
    CapabilityQuery,
    CapabilityResponse,
    CommandMetadata,
    ErrorDetails,
    ExecutionMetrics,
    HookEvent,
    HookResponse,
    ResourceRequirements,
    ResourceUsage,
    SessionInfo,
    TaskAssignment,
    TaskInfo,
    TaskOutput,
    TaskRequirements,
    TaskResult,
)
from simulator.protocol.models.types import WireModel

__all__ = [
    "JSON_SCHEMA_DIALECT",
    "MODELS",
    "NESTED",
    "OURS",
    "SPEC",
    "AgentCommand",
    "AgentEvent",
    "AgentLog",
    "AgentMetric",
    "AgentState",
    "AgentStatus",
    "AuditRecord",
    "Availability",
    "CapabilityQuery",
    "CapabilityResponse",
    "ClaudeContext",
    "ClaudeContextType",
    "CommandMetadata",
    "CommandReply",
    "CommandType",
    "ConfigChange",
    "ControlMessage",
    "ErrorDetails",
    "ExecutionMetrics",
    "HealthReport",
    "HealthStatus",
    "HookDecision",
    "HookEvent",
    "HookResponse",
    "HookTriggered",
    "HookType",
    "OutputStatus",
    "ResourceRequirements",
    "ResourceUsage",
    "ResultNotification",
    "SessionInfo",
    "Severity",
    "StatusUpdate",
    "SystemAlert",
    "SystemEvent",
    "SystemMetrics",
    "TaskAssignment",
    "TaskCancel",
    "TaskEvent",
    "TaskInfo",
    "TaskInfoType",
    "TaskOutput",
    "TaskRequirements",
    "TaskResult",
    "TaskStatus",
    "TaskType",
    "WireModel",
    "WorkflowKind",
    "WorkflowMessage",
    "export_schemas",
    "json_schemas",
    "make",
    "problem",
]

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The dialect of the schemas pydantic generates, stated as ``$schema`` by ``json_schemas()``."""

StatusUpdate = AgentStatus
"""2.4's StatusUpdate: an alias of the 12.2 agent status (ERRATA 11)."""
ResultNotification = TaskResult
"""2.4's ResultNotification: an alias of the 12.2 task result (ERRATA 11)."""

_ORDER: tuple[type[WireModel], ...] = (*SPEC, *OURS)  # SPEC: the spec's; OURS: the rest
_M = TypeVar("_M", bound=BaseModel)


def problem(model: type[BaseModel], data: bytes) -> str | None:
    """Why ``data`` is not a valid ``model`` payload, naming the field; None when it is one."""
    try:
        model.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the payload"
        more = error.error_count() - 1
        extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        return f"{model.__name__}: {where}: {first['msg']}{extra}"
    return None


def make(model: type[_M], **fields: object) -> _M:
    """Build ``model`` leaving out the fields given as None (the models reject explicit nulls)."""
    return model.model_validate({k: v for k, v in fields.items() if v is not None})


MODELS: dict[str, type[BaseModel]] = {model.__name__: model for model in _ORDER}
"""Every payload and reply model of the catalogue (:mod:`simulator.protocol.channels`, which a
test holds to this list) by class name, aliases not repeated: the spec's messages, then ours."""


def json_schemas() -> dict[str, dict[str, JsonValue]]:
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
