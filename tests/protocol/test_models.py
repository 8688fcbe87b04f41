"""The message models: the corpus, wire names, round trips, schemas and the public surface."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from simulator.protocol import models
from simulator.protocol.models import (
    MODELS,
    OURS,
    SPEC,
    AgentCommand,
    AgentStatus,
    CapabilityQuery,
    CapabilityResponse,
    HookDecision,
    HookResponse,
    HookType,
    ResultNotification,
    StatusUpdate,
    TaskAssignment,
    TaskResult,
    TaskType,
    export_schemas,
    json_schemas,
)
from simulator.protocol.models import types as _model_types
from tests.corpus import INVALID, VALID, Invalid, Valid
from tests.pins import assert_pinned

# The pydantic error types that may report each rule of the corpus.
RULE_ERRORS: dict[str, set[str]] = {
    "required": {"missing"},
    "type": {
        "bool_type",
        "enum",  # pydantic's word for a non-string (or null) given to an enum field
        "date_time_type",
        "dict_type",
        "float_type",
        "int_type",
        "list_type",
        "model_type",
        "null_not_allowed",
        "string_type",
    },
    "enum": {"enum"},
    "pattern": {"string_pattern_mismatch"},
    "maxLength": {"string_too_long"},
    "minimum": {"greater_than_equal"},
    "maximum": {"less_than_equal"},
    "format:uuid": {"uuid_format"},
    "format:date-time": {"date_time_format", "datetime_from_date_parsing"},
    "subject": {"nats_publish_subject"},
}

UUID = "3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f"
NOW = "2024-05-01T12:00:00Z"


def model_of(name: str) -> type[BaseModel]:
    """The model class a corpus case is about."""
    return MODELS[name]


@pytest.mark.corpus
@pytest.mark.parametrize("case", VALID, ids=lambda case: case.id)
def test_valid_document_validates_and_round_trips(case: Valid) -> None:
    model = model_of(case.model)
    message = model.model_validate_json(json.dumps(case.doc))
    assert model.model_validate(case.doc) == message
    wire = message.model_dump_json(by_alias=True, exclude_none=True)
    assert model.model_validate_json(wire) == message
    if case.canonical:
        assert json.loads(wire) == case.doc


@pytest.mark.corpus
@pytest.mark.parametrize("mode", ["json", "python"])
@pytest.mark.parametrize("case", INVALID, ids=lambda case: case.id)
def test_invalid_document_is_rejected_at_its_path(case: Invalid, mode: str) -> None:
    model = model_of(case.model)
    with pytest.raises(ValidationError) as caught:
        if mode == "json":
            model.model_validate_json(json.dumps(case.doc))
        else:
            model.model_validate(case.doc)
    errors = caught.value.errors()
    expected = RULE_ERRORS[case.rule]
    assert any(
        tuple(error["loc"][: len(case.path)]) == case.path and error["type"] in expected
        for error in errors
    ), f"no {sorted(expected)} error at {case.path}: {errors}"


def test_corpus_covers_every_spec_message_and_rule() -> None:
    """The corpus holds the spec's messages; ours are covered by the strategies' tests."""
    spec = {model.__name__ for model in SPEC}
    assert {case.model for case in VALID} == spec
    assert {case.model for case in INVALID} == spec
    assert {case.rule for case in INVALID} == set(RULE_ERRORS)


def test_custom_errors_name_the_rule() -> None:
    doc = {"command_id": UUID, "command_type": "stop", "agent_id": "a", "timestamp": NOW}
    with pytest.raises(ValidationError) as caught:
        AgentCommand.model_validate({**doc, "reply_to": "a..b"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("reply_to",)
    assert error["msg"] == "must be a valid NATS publish subject: token '' of 'a..b' is empty"
    with pytest.raises(ValidationError, match="canonical 8-4-4-4-12 hex form"):
        AgentCommand.model_validate({**doc, "command_id": UUID + "}"})
    with pytest.raises(ValidationError, match="is naive"):
        AgentCommand.model_validate({**doc, "timestamp": "2024-05-01T12:00:00"})
    with pytest.raises(ValidationError, match="must not be null"):
        AgentCommand.model_validate({**doc, "payload": None})


@pytest.mark.parametrize("value", ["agent-1\n", "agent-1\r", "\nagent-1"])
def test_patterns_match_the_whole_string(value: str) -> None:
    doc = {"agent_id": value, "status": "idle", "timestamp": NOW}
    with pytest.raises(ValidationError) as caught:
        AgentStatus.model_validate(doc)
    assert caught.value.errors()[0]["type"] == "string_pattern_mismatch"


def test_timestamps_are_aware_datetimes_written_as_rfc3339() -> None:
    doc = {"agent_id": "a", "status": "idle", "timestamp": "2024-05-01T14:00:00+02:00"}
    status = AgentStatus.model_validate(doc)
    assert status.timestamp == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert status.timestamp.utcoffset() == timedelta(hours=2)
    assert json.loads(status.model_dump_json())["timestamp"] == "2024-05-01T14:00:00+02:00"
    made = AgentStatus.model_validate(
        {**doc, "timestamp": datetime(2024, 5, 1, tzinfo=timezone.utc)}
    )
    assert json.loads(made.model_dump_json())["timestamp"] == "2024-05-01T00:00:00Z"
    with pytest.raises(ValidationError, match="timezone"):
        AgentStatus.model_validate({**doc, "timestamp": datetime(2024, 5, 1)})


def test_continue_alias_works_both_ways() -> None:
    by_wire = HookResponse.model_validate_json('{"decision": "block", "continue": false}')
    by_name = HookResponse(decision=HookDecision.BLOCK, continue_=False)
    assert by_wire == by_name
    assert by_wire.continue_ is False
    wire = json.loads(by_name.model_dump_json(by_alias=True, exclude_none=True))
    assert wire == {"decision": "block", "continue": False}
    assert HookResponse.model_validate({"decision": "approve"}).continue_ is True
    properties = HookResponse.model_json_schema(by_alias=True)["properties"]
    assert "continue" in properties
    assert "continue_" not in properties


@pytest.mark.parametrize(
    ("decision", "keep_going", "stops_agent", "blocks_task", "runs"),
    [
        ("approve", True, False, False, True),
        ("continue", True, False, False, True),
        ("block", True, False, True, False),
        ("continue", False, True, False, False),
        ("approve", False, True, False, False),
        ("block", False, True, True, False),
    ],
)
def test_hook_response_outcome(
    decision: str, keep_going: bool, stops_agent: bool, blocks_task: bool, runs: bool
) -> None:
    response = HookResponse.model_validate({"decision": decision, "continue": keep_going})
    assert (response.stops_agent, response.blocks_task) == (stops_agent, blocks_task)
    assert response.lets_task_run is runs


def test_unknown_fields_are_kept() -> None:
    full = next(case.doc for case in VALID if case.id == "AgentCommand:full")
    command = AgentCommand.model_validate(full)
    assert command.model_extra == {"x_extension": {"kept": True}}
    assert command.metadata is not None
    assert command.metadata.model_extra == {"x_region": "eu"}


def test_2_4_names_are_aliases() -> None:
    assert StatusUpdate is AgentStatus
    assert ResultNotification is TaskResult


def test_models_registry() -> None:
    assert list(MODELS) == [
        "HookEvent",
        "HookResponse",
        "TaskOutput",
        "AgentCommand",
        "AgentStatus",
        "TaskAssignment",
        "TaskResult",
        "CapabilityQuery",
        "CapabilityResponse",
        *(model.__name__ for model in OURS),
    ]
    assert len(MODELS) == 25
    assert all(model.__name__ == name for name, model in MODELS.items())


def test_our_models_say_they_are_ours_and_the_spec_messages_do_not() -> None:
    for model in OURS:
        assert model.model_json_schema()["description"].startswith("Ours"), model
    for model in (m for m in SPEC if m not in (CapabilityQuery, CapabilityResponse)):
        assert "Ours" not in (model.__doc__ or ""), model
    for model in (CapabilityQuery, CapabilityResponse):  # 2.4 gives an outline, no schema
        assert model.__doc__ is not None and model.__doc__.startswith("Ours, after 2.4")


def test_enum_values_follow_the_spec() -> None:
    assert [t.value for t in HookType] == [
        "startup",
        "pre_task",
        "post_task",
        "on_error",
        "on_file_change",
    ]
    assert [t.value for t in TaskType] == [
        "analysis",
        "synthesis",
        "execution",
        "validation",
        "monitoring",
    ]
    assert f"{HookType.PRE_TASK}" == str(HookType.PRE_TASK) == "pre_task"
    assert TaskType("analysis") is TaskType.ANALYSIS


def _property(schema: dict[str, Any], name: str) -> dict[str, Any]:
    prop: dict[str, Any] = schema["properties"][name]
    return prop


def test_schemas_state_the_errata_rules() -> None:
    schemas = json_schemas()
    status = schemas["AgentStatus"]
    assert _property(status, "agent_id")["maxLength"] == 128
    assert _property(status, "agent_id")["pattern"] == "^[a-zA-Z0-9_-]+$"
    command = schemas["AgentCommand"]
    assert _property(command, "reply_to")["pattern"] == _model_types.REPLY_TO_PATTERN
    assert _property(command, "command_id")["format"] == "uuid"
    assert _property(command, "command_id")["pattern"] == _model_types.UUID_PATTERN
    assert _property(command, "timestamp")["format"] == "date-time"
    assignment = schemas["TaskAssignment"]
    callback = _property(assignment, "callback_subject")
    assert callback["pattern"] == _model_types.PUBLISH_SUBJECT_PATTERN
    assert "null" not in json.dumps(assignment)  # no optional field admits null


def test_json_schemas_are_the_models_schemas() -> None:
    for name, schema in json_schemas().items():
        assert schema.pop("$schema") == models.JSON_SCHEMA_DIALECT
        assert schema == MODELS[name].model_json_schema(by_alias=True)


def test_export_schemas_writes_valid_json_schemas(tmp_path: Path) -> None:
    target = tmp_path / "out" / "schemas"
    paths = export_schemas(target)
    assert [path.name for path in paths] == [f"{name}.schema.json" for name in MODELS]
    assert sorted(target.iterdir()) == sorted(paths)
    for path in paths:
        text = path.read_text(encoding="utf-8")
        schema = json.loads(text)
        assert text == json.dumps(schema, indent=2, sort_keys=True) + "\n"
        Draft202012Validator.check_schema(schema)
        assert schema == json_schemas()[path.name.removesuffix(".schema.json")]


@given(st.text(alphabet="ab._-*> \t\n\x00\x85\u00a0é", max_size=12))
def test_subject_check_agrees_with_the_schema_patterns(value: str) -> None:
    try:
        _model_types.check_publish_subject(value)
        valid = True
    except ValueError:
        valid = False
    assert valid == bool(re.fullmatch(_model_types.PUBLISH_SUBJECT_PATTERN, value))
    doc = {"command_id": UUID, "command_type": "stop", "agent_id": "a", "timestamp": NOW}
    try:
        AgentCommand.model_validate({**doc, "reply_to": value})
        reply_valid = True
    except ValidationError:
        reply_valid = False
    assert reply_valid == bool(re.fullmatch(_model_types.REPLY_TO_PATTERN, value))


def test_task_assignment_accepts_enum_members() -> None:
    made = TaskAssignment(
        task_id=UUID,
        task_type=TaskType.SYNTHESIS,
        assigned_agent="agent-1",
        timestamp=datetime(2024, 5, 1, tzinfo=timezone.utc),
    )
    assert json.loads(made.model_dump_json(by_alias=True, exclude_none=True)) == {
        "task_id": UUID,
        "task_type": "synthesis",
        "assigned_agent": "agent-1",
        "timestamp": "2024-05-01T00:00:00Z",
    }


def test_public_surface_is_pinned() -> None:
    assert_pinned(
        models,
        """
        JSON_SCHEMA_DIALECT MODELS NESTED OURS SPEC AgentCommand AgentEvent AgentLog
        AgentMetric AgentState AgentStatus AuditRecord Availability CapabilityQuery
        CapabilityResponse ClaudeContext ClaudeContextType CommandMetadata CommandReply
        CommandType ConfigChange
        ControlMessage ErrorDetails ExecutionMetrics HealthReport HealthStatus HookDecision
        HookEvent HookResponse HookTriggered HookType OutputStatus ResourceRequirements
        ResourceUsage ResultNotification SessionInfo Severity StatusUpdate SystemAlert
        SystemEvent SystemMetrics TaskAssignment TaskCancel TaskEvent TaskInfo TaskInfoType
        TaskOutput TaskRequirements TaskResult TaskStatus TaskType WireModel WorkflowKind
        WorkflowMessage export_schemas json_schemas make problem
        """,
    )
