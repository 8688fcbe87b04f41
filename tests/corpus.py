"""Valid and invalid documents of every message model; each invalid one names its path and rule.

Invalid documents are made from each model's full valid document (in
``data/corpus/full_documents.json``) by breaking one field, as listed in ``FIELDS`` (every
field, by kind). Rules are named as in JSON Schema (``required``, ``type``, ``enum``,
``pattern``, ``minimum``, ``maximum``, ``maxLength``, ``format:uuid``, ``format:date-time``)
plus ``subject`` (ERRATA 14: a valid publish subject).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FIELDS", "INVALID", "VALID", "Invalid", "Kind", "Valid"]

Loc = tuple[str | int, ...]

U1 = "3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f"
T1 = "2024-05-01T12:00:00Z"


@dataclass(frozen=True)
class Valid:
    """A document the model (and the spec's schema) must accept."""

    model: str
    name: str
    doc: dict[str, Any]
    canonical: bool = True  # dumping the model gives back exactly this JSON

    @property
    def id(self) -> str:
        """Readable test id."""
        return f"{self.model}:{self.name}"


@dataclass(frozen=True)
class Invalid:
    """A document breaking one rule at one field path."""

    model: str
    path: Loc
    rule: str
    variant: str
    doc: Any

    @property
    def id(self) -> str:
        """Readable test id."""
        dotted = ".".join(str(part) for part in self.path) or "<doc>"
        return f"{self.model}.{dotted}:{self.rule}:{self.variant}"


@dataclass(frozen=True)
class Kind:
    """What a field is: its kind, whether required, and its bounds or first enum value."""

    name: str
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    enum_value: str = ""


def req(name: str, **kwargs: Any) -> Kind:
    """A required field of this kind."""
    return Kind(name, required=True, **kwargs)


def opt(name: str, **kwargs: Any) -> Kind:
    """An optional field of this kind."""
    return Kind(name, **kwargs)


FULL: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "corpus" / "full_documents.json").read_text("utf-8")
)
"""A valid document of every model with every field (and unknown ones) set."""

