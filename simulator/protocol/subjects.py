"""The subject taxonomy of the spec (2.1 and 12.1): builders, token validation, parse, match.

Subjects are built only here. Every builder validates its parameters as NATS subject tokens
and raises :class:`~simulator.errors.SubjectError` naming the parameter and the value.
``tasks.{task_type}.*`` and ``tasks.{task_id}.*`` share their second token; as ERRATA 9
decides, task types are the closed enum of 12.2 and task ids are UUIDs, so :func:`parse`
tells them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from simulator.errors import SubjectError
from simulator.protocol._template import DOMAINS, HOOK_STAGES_21, HOOK_TYPES, TASK_TYPES, Template
from simulator.protocol._tokens import (
    MAX_TOKEN_LENGTH,
    is_subset,
    matches,
    overlaps,
    validate_pattern,
    validate_subject,
    validate_token,
)
from simulator.protocol.channels import CHANNELS

__all__ = [
    "HOOK_STAGES_21",
    "HOOK_TYPES",
    "MAX_TOKEN_LENGTH",
    "TASK_TYPES",
    "TEMPLATES",
    "ParsedSubject",
    "Template",
    "agent_capabilities",
    "agent_commands",
    "agent_events",
    "agent_heartbeat",
    "agent_hook",
    "agent_hook_response",
    "agent_logs",
    "agent_metrics",
    "agent_state_event",
    "agent_status",
    "cli_context",
    "cli_file_change",
    "cli_hook",
    "cli_mutation",
    "cli_response",
    "cli_startup",
    "cmd",
    "control_startup",
    "ctx_file_change",
    "events",
    "hook_triggered",
    "is_subset",
    "matches",
    "overlaps",
    "parse",
    "system_alerts",
    "system_audit",
    "system_config",
    "system_control",
    "system_discovery",
    "system_health",
    "system_metrics",
    "task_assignment",
    "task_cancel",
    "task_error",
    "task_event",
    "task_progress",
    "task_queue",
    "task_result",
    "template",
    "validate_pattern",
    "validate_subject",
    "validate_token",
    "workflow_coordination",
    "workflow_dependencies",
    "workflow_orchestration",
    "workflow_rollback",
]

#: Every template of 12.1 and 2.1, in the order :func:`parse` tries them (from the catalogue).
TEMPLATES: tuple[Template, ...] = tuple(c.template for c in CHANNELS)

_BY_NAME = {t.name: t for t in TEMPLATES}


def template(name: str) -> Template:
    """The template called ``name`` (see :data:`TEMPLATES`)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SubjectError(
            f"no subject template named {name!r}; known: {sorted(_BY_NAME)}"
        ) from None


# --- builders, one per template --------------------------------------------------------------


def agent_commands(agent_id: str, command_type: str | None = None) -> str:
    """``agents.{agent_id}.commands.{command_type}`` (12.1), or ``agents.{agent_id}.commands``."""
    if command_type is None:
        return _BY_NAME["agent_commands_base"].build(agent_id=agent_id)
    return _BY_NAME["agent_commands"].build(agent_id=agent_id, command_type=command_type)


def agent_status(agent_id: str, status_type: str | None = None) -> str:
    """``agents.{agent_id}.status.{status_type}`` (12.1), or ``agents.{agent_id}.status``."""
    if status_type is None:
        return _BY_NAME["agent_status_base"].build(agent_id=agent_id)
    return _BY_NAME["agent_status"].build(agent_id=agent_id, status_type=status_type)


def agent_heartbeat(agent_id: str) -> str:
    """``agents.{agent_id}.heartbeat``."""
    return _BY_NAME["agent_heartbeat"].build(agent_id=agent_id)


def agent_capabilities(agent_id: str) -> str:
    """``agents.{agent_id}.capabilities``."""
    return _BY_NAME["agent_capabilities"].build(agent_id=agent_id)


