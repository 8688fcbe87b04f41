"""The subject taxonomy of the spec (2.1 and 12.1): builders, token validation, parse, match.

Subjects are built only here. Every builder validates its parameters as NATS subject tokens
and raises :class:`~simulator.errors.SubjectError` naming the parameter and the value.
``tasks.{task_type}.*`` and ``tasks.{task_id}.*`` share their second token; as ERRATA 9
decides, task types are the closed enum of 12.2 and task ids are UUIDs, so :func:`parse`
tells them apart.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from simulator.errors import SubjectError
from simulator.protocol._tokens import (
    MAX_TOKEN_LENGTH,
    is_subset,
    matches,
    overlaps,
    validate_pattern,
    validate_subject,
    validate_token,
)

__all__ = [
    "MAX_TOKEN_LENGTH",
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

# The closed enums of 12.2 and 2.1.1 (ERRATA 9); kept here as strings so that the subject
# layer does not depend on the models.
TASK_TYPES = frozenset({"analysis", "synthesis", "execution", "validation", "monitoring"})
HOOK_TYPES = frozenset({"startup", "pre_task", "post_task", "on_error", "on_file_change"})
HOOK_STAGES_21 = frozenset({"pre", "post", "error"})
_PARAM_RE = re.compile(r"\{(\w+)\}")
_UUID_RE = re.compile(r"\A[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def _check_task_type(name: str, value: str) -> None:
    if value not in TASK_TYPES:
        raise SubjectError(
            f"{name}={value!r} is not a task type: expected one of {sorted(TASK_TYPES)} "
            "(ERRATA 9: task types are the closed enum of 12.2)"
        )


def _check_task_id(name: str, value: str) -> None:
    if not _UUID_RE.match(value):
        raise SubjectError(
            f"{name}={value!r} is not a task id: expected a UUID such as "
            f"{uuid.UUID(int=0)} (ERRATA 9: task ids are UUIDs)"
        )


def _one_of(allowed: frozenset[str], what: str) -> Callable[[str, str], None]:
    def check(name: str, value: str) -> None:
        if value not in allowed:
            raise SubjectError(f"{name}={value!r} is not {what}: expected one of {sorted(allowed)}")

    return check


# Parameters whose domain is narrower than "any token".
_DOMAINS: Mapping[str, Callable[[str, str], None]] = {
    "task_type": _check_task_type,
    "task_id": _check_task_id,
    "hook_type": _one_of(HOOK_TYPES, "a hook type"),
    "stage": _one_of(HOOK_STAGES_21, "a 2.1 hook stage"),
}


@dataclass(frozen=True)
class Template:
    """One subject template of the taxonomy, such as ``tasks.{task_id}.result``."""

    name: str
    pattern: str
    section: str
    request_reply: bool = False
    params: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(_PARAM_RE.findall(self.pattern)))

    @property
    def tokens(self) -> tuple[str, ...]:
        """The template's tokens, parameters still in braces."""
        return tuple(self.pattern.split("."))

    @property
    def wildcard(self) -> str:
        """The template as a NATS pattern: every parameter becomes ``*``."""
        return _PARAM_RE.sub("*", self.pattern)

    def build(self, **params: object) -> str:
        """Fill in the template, validating every parameter."""
        missing = set(self.params) - params.keys()
        extra = params.keys() - set(self.params)
        if missing or extra:
            raise SubjectError(
                f"{self.name} ({self.pattern}) takes parameters {list(self.params)}; "
                f"missing {sorted(missing)}, unexpected {sorted(extra)}"
            )
        values: dict[str, str] = {}
        for name in self.params:
            text = validate_token(name, params[name])
            check = _DOMAINS.get(name)
            if check is not None:
                check(name, text)
            values[name] = text
        return self.pattern.format(**values)

    def example(self) -> str:
        """A valid subject of this template, for documentation and tables."""
        samples = {
            "task_type": "analysis",
            "task_id": "3f2b1c9e-8d7a-4b6c-9e5f-0a1b2c3d4e5f",
            "hook_type": "pre_task",
            "stage": "pre",
        }
        return self.build(**{p: samples.get(p, p.replace("_", "-")) for p in self.params})


