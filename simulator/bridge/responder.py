"""``mistersmith hook-responder``: the simulator's :class:`~simulator.agents.hooks.HookResponder`
as a service, with a policy from the command line, so the bridge's loop runs with no code.

The policy (:func:`service_policy`), for ``pre_task`` events only (every other event is
approved): a tool named by ``block_tools`` is blocked; else one in ``block_rate`` is blocked
(seeded by the event, as the simulator's ``block_rate`` policy); else a tool named by a
``modify`` rule (``TOOL:KEY=VALUE``, ``*`` for every tool; VALUE read as JSON, else as text)
is approved with those ``modifications``; else approved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from pydantic import JsonValue

from simulator.agents.behaviour import policy_decision
from simulator.protocol.models import HookDecision, HookEvent, HookResponse, HookType
from simulator.swarm.scenario import HookPolicy

__all__ = ["modify_rule", "service_policy"]

Rule = tuple[str, str, JsonValue]


def modify_rule(text: str) -> Rule:
    """``TOOL:KEY=VALUE`` as ``(tool, key, value)``; ``ValueError`` says what is missing."""
    tool, colon, rest = text.partition(":")
    key, equals, value = rest.partition("=")
    if not (colon and equals and tool and key):
        raise ValueError(f"--modify {text!r}: expected TOOL:KEY=VALUE (TOOL may be '*')")
    try:
        parsed: JsonValue = json.loads(value)
    except ValueError:
        parsed = value
    return tool, key, parsed


def service_policy(
    block_tools: Sequence[str] = (),
    block_rate: float = 0.0,
    modify: Sequence[Rule] = (),
    seed: int = 0,
) -> Callable[[HookEvent], HookResponse]:
    """The responder's ``decide``: block by name, block at a seeded rate, modify, approve."""
    rate = HookPolicy(kind="block_rate", rate=block_rate)

    def decide(event: HookEvent) -> HookResponse:
        if event.hook_type is not HookType.PRE_TASK:
            return HookResponse(decision=HookDecision.APPROVE)
        if event.tool_name in block_tools:
            return HookResponse(
                decision=HookDecision.BLOCK, reason=f"tool {event.tool_name} is not allowed"
            )
        if block_rate > 0 and policy_decision(rate, seed, event).blocks_task:
            return HookResponse(decision=HookDecision.BLOCK, reason="blocked by seeded policy")
        changes = {k: v for tool, k, v in modify if tool in ("*", event.tool_name)}
        if changes:
            return HookResponse(decision=HookDecision.APPROVE, modifications=changes)
        return HookResponse(decision=HookDecision.APPROVE)

    return decide
