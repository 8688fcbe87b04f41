"""Field types of the message models: the 12.2 wire rules plus ERRATA 12-14 (see ``models``)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    AllowInfNan,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from simulator.protocol._tokens import token_problem

__all__ = [
    "AGENT_ID_MAX_LENGTH",
    "AGENT_ID_PATTERN",
    "PUBLISH_SUBJECT_PATTERN",
    "REPLY_TO_PATTERN",
    "UUID_PATTERN",
    "AgentId",
    "Fraction",
    "Integer",
    "JsonObject",
    "NonNegativeInt",
    "NonNegativeNumber",
    "Number",
    "Omittable",
    "Percent",
    "PositiveInt",
    "Priority",
    "PublishSubject",
    "ReplyToSubject",
    "Text",
    "TextList",
    "Timestamp",
    "Uuid",
    "WireModel",
    "check_publish_subject",
]

_T = TypeVar("_T")

# Every pattern below is ECMA-262 (JSON Schema's dialect) and is run by pydantic-core's Rust
# engine; in both, `$` is the end of the string. Python's `re` (and so Python's jsonschema) also
# lets `$` match before a final "\n": that is ERRATA 13, and why the models check for themselves.
AGENT_ID_PATTERN = r"^[a-zA-Z0-9_-]+$"
"""12.2's agent id pattern, matched against the whole string (ERRATA 13)."""
AGENT_ID_MAX_LENGTH = 128
"""ERRATA 13: longer ids overflow the server's control line once they are put in subjects."""
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
"""A UUID in canonical 8-4-4-4-12 hex form, either case (ERRATA 12)."""
_SPEC_REPLY_TO_PATTERN = r"^[a-zA-Z0-9._-]+$"
REPLY_TO_PATTERN = r"^[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$"
"""12.2's reply_to character set, as non-empty tokens separated by '.' (ERRATA 14)."""
_TOKEN = r"[^.*>\s\x00-\x1f\x7f-\x9f]+"
PUBLISH_SUBJECT_PATTERN = rf"^{_TOKEN}(\.{_TOKEN})*$"
"""A NATS publish subject: non-empty tokens, no wildcards, whitespace or control characters."""

_UUID_RE = re.compile(UUID_PATTERN.replace("^", r"\A").replace("$", r"\Z"))
_OFFSET = r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
_LOCAL = (
    r"[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]+)?"
)
_RFC3339_RE = re.compile(rf"\A{_LOCAL}{_OFFSET}\Z")
_NAIVE_RE = re.compile(rf"\A{_LOCAL}\Z")


def _reject_null(value: object) -> object:
    """Refuse an explicit null: the schemas type every optional field, so leave it out instead."""
    if value is None:
        raise PydanticCustomError(
            "null_not_allowed", "must not be null: leave the optional field out instead"
        )
    return value


def _drop_null_branch(schema: dict[str, Any]) -> None:
    """State an optional field as its own type (no null branch, no null default)."""
    branches = schema.pop("anyOf", None)
    if isinstance(branches, list):
        kept = [branch for branch in branches if branch != {"type": "null"}]
        if len(kept) == 1 and isinstance(kept[0], dict):
            schema.update(kept[0])
        else:
            schema["anyOf"] = kept
    if "default" in schema and schema["default"] is None:
        del schema["default"]


def _check_uuid(value: str) -> str:
    """Accept only a real UUID in canonical 8-4-4-4-12 hex form (ERRATA 12)."""
    if _UUID_RE.match(value) is None:
        raise PydanticCustomError(
            "uuid_format",
            "must be a UUID in canonical 8-4-4-4-12 hex form, got {value}",
            {"value": repr(value)},
        )
    uuid.UUID(value)  # cannot fail once the pattern matched; kept as the reference check
    return value


