"""The rules of each message model, by kind; each invalid payload breaks exactly one.

Private to pytest_mistersmith: :mod:`pytest_mistersmith.strategies` breaks them (its public
:class:`Violation` and :class:`ViolationKind` live here), :mod:`pytest_mistersmith.contracts`
chooses which to break.

The rules are read from the model's own JSON Schema (``model_json_schema(by_alias=True)``), so
every field of every nested object is covered: a required field, its JSON type, an enum, a
pattern, a maximum length, a minimum or maximum, a uuid or date-time format, or a NATS subject
(ERRATA 14), array items and the values of a typed map (``dict[str, list[str]]``) included.
Whole-payload rules: not JSON, JSON but not an object, not UTF-8, too large.

Size: a message is too large when it exceeds the smallest limit over the channels it is
published on (:mod:`simulator.protocol.channels`): the ``max_msg_size`` of the stream of
``default_topology()`` that stores the subject, else the server's ``max_payload`` (ERRATA 7).
So TaskAssignment, TaskResult and TaskOutput: 10 MiB (task_lifecycle); AgentStatus and
AgentEvent: 1 MiB (agent_events); HookEvent, HookResponse: 1 MiB (claude_cli_integration);
SystemAlert, HealthReport, AuditRecord: 512 KiB (system_monitoring); AgentCommand, the
capability messages, CommandReply and our other messages, stored by no stream: the server's
11 MiB.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from simulator.protocol.models import types

__all__ = ["Level", "Rule", "Violation", "ViolationKind", "rules", "size_limit"]

#: Which violations: ``"model"`` (the model itself rejects the payload), ``"transport"`` (the
#: model accepts it; the server or the stream refuses it: too large), or ``"all"``.
Level = Literal["model", "transport", "all"]


class ViolationKind(str, enum.Enum):
    """The rule an invalid payload breaks."""

    MISSING = "missing"
    TYPE = "type"
    ENUM = "enum"
    PATTERN = "pattern"
    LENGTH = "length"
    RANGE = "range"
    UUID = "uuid"
    DATE_TIME = "date-time"
    SUBJECT = "subject"
    NOT_JSON = "not-json"
    NOT_OBJECT = "not-object"
    NOT_UTF8 = "not-utf8"
    TOO_LARGE = "too-large"

    @property
    def whole_payload(self) -> bool:
        """Whether the kind is about the payload as a whole (no field is named)."""
        return self in _WHOLE

    @property
    def level(self) -> Literal["model", "transport"]:
        """``"transport"`` when only NATS refuses the payload (too large), else ``"model"``."""
        return "transport" if self is ViolationKind.TOO_LARGE else "model"


_WHOLE = frozenset(
    {ViolationKind.NOT_JSON, ViolationKind.NOT_OBJECT, ViolationKind.NOT_UTF8,
     ViolationKind.TOO_LARGE}
)  # fmt: skip


@dataclass(frozen=True)
class Violation:
    """The one rule an invalid payload breaks, and where."""

    kind: ViolationKind
    #: The wire path of the field, dotted (``resource_usage.cpu_percent``, ``capabilities.0``);
    #: None for the whole-payload kinds (not JSON, not an object, not UTF-8, too large).
    field: str | None
    description: str
    #: The docs/spec-notes.md item that makes the payload invalid when the spec's own 12.2
    #: schema (format checks on) accepts it; None when the spec's schema rejects it too.
    errata: int | None = None

    @property
    def loc(self) -> tuple[str | int, ...]:
        """The field path as a pydantic error ``loc`` (list indexes as integers)."""
        if self.field is None:
            return ()
        return tuple(int(p) if p.isdigit() else p for p in self.field.split("."))


@dataclass(frozen=True)
class Rule:
    """One rule of a model's schema at one path (``*``: every array item, ``+``: map value)."""

    kind: ViolationKind
    path: tuple[str, ...]
    schema: dict[str, Any]
    bound: str = ""  # "minimum" or "maximum" for RANGE


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        resolved: dict[str, Any] = root["$defs"][ref.rsplit("/", 1)[-1]]
        return resolved
    return schema


def _walk(schema: dict[str, Any], root: dict[str, Any], path: tuple[str, ...]) -> Iterator[Rule]:
    required = set(schema.get("required", ()))
    for name, raw in schema.get("properties", {}).items():
        yield from _field(_resolve(raw, root), root, (*path, name), name in required)


def _field(
    prop: dict[str, Any], root: dict[str, Any], path: tuple[str, ...], required: bool
) -> Iterator[Rule]:
    K = ViolationKind
    if required:
        yield Rule(K.MISSING, path, prop)
    yield Rule(K.TYPE, path, prop)
    pattern = prop.get("pattern")
    if "enum" in prop:
        yield Rule(K.ENUM, path, prop)
    if prop.get("format") == "uuid":
        yield Rule(K.UUID, path, prop)
    elif prop.get("format") == "date-time":
        yield Rule(K.DATE_TIME, path, prop)
    elif pattern in (types.REPLY_TO_PATTERN, types.PUBLISH_SUBJECT_PATTERN):
        yield Rule(K.SUBJECT, path, prop)
    elif pattern is not None:
        yield Rule(K.PATTERN, path, prop)
    if "maxLength" in prop:
        yield Rule(K.LENGTH, path, prop)
    for bound in ("minimum", "maximum"):
        if bound in prop:
            yield Rule(K.RANGE, path, prop, bound)
    if "properties" in prop:
        yield from _walk(prop, root, path)
    if "items" in prop:
        yield from _field(_resolve(prop["items"], root), root, (*path, "*"), False)
    values = prop.get("additionalProperties")
    if isinstance(values, dict) and "type" in _resolve(values, root):  # not any JSON value
        yield from _field(_resolve(values, root), root, (*path, "+"), False)


@functools.cache
def rules(model: type[BaseModel]) -> dict[ViolationKind, tuple[Rule, ...]]:
    """Every rule of ``model`` by kind, whole-payload kinds included."""
    schema = model.model_json_schema(by_alias=True)
    found: dict[ViolationKind, list[Rule]] = {}
    for rule in _walk(schema, schema, ()):
        found.setdefault(rule.kind, []).append(rule)
    for kind in _WHOLE:
        found[kind] = [Rule(kind, (), {})]
    return {kind: tuple(found[kind]) for kind in ViolationKind if kind in found}


@functools.cache
def size_limit(model_name: str) -> tuple[int, str]:
    """The size a payload of ``model_name`` must not exceed, and where that limit comes from."""
    from simulator.protocol import channels
    from simulator.protocol.models import MODELS
    from simulator.protocol.topology import default_topology

    topology = default_topology()
    best = (topology.max_payload, "the server's max_payload")
    for chan in channels.of_model(MODELS[model_name]):
        if chan.payload.__name__ != model_name or chan.stream is None:
            continue  # a reply goes to an inbox, stored by no stream
        size = topology.stream(chan.stream).max_msg_size
        if size is not None and 0 < size < best[0]:
            best = (
                size,
                f"max_msg_size of stream {chan.stream} (which stores {chan.template.pattern})",
            )
    return best