FIELDS: dict[str, dict[str, Kind]] = {
    "HookEvent": {
        "hook_type": req("enum", enum_value="startup"),
        "agent_id": req("agent-id"),
        "tool_name": opt("string"),
        "tool_input": opt("object"),
        "tool_response": opt("object"),
        "session_info": req("object"),
        "session_info.agent_id": req("agent-id"),
        "session_info.session_id": req("string"),
        "session_info.model": req("string"),
        "session_info.start_time": req("date-time"),
        "timestamp": req("date-time"),
        "context_id": opt("string"),
    },
    "HookResponse": {
        "decision": req("enum", enum_value="approve"),
        "reason": opt("string"),
        "continue": opt("boolean"),
        "stop_reason": opt("string"),
        "modifications": opt("object"),
    },
    "TaskOutput": {
        "task_info": req("object"),
        "task_info.type": req("enum", enum_value="agent_id"),
        "task_info.value": req("string-or-number"),
        "output_line": req("string"),
        "task_status": req("enum", enum_value="running"),
        "timestamp": req("date-time"),
        "agent_id": req("agent-id"),
    },
    "AgentCommand": {
        "command_id": req("uuid"),
        "command_type": req("enum", enum_value="execute"),
        "agent_id": req("agent-id"),
        "timestamp": req("date-time"),
        "payload": opt("object"),
        "priority": opt("integer", minimum=1, maximum=10),
        "timeout_ms": opt("integer", minimum=1000),
        "reply_to": opt("reply-to"),
        "correlation_id": opt("uuid"),
        "metadata": opt("object"),
        "metadata.source": opt("string"),
        "metadata.trace_id": opt("uuid"),
        "metadata.user_id": opt("string"),
        "metadata.session_id": opt("uuid"),
    },
    "AgentStatus": {
        "agent_id": req("agent-id"),
        "status": req("enum", enum_value="idle"),
        "timestamp": req("date-time"),
        "capacity": opt("number", minimum=0.0, maximum=1.0),
        "current_tasks": opt("integer", minimum=0),
        "max_tasks": opt("integer", minimum=1),
        "uptime_seconds": opt("integer", minimum=0),
        "last_heartbeat": opt("date-time"),
        "capabilities": opt("strings"),
        "resource_usage": opt("object"),
        "resource_usage.cpu_percent": opt("number", minimum=0.0, maximum=100.0),
        "resource_usage.memory_mb": opt("number", minimum=0),
        "resource_usage.disk_mb": opt("number", minimum=0),
    },
    "TaskAssignment": {
        "task_id": req("uuid"),
        "task_type": req("enum", enum_value="analysis"),
        "assigned_agent": req("agent-id"),
        "timestamp": req("date-time"),
        "priority": opt("integer", minimum=1, maximum=10),
        "deadline": opt("date-time"),
        "requirements": opt("object"),
        "requirements.capabilities": opt("strings"),
        "requirements.resources": opt("object"),
        "requirements.resources.cpu_cores": opt("integer", minimum=1),
        "requirements.resources.memory_mb": opt("integer", minimum=256),
        "requirements.resources.disk_mb": opt("integer", minimum=100),
        "task_data": opt("object"),
        "dependencies": opt("uuids"),
        "callback_subject": opt("subject"),
    },
    "TaskResult": {
        "task_id": req("uuid"),
        "agent_id": req("agent-id"),
        "status": req("enum", enum_value="completed"),
        "timestamp": req("date-time"),
        "execution_time_ms": opt("integer", minimum=0),
        "result_data": opt("object"),
        "error_details": opt("object"),
        "error_details.error_code": opt("string"),
        "error_details.error_message": opt("string"),
        "error_details.stack_trace": opt("string"),
        "error_details.retry_count": opt("integer", minimum=0),
        "metrics": opt("object"),
        "metrics.cpu_usage_percent": opt("number"),
        "metrics.memory_peak_mb": opt("number"),
        "metrics.io_operations": opt("integer"),
    },
    "CapabilityQuery": {
        "query_id": req("uuid"),
        "required_capabilities": req("strings"),
        "requester": opt("agent-id"),
        "reply_to": opt("reply-to"),
        "timestamp": req("date-time"),
    },
    "CapabilityResponse": {
        "query_id": req("uuid"),
        "agent_id": req("agent-id"),
        "capabilities": req("strings"),
        "availability": req("object"),
        "availability.status": req("enum", enum_value="idle"),
        "availability.capacity": opt("number", minimum=0.0, maximum=1.0),
        "availability.current_tasks": opt("integer", minimum=0),
        "availability.max_tasks": opt("integer", minimum=1),
        "timestamp": req("date-time"),
    },
}
"""Every field of every model, by dotted path; nested objects are listed before their fields."""