def _check_rfc3339(value: object) -> object:
    """Accept a datetime object, or a string only in RFC 3339 form with an offset (ERRATA 12)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "date_time_type",
            "must be a string holding an RFC 3339 date-time, got {type}",
            {"type": type(value).__name__},
        )
    if _RFC3339_RE.match(value) is None:
        if _NAIVE_RE.match(value) is not None:
            raise PydanticCustomError(
                "date_time_format",
                "must be an RFC 3339 date-time with an offset (Z or +HH:MM): {value} is naive",
                {"value": repr(value)},
            )
        raise PydanticCustomError(
            "date_time_format",
            "must be an RFC 3339 date-time with an offset, e.g. 2024-01-01T12:00:00Z, got {value}",
            {"value": repr(value)},
        )
    return value


def check_publish_subject(value: str) -> str:
    """Return ``value`` if it is a valid NATS publish subject, else raise a rule-naming error."""

    def fail(reason: str) -> PydanticCustomError:
        return PydanticCustomError(
            "nats_publish_subject",
            "must be a valid NATS publish subject: {reason}",
            {"reason": reason},
        )

    if not value:
        raise fail("the subject is empty")
    for token in value.split("."):
        # 12.2 sets no length limit on these subjects: only the token rules apply.
        problem = token_problem(token, max_length=None)
        if problem is not None:
            raise fail(f"token {token!r} of {value!r} {problem}")
    return value


class WireModel(BaseModel):
    """Base of every message model: unknown fields are kept, wire names are accepted."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        regex_engine="rust-regex",
        # validators are built on first use, not at import: a process that handles one
        # message (the command hook) builds only the models it touches
        defer_build=True,
    )


Text = Annotated[str, Strict()]
"""A JSON string (numbers and booleans are rejected)."""
TextList = list[Text]
"""A JSON array of strings."""
Integer = Annotated[int, Strict()]
"""A JSON integer: strings, booleans and floats (5.0 included) are rejected."""
NonNegativeInt = Annotated[int, Strict(), Ge(0)]
PositiveInt = Annotated[int, Strict(), Ge(1)]
Priority = Annotated[int, Strict(), Ge(1), Le(10)]
Number = Annotated[float, Strict(), AllowInfNan(False)]
"""A JSON number (integers accepted): strings, booleans, NaN and infinities are rejected."""
NonNegativeNumber = Annotated[float, Strict(), AllowInfNan(False), Ge(0)]
Fraction = Annotated[float, Strict(), AllowInfNan(False), Ge(0.0), Le(1.0)]
Percent = Annotated[float, Strict(), AllowInfNan(False), Ge(0.0), Le(100.0)]
JsonObject = dict[str, JsonValue]
"""A JSON object with any JSON values."""

AgentId = Annotated[
    str,
    Strict(),
    StringConstraints(max_length=AGENT_ID_MAX_LENGTH, pattern=AGENT_ID_PATTERN),
]
"""An agent id: 12.2's pattern over the whole string, at most 128 characters (ERRATA 13)."""

Uuid = Annotated[
    str,
    Strict(),
    AfterValidator(_check_uuid),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_PATTERN}),
]
"""A UUID kept as the string given, in canonical 8-4-4-4-12 hex form (ERRATA 12)."""

Timestamp = Annotated[AwareDatetime, BeforeValidator(_check_rfc3339)]
"""An RFC 3339 date-time with an offset; naive times and unix numbers are rejected (ERRATA 12)."""

ReplyToSubject = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=_SPEC_REPLY_TO_PATTERN),
    AfterValidator(check_publish_subject),
    WithJsonSchema({"type": "string", "pattern": REPLY_TO_PATTERN}),
]
"""12.2's reply_to: its character set, and a valid publish subject (ERRATA 14)."""

PublishSubject = Annotated[
    str,
    Strict(),
    AfterValidator(check_publish_subject),
    WithJsonSchema({"type": "string", "pattern": PUBLISH_SUBJECT_PATTERN}),
]
"""A valid NATS publish subject (ERRATA 14: callback_subject)."""

Omittable = Annotated[
    _T | None,
    BeforeValidator(_reject_null),
    Field(json_schema_extra=_drop_null_branch),
]
"""An optional field: absent means None; an explicit null is rejected, as by the schemas."""
