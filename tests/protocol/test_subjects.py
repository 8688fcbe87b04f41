"""The subject taxonomy: builders, token validation, parse, and wildcard matching."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import SubjectError
from simulator.protocol import subjects as s

TASK_ID = "3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f"


@pytest.mark.parametrize(
    ("built", "expected"),
    [
        (s.agent_commands("a-1", "execute"), "agents.a-1.commands.execute"),
        (s.agent_commands("a-1"), "agents.a-1.commands"),
        (s.agent_status("a-1"), "agents.a-1.status"),
        (s.agent_status("a-1", "busy"), "agents.a-1.status.busy"),
        (s.agent_heartbeat("a-1"), "agents.a-1.heartbeat"),
        (s.agent_capabilities("a-1"), "agents.a-1.capabilities"),
        (s.agent_metrics("a-1", "cpu"), "agents.a-1.metrics.cpu"),
        (s.agent_logs("a-1", "info"), "agents.a-1.logs.info"),
        (s.agent_events("a-1", "started"), "agents.a-1.events.started"),
        (s.agent_events("a-1"), "agents.a-1.events"),
        (s.task_assignment("analysis"), "tasks.analysis.assignment"),
        (s.task_queue("execution", 5), "tasks.execution.queue.5"),
        (s.task_queue("execution"), "tasks.execution.queue"),
        (s.task_progress(TASK_ID), f"tasks.{TASK_ID}.progress"),
        (s.task_result(TASK_ID), f"tasks.{TASK_ID}.result"),
        (s.task_error(TASK_ID), f"tasks.{TASK_ID}.error"),
        (s.task_cancel(TASK_ID), f"tasks.{TASK_ID}.cancel"),
        (s.system_control("shutdown"), "system.control.shutdown"),
        (s.system_discovery("agent"), "system.discovery.agent"),
        (s.system_health("nats"), "system.health.nats"),
        (s.system_config("nats", "reload"), "system.config.nats.reload"),
        (s.system_alerts("critical"), "system.alerts.critical"),
        (s.system_audit("stop"), "system.audit.stop"),
        (s.workflow_orchestration("w1"), "workflow.w1.orchestration"),
        (s.workflow_coordination("w1"), "workflow.w1.coordination"),
        (s.workflow_dependencies("w1"), "workflow.w1.dependencies"),
        (s.workflow_rollback("w1"), "workflow.w1.rollback"),
        (s.cli_startup(), "cli.startup"),
        (s.cli_hook("pre_task", "a-1"), "cli.hooks.pre_task.a-1"),
        (s.cli_response("a-1"), "cli.responses.a-1"),
        (s.cli_mutation("a-1"), "cli.mutations.a-1"),
        (s.cli_context("g1", "stop"), "cli.context.g1.stop"),
        (s.cli_file_change("g1"), "cli.context.g1.file_change"),
        (s.events("deploy"), "events.deploy"),
        (s.cmd("restart", "a-1"), "cmd.restart.a-1"),
        (s.control_startup(), "control.startup"),
        (s.agent_hook("a-1", "pre"), "agent.a-1.pre"),
        (s.agent_hook_response("a-1"), "agent.a-1.hook_response"),
        (s.ctx_file_change("g1"), "ctx.g1.file_change"),
        (s.task_event("created"), "task.created"),
        (s.agent_state_event("ready"), "agent.ready"),
        (s.system_metrics(), "system.metrics"),
        (s.hook_triggered("pre_task"), "hook.pre_task.triggered"),
    ],
)
def test_builders_fill_the_templates(built: str, expected: str) -> None:
    assert built == expected


def test_every_template_has_a_builder_and_parses_back() -> None:
    for tmpl in s.TEMPLATES:
        subject = tmpl.example()
        parsed = s.parse(subject)
        assert parsed.template == tmpl, subject
        assert tmpl.build(**parsed.params) == subject


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("a b", "whitespace"),
        ("a\tb", "whitespace"),
        ("a.b", "'.'"),
        ("*", "wildcard '*'"),
        ("a>", "wildcard '>'"),
        ("a\x00b", "control character"),
        ("a\x7fb", "control character"),
        ("x" * 129, "129 characters long"),
    ],
)
def test_bad_tokens_name_the_parameter_and_value(value: str, problem: str) -> None:
    with pytest.raises(SubjectError) as info:
        s.agent_heartbeat(value)
    message = str(info.value)
    assert message.startswith(f"agent_id={value!r}")
    assert problem in message


def test_tokens_of_the_longest_allowed_length_pass() -> None:
    assert s.agent_heartbeat("x" * 128) == f"agents.{'x' * 128}.heartbeat"


def test_non_string_parameter_is_refused() -> None:
    with pytest.raises(SubjectError, match="metric_type=None"):
        s.agent_metrics("a", None)  # type: ignore[arg-type]


def test_task_type_and_task_id_are_told_apart() -> None:
    """ERRATA 9: types are the closed 12.2 enum, ids are UUIDs."""
    assert s.parse("tasks.analysis.assignment").name == "task_assignment"
    assert s.parse(f"tasks.{TASK_ID}.result").params == {"task_id": TASK_ID}
    with pytest.raises(SubjectError, match="fits no template"):
        s.parse("tasks.analysis.result")
    with pytest.raises(SubjectError, match="fits no template"):
        s.parse(f"tasks.{TASK_ID}.assignment")
    with pytest.raises(SubjectError, match="task_id='analysis' is not a task id"):
        s.task_result("analysis")
    with pytest.raises(SubjectError, match="task_type='coding' is not a task type"):
        s.task_assignment("coding")
    assert s.task_result(str(uuid.uuid4())).endswith(".result")


def test_hook_types_are_the_closed_enum() -> None:
    with pytest.raises(SubjectError, match="hook_type='pre' is not a hook type"):
        s.cli_hook("pre", "a-1")
    assert s.parse("cli.hooks.on_error.a-1").params == {"hook_type": "on_error", "agent_id": "a-1"}


def test_parse_refuses_invalid_and_unknown_subjects() -> None:
    with pytest.raises(SubjectError, match="token 2"):
        s.parse("agents..status")
    with pytest.raises(SubjectError, match="fits no template"):
        s.parse("nothing.we.know.of")
    with pytest.raises(SubjectError, match="token 2"):
        s.parse("agents.*.status")


def test_template_lookup_and_build_arguments() -> None:
    tmpl = s.template("task_result")
    assert tmpl.params == ("task_id",)
    assert tmpl.wildcard == "tasks.*.result"
    with pytest.raises(SubjectError, match="missing \\['task_id'\\]"):
        tmpl.build()
    with pytest.raises(SubjectError, match="no subject template named 'nope'"):
        s.template("nope")


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("a.b", "a.b", True),
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.>", "a.b.c", True),
        ("a.>", "a", False),
        (">", "a", True),
        ("*.b.>", "x.b.c.d", True),
        ("a.*.c", "a.b.d", False),
        ("a*", "a*b", False),
    ],
)
def test_matches(pattern: str, subject: str, expected: bool) -> None:
    if "*" in subject:
        with pytest.raises(SubjectError):
            s.matches(pattern, subject)
    else:
        assert s.matches(pattern, subject) is expected


def test_invalid_patterns_are_refused() -> None:
    with pytest.raises(SubjectError, match="'>' may only be the last token"):
        s.matches("system.>.health", "system.x.health")
    with pytest.raises(SubjectError, match="is empty"):
        s.validate_pattern("a..b")


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        ("tasks.*.result", "tasks.*.assignment", False),
        ("tasks.*.result", "tasks.>", True),
        ("agents.*.status", "agents.*.status.>", False),
        ("system.*.alerts.>", "system.alerts.>", True),
        ("a.b", "a.b.>", False),
    ],
)
def test_overlaps(a: str, b: str, overlap: bool) -> None:
    assert s.overlaps(a, b) is overlap
    assert s.overlaps(b, a) is overlap


@pytest.mark.parametrize(
    ("narrow", "wide", "subset"),
    [
        ("agents.*.status.*", "agents.*.status.>", True),
        ("agents.*.status.*", "agents.*.status", False),
        ("a.>", "a.*", False),
        ("a.*", "a.>", True),
        ("a.b.c", "*.b.*", True),
        ("system.alerts.*", "system.*.alerts.>", False),
    ],
)
def test_is_subset(narrow: str, wide: str, subset: bool) -> None:
    assert s.is_subset(narrow, wide) is subset


def test_a_template_narrowed_to_one_agent_is_a_pattern_with_its_id() -> None:
    commands = s.template("agent_commands")
    assert commands.narrowed(agent_id="a1") == "agents.a1.commands.*"
    assert commands.narrowed() == commands.wildcard
    with pytest.raises(SubjectError, match="unexpected \\['task_id'\\]"):
        commands.narrowed(task_id="x")
    with pytest.raises(SubjectError, match="agent_id"):
        commands.narrowed(agent_id="a.b")  # not one token


def _reference_problem(value: str) -> str | None:
    """The per-character rule, as written before the ASCII fast path."""
    if value == "":
        return "is empty"
    if len(value) > s.MAX_TOKEN_LENGTH:
        return f"is {len(value)} characters long (at most {s.MAX_TOKEN_LENGTH})"
    for ch in value:
        if ch == ".":
            return "contains '.', the token separator"
        if ch in "*>":
            return f"contains the wildcard {ch!r}"
        if ch.isspace():
            return f"contains whitespace {ch!r}"
        if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0:
            return f"contains the control character {ch!r}"
    return None


def _problem(value: str) -> str | None:
    """What ``validate_token`` says of ``value`` (the part after "it "), or None."""
    try:
        s.validate_token("t", value)
    except SubjectError as error:
        return str(error).split(": it ", 1)[1]
    return None


@given(st.text(alphabet=st.characters(max_codepoint=0x2100), max_size=140))
@settings(max_examples=500)
def test_the_token_check_names_the_first_bad_character_as_the_reference_does(value: str) -> None:
    """Must fail if the fast path lets a character through or names another one (the ASCII
    search, then the loop from the first bad character)."""
    assert _problem(value) == _reference_problem(value)


@pytest.mark.parametrize("value", ["a\x1cb", "a\x7fb", "ab\x85", "x y", "agent-7>"])
def test_the_token_check_refuses_what_the_fast_path_might_miss(value: str) -> None:
    assert _problem(value) == _reference_problem(value) is not None
