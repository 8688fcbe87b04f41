"""The hypothesis strategies: valid by construction, overridable, replayable, shrinking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from typing import Any

import pytest
from faker.generator import random as faker_shared_random
from hypothesis import HealthCheck, Phase, find, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from jsonschema import Draft202012Validator, FormatChecker
from pydantic import BaseModel

from pytest_mistersmith import strategies
from pytest_mistersmith._hypothesis_entry import _hypothesis_setup_hook
from pytest_mistersmith.strategies import messages, payloads, subjects
from pytest_mistersmith.strategies._models import ALL_MODELS
from simulator.protocol import models as m
from simulator.protocol.models import MODELS, json_schemas
from simulator.protocol.subjects import TEMPLATES, Template, parse, template
from tests.pins import assert_pinned
from tests.protocol.test_schema_agreement import SPEC_FILES, spec_validator

QUICK = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEARCH = settings(database=None, max_examples=2000, phases=[Phase.generate, Phase.shrink])


def _ids(model: type[BaseModel]) -> str:
    return model.__name__


def _doc(payload: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(payload)
    return doc


def _required(model: type[BaseModel]) -> set[str]:
    return {
        info.validation_alias if isinstance(info.validation_alias, str) else name
        for name, info in model.model_fields.items()
        if info.is_required()
    }


def test_public_surface_is_pinned() -> None:
    assert_pinned(
        strategies,
        """
        Level Payload Violation ViolationKind invalid_payloads messages payloads subjects
        """,
    )


def test_every_model_of_the_protocol_has_a_strategy() -> None:
    nested = {
        value
        for value in vars(m).values()
        if isinstance(value, type) and issubclass(value, m.WireModel) and value is not m.WireModel
    }
    assert set(ALL_MODELS) == nested
    assert set(MODELS.values()) <= set(ALL_MODELS)


# --- valid by construction ---------------------------------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS, ids=_ids)
@QUICK
@given(data=st.data())
def test_every_example_validates_and_round_trips(
    model: type[BaseModel], data: st.DataObject
) -> None:
    instance = data.draw(messages(model))
    assert type(instance) is model
    wire = instance.model_dump_json(by_alias=True, exclude_none=True)
    assert model.model_validate_json(wire) == instance
    assert model.model_validate_json(wire).model_dump_json(by_alias=True, exclude_none=True) == wire


@pytest.mark.parametrize("name", sorted(MODELS))
@QUICK
@given(data=st.data())
def test_payloads_are_the_wire_form_and_satisfy_the_exported_schema(
    name: str, data: st.DataObject
) -> None:
    model = MODELS[name]
    payload = data.draw(payloads(model))
    assert isinstance(payload, bytes)
    instance = model.model_validate_json(payload)
    assert instance.model_dump_json(by_alias=True, exclude_none=True).encode() == payload
    validator = Draft202012Validator(json_schemas()[name], format_checker=FormatChecker())
    assert list(validator.iter_errors(_doc(payload))) == []


@pytest.mark.parametrize("name", sorted(SPEC_FILES))
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_12_2_payloads_satisfy_the_spec_schema_with_format_checks(
    name: str, data: st.DataObject
) -> None:
    doc = _doc(data.draw(payloads(MODELS[name])))
    assert [e.message for e in spec_validator(name).iter_errors(doc)] == []


@QUICK
@given(
    event=messages(m.HookEvent),
    status=messages(m.AgentStatus),
    offer=messages(m.CapabilityResponse),
    result=messages(m.TaskResult),
)
def test_related_fields_are_coherent(
    event: m.HookEvent,
    status: m.AgentStatus,
    offer: m.CapabilityResponse,
    result: m.TaskResult,
) -> None:
    assert event.session_info.agent_id == event.agent_id
    assert event.session_info.start_time <= event.timestamp
    if event.tool_input is not None and event.tool_name == "Bash":
        assert isinstance(event.tool_input["command"], str)
    if event.tool_input is not None and event.tool_name in ("Read", "Write", "Edit"):
        assert str(event.tool_input["file_path"]).startswith("/")
    if status.current_tasks is not None and status.max_tasks is not None:
        assert status.current_tasks <= status.max_tasks
    if status.last_heartbeat is not None:
        assert status.last_heartbeat <= status.timestamp
    load = offer.availability
    if load.current_tasks is not None and load.max_tasks is not None:
        assert load.current_tasks <= load.max_tasks
    details = result.error_details
    if details is not None and details.error_code and details.error_message:
        assert details.error_code.startswith("E_")


@QUICK
@given(task=messages(m.TaskAssignment))
def test_task_assignment_values_look_real(task: m.TaskAssignment) -> None:
    if task.deadline is not None:
        assert task.deadline > task.timestamp
    if task.callback_subject is not None:
        assert parse(task.callback_subject).name in ("task_result", "agent_events")
    assert isinstance(task.timestamp, datetime)
    assert 2024 <= task.timestamp.year <= 2027


def test_optional_fields_are_each_present_about_half_the_time() -> None:
    counts = dict.fromkeys(("capacity", "max_tasks", "resource_usage"), 0)
    total = 0

    @settings(max_examples=400, database=None, deadline=None, derandomize=True)
    @given(messages(m.AgentStatus))
    def count(status: m.AgentStatus) -> None:
        nonlocal total
        total += 1
        for name in counts:
            counts[name] += getattr(status, name) is not None

    count()
    assert all(0.25 * total < seen < 0.75 * total for seen in counts.values()), counts


# --- overrides ---------------------------------------------------------------------------------


@QUICK
@given(payloads(m.AgentStatus, status=st.just("busy"), capacity=st.none()))
def test_overrides_replace_top_level_fields(payload: bytes) -> None:
    doc = _doc(payload)
    assert doc["status"] == "busy"
    assert "capacity" not in doc


@QUICK
@given(messages(m.HookResponse, **{"continue": st.just(False)}), messages(m.HookResponse))
def test_an_override_may_use_the_wire_name(stopped: m.HookResponse, any_: m.HookResponse) -> None:
    assert stopped.stops_agent
    assert stopped.stop_reason is None or isinstance(stopped.stop_reason, str)
    assert isinstance(any_.continue_, bool)


@QUICK
@given(messages(m.HookEvent, agent_id=st.just("coder-1"), hook_type=st.just(m.HookType.STARTUP)))
def test_derived_fields_follow_overrides(event: m.HookEvent) -> None:
    assert event.session_info.agent_id == "coder-1"
    assert event.tool_name is None


def test_unknown_override_is_refused_naming_the_field_and_the_valid_ones() -> None:
    with pytest.raises(InvalidArgument, match=r"no field 'capcity'.*capacity.*status"):
        messages(m.AgentStatus, capcity=st.just(0.5))
    with pytest.raises(InvalidArgument, match="no field 'sped'"):
        payloads(m.AgentStatus, sped=st.just(1))


def test_overrides_must_be_strategies() -> None:
    with pytest.raises(InvalidArgument, match=r"must be a strategy.*st\.just\('busy'\)"):
        messages(m.AgentStatus, status="busy")  # type: ignore[arg-type]


def test_a_field_given_twice_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="given twice"):
        messages(m.HookResponse, **{"continue": st.just(True), "continue_": st.just(False)})


def test_only_protocol_models_are_accepted() -> None:
    with pytest.raises(InvalidArgument, match="models: HookEvent"):
        messages(dict)  # type: ignore[type-var]


def test_an_override_drawing_an_invalid_value_is_reported() -> None:
    with pytest.raises(InvalidArgument, match=r"status='sleeping'.*invalid AgentStatus"):
        find(messages(m.AgentStatus, status=st.just("sleeping")), lambda _: True, settings=SEARCH)


# --- st.from_type ------------------------------------------------------------------------------


def test_the_hook_registers_every_model_for_from_type() -> None:
    _hypothesis_setup_hook()
    for model in ALL_MODELS:
        found = find(st.from_type(model), lambda _: True, settings=SEARCH)
        assert type(found) is model


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=False,
    )


def test_from_type_works_through_the_hypothesis_entry_point() -> None:
    code = (
        "from hypothesis import find, strategies as st\n"
        "from simulator.protocol.models import TaskResult\n"
        "print(type(find(st.from_type(TaskResult), lambda _: True)).__name__)\n"
    )
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "TaskResult"


def test_importing_the_strategies_registers_nothing() -> None:
    code = (
        "import pytest_mistersmith.strategies\n"
        "from hypothesis.strategies._internal.types import _global_type_lookup\n"
        "from simulator.protocol.models import AgentStatus\n"
        "print(AgentStatus in _global_type_lookup)\n"
    )
    done = _python(code, HYPOTHESIS_NO_PLUGINS="1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


# --- subjects ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tmpl", TEMPLATES, ids=lambda t: t.name)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_subjects_parse_back_to_their_template(tmpl: Template, data: st.DataObject) -> None:
    subject = data.draw(subjects(tmpl))
    parsed = parse(subject)
    assert parsed.template == tmpl
    assert data.draw(subjects(tmpl.name)).count(".") == subject.count(".")


@QUICK
@given(
    subjects("cli_hook", hook_type="pre_task", agent_id=st.sampled_from(["a-1", "b_2"])),
    subjects("task_result"),
    subjects("task_queue", task_type=st.just("analysis")),
)
def test_subject_params_are_fixed_values_or_strategies(hook: str, result: str, queue: str) -> None:
    params = parse(hook).params
    assert params["hook_type"] == "pre_task"
    assert params["agent_id"] in ("a-1", "b_2")
    assert parse(result).name == "task_result"
    assert parse(queue).params["task_type"] == "analysis"
    assert 1 <= int(parse(queue).params["priority"]) <= 10


def test_subjects_refuse_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match="no subject template named 'agent_stats'"):
        subjects("agent_stats")
    with pytest.raises(InvalidArgument, match=r"unknown parameter\(s\) \['agent'\]"):
        subjects("agent_status", agent="x")
    with pytest.raises(InvalidArgument, match="not a task id"):
        subjects("task_result", task_id="nope")
    with pytest.raises(InvalidArgument, match="not a valid subject token"):
        subjects(template("cli_response"), agent_id="a.b")
    with pytest.raises(InvalidArgument, match="template name or"):
        subjects(42)


# --- replay and shrinking ----------------------------------------------------------------------


def _run(seed_value: int) -> list[bytes]:
    seen: list[bytes] = []

    @seed(seed_value)
    @settings(max_examples=25, database=None, derandomize=False, phases=[Phase.generate])
    @given(payloads(m.TaskResult), payloads(m.HookEvent))
    def collect(result: bytes, event: bytes) -> None:
        seen.extend((result, event))

    collect()
    return seen


def test_the_same_hypothesis_seed_gives_the_same_examples() -> None:
    first = _run(1234)
    _run(99)  # the shared Faker instance is re-seeded in between
    assert _run(1234) == first
    assert _run(4321) != first


def test_no_global_random_state_is_used() -> None:
    state = faker_shared_random.getstate()
    find(payloads(m.TaskAssignment), lambda p: b"deadline" in p, settings=SEARCH)
    assert faker_shared_random.getstate() == state


def test_a_failing_property_shrinks_to_a_minimal_payload() -> None:
    shrunk = find(payloads(m.AgentStatus), lambda p: "z" in _doc(p)["agent_id"], settings=SEARCH)
    doc = _doc(shrunk)
    assert set(doc) == _required(m.AgentStatus)
    assert "z" in doc["agent_id"]


def test_shrinking_keeps_only_the_field_the_failure_needs() -> None:
    def fails(status: m.AgentStatus) -> bool:
        return status.capacity is not None and status.capacity >= 0.5

    shrunk = find(messages(m.AgentStatus), fails, settings=SEARCH)
    dumped = _doc(shrunk.model_dump_json(by_alias=True, exclude_none=True).encode())
    assert set(dumped) == _required(m.AgentStatus) | {"capacity"}
    assert shrunk.capacity is not None
    assert shrunk.capacity >= 0.5


def test_an_overriding_strategy_shrinks_its_field_exactly() -> None:
    limits = messages(m.AgentStatus, max_tasks=st.integers(1, 100))
    shrunk = find(limits, lambda s: s.max_tasks is not None and s.max_tasks >= 10, settings=SEARCH)
    assert shrunk.max_tasks == 10
    assert set(_doc(shrunk.model_dump_json(exclude_none=True).encode())) == (
        _required(m.AgentStatus) | {"max_tasks"}
    )
