"""The models agree with the spec's 12.2 schemas, and with their own exported schemas.

Every corpus document gets the same verdict from a JSON Schema validator as from the model,
except the named cases below, for which the schema must accept and the model reject (so a case
that stops diverging fails here and must be taken off the list).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from pydantic import ValidationError

from simulator.protocol.models import MODELS, SPEC, json_schemas
from simulator.protocol.models import types as _model_types
from tests.corpus import FIELDS, INVALID, VALID, Invalid, Valid

VENDORED = Path(__file__).resolve().parents[1] / "data" / "spec_schemas"
SPEC_FILES = {
    "AgentCommand": "agent_command.json",
    "AgentStatus": "agent_status.json",
    "TaskAssignment": "task_assignment.json",
    "TaskResult": "task_result.json",
}

# (rule, variant) of corpus documents the 12.2 schemas accept and the models reject.
ERRATA_CASES: dict[tuple[str, str], str] = {
    ("format:uuid", "trailing-brace"): "ERRATA 12: uuid.UUID() strips braces",
    ("format:uuid", "underscore"): "ERRATA 12: uuid.UUID() parses with int(), '_' allowed",
    ("format:date-time", "trailing-newline"): "ERRATA 12/13: rfc3339-validator's '$'",
    ("pattern", "trailing-newline"): "ERRATA 13: Python's '$' matches before a final newline",
    ("maxLength", "129-chars"): "ERRATA 13: agent ids are at most 128 characters",
    ("subject", "empty-token"): "ERRATA 14: reply_to 'a..b', callback_subject too",
    ("subject", "leading-dot"): "ERRATA 14: reply_to '.inbox', callback_subject too",
    ("subject", "trailing-dot"): "ERRATA 14: reply_to 'inbox.', callback_subject too",
    ("subject", "only-dot"): "ERRATA 14: reply_to '.'",
    ("subject", "empty"): "ERRATA 14: callback_subject has no pattern at all",
    ("subject", "wildcard-star"): "ERRATA 14: callback_subject 'tasks.*.result'",
    ("subject", "wildcard-gt"): "ERRATA 14: callback_subject 'tasks.>'",
    ("subject", "space"): "ERRATA 14: callback_subject with a space",
    ("subject", "tab"): "ERRATA 14: callback_subject with a tab",
    ("subject", "control"): "ERRATA 14: callback_subject with a NUL",
    ("subject", "trailing-newline"): "ERRATA 14: callback_subject ending in a newline",
}
# Not an erratum: jsonschema counts 5.0 as an integer; the models, like serde in the Rust
# framework that consumes these messages, want an integer literal.
DIVERGENCES: dict[tuple[str, str], str] = {
    ("type", "integer-as-float"): "5.0 for an integer field",
}
SPEC_EXCEPTIONS = {**ERRATA_CASES, **DIVERGENCES}

# The exported schemas state every rule, but Python's jsonschema reads `$` as Python's `re` does.
EXPORTED_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("pattern", "trailing-newline"): "Python's '$' (ECMA-262's rejects it)",
    ("subject", "trailing-newline"): "Python's '$' (ECMA-262's rejects it)",
    ("format:date-time", "trailing-newline"): "rfc3339-validator's '$'",
    **DIVERGENCES,
}

Case = Valid | Invalid


@functools.cache
def spec_schema(model: str) -> dict[str, Any]:
    """The vendored 12.2 schema of a model."""
    schema: dict[str, Any] = json.loads((VENDORED / SPEC_FILES[model]).read_text("utf-8"))
    return schema


def draft7_checker() -> FormatChecker:
    """Draft-07's format checks plus uuid (a later draft's) and date-time switched on."""
    return FormatChecker(formats=[*Draft7Validator.FORMAT_CHECKER.checkers, "uuid", "date-time"])


def key(case: Case) -> tuple[str, str]:
    """The (rule, variant) an exception list is keyed by; valid documents have none."""
    return (case.rule, case.variant) if isinstance(case, Invalid) else ("", "")


def model_accepts(case: Case) -> bool:
    """The model's verdict on the document as received from the wire."""
    try:
        MODELS[case.model].model_validate_json(json.dumps(case.doc))
    except ValidationError:
        return False
    return True


ALL_CASES: list[Case] = [*VALID, *INVALID]
SPEC_CASES: list[Case] = [case for case in ALL_CASES if case.model in SPEC_FILES]


def test_format_checker_checks_uuid_and_date_time() -> None:
    checker = draft7_checker()
    assert {"uuid", "date-time"} <= set(checker.checkers)
    assert checker.conforms("2024-05-01T12:00:00Z", "date-time")
    assert not checker.conforms("garbage", "date-time")
    assert not checker.conforms("2024-05-01T12:00:00", "date-time")  # naive: rejected too
    assert checker.conforms("3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f", "uuid")
    assert not checker.conforms("not-a-uuid", "uuid")


