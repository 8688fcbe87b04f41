"""The channel catalogue: every template of the spec, and everything derived from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pytest_mistersmith._rules import rules
from pytest_mistersmith.contracts import READY_MADE
from pytest_mistersmith.strategies import ViolationKind, invalid_payloads, messages, payloads
from simulator.agents.payloads import PAYLOADS, REPLIES
from simulator.asyncapi import USAGES, build_asyncapi
from simulator.errors import SubjectError
from simulator.protocol import channels, subjects
from simulator.protocol.channels import CHANNELS, Pattern, Role, channel, for_subject
from simulator.protocol.models import MODELS, OURS, SPEC, export_schemas

#: Every subject template of the spec's 2.1 and 12.1, as the spec writes them (the spec file is
#: not part of the repository, so the list is pinned here).
SPEC_TEMPLATES_12_1 = (
    "agents.{agent_id}.commands.{command_type}",
    "agents.{agent_id}.status.{status_type}",
    "agents.{agent_id}.heartbeat",
    "agents.{agent_id}.capabilities",
    "agents.{agent_id}.metrics.{metric_type}",
    "agents.{agent_id}.logs.{level}",
    "agents.{agent_id}.events.{event_type}",
    "tasks.{task_type}.assignment",
    "tasks.{task_type}.queue.{priority}",
    "tasks.{task_id}.progress",
    "tasks.{task_id}.result",
    "tasks.{task_id}.error",
    "tasks.{task_id}.cancel",
    "system.control.{operation}",
    "system.discovery.{service_type}",
    "system.health.{component}",
    "system.config.{component}.{action}",
    "system.alerts.{severity}",
    "system.audit.{action}",
    "workflow.{workflow_id}.orchestration",
    "workflow.{workflow_id}.coordination",
    "workflow.{workflow_id}.dependencies",
    "workflow.{workflow_id}.rollback",
    "cli.startup",
    "cli.hooks.{hook_type}.{agent_id}",
    "cli.responses.{agent_id}",
    "cli.mutations.{agent_id}",
    "cli.context.{group_id}.{context_type}",
)
#: 2.1's hierarchy, hook subjects (``agent.{id}.pre|post|error`` is one template with a
#: ``{stage}``), topic conventions and hook lifecycle events.
SPEC_SUBJECTS_2_1 = (
    "agents.{agent_id}.commands",
    "agents.{agent_id}.status",
    "tasks.{task_type}.queue",
    "events.{event_type}",
    "cmd.{type}.{target}",
    "control.startup",
    "agent.{agent_id}.{stage}",
    "agent.{agent_id}.hook_response",
    "ctx.{group_id}.file_change",
)
SPEC_TOPICS_2_1 = (
    "task.created",
    "task.assigned",
    "task.completed",
    "agent.ready",
    "agent.busy",
    "system.metrics",
    "hook.startup.triggered",
    "hook.pre_task.triggered",
    "hook.post_task.triggered",
    "hook.on_error.triggered",
    "hook.on_file_change.triggered",
    "agent.x-1.pre",
    "agent.x-1.post",
    "agent.x-1.error",
)


def test_every_template_of_the_spec_is_a_channel() -> None:
    patterns = {c.template.pattern for c in CHANNELS}
    assert set(SPEC_TEMPLATES_12_1) <= patterns
    assert set(SPEC_SUBJECTS_2_1) <= patterns
    sections = {c.template.pattern: c.section for c in CHANNELS}
    assert {sections[p] for p in SPEC_TEMPLATES_12_1} == {"12.1"}
    assert {sections[p] for p in SPEC_SUBJECTS_2_1} == {"2.1"}


@pytest.mark.parametrize("subject", SPEC_TOPICS_2_1)
def test_every_concrete_topic_of_2_1_resolves(subject: str) -> None:
    assert for_subject(subject).section == "2.1"


def test_channels_are_the_templates_and_names_are_unique() -> None:
    assert [c.template for c in CHANNELS] == list(subjects.TEMPLATES)
    assert len({c.name for c in CHANNELS}) == len(CHANNELS)
    for c in CHANNELS:
        assert c.publishers and c.subscribers, c.name
        assert (c.pattern is Pattern.REQUEST) == (c.reply is not None) == c.template.request_reply
        assert all(answer in {x.name for x in CHANNELS} for answer in c.answers), c.name


def test_for_subject_names_the_subject_it_cannot_place() -> None:
    assert for_subject("tasks.3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f.result").name == "task_result"
    assert for_subject("tasks.analysis.assignment").name == "task_assignment"
    with pytest.raises(SubjectError, match=r"'nowhere\.to\.go' fits no template"):
        for_subject("nowhere.to.go")
    with pytest.raises(SubjectError, match="no channel named 'nope'"):
        channel("nope")


def test_streams_come_from_the_topology() -> None:
    assert channel("task_assignment").stream == "task_lifecycle"
    assert channel("agent_status").stream == "agent_events"  # ERRATA 5
    assert channel("system_alerts").stream == "system_monitoring"  # ERRATA 3
    assert channel("cli_hook").stream == "claude_cli_integration"
    # request-reply channels are never stored (ERRATA 10)
    assert all(c.stream is None for c in CHANNELS if c.pattern is Pattern.REQUEST)


def test_subject_for_fills_the_template_from_the_payload() -> None:
    event = {"hook_type": "pre_task", "agent_id": "a-1"}
    assert channel("cli_hook").subject_for(event) == "cli.hooks.pre_task.a-1"
    assert channel("agent_hook").subject_for(event) == "agent.a-1.pre"
    assert channel("agent_state_event").subject_for({"status": "idle"}) == "agent.ready"
    assert channel("system_discovery").subject_for({}) == "system.discovery.capabilities"
    assert channel("task_queue").subject_for({"task_type": "analysis"}) == (
        "tasks.analysis.queue.5"
    )


def test_the_payload_maps_and_models_are_derived() -> None:
    assert {c.name: c.payload for c in CHANNELS} == PAYLOADS
    assert {c.name: c.reply for c in CHANNELS if c.reply is not None} == REPLIES
    assert set(MODELS.values()) == set(channels.models())
    assert set(MODELS.values()) == set(SPEC) | set(OURS)
    agent_sides = {u.template for u in USAGES}
    assert agent_sides == {c.name for c in CHANNELS if Role.AGENT in c.publishers | c.subscribers}


def test_every_model_has_a_schema_file(tmp_path: Path) -> None:
    written = {p.name for p in export_schemas(tmp_path)}
    assert written == {f"{name}.schema.json" for name in MODELS}
    assert len(written) == 25
    ours = json.loads((tmp_path / "SystemAlert.schema.json").read_text())
    assert ours["description"].startswith("Ours")


def test_every_channel_has_its_payload_in_the_asyncapi_document() -> None:
    document = build_asyncapi()
    for c in CHANNELS:
        messages_of = document["channels"][c.name]["messages"]
        assert list(messages_of) == [c.payload.__name__], c.name
    assert set(document["components"]["messages"]) == set(MODELS)


@pytest.mark.parametrize("name", sorted(MODELS))
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_model_has_valid_and_invalid_strategies(name: str, data: st.DataObject) -> None:
    model = MODELS[name]
    assert isinstance(data.draw(messages(model)), model)
    model.model_validate_json(data.draw(payloads(model)))
    kinds = [k for k in rules(model) if k is not ViolationKind.TOO_LARGE]
    bad, violation = data.draw(invalid_payloads(model, kinds=kinds))
    with pytest.raises(ValidationError):
        model.model_validate_json(bad)
    assert violation.kind is not ViolationKind.TOO_LARGE


def test_every_flow_of_the_catalogue_has_a_ready_made_contract() -> None:
    flows = {c.name for c in CHANNELS if c.pattern is Pattern.REQUEST or c.answers}
    assert {contract.subject for contract in READY_MADE} == flows
    for contract in READY_MADE:
        chan = channel(contract.subject)
        assert contract.send is chan.payload
        for expect in contract.expect:
            if expect.subjects:
                assert {channel(s).payload for s in expect.subjects} == {expect.model}
                assert set(expect.subjects) <= set(chan.answers)
            else:
                assert expect.model is chan.reply


def test_every_errata_number_the_code_cites_has_a_section_in_spec_notes() -> None:
    import re

    root = Path(__file__).resolve().parents[2]
    notes = (root / "docs" / "spec-notes.md").read_text(encoding="utf-8")
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", notes, re.M)}
    cited: set[int] = {n for c in CHANNELS for n in c.notes}
    for package in ("simulator", "pytest_mistersmith"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for group in re.findall(r"ERRATA ((?:\d+(?:[-,] ?| and )?)+)", text):
                cited |= {int(n) for n in re.findall(r"\d+", group)}
    assert cited and cited <= sections, sorted(cited - sections)
    assert sections == set(range(1, max(sections) + 1))
