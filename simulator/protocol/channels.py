"""The channel catalogue: one row per subject template of the spec (2.1 and 12.1).

Everything that knows "what goes where" is derived from :data:`CHANNELS`: the subject
templates, builders and :func:`~simulator.protocol.subjects.parse`, the payload maps,
``MODELS`` and the schemas export, the strategies' size limits, the AsyncAPI channels and
operations, and the ready-made contracts. A spec change or a new deviation edits one row.

A :class:`Channel` says what is published on its subjects (``payload``), whether it is a core
request and what the reply is (``pattern``, ``reply``), on which channels a published answer
follows (``answers``: a hook event's response, an assignment's progress and result), who
publishes and who subscribes (:class:`Role`), which stream stores it (``stream``, from the
default topology), and where it comes from (``section``; ``notes`` are the numbered sections
of ``docs/spec-notes.md``, cited in the code as "ERRATA N").

``for_subject(subject)`` gives the channel of a concrete subject.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

from simulator.errors import SubjectError
from simulator.protocol import models as m
from simulator.protocol._template import Template
from simulator.protocol.models import WireModel

if TYPE_CHECKING:
    from simulator.protocol.topology import Topology

__all__ = [
    "CHANNELS",
    "DISCOVERY_SERVICE",
    "SIMULATED",
    "Channel",
    "Pattern",
    "Role",
    "channel",
    "for_subject",
    "models",
    "of_model",
    "stream_of",
]


class Role(str, enum.Enum):
    """Who publishes or subscribes on a channel."""

    AGENT = "agent"
    DISPATCHER = "dispatcher"
    MONITOR = "monitor"
    HOOK_RESPONDER = "hook_responder"
    ORCHESTRATOR = "orchestrator"
    #: A person, a command-line tool or a user's own service or test: never the simulator.
    OPERATOR = "operator"


SIMULATED = frozenset(
    {Role.AGENT, Role.DISPATCHER, Role.MONITOR, Role.HOOK_RESPONDER, Role.ORCHESTRATOR}
)
"""The roles ``mistersmith run`` plays (the orchestrator: the swarm itself)."""


class Pattern(str, enum.Enum):
    """How a channel is used."""

    #: Published (and, where a stream stores it, stored); answers, if any, are published too.
    PUBLISH = "publish"
    #: Core request-reply on an unstored subject (ERRATA 10): the reply goes to the inbox.
    REQUEST = "request"


DISCOVERY_SERVICE = "capabilities"
"""The ``{service_type}`` of ``system.discovery.{service_type}`` capability queries go to."""


@dataclass(frozen=True)
class Channel:
    """One subject template of the spec and what travels on it."""

    name: str
    template: Template
    payload: type[WireModel]
    pattern: Pattern
    publishers: frozenset[Role]
    subscribers: frozenset[Role]
    section: str
    reply: type[WireModel] | None = None
    answers: tuple[str, ...] = ()
    notes: tuple[int, ...] = ()
    #: Payload field -> the only values it takes on this channel (hook types, task events).
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Subject parameter -> the payload field that fills it (default: the field of its name).
    tokens: Mapping[str, str] = field(default_factory=dict)
    #: Subject parameter -> its value when the payload does not give it.
    defaults: Mapping[str, str] = field(default_factory=dict)

    @property
    def stream(self) -> str | None:
        """The stream of the default topology that stores this channel's subjects, if one."""
        return _default_streams().get(self.name)

    def subject_params(self, payload: Mapping[str, object]) -> dict[str, object]:
        """The template's parameters filled from ``payload`` (then ``defaults``)."""
        params: dict[str, object] = {}
        for param in self.template.params:
            value = payload.get(self.tokens.get(param, param))
            if value is not None and param in _TRANSLATE:
                value = _TRANSLATE[param].get(str(value), value)
            if value is None:
                value = self.defaults.get(param)
            if value is not None:
                params[param] = value
        return params

    def subject_for(self, payload: Mapping[str, object], **params: object) -> str:
        """The subject of ``payload``: parameters from the payload, overridden by ``params``."""
        return self.template.build(**{**self.subject_params(payload), **params})


_A, _D, _M, _H, _O, _P = (
    Role.AGENT,
    Role.DISPATCHER,
    Role.MONITOR,
    Role.HOOK_RESPONDER,
    Role.ORCHESTRATOR,
    Role.OPERATOR,
)

#: Payload values that become other subject tokens.
_TRANSLATE: Mapping[str, Mapping[str, str]] = {
    "stage": {"pre_task": "pre", "post_task": "post", "on_error": "error"},
    "state": {"idle": "ready"},  # ERRATA 15: 2.1's agent.ready is the idle status
}
_TASK_ANSWERS = ("task_progress", "task_result", "task_error")
_NOT_STARTUP = ("pre_task", "post_task", "on_error", "on_file_change")


