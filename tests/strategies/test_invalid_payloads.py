"""Invalid payloads: each breaks exactly the one rule its Violation names."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from pydantic import BaseModel, ValidationError

from pytest_mistersmith._rules import rules, size_limit
from pytest_mistersmith.strategies import (
    Payload,
    Violation,
    ViolationKind,
    invalid_payloads,
    payloads,
)
from simulator.protocol import models as m
from simulator.protocol.models import MODELS
from simulator.protocol.topology import default_topology
from tests.corpus import FIELDS
from tests.examples import ini
from tests.protocol.test_models import RULE_ERRORS
from tests.protocol.test_schema_agreement import SPEC_FILES, spec_validator

K = ViolationKind
pytest_plugins = ["pytester"]
NAMES = sorted(MODELS)

#: The pydantic error types each kind of violation may produce, and no other: where the error
#: is says little if a "missing" field was sent as ``null`` (a type error at the same place).
KIND_ERRORS: dict[ViolationKind, frozenset[str]] = {
    K.MISSING: frozenset(RULE_ERRORS["required"]),
    # our models' closed vocabularies are Literals: pydantic says literal_error for both
    K.TYPE: frozenset(RULE_ERRORS["type"] | {"literal_error"}),
    K.ENUM: frozenset(RULE_ERRORS["enum"] | {"literal_error"}),
    K.PATTERN: frozenset(RULE_ERRORS["pattern"]),
    K.LENGTH: frozenset(RULE_ERRORS["maxLength"]),
    K.RANGE: frozenset(RULE_ERRORS["minimum"] | RULE_ERRORS["maximum"]),
    K.UUID: frozenset(RULE_ERRORS["format:uuid"]),
    K.DATE_TIME: frozenset(RULE_ERRORS["format:date-time"]),
    K.SUBJECT: frozenset(RULE_ERRORS["subject"]),
    K.NOT_JSON: frozenset({"json_invalid"}),
    K.NOT_UTF8: frozenset({"json_invalid"}),
    K.NOT_OBJECT: frozenset({"model_type"}),
    K.TOO_LARGE: frozenset(),  # valid but for its size: no error at all
}
FEW = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MANY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _errors(model: type[BaseModel], payload: bytes) -> list[Any]:
    try:
        model.model_validate_json(payload)
    except ValidationError as exc:
        return list(exc.errors())
    return []


def _check(name: str, payload: bytes, violation: Violation) -> None:
    """The model rejects the payload for exactly the named reason (or, too large, accepts it)."""
    model = MODELS[name]
    assert isinstance(payload, bytes)
    assert isinstance(violation, Violation)
    assert violation.description
    errors = _errors(model, payload)
    types = {error["type"] for error in errors}
    assert types <= KIND_ERRORS[violation.kind], (violation, errors)
    if violation.kind is K.TOO_LARGE:
        limit, _ = size_limit(name)
        assert len(payload) > limit
        assert errors == []  # too large is the only thing wrong with it
        return
    assert errors, f"{name} accepted {payload[:200]!r} ({violation})"
    if violation.kind.whole_payload:
        assert violation.field is None
        if violation.kind is K.NOT_UTF8:
            with pytest.raises(UnicodeDecodeError):
                payload.decode("utf-8")
        elif violation.kind is K.NOT_JSON:
            with pytest.raises(ValueError):
                json.loads(payload.decode("utf-8"))
        else:
            assert not isinstance(json.loads(payload), dict)
        return
    assert violation.field is not None
    assert isinstance(json.loads(payload), dict)
    for error in errors:  # every error is at the named field: exactly one violation
        assert tuple(error["loc"][: len(violation.loc)]) == violation.loc, (error, violation)
    if name in SPEC_FILES:  # the spec's own schema agrees, unless only an erratum decides
        spec_rejects = not spec_validator(name).is_valid(json.loads(payload))
        assert spec_rejects == (violation.errata is None), (payload[:300], violation)


@pytest.mark.parametrize("name", NAMES)
@MANY
@given(data=st.data())
def test_every_invalid_payload_breaks_exactly_the_named_rule(
    name: str, data: st.DataObject
) -> None:
    payload, violation = data.draw(invalid_payloads(MODELS[name]))
    _check(name, payload, violation)


CASES = [(name, kind) for name in NAMES for kind in rules(MODELS[name])]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[f"{n}-{k.value}" for n, k in CASES])
@FEW
@given(data=st.data())
def test_every_kind_of_every_model(name: str, kind: ViolationKind, data: st.DataObject) -> None:
    payload, violation = data.draw(invalid_payloads(MODELS[name], kinds=[kind]))
    assert violation.kind is kind
    _check(name, payload, violation)


@pytest.mark.parametrize("name", sorted(FIELDS))  # the corpus has the spec's messages
def test_the_rules_cover_every_field_of_the_corpus(name: str) -> None:
    found = {
        (".".join(rule.path), kind) for kind, found in rules(MODELS[name]).items() for rule in found
    }
    for dotted, field in FIELDS[name].items():
        assert (dotted, K.TYPE) in found, dotted
        assert ((dotted, K.MISSING) in found) == field.required, dotted
        expected = {
            "enum": [K.ENUM],
            "agent-id": [K.PATTERN, K.LENGTH],
            "uuid": [K.UUID],
            "date-time": [K.DATE_TIME],
            "reply-to": [K.SUBJECT],
            "subject": [K.SUBJECT],
        }.get(field.name, [])
        if field.minimum is not None or field.maximum is not None:
            expected.append(K.RANGE)
        for kind in expected:
            assert (dotted, kind) in found, (dotted, kind)
        if field.name in ("uuids", "strings"):
            assert (f"{dotted}.*", K.TYPE) in found


def test_every_kind_has_its_error_types() -> None:
    assert set(KIND_ERRORS) == set(ViolationKind)


@pytest.mark.parametrize("name", NAMES)
def test_every_message_has_the_whole_payload_kinds(name: str) -> None:
    kinds = set(rules(MODELS[name]))
    assert {K.NOT_JSON, K.NOT_OBJECT, K.NOT_UTF8, K.TOO_LARGE, K.MISSING, K.TYPE} <= kinds


MIB = 1024 * 1024


def test_size_limits_come_from_the_streams_that_store_each_message() -> None:
    topology = default_topology()
    stream = {s.name: s.max_msg_size for s in topology.streams}
    assert stream["task_lifecycle"] == 10 * MIB and stream["agent_events"] == MIB
    expected = {
        "TaskAssignment": stream["task_lifecycle"],
        "TaskResult": stream["task_lifecycle"],
        "TaskOutput": stream["task_lifecycle"],
        "AgentStatus": stream["agent_events"],
        "HookEvent": stream["claude_cli_integration"],
        "HookResponse": stream["claude_cli_integration"],
        "AgentEvent": stream["agent_events"],
        "SystemAlert": stream["system_monitoring"],
        "HealthReport": stream["system_monitoring"],
        "AuditRecord": stream["system_monitoring"],
        # stored by no stream: the server's max_payload (ERRATA 7)
        "AgentCommand": topology.max_payload,
        "CapabilityQuery": topology.max_payload,
        "CapabilityResponse": topology.max_payload,
        "CommandReply": topology.max_payload,  # a reply, to an inbox
        "AgentMetric": topology.max_payload,
        "AgentLog": topology.max_payload,
        "TaskCancel": topology.max_payload,
        "TaskEvent": topology.max_payload,
        "ControlMessage": topology.max_payload,
        "ConfigChange": topology.max_payload,
        "SystemMetrics": topology.max_payload,
        "SystemEvent": topology.max_payload,
        "HookTriggered": topology.max_payload,
        "ClaudeContext": stream["claude_cli_integration"],
        "WorkflowMessage": topology.max_payload,
    }
    assert {name: size_limit(name)[0] for name in NAMES} == expected
    assert "task_lifecycle" in size_limit("TaskResult")[1]


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invalid_payloads(m.AgentStatus, kinds=["too-large"]))
def test_too_large_payloads_are_just_over_the_limit(case: tuple[bytes, Violation]) -> None:
    payload, violation = case
    assert MIB < len(payload) <= MIB + 1024
    assert violation.field is None
    assert "agent_events" in violation.description


@MANY
@given(invalid_payloads(m.AgentStatus, kinds=[K.RANGE, "enum"]))
def test_kinds_narrow_the_rules(case: tuple[bytes, Violation]) -> None:
    _, violation = case
    assert violation.kind in (K.RANGE, K.ENUM)
    assert violation.field in (
        "status",
        "capacity",
        "current_tasks",
        "max_tasks",
        "uptime_seconds",
    ) or (str(violation.field).startswith("resource_usage."))


def test_violations_are_frozen_and_name_wire_paths() -> None:
    violation = Violation(K.RANGE, "resource_usage.cpu_percent", "too high")
    assert violation.loc == ("resource_usage", "cpu_percent")
    assert Violation(K.TYPE, "capabilities.0", "").loc == ("capabilities", 0)
    assert Violation(K.NOT_JSON, None, "").loc == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        violation.field = "x"  # type: ignore[misc]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="takes a message model"):
        invalid_payloads(m.ResourceUsage)
    with pytest.raises(InvalidArgument, match="unknown kind 'oversized'"):
        invalid_payloads(m.AgentStatus, kinds=["oversized"])
    with pytest.raises(InvalidArgument, match="no rule of kind 'subject' in AgentStatus"):
        invalid_payloads(m.AgentStatus, kinds=[K.SUBJECT])
    with pytest.raises(InvalidArgument, match="at least one kind"):
        invalid_payloads(m.AgentStatus, kinds=[])


# -- levels: the model's rules apart from the transport's ------------------------------------
@MANY
@given(invalid_payloads(m.TaskAssignment))
def test_by_default_the_model_rejects_every_invalid_payload(case: tuple[bytes, Violation]) -> None:
    """The natural property holds: too large (10 MiB the model accepts) is not drawn."""
    payload, violation = case
    assert violation.kind.level == "model"
    assert _errors(m.TaskAssignment, payload), violation


@FEW
@pytest.mark.parametrize("level", ["model", "transport"])
@pytest.mark.parametrize("name", NAMES)
@given(data=st.data())
def test_levels_split_the_kinds(
    name: str, level: Literal["model", "transport"], data: st.DataObject
) -> None:
    payload, violation = data.draw(invalid_payloads(MODELS[name], level=level))
    assert violation.kind.level == level
    assert (violation.kind is K.TOO_LARGE) == (level == "transport")
    _check(name, payload, violation)


def test_level_and_kinds_must_agree() -> None:
    with pytest.raises(
        InvalidArgument,
        match="kind 'too-large' is transport-level; pass level='transport' or 'all'",
    ):
        invalid_payloads(m.AgentStatus, kinds=["too-large"], level="model")
    with pytest.raises(InvalidArgument, match="choose 'model', 'transport' or 'all'"):
        invalid_payloads(m.AgentStatus, level="wire")  # type: ignore[arg-type]
    invalid_payloads(m.AgentStatus, kinds=["too-large"], level="all")  # accepted


# -- a large payload prints short ------------------------------------------------------------
@FEW
@given(invalid_payloads(m.TaskResult, level="transport"))
def test_a_large_payload_prints_its_size_head_and_tail(case: tuple[bytes, Violation]) -> None:
    payload, _ = case
    assert isinstance(payload, Payload) and len(payload) > 10 * 2**20
    shown = repr(payload)
    assert len(shown) < 300
    assert shown.startswith(f"Payload({len(payload)} bytes: b'{{\"")
    assert shown.endswith("xxx\"}')")
    assert payload == bytes(payload) and payload[:1] == b"{"


@FEW
@given(payloads(m.AgentStatus))
def test_a_valid_payload_prints_as_bytes_up_to_240_bytes(payload: bytes) -> None:
    assert isinstance(payload, Payload)
    if len(payload) <= 240:
        assert repr(payload) == repr(bytes(payload))
    else:
        assert repr(payload).startswith(f"Payload({len(payload)} bytes: b'{{")


def test_a_failing_property_on_a_large_payload_prints_it_short(pytester: pytest.Pytester) -> None:
    pytester.makeini(ini())
    pytester.makepyfile(
        test_rejects="""
from hypothesis import given, settings
from pytest_mistersmith.strategies import invalid_payloads
from simulator.protocol.models import TaskAssignment

@settings(max_examples=3, deadline=None, database=None)
@given(invalid_payloads(TaskAssignment, kinds=["too-large"]))
def test_the_model_rejects_it(case):
    payload, violation = case
    TaskAssignment.model_validate_json(payload)
    raise AssertionError("accepted")
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(["*case=(Payload(1048* bytes: b'{*' ... b'*xxx\"}'),*"])
    assert "HypothesisWarning" not in out
    assert max(len(line) for line in out.splitlines()) < 2000
    assert len(out) < 50_000