def agent_metrics(agent_id: str, metric_type: str) -> str:
    """``agents.{agent_id}.metrics.{metric_type}``."""
    return _BY_NAME["agent_metrics"].build(agent_id=agent_id, metric_type=metric_type)


def agent_logs(agent_id: str, level: str) -> str:
    """``agents.{agent_id}.logs.{level}``."""
    return _BY_NAME["agent_logs"].build(agent_id=agent_id, level=level)


def agent_events(agent_id: str, event_type: str | None = None) -> str:
    """``agents.{agent_id}.events.{event_type}`` (12.1), or ``agents.{agent_id}.events`` (2.3)."""
    if event_type is None:
        return _BY_NAME["agent_events_base"].build(agent_id=agent_id)
    return _BY_NAME["agent_events"].build(agent_id=agent_id, event_type=event_type)


def task_assignment(task_type: str) -> str:
    """``tasks.{task_type}.assignment``."""
    return _BY_NAME["task_assignment"].build(task_type=task_type)


def task_queue(task_type: str, priority: int | str | None = None) -> str:
    """``tasks.{task_type}.queue.{priority}`` (12.1), or ``tasks.{task_type}.queue`` (2.1)."""
    if priority is None:
        return _BY_NAME["task_queue_base"].build(task_type=task_type)
    return _BY_NAME["task_queue"].build(task_type=task_type, priority=priority)


def task_progress(task_id: str) -> str:
    """``tasks.{task_id}.progress``."""
    return _BY_NAME["task_progress"].build(task_id=task_id)


def task_result(task_id: str) -> str:
    """``tasks.{task_id}.result``."""
    return _BY_NAME["task_result"].build(task_id=task_id)


def task_error(task_id: str) -> str:
    """``tasks.{task_id}.error``."""
    return _BY_NAME["task_error"].build(task_id=task_id)


def task_cancel(task_id: str) -> str:
    """``tasks.{task_id}.cancel``."""
    return _BY_NAME["task_cancel"].build(task_id=task_id)


def system_control(operation: str) -> str:
    """``system.control.{operation}``."""
    return _BY_NAME["system_control"].build(operation=operation)


def system_discovery(service_type: str) -> str:
    """``system.discovery.{service_type}``."""
    return _BY_NAME["system_discovery"].build(service_type=service_type)


def system_health(component: str) -> str:
    """``system.health.{component}``."""
    return _BY_NAME["system_health"].build(component=component)


def system_config(component: str, action: str) -> str:
    """``system.config.{component}.{action}``."""
    return _BY_NAME["system_config"].build(component=component, action=action)


def system_alerts(severity: str) -> str:
    """``system.alerts.{severity}``."""
    return _BY_NAME["system_alerts"].build(severity=severity)


def system_audit(action: str) -> str:
    """``system.audit.{action}``."""
    return _BY_NAME["system_audit"].build(action=action)


def workflow_orchestration(workflow_id: str) -> str:
    """``workflow.{workflow_id}.orchestration``."""
    return _BY_NAME["workflow_orchestration"].build(workflow_id=workflow_id)


def workflow_coordination(workflow_id: str) -> str:
    """``workflow.{workflow_id}.coordination``."""
    return _BY_NAME["workflow_coordination"].build(workflow_id=workflow_id)


def workflow_dependencies(workflow_id: str) -> str:
    """``workflow.{workflow_id}.dependencies``."""
    return _BY_NAME["workflow_dependencies"].build(workflow_id=workflow_id)


def workflow_rollback(workflow_id: str) -> str:
    """``workflow.{workflow_id}.rollback``."""
    return _BY_NAME["workflow_rollback"].build(workflow_id=workflow_id)


def cli_startup() -> str:
    """``cli.startup``."""
    return _BY_NAME["cli_startup"].build()


def cli_hook(hook_type: str, agent_id: str) -> str:
    """``cli.hooks.{hook_type}.{agent_id}``."""
    return _BY_NAME["cli_hook"].build(hook_type=hook_type, agent_id=agent_id)