_UUID_BREAKS: list[tuple[str, str, Any]] = [
    ("type", "number", 123),
    ("format:uuid", "garbage", "not-a-uuid"),
    ("format:uuid", "no-hyphens", U1.replace("-", "")),
    ("format:uuid", "urn", f"urn:uuid:{U1}"),
    ("format:uuid", "braced", f"{{{U1}}}"),
    ("format:uuid", "too-short", U1[:-1]),
    ("format:uuid", "non-hex", U1[:-1] + "g"),
    ("format:uuid", "trailing-newline", U1 + "\n"),
    ("format:uuid", "trailing-brace", U1 + "}"),
    ("format:uuid", "underscore", U1[:-4] + "_" + U1[-3:]),
]
_BREAKS: dict[str, list[tuple[str, str, Any]]] = {
    "string": [("type", "number", 5), ("type", "array", ["x"])],
    "object": [("type", "array", []), ("type", "string", "x")],
    "strings": [("type", "string", "rust"), ("type", "object", {"a": "b"})],
    "boolean": [("type", "string", "true"), ("type", "number", 1)],
    "string-or-number": [("type", "boolean", True), ("type", "object", {}), ("type", "array", [])],
    "enum": [("enum", "unknown", "nope"), ("type", "number", 1)],
    "uuid": _UUID_BREAKS,
    "uuids": [("type", "string", U1)],
    "date-time": [
        ("type", "number", 1714564800),
        ("format:date-time", "garbage", "yesterday"),
        ("format:date-time", "naive", "2024-05-01T12:00:00"),
        ("format:date-time", "space-separator", "2024-05-01 12:00:00Z"),
        ("format:date-time", "no-seconds", "2024-05-01T12:00Z"),
        ("format:date-time", "date-only", "2024-05-01"),
        ("format:date-time", "unix-string", "1714564800"),
        ("format:date-time", "bad-day", "2024-02-30T12:00:00Z"),
        ("format:date-time", "hour-24", "2024-05-01T24:00:00Z"),
        ("format:date-time", "compact-offset", "2024-05-01T12:00:00+0200"),
        ("format:date-time", "comma-fraction", "2024-05-01T12:00:00,5Z"),
        ("format:date-time", "trailing-newline", T1 + "\n"),
    ],
    "agent-id": [
        ("type", "number", 5),
        ("pattern", "empty", ""),
        ("pattern", "space", "agent 1"),
        ("pattern", "dot", "agent.1"),
        ("pattern", "wildcard", "agent*"),
        ("pattern", "trailing-newline", "agent-1\n"),
        ("maxLength", "129-chars", "a" * 129),
    ],
    "reply-to": [
        ("type", "number", 5),
        ("pattern", "empty", ""),
        ("pattern", "space", "_INBOX.a b"),
        ("pattern", "wildcard-star", "_INBOX.*"),
        ("pattern", "wildcard-gt", "_INBOX.>"),
        ("pattern", "trailing-newline", "_INBOX.r1\n"),
        ("subject", "empty-token", "a..b"),
        ("subject", "leading-dot", ".inbox"),
        ("subject", "trailing-dot", "inbox."),
        ("subject", "only-dot", "."),
    ],
    "subject": [
        ("type", "number", 5),
        ("subject", "empty", ""),
        ("subject", "empty-token", "a..b"),
        ("subject", "leading-dot", ".tasks"),
        ("subject", "trailing-dot", "tasks."),
        ("subject", "wildcard-star", "tasks.*.result"),
        ("subject", "wildcard-gt", "tasks.>"),
        ("subject", "space", "tasks.a b"),
        ("subject", "tab", "tasks.a\tb"),
        ("subject", "control", "tasks.a\x00"),
        ("subject", "trailing-newline", "tasks.result\n"),
    ],
}


def _numeric_breaks(kind: Kind, valid: float) -> list[tuple[str, str, Any]]:
    """Type and bound breaks of an integer or number field whose valid value is ``valid``."""
    breaks: list[tuple[str, str, Any]] = [
        ("type", "string", str(valid)),
        ("type", "boolean", True),
    ]
    if kind.name == "integer":
        breaks.append(("type", "fraction", valid + 0.5 if kind.maximum is None else 5.5))
        breaks.append(("type", "integer-as-float", float(valid)))
    step = 1 if kind.name == "integer" else 0.01
    if kind.minimum is not None:
        breaks.append(("minimum", "below", kind.minimum - step))
    if kind.maximum is not None:
        breaks.append(("maximum", "above", kind.maximum + step))
    return breaks


def _split(dotted: str) -> Loc:
    return tuple(dotted.split("."))


def _get(doc: Any, path: Loc) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _with(doc: dict[str, Any], path: Loc, value: Any) -> dict[str, Any]:
    """A deep copy of ``doc`` with ``value`` at ``path``."""
    result = copy.deepcopy(doc)
    _get(result, path[:-1])[path[-1]] = value
    return result


def _without(doc: dict[str, Any], path: Loc) -> dict[str, Any]:
    """A deep copy of ``doc`` without the key at ``path``."""
    result = copy.deepcopy(doc)
    del _get(result, path[:-1])[path[-1]]
    return result


def _invalid_cases(model: str) -> list[Invalid]:
    """Every single-rule break of ``model``'s full document."""
    full = FULL[model]
    cases = [Invalid(model, (), "type", "array", [full])]
    for dotted, kind in FIELDS[model].items():
        path = _split(dotted)
        if kind.required:
            cases.append(Invalid(model, path, "required", "missing", _without(full, path)))
        cases.append(Invalid(model, path, "type", "null", _with(full, path, None)))
        if kind.name in ("integer", "number"):
            breaks = _numeric_breaks(kind, _get(full, path))
        elif kind.name == "enum":
            upper = ("enum", "upper-case", kind.enum_value.upper())
            breaks = [*_BREAKS["enum"], upper]
        else:
            breaks = _BREAKS[kind.name]
        for rule, variant, value in breaks:
            cases.append(Invalid(model, path, rule, variant, _with(full, path, value)))
        if kind.name in ("strings", "uuids"):
            items = _get(full, path)
            bad_items = _UUID_BREAKS if kind.name == "uuids" else [("type", "item-number", 5)]
            for rule, variant, value in bad_items:
                broken = [items[0], value, *items[1:]]
                cases.append(Invalid(model, (*path, 1), rule, variant, _with(full, path, broken)))
    return cases


