"""The contracts of the spec's flows, ready-made (private: see ``pytest_mistersmith.contracts``).

* Assignment to result: a TaskAssignment on ``tasks.{task_type}.assignment`` (stored) is
  followed by zero or more TaskOutput lines on ``tasks.{task_id}.progress`` and exactly one
  TaskResult on ``tasks.{task_id}.result`` or ``tasks.{task_id}.error`` (ERRATA 15: progress
  lines are task output, the final word is a task result). A rejected assignment whose
  ``task_id`` is readable is reported by a failed TaskResult on ``tasks.{task_id}.error``
  whose ``error_details.error_message`` names the field.
* Command to reply: an AgentCommand on ``agents.{agent_id}.commands.{command_type}``
  (unstored) by core request-reply; the reply, on the request's inbox (which is also the
  payload's ``reply_to`` when it has one), is the agent's AgentStatus (2.4's StatusUpdate).
* Hook event to hook response: a HookEvent published on ``cli.hooks.{hook_type}.{agent_id}``
  with a ``Mistersmith-Event-Id`` header; exactly one HookResponse on
  ``cli.responses.{agent_id}`` with the same header (ERRATA 10). A rejected event is answered
  by ``decision: block`` with a ``reason`` naming the field (ERRATA 16: block stops the task).
* Capability query to responses: a CapabilityQuery on ``system.discovery.capabilities`` by
  core request (unstored); every responder answers on the request's inbox (the payload's
  ``reply_to`` when it has one) with a CapabilityResponse whose ``query_id`` matches and which
  offers every capability asked. Zero or more responders: a case gathers answers until its
  timeout, unless :func:`capability_contract` is told how many responders there are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_mistersmith._contracts_types import (
    ANY,
    EVENT_ID_HEADER,
    ONE,
    Contract,
    Count,
    Expect,
    Rejection,
    Reply,
)
from simulator.protocol.models import (
    AgentCommand,
    AgentStatus,
    CapabilityQuery,
    CapabilityResponse,
    HookEvent,
    HookResponse,
    TaskAssignment,
    TaskOutput,
    TaskResult,
)

__all__ = [
    "ASSIGNMENT_TO_RESULT",
    "CAPABILITY_QUERY_TO_RESPONSES",
    "COMMAND_TO_REPLY",
    "DISCOVERY_SERVICE",
    "HOOK_EVENT_TO_RESPONSE",
    "READY_MADE",
    "capability_contract",
]

DISCOVERY_SERVICE = "capabilities"
"""The ``{service_type}`` of ``system.discovery.{service_type}`` capability queries go to."""

ASSIGNMENT_TO_RESULT = Contract(
    name="assignment to result",
    send=TaskAssignment,
    subject="task_assignment",
    fresh=("task_id",),
    expect=(
        Expect(TaskOutput, ("task_progress",), ANY, match={"agent_id": "assigned_agent"}),
        Expect(
            TaskResult,
            ("task_result", "task_error"),
            ONE,
            match={"task_id": "task_id", "agent_id": "assigned_agent"},
            terminal=True,
        ),
    ),
    rejection=Rejection(
        TaskResult, ("task_error",), ("error_details.error_message",), {"status": "failed"}
    ),
)
"""A TaskAssignment -> zero or more TaskOutput, then exactly one TaskResult (result or error)."""

COMMAND_TO_REPLY = Contract(
    name="command to reply",
    send=AgentCommand,
    subject="agent_commands",
    reply=Reply.REQUEST,
    reply_to="reply_to",
    fresh=("command_id",),
    expect=(Expect(AgentStatus, (), ONE, match={"agent_id": "agent_id"}, terminal=True),),
)
"""An AgentCommand by core request -> exactly one AgentStatus of the same agent on the inbox."""

HOOK_EVENT_TO_RESPONSE = Contract(
    name="hook event to hook response",
    send=HookEvent,
    subject="cli_hook",
    header=EVENT_ID_HEADER,
    expect=(Expect(HookResponse, ("cli_response",), ONE, terminal=True),),
    rejection=Rejection(HookResponse, ("cli_response",), ("reason",), {"decision": "block"}),
)
"""A HookEvent -> exactly one HookResponse on ``cli.responses.{agent_id}``, header-correlated."""


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


def _discovery(payload: Mapping[str, Any]) -> Mapping[str, object]:
    return {"service_type": DISCOVERY_SERVICE}


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
    return Contract(
        name=name,
        send=CapabilityQuery,
        subject="system_discovery",
        params=_discovery,
        reply=Reply.REQUEST,
        reply_to="reply_to",
        fresh=("query_id",),
        expect=(
            Expect(
                CapabilityResponse,
                (),
                count,
                match={"query_id": "query_id"},
                rules=(_offers_what_was_asked,),
            ),
        ),
        timeout=wait,
    )


CAPABILITY_QUERY_TO_RESPONSES = capability_contract()
"""A CapabilityQuery by core request -> zero or more CapabilityResponse, query_id matching."""

READY_MADE: tuple[Contract, ...] = (
    ASSIGNMENT_TO_RESULT,
    COMMAND_TO_REPLY,
    HOOK_EVENT_TO_RESPONSE,
    CAPABILITY_QUERY_TO_RESPONSES,
)
"""The contracts of the spec's flows."""