@functools.cache
def spec_validator(model: str) -> Draft7Validator:
    """A draft-07 validator of the model's 12.2 schema, format checks on."""
    return Draft7Validator(spec_schema(model), format_checker=draft7_checker())


@functools.cache
def exported_validator(model: str) -> Draft202012Validator:
    """A 2020-12 validator of the model's own schema, every format check on."""
    return Draft202012Validator(json_schemas()[model], format_checker=FormatChecker())


@pytest.mark.corpus
@pytest.mark.parametrize("case", SPEC_CASES, ids=lambda case: case.id)
def test_spec_schema_and_model_agree(case: Case) -> None:
    schema_accepts = spec_validator(case.model).is_valid(case.doc)
    if key(case) in SPEC_EXCEPTIONS:
        assert (schema_accepts, model_accepts(case)) == (True, False), SPEC_EXCEPTIONS[key(case)]
    else:
        assert schema_accepts == model_accepts(case)


@pytest.mark.corpus
@pytest.mark.parametrize("case", ALL_CASES, ids=lambda case: case.id)
def test_exported_schema_and_model_agree(case: Case) -> None:
    schema_accepts = exported_validator(case.model).is_valid(case.doc)
    if key(case) in EXPORTED_EXCEPTIONS:
        assert (schema_accepts, model_accepts(case)) == (True, False)
    else:
        assert schema_accepts == model_accepts(case)


@pytest.mark.parametrize(
    ("exceptions", "cases"),
    [(SPEC_EXCEPTIONS, SPEC_CASES), (EXPORTED_EXCEPTIONS, ALL_CASES)],
    ids=["spec", "exported"],
)
def test_every_exception_names_corpus_documents(
    exceptions: dict[tuple[str, str], str], cases: list[Case]
) -> None:
    keys = {key(case) for case in cases}
    assert set(exceptions) <= keys


def _walk(schema: dict[str, Any], path: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """Every (path, rule) a schema states; array items are at path element '*'."""
    found = [(path, f"format:{schema['format']}" if k == "format" else k) for k in schema]
    found = [(p, rule) for p, rule in found if rule not in ("$schema", "properties", "items")]
    found += [((*path, name), "required") for name in schema.get("required", [])]
    found = [(p, rule) for p, rule in found if rule != "required" or p != path]
    for name, sub in schema.get("properties", {}).items():
        found += _walk(sub, (*path, name))
    if "items" in schema:
        found += _walk(schema["items"], (*path, "*"))
    return found


@pytest.mark.parametrize("model", SPEC_FILES)
def test_corpus_breaks_every_rule_of_the_spec_schema(model: str) -> None:
    broken = {
        (tuple("*" if isinstance(part, int) else part for part in case.path), case.rule)
        for case in INVALID
        if case.model == model
    }
    missing = [rule for rule in _walk(spec_schema(model), ()) if rule not in broken]
    assert missing == []


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
        return resolved
    return schema


STRICTER_PATTERNS = {("reply_to",): _model_types.REPLY_TO_PATTERN}  # ERRATA 14


def _compare(
    spec: dict[str, Any], ours: dict[str, Any], root: dict[str, Any], path: tuple[str, ...]
) -> list[str]:
    """Where ``ours`` fails to state a keyword of ``spec`` with the same value."""
    ours = _resolve(ours, root)
    problems: list[str] = []
    for keyword, value in spec.items():
        if keyword == "$schema":
            continue
        if keyword == "properties":
            theirs = ours.get("properties", {})
            if set(value) != set(theirs):
                problems.append(f"{path}: properties {sorted(value)} != {sorted(theirs)}")
            for name in set(value) & set(theirs):
                problems += _compare(value[name], theirs[name], root, (*path, name))
        elif keyword == "items":
            problems += _compare(value, ours.get("items", {}), root, (*path, "*"))
        elif keyword == "required":
            if sorted(value) != sorted(ours.get("required", [])):
                problems.append(f"{path}: required {value} != {ours.get('required')}")
        elif keyword == "pattern" and path in STRICTER_PATTERNS:
            if ours.get("pattern") != STRICTER_PATTERNS[path]:
                problems.append(f"{path}: pattern {ours.get('pattern')!r}")
        elif ours.get(keyword) != value:
            problems.append(f"{path}: {keyword} {value!r} != {ours.get(keyword)!r}")
    return problems


@pytest.mark.parametrize("model", SPEC_FILES)
def test_model_schema_states_every_rule_of_the_spec_schema(model: str) -> None:
    ours = json_schemas()[model]
    assert _compare(spec_schema(model), ours, ours, ()) == []


def test_corpus_fields_are_the_model_fields() -> None:
    for name, model in ((m.__name__, m) for m in SPEC):
        top = {dotted for dotted in FIELDS[name] if "." not in dotted}
        assert top == set(model.model_json_schema(by_alias=True)["properties"]), name