def _t(name: str, pattern: str, section: str, *, request_reply: bool = False) -> Template:
    return Template(name, pattern, section, request_reply)


#: Every template of 12.1 and 2.1, in the order :func:`parse` tries them.
TEMPLATES: tuple[Template, ...] = (
    # 12.1 agents
    _t("agent_commands", "agents.{agent_id}.commands.{command_type}", "12.1", request_reply=True),
    _t("agent_status", "agents.{agent_id}.status.{status_type}", "12.1"),
    _t("agent_heartbeat", "agents.{agent_id}.heartbeat", "12.1"),
    _t("agent_capabilities", "agents.{agent_id}.capabilities", "12.1"),
    _t("agent_metrics", "agents.{agent_id}.metrics.{metric_type}", "12.1"),
    _t("agent_logs", "agents.{agent_id}.logs.{level}", "12.1"),
    _t("agent_events", "agents.{agent_id}.events.{event_type}", "12.1"),
    # 12.1 tasks
    _t("task_assignment", "tasks.{task_type}.assignment", "12.1"),
    _t("task_queue", "tasks.{task_type}.queue.{priority}", "12.1"),
    _t("task_progress", "tasks.{task_id}.progress", "12.1"),
    _t("task_result", "tasks.{task_id}.result", "12.1"),
    _t("task_error", "tasks.{task_id}.error", "12.1"),
    _t("task_cancel", "tasks.{task_id}.cancel", "12.1"),
    # 12.1 system
    _t("system_control", "system.control.{operation}", "12.1"),
    _t("system_discovery", "system.discovery.{service_type}", "12.1", request_reply=True),
    _t("system_health", "system.health.{component}", "12.1"),
    _t("system_config", "system.config.{component}.{action}", "12.1"),
    _t("system_alerts", "system.alerts.{severity}", "12.1"),
    _t("system_audit", "system.audit.{action}", "12.1"),
    # 12.1 workflow
    _t("workflow_orchestration", "workflow.{workflow_id}.orchestration", "12.1"),
    _t("workflow_coordination", "workflow.{workflow_id}.coordination", "12.1"),
    _t("workflow_dependencies", "workflow.{workflow_id}.dependencies", "12.1"),
    _t("workflow_rollback", "workflow.{workflow_id}.rollback", "12.1"),
    # 12.1 Claude CLI
    _t("cli_startup", "cli.startup", "12.1"),
    _t("cli_hook", "cli.hooks.{hook_type}.{agent_id}", "12.1"),
    _t("cli_response", "cli.responses.{agent_id}", "12.1"),
    _t("cli_mutation", "cli.mutations.{agent_id}", "12.1"),
    _t("cli_context", "cli.context.{group_id}.{context_type}", "12.1"),
    # 2.1 subject hierarchy
    _t("agent_commands_base", "agents.{agent_id}.commands", "2.1", request_reply=True),
    _t("agent_status_base", "agents.{agent_id}.status", "2.1"),
    _t("task_queue_base", "tasks.{task_type}.queue", "2.1"),
    # 2.3's draft stream `agent-events` (ERRATA 6)
    _t("agent_events_base", "agents.{agent_id}.events", "2.3"),
    _t("events", "events.{event_type}", "2.1"),
    _t("cmd", "cmd.{type}.{target}", "2.1"),
    # 2.1 Claude-CLI hook dialect (ERRATA 17): core request-reply, stored by no stream
    _t("control_startup", "control.startup", "2.1"),
    _t("agent_hook", "agent.{agent_id}.{stage}", "2.1", request_reply=True),
    _t("agent_hook_response", "agent.{agent_id}.hook_response", "2.1"),
    _t("ctx_file_change", "ctx.{group_id}.file_change", "2.1"),
    # 2.1 topic conventions
    _t("task_event", "task.{event}", "2.1"),
    _t("agent_state_event", "agent.{state}", "2.1"),
    _t("system_metrics", "system.metrics", "2.1"),
    _t("hook_triggered", "hook.{hook_type}.triggered", "2.1"),
)

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
    """``cli.context.{group_id}.{context_type}``."""
    return _BY_NAME["cli_context"].build(group_id=group_id, context_type=context_type)


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
            check = _DOMAINS.get(name)
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
