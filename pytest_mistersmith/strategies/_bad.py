"""Bad values and bad payloads, each breaking one rule, for the invalid payloads (private).

Values are chosen from mistakes real producers make (a unix time for a date-time, a percent for
a fraction, seconds for milliseconds, a double-encoded JSON object, Latin-1 text) and so that
the spec's 12.2 schema with format checks rejects them too, unless an erratum is named.
"""

from __future__ import annotations

import json
import uuid
from random import Random
from typing import Any

from pytest_mistersmith.strategies._values import AGENT_ID_CHARS, ROLES

__all__ = ["bad_value", "not_json", "not_object", "not_utf8", "padded", "wrong_type"]

_WRONG: dict[str, tuple[Any, ...]] = {
    "string": (42, 3.5, True, None, ["text"], {"value": "text"}),
    "integer": ("5", 2.5, True, None, [3], {"value": 3}),
    "number": ("0.5", True, None, [0.5], {"value": 0.5}),
    "boolean": ("false", 0, 1, None),
    "object": ('{"key": "value"}', ["key", "value"], 1, None, True),
    "array": ("python,rust", {"0": "python"}, 1, None),
}
_NOT_SCALAR = (True, None, [1], {"value": 1})
_NEAR_MISSES = ("unknown", "", "pending", "active", "ok", "done", "paused", "ready", "running")
_PATTERN_BREAKERS = (" ", ".", "*", ">", "/", "@", ":", "#", "+", "!", "\u00e9", "\t")
_REPLY_TO_SUBJECTS = ("_INBOX..{n}", ".inbox{n}", "_INBOX.{n}.", ".", "tasks..result")
_PUBLISH_SUBJECTS = (
    *_REPLY_TO_SUBJECTS,
    "tasks.*.result",
    "tasks.>",
    "tasks.{n} result",
    "",
    "tasks.\t{n}",
    "tasks.{n}\u0000",
    "tasks.{n}\n",
)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _expected(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " or ".join(str(branch.get("type")) for branch in schema["anyOf"])
    return str(schema.get("type"))


def wrong_type(rng: Random, schema: dict[str, Any]) -> tuple[Any, str]:
    """A value of another JSON type than ``schema`` wants, and what is wrong with it."""
    kind = schema.get("type")
    if "anyOf" in schema:
        pool: tuple[Any, ...] = _NOT_SCALAR
    elif schema.get("format") == "date-time":
        pool = (1714564800, 1714564800.25, None)  # unix time
    elif schema.get("format") == "uuid":
        pool = (12345, None, ["3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f"])
    elif "enum" in schema:
        pool = (2, None, True, list(schema["enum"][:1]))  # an index, a list
    else:
        pool = _WRONG[str(kind)]
    value = rng.choice(pool)
    return value, f"{json.dumps(value)} is {_json_type(value)}, expected {_expected(schema)}"


def _agent_id(rng: Random) -> str:
    return f"{rng.choice(ROLES)}-{rng.randrange(1, 100)}"


def _uuid(rng: Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _enum(rng: Random, schema: dict[str, Any]) -> tuple[Any, str, int | None]:
    allowed = [str(item) for item in schema["enum"]]
    value = rng.choice(allowed)
    candidates = [value.upper(), value.capitalize(), f"{value}_", *_NEAR_MISSES]
    bad = rng.choice([c for c in candidates if c not in allowed])
    return bad, f"{bad!r} is not one of {allowed}", None


def _pattern(rng: Random, schema: dict[str, Any]) -> tuple[Any, str, int | None]:
    if rng.random() < 0.1:
        value = ""
    else:
        good = _agent_id(rng)
        at = rng.randrange(len(good) + 1)
        value = good[:at] + rng.choice(_PATTERN_BREAKERS) + good[at:]
    return value, f"{value!r} does not match {schema['pattern']}", None


def _length(rng: Random, schema: dict[str, Any]) -> tuple[Any, str, int | None]:
    most = int(schema["maxLength"])
    value = "".join(rng.choices(AGENT_ID_CHARS, k=rng.randint(most + 1, 2 * most)))
    return value, f"{len(value)} characters, more than {most} (ERRATA 13)", 13


def _range(rng: Random, schema: dict[str, Any], bound: str) -> tuple[Any, str, int | None]:
    limit = schema[bound]
    integer = schema.get("type") == "integer"
    if integer:
        step = rng.choice((1, 1, rng.randint(2, 1000)))
        value: float = int(limit) - step if bound == "minimum" else int(limit) + step
        if bound == "minimum" and limit >= 1000 and rng.random() < 0.5:
            value = rng.choice((30, 60, 300))  # seconds where milliseconds are wanted
    else:
        step_f = rng.choice((0.01, 0.5, 1.0, float(rng.randint(2, 1000))))
        value = float(limit) - step_f if bound == "minimum" else float(limit) + step_f
        if bound == "maximum" and limit == 1.0 and rng.random() < 0.5:
            value = float(rng.randint(2, 100))  # a percent where a fraction is wanted
    word = "below the minimum" if bound == "minimum" else "above the maximum"
    return value, f"{value!r} is {word} {limit!r}", None


def _bad_uuid(rng: Random) -> tuple[Any, str, int | None]:
    good = _uuid(rng)
    variants = (
        good[:-1],
        good.replace("-", ""),
        f"{good[:-1]}g",
        f"{good}0",
        "not-a-uuid",
        "",
        f"task-{rng.randrange(1, 10000)}",
    )
    value = rng.choice(variants)
    return value, f"{value!r} is not a UUID in canonical 8-4-4-4-12 form", None


def _bad_date_time(rng: Random) -> tuple[Any, str, int | None]:
    y, mo, d = rng.randint(2024, 2026), rng.randint(1, 12), rng.randint(1, 28)
    h, mi, s = rng.randrange(24), rng.randrange(60), rng.randrange(60)
    date = f"{y:04d}-{mo:02d}-{d:02d}"
    clock = f"{h:02d}:{mi:02d}:{s:02d}"
    variants = (
        f"{date}T{clock}",  # naive
        date,
        f"{date} {clock}Z",
        f"{date}T{h:02d}:{mi:02d}Z",
        str(1714564800 + rng.randrange(10**7)),
        f"{y:04d}-13-{d:02d}T{clock}Z",
        f"{y:04d}-02-30T{clock}Z",
        f"{date}T24:{mi:02d}:{s:02d}Z",
        f"{date}T{clock}+0200",
        "Wed, 01 May 2024 12:00:00 GMT",
    )
    value = rng.choice(variants)
    return value, f"{value!r} is not an RFC 3339 date-time with an offset", None


def _subject(rng: Random, schema: dict[str, Any]) -> tuple[Any, str, int | None]:
    from simulator.protocol.models.types import REPLY_TO_PATTERN

    pool = _REPLY_TO_SUBJECTS if schema.get("pattern") == REPLY_TO_PATTERN else _PUBLISH_SUBJECTS
    value = rng.choice(pool).format(n=rng.randrange(1, 1000))
    return value, f"{value!r} is not a valid NATS publish subject (ERRATA 14)", 14


def bad_value(
    rng: Random, kind: str, schema: dict[str, Any], bound: str
) -> tuple[Any, str, int | None]:
    """A value of the right JSON type breaking the rule ``kind``; what is wrong; the erratum."""
    if kind == "enum":
        return _enum(rng, schema)
    if kind == "pattern":
        return _pattern(rng, schema)
    if kind == "length":
        return _length(rng, schema)
    if kind == "range":
        return _range(rng, schema, bound)
    if kind == "uuid":
        return _bad_uuid(rng)
    if kind == "date-time":
        return _bad_date_time(rng)
    if kind == "subject":
        return _subject(rng, schema)
    raise ValueError(f"no bad values for rule kind {kind!r}")


def not_json(rng: Random, valid: bytes, doc: dict[str, Any]) -> tuple[bytes, str]:
    """Text that is valid UTF-8 but not JSON."""
    text = valid.decode("utf-8")
    choice = rng.randrange(7)
    if choice == 0:
        cut = rng.randrange(len(text))
        return text[:cut].encode("utf-8"), f"JSON cut off after {cut} of {len(text)} characters"
    if choice == 1:
        return f"{text[:-1]},}}".encode(), "a trailing comma"
    if choice == 2:
        return repr(doc).encode("utf-8"), "a Python repr (single quotes), not JSON"
    if choice == 3:
        return b"", "an empty payload"
    if choice == 4:
        return b"OK", "plain text"
    if choice == 5:
        return f"// status\n{text}".encode(), "JSON with a comment"
    return (text + text).encode("utf-8"), "two JSON documents, one after the other"


def not_object(rng: Random, valid: bytes) -> tuple[bytes, str]:
    """Valid JSON whose top level is not an object."""
    text = valid.decode("utf-8")
    variants = (
        (f"[{text}]", "an array holding the message"),
        (json.dumps(text), "the message JSON-encoded twice (a string)"),
        ("null", "null"),
        ("42", "a number"),
        ('"ok"', "a string"),
        ("[]", "an empty array"),
    )
    payload, what = rng.choice(variants)
    return payload.encode("utf-8"), f"JSON but not an object: {what}"


def not_utf8(rng: Random, valid: bytes) -> tuple[bytes, str]:
    """The valid payload with bytes that are not UTF-8 (a lenient decoder would accept it)."""
    variants = (
        (b"caf\xe9 cr\xe8me", "Latin-1 text"),
        (b"\xff", "the byte 0xff"),
        (b"\xe2\x82", "a truncated multi-byte sequence"),
        (b"\xc0\xaf", "an overlong encoding"),
        (b"\xed\xa0\x80", "an encoded surrogate"),
    )
    if rng.random() < 0.15:
        return valid.decode("utf-8").encode("utf-16"), "UTF-16 with a byte order mark"
    raw, what = rng.choice(variants)
    return valid[:-1] + b',"note":"' + raw + b'"}', f"not UTF-8: {what} in field note"


def padded(valid: bytes, size: int) -> bytes:
    """The valid payload grown to exactly ``size`` bytes by a ``padding`` string field."""
    head, tail = valid[:-1] + b',"padding":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail
