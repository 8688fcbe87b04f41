"""The subscriptions a swarm's agents share, and the routing from them to one agent.

At 50,000 agents one subscription per agent per subject would cost a subscription, a queue and
a task each in nats-py; so the swarm holds one wildcard subscription per kind and routes:

* ``agents.*.commands.*`` → :func:`handle_command` of the named agent, reply to the requester
  (an agent of another process, or offline, does not answer: the requester times out);
* ``system.discovery.*`` → one :class:`CapabilityResponse` per live agent offering every
  capability asked (``required_capabilities`` empty: every live agent);
* ``tasks.*.queue.*`` (core queue group :data:`QUEUE_GROUP`) and the ``task_processor`` durable
  pull consumer of ``task_lifecycle`` → :meth:`Agent.offer`; the assignment goes to its
  ``assigned_agent`` when that agent takes tasks, else to the least loaded capable one. Pull:
  fetch at most 10 and at most the free slots, 0.2 s expiry; ack after the final word; nak
  when released by a stopping or crashed agent, or when no agent here can take it (redelivered,
  up to ``max_deliver``); a queue task no agent here can take is published again for another
  member of the group (a worker's share of a swarm), at most :data:`_HAND_BACKS` times;
* ``tasks.*.cancel`` → :meth:`Agent.cancel` of the agent holding the task;
* heartbeats: one timer per heartbeat interval, spreading the agents over
  :data:`HEARTBEAT_SLOTS` slots of it (10 ms apart at 1 s; at least 5 ms apart), after one
  announcing round with its slots 5 ms apart (every agent heard at once); the lag of
  each slot's last beat behind the slot's time goes to ``Metrics.heartbeat_late`` (once per
  slot, not per beat: an HDR record per beat costs as much as the publish).

With ``own`` (per-agent connections, :mod:`simulator.agents._connections`) a hub serves one
agent on that agent's own connection: its subscriptions name the agent where the subject does
(``agents.<id>.commands.*``: what its permissions allow), and a task it takes that its agent
cannot take goes to the least loaded capable one of ``peers`` (the process's other agents).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from simulator.agents._commands import handle_command
from simulator.agents._runtime import Runtime, Work
from simulator.agents.agent import LIVE_STATES, Agent
from simulator.bus import now, until_closed
from simulator.protocol import channels, subjects
from simulator.protocol.headers import HANDED_BACK
from simulator.protocol.models import (
    AgentCommand,
    Availability,
    CapabilityQuery,
    CapabilityResponse,
    TaskAssignment,
    TaskCancel,
    problem,
)

__all__ = ["HEARTBEAT_SLOTS", "QUEUE_GROUP", "TASK_CONSUMER", "TASK_STREAM", "AgentHub"]

QUEUE_GROUP = "mistersmith-agents"
TASK_STREAM = "task_lifecycle"
TASK_CONSUMER = "task_processor"
_BATCH = 10
#: How often a queue-group task nobody here takes is handed back to the group.
_HAND_BACKS = 3
_FETCH_EXPIRY = 0.2
#: Slots of a heartbeat wheel per interval (each slot's agents beat together, with one
#: timestamp); fewer when the agents are fewer or a slot would be under :data:`_MIN_TICK`.
HEARTBEAT_SLOTS = 100
_MIN_TICK = 0.005
_YIELD_EVERY = 200


class AgentHub:
    """Routes a swarm's shared subscriptions to its agents; beats their hearts."""

    def __init__(
        self,
        runtime: Runtime,
        agents: Sequence[Agent],
        *,
        consumer: str | None = TASK_CONSUMER,
        queue: bool = True,
        own: str | None = None,
        peers: Mapping[str, Agent] | None = None,
    ) -> None:
        self.runtime = runtime
        self.agents = list(agents)
        self.by_id = {a.agent_id: a for a in self.agents}
        self.own = own
        #: Who else may take a task this hub's agents cannot, by id (per-agent connections:
        #: the process's agents, one mapping shared by every hub).
        self.peers: Mapping[str, Agent] = {} if peers is None else peers
        self.consumer = consumer
        self._queue = queue and bool(self.agents)  # no agents here: leave the group to others
        self._subs: list[Subscription] = []
        self._loops: list[asyncio.Task[None]] = []
        self._queue_subs: list[Subscription] = []
        self._feed_task: asyncio.Task[None] | None = None
        self._feeding = False
        #: Loop time the heartbeat slot being beaten was due (a benchmark measures lag by it).
        self.slot_due = 0.0

    async def subscribe(self) -> None:
        """Subscribe commands, discovery, queue groups and cancels (then settle)."""
        bus = self.runtime.bus
        wild = subjects.template
        for name in ("agent_commands", "agent_commands_base"):
            commands = wild(name)
            pattern = (
                commands.wildcard if self.own is None else commands.narrowed(agent_id=self.own)
            )
            self._subs.append(await bus.subscribe(pattern, self._on_command))
        self._subs.append(await bus.subscribe(wild("system_discovery").wildcard, self._on_query))
        self._subs.append(await bus.subscribe(wild("task_cancel").wildcard, self._on_cancel))
        if self._queue:
            for name in ("task_queue", "task_queue_base"):
                sub = await bus.subscribe(wild(name).wildcard, self._on_queued, queue=QUEUE_GROUP)
                self._queue_subs.append(sub)
            self._subs.extend(self._queue_subs)
        await bus.settle()

    def start_loops(self) -> None:
        """Start the heartbeat timers and the pull-consumer feed."""
        spawn = asyncio.get_running_loop().create_task
        for interval in sorted({a.group.heartbeat_interval for a in self.agents}):
            members = [a for a in self.agents if a.group.heartbeat_interval == interval]
            self._loops.append(
                spawn(until_closed(self._beat(interval, members)), name=f"heartbeat {interval}")
            )
        if self.consumer is not None:
            self._feeding = True
            self._feed_task = spawn(until_closed(self._feed()), name="task feed")
            self._loops.append(self._feed_task)

    async def stop_intake(self) -> None:
        """Take no new task: leave the queue group, let the feed end its current fetch."""
        self._feeding = False
        for sub in self._queue_subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            self._subs.remove(sub)
        self._queue_subs = []
        if self._feed_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._feed_task
            self._loops.remove(self._feed_task)
            self._feed_task = None

    async def close(self) -> None:
        """Stop every loop and unsubscribe."""
        await self.stop_intake()
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs, self._loops = [], []

    # --- routing --------------------------------------------------------------------------

    def route(self, assignment: TaskAssignment) -> Agent | None:
        """The agent to take ``assignment`` (see the module docstring), or None."""
        named = assignment.assigned_agent
        target = self.by_id.get(named) or self.peers.get(named)
        if target is not None and target.accepting:
            return target
        reqs = assignment.requirements
        needed = set(reqs.capabilities or ()) if reqs is not None else set()
        needed = needed or {assignment.task_type.value}
        for agents in (self.agents, self.peers.values()):
            able = [a for a in agents if a.accepting and needed <= set(a.capabilities)]
            if able:
                return min(able, key=lambda a: a.load)
        return None

    def free_slots(self, enough: int = _BATCH) -> int:
        """Task slots free over the live agents, counted up to ``enough`` (a fetch's worth)."""
        free = 0
        for a in self.agents:
            if a.accepting:
                free += max(0, a.max_tasks - a.load)
                if free >= enough:
                    break
        return free

    async def _on_command(self, msg: Msg) -> None:
        params = subjects.parse(msg.subject).params
        agent = self.by_id.get(params["agent_id"])
        if agent is None or agent.state not in LIVE_STATES:
            return
        try:
            cmd = AgentCommand.model_validate_json(msg.data)
        except ValidationError as error:
            self.runtime.metrics.error("commands", f"{msg.subject}: {error.error_count()} errors")
            await self._refuse(msg)
            return
        reply = await handle_command(agent, cmd, params.get("command_type"))
        target = msg.reply or cmd.reply_to
        if target:
            await self.runtime.bus.publish("agent_command_reply", target, reply)

    async def _refuse(self, msg: Msg) -> None:
        """Answer a malformed request at once, naming the broken field (spec-notes 23)."""
        if msg.reply:
            model = channels.for_subject(msg.subject).payload
            why = problem(model, msg.data) or f"not a valid {model.__name__}"
            await self.runtime.bus.reply_error(msg.reply, f"{msg.subject}: {why}")

    async def _on_query(self, msg: Msg) -> None:
        try:
            query = CapabilityQuery.model_validate_json(msg.data)
        except ValidationError as error:
            self.runtime.metrics.error("discovery", f"{msg.subject}: {error.error_count()} errors")
            await self._refuse(msg)
            return
        target = msg.reply or query.reply_to
        if not target:
            return
        wanted = set(query.required_capabilities)
        for i, agent in enumerate(self.agents):
            if i % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)  # thousands of answers: let the heartbeats through
            if agent.state in LIVE_STATES and wanted <= set(agent.capabilities):
                answer = CapabilityResponse(
                    query_id=query.query_id,
                    agent_id=agent.agent_id,
                    capabilities=list(agent.capabilities),
                    availability=Availability(
                        status=agent.state,
                        capacity=max(0.0, 1.0 - len(agent.running) / agent.max_tasks),
                        current_tasks=len(agent.running),
                        max_tasks=agent.max_tasks,
                    ),
                    timestamp=now(),
                )
                await self.runtime.bus.publish("system_discovery_reply", target, answer)

    async def _on_cancel(self, msg: Msg) -> None:
        task_id = subjects.parse(msg.subject).params["task_id"]
        reason = "cancelled by request"
        with contextlib.suppress(ValidationError):
            reason = TaskCancel.model_validate_json(msg.data).reason or reason
        agent = self.runtime.holders.get(task_id)
        if agent is None:
            self.runtime.remember_cancel(task_id, reason)
        elif self.own is None or agent is self.by_id.get(self.own):  # each hub: its own agent
            await agent.cancel(task_id, reason)

    async def _on_queued(self, msg: Msg) -> None:
        try:
            assignment = TaskAssignment.model_validate_json(msg.data)
        except ValidationError as error:
            self.runtime.metrics.error("queue", f"{msg.subject}: {error.error_count()} errors")
            return
        agent = self.route(assignment)
        if agent is None:
            hops = int((msg.headers or {}).get(HANDED_BACK, "0") or 0)
            if hops < _HAND_BACKS:  # another process of the group may hold live agents
                family = subjects.parse(msg.subject).name
                headers = {HANDED_BACK: str(hops + 1)}
                await self.runtime.bus.publish(family, msg.subject, assignment, headers=headers)
                return
            self.runtime.metrics.error("queue", f"no agent here takes {assignment.task_id}")
            return
        await agent.offer(Work(assignment, "queue"))

    # --- loops ----------------------------------------------------------------------------

    async def _feed(self) -> None:
        bus = self.runtime.bus
        assert self.consumer is not None
        psub = await bus.pull(TASK_STREAM, self.consumer)
        try:
            while self._feeding:
                free = self.free_slots()
                if free <= 0:
                    self.runtime.changed.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.runtime.changed.wait(), _FETCH_EXPIRY)
                    continue
                for msg in await bus.fetch(psub, min(free, _BATCH), _FETCH_EXPIRY):
                    await self._take(msg)
        finally:
            with contextlib.suppress(Exception):
                await psub.unsubscribe()

    async def _take(self, msg: Msg) -> None:
        try:
            assignment = TaskAssignment.model_validate_json(msg.data)
        except ValidationError as error:
            self.runtime.metrics.error("feed", f"{msg.subject}: {error.error_count()} errors")
            await msg.term()
            return
        agent = self.route(assignment) if self._feeding else None
        if agent is None:
            await msg.nak(delay=0.5)
            return
        retry = max(0, msg.metadata.num_delivered - 1)
        await agent.offer(Work(assignment, "stream", msg=msg, retry=retry))

    async def _beat(self, interval: float, members: list[Agent]) -> None:
        bus = self.runtime.bus
        metrics = self.runtime.metrics
        loop = asyncio.get_running_loop()
        slots = max(1, min(len(members), HEARTBEAT_SLOTS, round(interval / _MIN_TICK)))
        tick = interval / slots

        def beats_of(slot: int) -> list[tuple[str, str, bytes]]:
            stamp = now().isoformat().replace("+00:00", "Z")
            return [
                (agent.agent_id, agent.heartbeat_subject, agent.heartbeat_payload(stamp))
                for agent in members[slot::slots]
                if agent.heartbeats and agent.state in LIVE_STATES
            ]

        # An announcing round first, its slots _MIN_TICK apart: every agent is heard within
        # slots x 5 ms of the start (0.1 s for 20 agents), not a whole interval later. The
        # wheel then starts; no agent's beats are ever more than an interval apart.
        for slot in range(slots):
            self.slot_due = loop.time()
            beats = beats_of(slot)
            if beats:
                await bus.publish_heartbeats(beats)
            await asyncio.sleep(min(tick, _MIN_TICK))
        due = loop.time()
        n = 0
        while True:
            self.slot_due = due
            beats = beats_of(n % slots)
            if beats:
                await bus.publish_heartbeats(beats)
                # once per slot: its last beat, the latest of the slot
                metrics.heartbeat_late(max(0.0, (loop.time() - due) * 1000))
            n += 1
            due += tick
            behind = loop.time() - due
            if behind > interval:  # a stall: catch up once per agent, not once per missed beat
                skipped = int(behind // interval)
                due += skipped * interval
            await asyncio.sleep(max(0.0, due - loop.time()))
