"""The contracts of the spec's flows, ready-made and derived from the channel catalogue (private:
see ``pytest_mistersmith.contracts``).

A flow starts on a channel of :mod:`simulator.protocol.channels` that is a core request (its
reply model answers on the request's inbox) or that names the channels its answers are
published on (``answers``). The models, subjects, request pattern and the payload values a
channel takes all come from the catalogue; what a contract adds is the flow's correlation:
which ids are fresh per case, which answer fields must match the sent ones, how many answers.

Every rule below is checked by default unless marked *option*; spec-notes 26 says which
rules the spec supports and why the others are options (:meth:`Contract.with_options`).

* Assignment to result (``task_assignment``, stored; ``task_queue`` and 2.1's
  ``task_queue_base``, core queue groups): zero or more TaskOutput lines on
  ``tasks.{task_id}.progress``, then exactly one TaskResult on ``tasks.{task_id}.result`` or
  ``.error`` (ERRATA 15) with the assignment's ``task_id``, nothing after it. *Option*
  ``same_agent`` (default off): the outputs' and the result's ``agent_id`` is the
  assignment's ``assigned_agent`` (any worker of a work queue may take it). *Option*
  ``reports_rejections`` (default off): a rejected assignment whose ``task_id`` is readable
  is reported by a failed TaskResult on ``tasks.{task_id}.error`` whose
  ``error_details.error_message`` names the field; off, such a report may come and is judged
  by the same rules.
* Command to reply (``agent_commands``, 2.1's ``agent_commands_base``): core request; exactly
  one CommandReply (an AgentStatus, optionally saying what the command did) on the inbox;
  ``same_agent`` (default on): its ``agent_id`` is the command's (the subject addresses that
  agent). A malformed command gets a service error reply (``reports_rejections``, default
  on).
* Hook event to response (``cli_hook``, and ``cli_startup`` for the startup hook): the event
  with a ``Mistersmith-Event-Id`` header; exactly one HookResponse on
  ``cli.responses.{agent_id}`` with the same header (ERRATA 10). A rejected event is answered
  by ``decision: block`` with a ``reason`` naming the field (ERRATA 16;
  ``reports_rejections``, default on).
* 2.1 hook request (``agent_hook``): core request on ``agent.{agent_id}.pre|post|error``; one
  HookResponse on the inbox (ERRATA 17); a malformed event gets a service error reply
  (``reports_rejections``, default on).
* Capability query to responses (``system_discovery``, service ``capabilities``): core
  request; every responder answers with a CapabilityResponse whose ``query_id`` matches and
  which offers every capability asked. Zero or more responders, unless
  :func:`capability_contract` is told how many there are; a malformed query gets a service
  error reply from each (at least one, unless the server says nobody subscribes;
  ``reports_rejections``, default on).

A service error reply (spec-notes 23) is any body with the headers ``Nats-Service-Error``,
naming the broken field, and ``Nats-Service-Error-Code: 400``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_mistersmith.contracts._types import (
    ANY,
    EVENT_ID_HEADER,
    ONE,
    SOME,
    Contract,
    Count,
    Expect,
    Rejection,
    Reply,
    Rule,
)
from simulator.protocol.channels import DISCOVERY_SERVICE, Channel, Pattern, channel

__all__ = [
    "ASSIGNMENT_TO_RESULT",
    "CAPABILITY_QUERY_TO_RESPONSES",
    "COMMAND_21_TO_REPLY",
    "COMMAND_TO_REPLY",
    "DISCOVERY_SERVICE",
    "HOOK_EVENT_TO_RESPONSE",
    "HOOK_REQUEST_TO_REPLY",
    "QUEUED_21_TO_RESULT",
    "QUEUED_TO_RESULT",
    "READY_MADE",
    "STARTUP_TO_RESPONSE",
    "capability_contract",
    "flow_contract",
]


def _answer(
    chan: Channel,
    answers: tuple[str, ...],
    count: Count = ONE,
    match: Mapping[str, str] | None = None,
    *,
    terminal: bool = False,
    rules: tuple[Rule, ...] = (),
) -> Expect:
    """An Expect on the answer channels ``answers`` (none: the request's reply inbox)."""
    if not answers:
        if chan.reply is None:
            raise ValueError(f"channel {chan.name} is not a request: it has no reply model")
        return Expect(chan.reply, (), count, match or {}, terminal, rules)
    models = {channel(a).payload for a in answers}
    if not set(answers) <= set(chan.answers) or len(models) != 1:
        raise ValueError(f"{chan.name} is answered on {chan.answers} (one model), not {answers}")
    return Expect(models.pop(), answers, count, match or {}, terminal, rules)


def flow_contract(
    name: str,
    start: str,
    expect: tuple[Expect, ...],
    *,
    fresh: tuple[str, ...] = (),
    header: str | None = None,
    rejection: Rejection | None = None,
    timeout: float = 2.0,
    agent_field: str | None = None,
    same_agent: bool = False,
) -> Contract:
    """The contract of the flow that starts on channel ``start``: its model, subject, pattern
    and payload values from the catalogue; ``expect`` built with the channel's answers.
    ``agent_field`` and ``same_agent``: see :class:`Contract`."""
    chan = channel(start)
    request = chan.pattern is Pattern.REQUEST
    return Contract(
        name=name,
        send=chan.payload,
        subject=chan.name,
        expect=expect,
        reply=Reply.REQUEST if request else Reply.PUBLISHED,
        params=chan.subject_params,
        fresh=fresh,
        reply_to="reply_to" if request and "reply_to" in chan.payload.model_fields else None,
        header=header,
        rejection=rejection,
        timeout=timeout,
        values=chan.values,
        agent_field=agent_field,
        same_agent=same_agent,
    )


def _task_flow(name: str, start: str) -> Contract:
    chan = channel(start)
    return flow_contract(
        name,
        start,
        (
            _answer(chan, ("task_progress",), ANY),
            _answer(chan, ("task_result", "task_error"), ONE, {"task_id": "task_id"},
                    terminal=True),
        ),
        fresh=("task_id",),
        rejection=Rejection(
            channel("task_error").payload,
            ("task_error",),
            ("error_details.error_message",),
            {"status": "failed"},
            required=False,
        ),
        agent_field="assigned_agent",
    )  # fmt: skip


ASSIGNMENT_TO_RESULT = _task_flow("assignment to result", "task_assignment")
"""A TaskAssignment -> zero or more TaskOutput, then exactly one TaskResult (result or error)."""

QUEUED_TO_RESULT = _task_flow("queued task to result", "task_queue")
"""The same flow from the core queue group ``tasks.{task_type}.queue.{priority}``."""

QUEUED_21_TO_RESULT = _task_flow("2.1 queued task to result", "task_queue_base")
"""The same flow from 2.1's ``tasks.{task_type}.queue``."""


def _command_flow(name: str, start: str) -> Contract:
    chan = channel(start)
    return flow_contract(
        name,
        start,
        (_answer(chan, (), ONE, terminal=True),),
        fresh=("command_id",),
        rejection=Rejection.service_error(),
        agent_field="agent_id",
        same_agent=True,
    )


COMMAND_TO_REPLY = _command_flow("command to reply", "agent_commands")
"""An AgentCommand by core request -> exactly one CommandReply of the same agent on the inbox."""

COMMAND_21_TO_REPLY = _command_flow("2.1 command to reply", "agent_commands_base")
"""The same on 2.1's ``agents.{agent_id}.commands``."""


def _hook_flow(name: str, start: str) -> Contract:
    chan = channel(start)
    response = channel("cli_response").payload
    return flow_contract(
        name,
        start,
        (_answer(chan, ("cli_response",), ONE, terminal=True),),
        header=EVENT_ID_HEADER,
        rejection=Rejection(response, ("cli_response",), ("reason",), {"decision": "block"}),
    )


HOOK_EVENT_TO_RESPONSE = _hook_flow("hook event to hook response", "cli_hook")
"""A HookEvent -> exactly one HookResponse on ``cli.responses.{agent_id}``, header-correlated."""

STARTUP_TO_RESPONSE = _hook_flow("startup hook to hook response", "cli_startup")
"""The startup HookEvent on ``cli.startup`` -> exactly one HookResponse, header-correlated."""

HOOK_REQUEST_TO_REPLY = flow_contract(
    "2.1 hook request to reply",
    "agent_hook",
    (_answer(channel("agent_hook"), (), ONE, terminal=True),),
    rejection=Rejection.service_error(),
)
"""A HookEvent by core request on ``agent.{agent_id}.pre|post|error`` -> one HookResponse."""


def _offers_what_was_asked(query: Mapping[str, Any], answer: Mapping[str, Any]) -> str | None:
    asked = query.get("required_capabilities") or []
    offered = answer.get("capabilities") or []
    if not isinstance(asked, list) or not isinstance(offered, list):
        return None  # the model check reports it
    missing = [c for c in asked if c not in offered]
    if missing:
        return (
            f"the CapabilityResponse of {answer.get('agent_id')!r} answers a query for "
            f"{asked} but does not offer {missing}"
        )
    return None


def capability_contract(responders: int | None = None, timeout: float | None = None) -> Contract:
    """The capability query contract; with ``responders``, exactly that many must answer.

    Without it, a case gathers answers for ``timeout`` seconds (default 0.25) and any number is
    fine; with it, a case ends as soon as they have answered (default timeout 2 s).
    """
    count = ANY if responders is None else Count.exactly(responders)
    wait = timeout if timeout is not None else (0.25 if responders is None else 2.0)
    name = "capability query to responses"
    if responders is not None:
        name += f" ({responders} responder{'s' if responders != 1 else ''})"
    chan = channel("system_discovery")
    expect = _answer(chan, (), count, {"query_id": "query_id"}, rules=(_offers_what_was_asked,))
    rejection = Rejection.service_error(SOME if responders is None else count)
    return flow_contract(
        name, chan.name, (expect,), fresh=("query_id",), rejection=rejection, timeout=wait
    )


CAPABILITY_QUERY_TO_RESPONSES = capability_contract()
"""A CapabilityQuery by core request -> zero or more CapabilityResponse, query_id matching."""

READY_MADE: tuple[Contract, ...] = (
    ASSIGNMENT_TO_RESULT,
    QUEUED_TO_RESULT,
    QUEUED_21_TO_RESULT,
    COMMAND_TO_REPLY,
    COMMAND_21_TO_REPLY,
    HOOK_EVENT_TO_RESPONSE,
    STARTUP_TO_RESPONSE,
    HOOK_REQUEST_TO_REPLY,
    CAPABILITY_QUERY_TO_RESPONSES,
)
"""One contract per flow of the catalogue: every request channel and every channel with
published answers."""