def cli_response(agent_id: str) -> str:
    """``cli.responses.{agent_id}``."""
    return _BY_NAME["cli_response"].build(agent_id=agent_id)


def cli_mutation(agent_id: str) -> str:
    """``cli.mutations.{agent_id}``."""
    return _BY_NAME["cli_mutation"].build(agent_id=agent_id)


def cli_context(group_id: str, context_type: str) -> str:
    """``cli.context.{group_id}.{context_type}`` (``file_change``: :func:`cli_file_change`)."""
    return _BY_NAME["cli_context"].build(group_id=group_id, context_type=context_type)


def cli_file_change(group_id: str) -> str:
    """``cli.context.{group_id}.file_change``: the file changes of ``cli.context`` (ERRATA 27)."""
    return _BY_NAME["cli_file_change"].build(group_id=group_id)


def events(event_type: str) -> str:
    """``events.{event_type}`` (2.1)."""
    return _BY_NAME["events"].build(event_type=event_type)


def cmd(type: str, target: str) -> str:
    """``cmd.{type}.{target}`` (2.1)."""
    return _BY_NAME["cmd"].build(type=type, target=target)


def control_startup() -> str:
    """``control.startup`` (2.1 hook dialect)."""
    return _BY_NAME["control_startup"].build()


def agent_hook(agent_id: str, stage: str) -> str:
    """``agent.{agent_id}.pre|post|error`` (2.1 hook dialect, request-reply)."""
    return _BY_NAME["agent_hook"].build(agent_id=agent_id, stage=stage)


def agent_hook_response(agent_id: str) -> str:
    """``agent.{agent_id}.hook_response`` (2.1 hook dialect)."""
    return _BY_NAME["agent_hook_response"].build(agent_id=agent_id)


def ctx_file_change(group_id: str) -> str:
    """``ctx.{group_id}.file_change`` (2.1 hook dialect)."""
    return _BY_NAME["ctx_file_change"].build(group_id=group_id)


def task_event(event: str) -> str:
    """``task.{event}`` (2.1 topic convention: created, assigned, completed)."""
    return _BY_NAME["task_event"].build(event=event)


def agent_state_event(state: str) -> str:
    """``agent.{state}`` (2.1 topic convention: ready, busy)."""
    return _BY_NAME["agent_state_event"].build(state=state)


def system_metrics() -> str:
    """``system.metrics`` (2.1 topic convention)."""
    return _BY_NAME["system_metrics"].build()


def hook_triggered(hook_type: str) -> str:
    """``hook.{hook_type}.triggered`` (2.1 hook lifecycle events)."""
    return _BY_NAME["hook_triggered"].build(hook_type=hook_type)


# --- parse and match -------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedSubject:
    """A subject read back into its template and parameters."""

    template: Template
    params: Mapping[str, str]

    @property
    def name(self) -> str:
        """The template's name."""
        return self.template.name


def _fit(tmpl: Template, tokens: list[str]) -> dict[str, str] | None:
    if len(tokens) != len(tmpl.tokens):
        return None
    params: dict[str, str] = {}
    for expected, got in zip(tmpl.tokens, tokens, strict=True):
        if expected.startswith("{"):
            name = expected[1:-1]
            check = DOMAINS.get(name)
            if check is not None:
                try:
                    check(name, got)
                except SubjectError:
                    return None
            params[name] = got
        elif expected != got:
            return None
    return params


def parse(subject: str) -> ParsedSubject:
    """The template and parameters of ``subject``; SubjectError when no template fits."""
    validate_subject(subject)
    tokens = subject.split(".")
    for tmpl in TEMPLATES:
        params = _fit(tmpl, tokens)
        if params is not None:
            return ParsedSubject(tmpl, params)
    raise SubjectError(f"subject {subject!r} fits no template of the taxonomy (2.1, 12.1)")