def _valid_cases() -> list[Valid]:
    """The full and the minimal document of every model, and boundary documents."""
    cases = [Valid(model, "full", doc) for model, doc in FULL.items()]
    for model, fields in FIELDS.items():
        minimal = copy.deepcopy(FULL[model])
        for dotted, kind in reversed(fields.items()):
            path = _split(dotted)
            if not kind.required and _get(minimal, path[:-1]).get(path[-1]) is not None:
                minimal = _without(minimal, path)
        cases.append(Valid(model, "minimal", minimal, canonical=model != "HookResponse"))
    status, command, task = FULL["AgentStatus"], FULL["AgentCommand"], FULL["TaskAssignment"]
    output, response = FULL["TaskOutput"], FULL["HookResponse"]
    cases += [
        Valid(
            "AgentStatus",
            "bounds-low",
            {
                **status,
                "capacity": 0,
                "current_tasks": 0,
                "max_tasks": 1,
                "uptime_seconds": 0,
                "resource_usage": {"cpu_percent": 0, "memory_mb": 0, "disk_mb": 0},
            },
        ),
        Valid(
            "AgentStatus",
            "bounds-high",
            {**status, "capacity": 1, "resource_usage": {"cpu_percent": 100}},
        ),
        Valid("AgentStatus", "agent-id-128-chars", {**status, "agent_id": "a" * 128}),
        Valid("AgentStatus", "empty-capabilities", {**status, "capabilities": []}),
        Valid("AgentCommand", "bounds", {**command, "priority": 1, "timeout_ms": 1000}),
        Valid("AgentCommand", "bounds-high", {**command, "priority": 10, "payload": {}}),
        Valid("AgentCommand", "reply-to-one-token", {**command, "reply_to": "inbox"}),
        Valid("AgentCommand", "upper-case-uuid", {**command, "command_id": U1.upper()}),
        Valid(
            "TaskAssignment",
            "bounds",
            {
                **task,
                "requirements": {"resources": {"cpu_cores": 1, "memory_mb": 256, "disk_mb": 100}},
                "dependencies": [],
            },
        ),
        Valid("TaskAssignment", "unicode-callback", {**task, "callback_subject": "résultat.ü"}),
        Valid(
            "TaskAssignment", "negative-offset", {**task, "deadline": "2024-05-01T08:00:00-04:00"}
        ),
        Valid(
            "TaskAssignment",
            "lower-case-t-z",
            {**task, "timestamp": "2024-05-01t12:00:00z"},
            canonical=False,
        ),
        Valid(
            "TaskAssignment",
            "nanoseconds",
            {**task, "timestamp": "2024-05-01T12:00:00.123456789Z"},
            canonical=False,
        ),
        Valid(
            "TaskAssignment",
            "utc-as-offset",
            {**task, "timestamp": "2024-05-01T12:00:00+00:00"},
            canonical=False,
        ),
        Valid(
            "TaskResult",
            "unbounded-metrics",
            {
                **FULL["TaskResult"],
                "metrics": {"cpu_usage_percent": -1, "memory_peak_mb": 1e9, "io_operations": -3},
            },
        ),
        Valid(
            "TaskOutput",
            "integer-value",
            {**output, "task_info": {"type": "agent_id", "value": 42}},
        ),
        Valid(
            "TaskOutput", "float-value", {**output, "task_info": {"type": "agent_id", "value": 4.5}}
        ),
        Valid(
            "HookResponse", "stop-agent", {**response, "decision": "continue", "continue": False}
        ),
    ]
    return cases


VALID: list[Valid] = _valid_cases()
"""Documents every model must accept."""
INVALID: list[Invalid] = [case for model in FULL for case in _invalid_cases(model)]
"""Documents every model must reject, each breaking one rule at one path."""
