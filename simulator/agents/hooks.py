"""The Claude-CLI hook flow (agent side, :class:`HookGateway`) and a hook responder.

Dialects (ERRATA 17, ``HookPolicy.dialect``):

* ``"12.1"`` (default): the agent publishes the :class:`HookEvent` on ``cli.startup`` (startup)
  or ``cli.hooks.{hook_type}.{agent_id}``, with the header :data:`HOOK_EVENT_HEADER` holding a
  seeded event id; the responder publishes the :class:`HookResponse` on
  ``cli.responses.{agent_id}`` with the same header (ERRATA 10: no core request-reply on these
  stored subjects; the header names the event it answers). A response with ``modifications``
  is also published on ``cli.mutations.{agent_id}``. One wildcard subscription per swarm on
  ``cli.responses.*`` routes answers to the waiting agent.
* ``"2.1"``: core request-reply on ``agent.{id}.pre|post|error``; startup is announced on
  ``control.startup`` without an answer. A reply with ``modifications`` is also published on
  ``agent.{id}.hook_response`` (2.1's "hook mutation responses"; no header names the event).

Agents act on the answer alone (``modifications`` are merged into the task's ``tool_input``);
nothing in the simulator subscribes to ``cli.mutations.*`` or ``agent.*.hook_response``: they
are for observers.

After each answer (or the default, on a timeout) the agent publishes a :class:`HookTriggered`
on 2.1's ``hook.{hook_type}.triggered``: the decision taken and the round trip.

File changes are events without an answer, on ``cli.context.{group_id}.file_change`` (12.1) or
``ctx.{group_id}.file_change`` (2.1). An agent waits ``HookPolicy.timeout`` seconds for an
answer, then takes ``HookPolicy.default`` (counted as ``timeout`` in the metrics).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from simulator.agents.behaviour import policy_decision
from simulator.bus import Bus, now
from simulator.errors import SubjectError
from simulator.protocol import subjects
from simulator.protocol.headers import HOOK_EVENT_ID
from simulator.protocol.models import (
    HookDecision,
    HookEvent,
    HookResponse,
    HookTriggered,
    HookType,
    problem,
)
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import HookPolicy

__all__ = ["HOOK_EVENT_HEADER", "Decide", "HookGateway", "HookResponder"]

#: The header that names the hook event a 12.1 response answers (ERRATA 10).
HOOK_EVENT_HEADER = HOOK_EVENT_ID

Decide = Callable[[HookEvent], "HookResponse | Awaitable[HookResponse]"]

_STAGE_21 = {HookType.PRE_TASK: "pre", HookType.POST_TASK: "post", HookType.ON_ERROR: "error"}
_STAGE_TYPES = {stage: hook for hook, stage in _STAGE_21.items()}


class HookGateway:
    """Agent side of the hook flow for a whole swarm (or, with ``agent_id``, for one agent on
    its own connection: it subscribes to that agent's responses only): sends events, awaits
    their answers."""

    def __init__(self, bus: Bus, policy: HookPolicy, *, agent_id: str | None = None) -> None:
        self.bus = bus
        self.policy = policy
        self.agent_id = agent_id
        self._pending: dict[str, asyncio.Future[HookResponse]] = {}
        self._sub: Subscription | None = None

    async def start(self) -> None:
        """Subscribe to the 12.1 responses (the caller settles the connection)."""
        if self.policy.dialect == "12.1":
            responses = subjects.template("cli_response")
            if self.agent_id is None:
                pattern = responses.wildcard
            else:
                pattern = responses.narrowed(agent_id=self.agent_id)
            self._sub = await self.bus.subscribe(pattern, self._on_response)

    async def stop(self) -> None:
        """Unsubscribe; agents still waiting take the default decision."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    def _default(self) -> HookResponse:
        return HookResponse(decision=HookDecision(self.policy.default), reason="hook timeout")

    async def _on_response(self, msg: Msg) -> None:
        event_id = (msg.headers or {}).get(HOOK_EVENT_HEADER)
        future = self._pending.get(event_id) if event_id else None
        if future is None or future.done():
            return
        try:
            future.set_result(HookResponse.model_validate_json(msg.data))
        except ValidationError as error:
            self.bus.metrics.error("hooks", f"invalid hook response: {error.error_count()} errors")

    async def ask(self, event: HookEvent, event_id: str) -> HookResponse:
        """Send ``event``; its answer, or the default decision after the timeout."""
        started = time.monotonic()
        if self.policy.dialect == "2.1":
            answer = await self._ask_21(event)
        else:
            answer = await self._ask_121(event, event_id)
        rtt = (time.monotonic() - started) * 1000
        self.bus.metrics.hook_answered("timeout" if answer is None else answer.decision.value, rtt)
        final = self._default() if answer is None else answer
        triggered = HookTriggered(
            hook_type=event.hook_type,
            agent_id=event.agent_id,
            decision=final.decision,
            timed_out=answer is None,
            round_trip_ms=round(rtt, 3),
            timestamp=now(),
        )
        subject = subjects.hook_triggered(event.hook_type.value)
        await self.bus.publish("hook_triggered", subject, triggered)
        return final

    async def _ask_121(self, event: HookEvent, event_id: str) -> HookResponse | None:
        if event.hook_type is HookType.STARTUP:
            family, subject = "cli_startup", subjects.cli_startup()
        else:
            family, subject = "cli_hook", subjects.cli_hook(event.hook_type.value, event.agent_id)
        future: asyncio.Future[HookResponse] = asyncio.get_running_loop().create_future()
        self._pending[event_id] = future
        try:
            await self.bus.publish(family, subject, event, headers={HOOK_EVENT_HEADER: event_id})
            return await asyncio.wait_for(future, self.policy.timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._pending.pop(event_id, None)

    async def _ask_21(self, event: HookEvent) -> HookResponse | None:
        stage = _STAGE_21.get(event.hook_type)
        if stage is None:  # startup: announced, not answered
            await self.bus.publish("control_startup", subjects.control_startup(), event)
            return HookResponse(decision=HookDecision.APPROVE)
        subject = subjects.agent_hook(event.agent_id, stage)
        try:
            msg = await self.bus.request("agent_hook", subject, event, timeout=self.policy.timeout)
        except (NatsTimeoutError, NoRespondersError, asyncio.TimeoutError):
            return None
        try:
            return HookResponse.model_validate_json(msg.data)
        except ValidationError:
            self.bus.metrics.error("hooks", f"invalid 2.1 hook reply on {subject}")
            return None

    async def file_changed(self, event: HookEvent, group_id: str) -> None:
        """Announce an ``on_file_change`` event (no answer is awaited)."""
        if self.policy.dialect == "2.1":
            await self.bus.publish("ctx_file_change", subjects.ctx_file_change(group_id), event)
        else:
            subject = subjects.cli_file_change(group_id)
            await self.bus.publish("cli_file_change", subject, event)


class HookResponder:
    """A hook service answering both dialects by policy, or by a user's ``decide`` callable."""

    def __init__(
        self,
        client_url_or_client: str | Client | Bus,
        policy: HookPolicy,
        seed: int,
        *,
        decide: Decide | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._target = client_url_or_client
        self.policy = policy
        self.seed = seed
        self.decide = decide
        self.metrics = metrics if metrics is not None else Metrics()
        self.answered: Counter[str] = Counter()
        self.events: list[HookEvent] = []
        self._bus: Bus | None = None
        self._subs: list[Subscription] = []

    async def start(self) -> None:
        """Connect (unless given a client) and subscribe to the hook subjects of both dialects."""
        if isinstance(self._target, Bus):
            self._bus = self._target
        elif isinstance(self._target, Client):
            self._bus = Bus(self._target, self.metrics)
        else:
            self._bus = await Bus.connect(self._target, self.metrics, name="mistersmith-hooks")
        patterns = (
            ("cli_startup", subjects.cli_startup()),
            ("cli_hook", subjects.template("cli_hook").wildcard),
            ("agent_hook", subjects.template("agent_hook").wildcard),
        )
        self._subs = [
            await self._bus.subscribe(pattern, functools.partial(self._on_event, name))
            for name, pattern in patterns
        ]
        await self._bus.settle()

    async def stop(self) -> None:
        """Unsubscribe, and close the connection if the responder made it."""
        for sub in self._subs:
            await sub.unsubscribe()
        self._subs = []
        if self._bus is not None and not isinstance(self._target, Bus):
            await self._bus.close()  # a no-op unless the responder made the connection

    async def _on_event(self, family: str, msg: Msg) -> None:
        """An event on a subscription of template ``family`` (the 12.1 subjects need no
        parse: at a swarm's start every agent's startup event comes here)."""
        assert self._bus is not None
        if family == "agent_hook":
            stage = subjects.parse(msg.subject).params.get("stage")
            if stage not in _STAGE_TYPES or not msg.reply:
                return  # agent.{id}.hook_response (mutations) and other 2.1 traffic: not ours
        try:
            event = HookEvent.model_validate_json(msg.data)
        except ValidationError as error:
            self.metrics.error("responder", f"invalid hook event on {msg.subject}: {error}")
            await self._refuse(subjects.parse(msg.subject), msg)
            return
        self.events.append(event)
        answer = await self._decide(event)
        self.answered[answer.decision.value] += 1
        if family == "agent_hook":
            await self._bus.publish("agent_hook_reply", msg.reply, answer)
            if answer.modifications:
                subject = subjects.agent_hook_response(event.agent_id)
                await self._bus.publish("agent_hook_response", subject, answer)
            return
        headers = {HOOK_EVENT_HEADER: (msg.headers or {}).get(HOOK_EVENT_HEADER, "")}
        await self._bus.publish(
            "cli_response", subjects.cli_response(event.agent_id), answer, headers=headers
        )
        if answer.modifications:
            subject = subjects.cli_mutation(event.agent_id)
            await self._bus.publish("cli_mutation", subject, answer, headers=headers)

    async def _refuse(self, parsed: subjects.ParsedSubject, msg: Msg) -> None:
        """Answer a malformed hook event at once, naming the broken field: a 2.1 request with
        the services error headers (spec-notes 23), a 12.1 event with ``decision: block`` on
        ``cli.responses.{agent_id}`` when the subject names the agent, or else (``cli.startup``)
        the payload's readable ``agent_id`` does (ERRATA 16)."""
        assert self._bus is not None
        why = f"{msg.subject}: {problem(HookEvent, msg.data) or 'not a valid HookEvent'}"
        if parsed.name == "agent_hook":
            if msg.reply:
                await self._bus.reply_error(msg.reply, why)
            return
        agent = parsed.params.get("agent_id") or _readable_agent(msg.data)
        if agent is not None:
            answer = HookResponse(decision=HookDecision.BLOCK, reason=why)
            headers = {HOOK_EVENT_HEADER: (msg.headers or {}).get(HOOK_EVENT_HEADER, "")}
            subject = subjects.cli_response(agent)
            await self._bus.publish("cli_response", subject, answer, headers=headers)

    async def _decide(self, event: HookEvent) -> HookResponse:
        if self.decide is None:
            return policy_decision(self.policy, self.seed, event)
        answer = self.decide(event)
        if inspect.isawaitable(answer):
            return await answer
        return answer


def _readable_agent(data: bytes) -> str | None:
    """The ``agent_id`` of a malformed event's payload, when it is a valid subject token."""
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:
        return None
    agent = body.get("agent_id") if isinstance(body, dict) else None
    if not isinstance(agent, str):
        return None
    try:
        subjects.cli_response(agent)
    except SubjectError:
        return None
    return agent