def _row(
    name: str,
    pattern: str,
    payload: type[WireModel],
    section: str,
    publishers: Iterable[Role],
    subscribers: Iterable[Role],
    *,
    reply: type[WireModel] | None = None,
    answers: tuple[str, ...] = (),
    notes: tuple[int, ...] = (),
    values: Mapping[str, tuple[str, ...]] | None = None,
    tokens: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> Channel:
    kind = Pattern.REQUEST if reply is not None else Pattern.PUBLISH
    return Channel(
        name=name,
        template=Template(name, pattern, section, kind is Pattern.REQUEST),
        payload=payload,
        pattern=kind,
        publishers=frozenset(publishers),
        subscribers=frozenset(subscribers),
        section=section,
        reply=reply,
        answers=answers,
        notes=notes,
        values=values or {},
        tokens=tokens or {},
        defaults=defaults or {},
    )


#: Every channel, in the order :func:`~simulator.protocol.subjects.parse` tries them.
CHANNELS: tuple[Channel, ...] = (
    # 12.1 agents
    _row("agent_commands", "agents.{agent_id}.commands.{command_type}", m.AgentCommand,
         "12.1", (_P,), (_A, _M), reply=m.CommandReply, notes=(10, 20)),
    _row("agent_status", "agents.{agent_id}.status.{status_type}", m.AgentStatus, "12.1",
         (_A,), (_M, _D, _O), notes=(5,), tokens={"status_type": "status"}),
    _row("agent_heartbeat", "agents.{agent_id}.heartbeat", m.AgentStatus, "12.1",
         (_A,), (_M,)),
    _row("agent_capabilities", "agents.{agent_id}.capabilities", m.AgentStatus, "12.1",
         (_A,), (_D,)),
    _row("agent_metrics", "agents.{agent_id}.metrics.{metric_type}", m.AgentMetric, "12.1",
         (_A,), (_P,)),
    _row("agent_logs", "agents.{agent_id}.logs.{level}", m.AgentLog, "12.1", (_A,), (_P,)),
    _row("agent_events", "agents.{agent_id}.events.{event_type}", m.AgentEvent, "12.1",
         (_A,), (_M, _P), notes=(6,)),
    # 12.1 tasks
    _row("task_assignment", "tasks.{task_type}.assignment", m.TaskAssignment, "12.1",
         (_D,), (_A,), answers=_TASK_ANSWERS, notes=(9, 10)),
    _row("task_queue", "tasks.{task_type}.queue.{priority}", m.TaskAssignment, "12.1",
         (_D,), (_A,), answers=_TASK_ANSWERS, defaults={"priority": "5"}),
    _row("task_progress", "tasks.{task_id}.progress", m.TaskOutput, "12.1", (_A,), (_D, _P),
         notes=(15,)),
    _row("task_result", "tasks.{task_id}.result", m.TaskResult, "12.1", (_A,), (_D,),
         notes=(15,)),
    _row("task_error", "tasks.{task_id}.error", m.TaskResult, "12.1", (_A,), (_D,),
         notes=(15,)),
    _row("task_cancel", "tasks.{task_id}.cancel", m.TaskCancel, "12.1", (_D, _P), (_A,)),
    # 12.1 system
    _row("system_control", "system.control.{operation}", m.ControlMessage, "12.1",
         (_O,), (_M, _P), notes=(21,)),
    _row("system_discovery", "system.discovery.{service_type}", m.CapabilityQuery, "12.1",
         (_D,), (_A,), reply=m.CapabilityResponse, notes=(10, 11),
         defaults={"service_type": DISCOVERY_SERVICE}),
    _row("system_health", "system.health.{component}", m.HealthReport, "12.1",
         (_M,), (_P,), notes=(3,)),
    _row("system_config", "system.config.{component}.{action}", m.ConfigChange, "12.1",
         (_O,), (_M, _P), notes=(21,)),
    _row("system_alerts", "system.alerts.{severity}", m.SystemAlert, "12.1", (_M,), (_P,),
         notes=(3, 4)),
    _row("system_audit", "system.audit.{action}", m.AuditRecord, "12.1", (_M,), (_P,),
         notes=(3,)),
    # 12.1 workflow
    _row("workflow_orchestration", "workflow.{workflow_id}.orchestration",
         m.WorkflowMessage, "12.1", (_D,), (_P,)),
    _row("workflow_coordination", "workflow.{workflow_id}.coordination", m.WorkflowMessage,
         "12.1", (_D,), (_P,)),
    _row("workflow_dependencies", "workflow.{workflow_id}.dependencies", m.WorkflowMessage,
         "12.1", (_D,), (_P,)),
    _row("workflow_rollback", "workflow.{workflow_id}.rollback", m.WorkflowMessage, "12.1",
         (_D,), (_P,)),
    # 12.1 Claude CLI (the default hook dialect, ERRATA 17)
    _row("cli_startup", "cli.startup", m.HookEvent, "12.1", (_A,), (_H,),
         answers=("cli_response",), notes=(10, 17), values={"hook_type": ("startup",)}),
    _row("cli_hook", "cli.hooks.{hook_type}.{agent_id}", m.HookEvent, "12.1", (_A,), (_H,),
         answers=("cli_response",), notes=(10, 17), values={"hook_type": _NOT_STARTUP}),
    _row("cli_response", "cli.responses.{agent_id}", m.HookResponse, "12.1", (_H,), (_A,),
         notes=(10, 16)),
    _row("cli_mutation", "cli.mutations.{agent_id}", m.HookResponse, "12.1", (_H,), (_P,),
         notes=(17,)),
    # cli.context: a file change is the spec's HookEvent; every other context_type is one of
    # Claude Code's events the spec has no hook type for (ERRATA 27). parse tries this order.
    _row("cli_file_change", "cli.context.{group_id}.file_change", m.HookEvent, "12.1",
         (_A,), (_P,), notes=(27,), values={"hook_type": ("on_file_change",)}),
    _row("cli_context", "cli.context.{group_id}.{context_type}", m.ClaudeContext, "12.1",
         (_A,), (_P,), notes=(27,)),
    # 2.1 subject hierarchy: the older forms of 12.1 templates
    _row("agent_commands_base", "agents.{agent_id}.commands", m.AgentCommand, "2.1",
         (_P,), (_A,), reply=m.CommandReply, notes=(10, 20)),
    _row("agent_status_base", "agents.{agent_id}.status", m.AgentStatus, "2.1",
         (_A,), (_M, _D, _O), notes=(5,)),
    _row("task_queue_base", "tasks.{task_type}.queue", m.TaskAssignment, "2.1",
         (_P,), (_A,), answers=_TASK_ANSWERS),
    # 2.3's draft stream `agent-events` (ERRATA 6)
    _row("agent_events_base", "agents.{agent_id}.events", m.AgentEvent, "2.3",
         (_P,), (_M,), notes=(6,)),
    _row("events", "events.{event_type}", m.SystemEvent, "2.1", (_M,), (_P,)),
    _row("cmd", "cmd.{type}.{target}", m.AgentCommand, "2.1", (_P,), (_O,),
         tokens={"type": "command_type", "target": "agent_id"}),
    # 2.1 Claude-CLI hook dialect (ERRATA 17): core request-reply, stored by no stream
    _row("control_startup", "control.startup", m.HookEvent, "2.1", (_A,), (_P,),
         notes=(17,), values={"hook_type": ("startup",)}),
    _row("agent_hook", "agent.{agent_id}.{stage}", m.HookEvent, "2.1", (_A,), (_H,),
         reply=m.HookResponse, notes=(10, 17), tokens={"stage": "hook_type"},
         values={"hook_type": ("pre_task", "post_task", "on_error")}),
    _row("agent_hook_response", "agent.{agent_id}.hook_response", m.HookResponse, "2.1",
         (_H,), (_P,), notes=(17,)),
    _row("ctx_file_change", "ctx.{group_id}.file_change", m.HookEvent, "2.1", (_A,), (_P,),
         notes=(17,), values={"hook_type": ("on_file_change",)}),
    # 2.1 topic conventions
    _row("task_event", "task.{event}", m.TaskEvent, "2.1", (_D,), (_P,)),
    _row("agent_state_event", "agent.{state}", m.AgentStatus, "2.1", (_A,), (_D, _P),
         notes=(15,), values={"status": ("idle", "busy")},
         tokens={"state": "status"}),
    _row("system_metrics", "system.metrics", m.SystemMetrics, "2.1", (_M,), (_P,)),
    _row("hook_triggered", "hook.{hook_type}.triggered", m.HookTriggered, "2.1",
         (_A,), (_P,)),
)  # fmt: skip

_BY_NAME = {c.name: c for c in CHANNELS}


def channel(name: str) -> Channel:
    """The channel called ``name``; SubjectError naming the known ones when there is none."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SubjectError(f"no channel named {name!r}; known: {sorted(_BY_NAME)}") from None


def for_subject(subject: str) -> Channel:
    """The channel of the concrete ``subject``; SubjectError naming the subject when none fits."""
    from simulator.protocol.subjects import parse

    return _BY_NAME[parse(subject).name]


def of_model(model: type[BaseModel]) -> tuple[Channel, ...]:
    """The channels whose payload or reply is ``model``."""
    return tuple(c for c in CHANNELS if model in (c.payload, c.reply))


def models() -> tuple[type[WireModel], ...]:
    """Every payload and reply model of the catalogue, each once, in catalogue order."""
    seen: dict[type[WireModel], None] = {}
    for c in CHANNELS:
        seen.setdefault(c.payload)
        if c.reply is not None:
            seen.setdefault(c.reply)
    return tuple(seen)


def stream_of(chan: Channel, topology: Topology) -> str | None:
    """The stream of ``topology`` that stores the subjects of ``chan``, if one does."""
    from simulator.protocol.subjects import matches

    subject = chan.template.example()
    for stream in topology.streams:
        if any(matches(pattern, subject) for pattern in stream.subjects or ()):
            return str(stream.name)
    return None


@functools.cache
def _default_streams() -> dict[str, str | None]:
    from simulator.protocol.topology import default_topology

    topology = default_topology()
    return {c.name: stream_of(c, topology) for c in CHANNELS}
