"""A swarm: many agents, a dispatcher, a heartbeat monitor and a hook responder, on one
connection, started and drained together.

``async with Swarm(url, scenario) as s: await s.run(5)`` starts everything, dispatches the
scenario's tasks for 5 seconds, waits until the swarm is idle, and drains it on exit. Order of
start: connection, hook responder (``"builtin"``: the policy responder; ``None``: none, the
user's service answers; an instance: started and stopped by the swarm), monitor, the agents'
shared subscriptions, the agents (all at once), the dispatcher (discovery first), heartbeats
and the pull feed, then the monitor's checks. Stop reverses it: dispatching, intake and the
monitor's checks stop first, agents drain (``stopping`` → ``offline``: running tasks finish,
queued stream tasks are nak'ed for redelivery), then the monitor, the responder and the
connections.

``agent_options`` switches to per-agent connections (a secured server, one identity per
agent): every agent connects on its own with its ``nats.connect`` keywords from
``agent_options(agent_ids)`` (e.g. a server handle's ``agent_options``) and is served by its own
small hub (see :class:`~simulator.agents.AgentConnections`); the dispatcher, monitor and
responder stay on the swarm's connection. Without it every agent shares that connection
(the fast path).

``task_consumer`` names the durable pull consumer of ``task_lifecycle`` the agents take stream
assignments from (default ``task_processor``); ``None`` leaves the stream to a consumer of the
test's own (the agents still take the core queue-group tasks).

As the orchestrator, the swarm announces itself: once started, its scenario as a
:class:`ConfigChange` on ``system.config.swarm.applied`` and a :class:`ControlMessage` on
``system.control.start``; when it begins to drain, ``system.control.stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Coroutine, Iterable, Mapping
from typing import Any, Literal

from nats.errors import ConnectionClosedError

from simulator.agents import TASK_CONSUMER, AgentConnections, AgentHub, AgentOptions, Runtime
from simulator.agents.agent import Agent
from simulator.agents.behaviour import rng_for, seeded_uuid
from simulator.agents.hooks import HookGateway, HookResponder
from simulator.bus import Bus, now
from simulator.protocol import subjects
from simulator.protocol.models import AgentState, ConfigChange, ControlMessage
from simulator.swarm.dispatcher import Dispatcher
from simulator.swarm.metrics import Metrics
from simulator.swarm.monitor import HeartbeatMonitor
from simulator.swarm.scenario import AgentGroup, Scenario

__all__ = ["SWARM", "Swarm", "agent_ids"]

#: The ``{component}`` of the swarm's ``system.config`` and ``system.control`` messages.
SWARM = "swarm"

_BATCH = 1000
_BUSY = frozenset({AgentState.BUSY, AgentState.STARTING})


class Swarm:
    """Agents, dispatcher, monitor and hook responder of one scenario, on one connection."""

    def __init__(
        self,
        client_url: str,
        scenario: Scenario,
        *,
        metrics: Metrics | None = None,
        hook_responder: HookResponder | Literal["builtin"] | None = "builtin",
        dispatcher: bool = True,
        monitor: bool = True,
        task_consumer: str | None = TASK_CONSUMER,
        connect_options: Mapping[str, object] | None = None,
        agent_options: AgentOptions | None = None,
        agents: range | None = None,
        announce: bool = True,
        name: str = "mistersmith-swarm",
        wire_heartbeats: bool = True,
    ) -> None:
        self.client_url = client_url
        #: ``nats.connect`` keywords of a secured server (one identity for the whole swarm).
        self.connect_options = dict(connect_options or {})
        self.scenario = scenario
        self.metrics = metrics if metrics is not None else Metrics()
        self.agents: list[Agent] = []
        self.bus: Bus | None = None
        self.responder: HookResponder | None = None
        self.dispatcher: Dispatcher | None = None
        self.monitor: HeartbeatMonitor | None = None
        self.hub: AgentHub | None = None
        #: Per-agent connections (with ``agent_options``; then :attr:`hub` is None).
        self.connections: AgentConnections | None = None
        self._agent_options = agent_options
        self._responder_choice = hook_responder
        self._want_dispatcher = dispatcher
        self._want_monitor = monitor
        self._task_consumer = task_consumer
        self._runtime: Runtime | None = None
        #: Which of the scenario's agents run here (all; a worker's share: a range of them).
        self.share = agents
        self._announce_run = announce
        self._name = name
        self._wire_heartbeats = wire_heartbeats
        #: Seconds the agents took to start (made, subscribed, each ``idle``), once started.
        self.start_seconds: float | None = None

    @property
    def runtime(self) -> Runtime:
        """What the agents share (after start)."""
        if self._runtime is None:
            raise RuntimeError("the swarm is not started: use 'async with' or await start()")
        return self._runtime

    def agent(self, agent_id: str) -> Agent:
        """The agent called ``agent_id``."""
        return next(a for a in self.agents if a.agent_id == agent_id)

    async def start(self) -> None:
        """Connect; start the responder, the monitor, the agents and the dispatcher."""
        sc = self.scenario
        bus = self.bus = await Bus.connect(
            self.client_url,
            self.metrics,
            name=self._name,
            heartbeats=True,
            options=self.connect_options,
        )
        choice = self._responder_choice
        if choice == "builtin":
            if sc.hooks.builtin_responder:
                self.responder = HookResponder(bus, sc.hooks, sc.seed, metrics=self.metrics)
        else:
            self.responder = choice
        if self.responder is not None:
            await self.responder.start()
        gateway = HookGateway(bus, sc.hooks)
        if self.share is None or len(self.share):  # a coordinator's swarm holds no agent
            await gateway.start()
        rt = self._runtime = Runtime(bus, gateway, sc.seed, sc.hooks)
        if self._want_monitor:
            self.monitor = HeartbeatMonitor(
                bus,
                heartbeat_timeout=sc.heartbeat_timeout,
                seed=sc.seed,
                wire_heartbeats=self._wire_heartbeats,
            )
            await self.monitor.start(check=False)
        began = time.monotonic()
        everyone = agent_ids(sc)
        mine = everyone if self.share is None else everyone[self.share.start : self.share.stop]
        if self._agent_options is None:
            self.agents = [Agent(agent_id, group, rt) for agent_id, group in mine]
            self.hub = AgentHub(rt, self.agents, consumer=self._task_consumer)
            await self.hub.subscribe()  # settles the connection: every subscription is live
        else:
            self.connections = AgentConnections(
                self.client_url,
                rt,
                mine,
                self._agent_options,
                consumer=self._task_consumer,
            )
            self.agents = await self.connections.open()
            await bus.settle()
        await _batched(a.start() for a in self.agents)
        self.start_seconds = time.monotonic() - began
        if self._want_dispatcher:  # discovery before the heartbeats load the connection
            self.dispatcher = Dispatcher(bus, sc)
            self.dispatcher.changed = rt.changed
            await self.dispatcher.start(expected_agents=sc.agent_count)
        for loops in (self.hub, self.connections):
            if loops is not None:
                loops.start_loops()
        if self.monitor is not None:
            self.monitor.start_checking()
        if self._announce_run:
            await self.announce("start")

    async def announce(self, operation: str) -> None:
        """The orchestrator's word on the swarm: the configuration applied (at start), and the
        control operation (``start``, ``stop``)."""
        assert self.bus is not None
        sc, bus = self.scenario, self.bus
        rng = rng_for(sc.seed, "control", operation)
        if operation == "start":
            settings = json.loads(json.dumps(sc.to_dict()))
            change = ConfigChange(
                config_id=seeded_uuid(rng),
                component=SWARM,
                action="applied",
                settings=settings,
                timestamp=now(),
            )
            await bus.publish("system_config", subjects.system_config(SWARM, "applied"), change)
        control = ControlMessage(
            control_id=seeded_uuid(rng),
            operation=operation,
            component=SWARM,
            agents=sc.agent_count,
            timestamp=now(),
        )
        await bus.publish("system_control", subjects.system_control(operation), control)

    def _idle(self) -> bool:
        rt = self.runtime
        if rt.holders or any(a.state in _BUSY or a.running for a in self.agents):
            return False
        return self.dispatcher is None or self.dispatcher.idle

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no task is in flight, no agent busy, no dispatched task outstanding."""
        rt = self.runtime
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            rt.changed.clear()
            if self._idle():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                outstanding = len(self.dispatcher.outstanding) if self.dispatcher else 0
                raise TimeoutError(
                    f"swarm not idle after {timeout} s: {self.counts()}, "
                    f"{len(rt.holders)} task(s) held, {outstanding} outstanding at the dispatcher"
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(rt.changed.wait(), remaining)

    async def run(self, duration: float | None = None) -> None:
        """Dispatch for ``duration`` (default: the scenario's), then wait until idle."""
        seconds = self.scenario.duration if duration is None else duration
        if self.dispatcher is not None:
            await self.dispatcher.run(seconds)
        await self.wait_idle(timeout=max(10.0, (self.scenario.tasks.deadline or 0) + 5))

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Drain: stop intake, agents ``stopping`` → ``offline``, then close everything.

        When the connection closed for good (the server gone, the reconnects spent) there is
        nobody to say goodbye to: the agents' tasks are cancelled and everything is closed
        without a message."""
        if self.bus is None:
            return
        try:
            await self._stop(drain_timeout, gone=self.bus.client.is_closed)
        except ConnectionClosedError:  # the server went away during the drain
            await self._stop(drain_timeout, gone=True)

    async def _stop(self, drain_timeout: float, *, gone: bool) -> None:
        assert self.bus is not None
        if self._announce_run and not gone:
            await self.announce("stop")
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        for intake in (self.hub, self.connections):
            if intake is not None:
                await intake.stop_intake()
        if self.monitor is not None:  # draining agents go quiet: no alarms for that
            self.monitor.stop_checking()
        if not gone:
            await _batched(a.stop("swarm stopping", drain_timeout) for a in self.agents)
        for hub in (self.hub, self.connections):
            if hub is not None:
                await hub.close()
        if self.monitor is not None:
            await self.monitor.stop()
        if self._runtime is not None:
            if gone:
                self._runtime.cancel_tasks()
            await self._runtime.wait_tasks()
            if not gone:
                await self._runtime.gateway.stop()
        if self.connections is not None:
            await self.connections.disconnect()
        if self.responder is not None and not gone:
            await self.responder.stop()
        await self.bus.close()
        self.bus = None

    async def __aenter__(self) -> Swarm:
        """Start the swarm."""
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Drain and stop the swarm."""
        await self.stop()

    def counts(self) -> dict[str, int]:
        """Agents per lifecycle state (every state, zeros included)."""
        seen = Counter(a.state.value for a in self.agents)
        return {state.value: seen.get(state.value, 0) for state in AgentState}


async def _batched(coros: Iterable[Coroutine[Any, Any, None]], size: int = _BATCH) -> None:
    """Run ``coros`` in order, at most ``size`` at once (50,000 at once flood the connection).

    A window, not batches: the next one starts as soon as any ends, so that a few slow ones
    (a hook answer from a busy responder) do not hold up the rest. The first error is raised
    once those running have ended, the rest not started; cancelled, it cancels those running.
    """
    running: set[asyncio.Task[None]] = set()
    failed: BaseException | None = None
    spawn = asyncio.get_running_loop().create_task

    def first_error(done: set[asyncio.Task[None]]) -> BaseException | None:
        for task in done:
            if task.cancelled():
                return asyncio.CancelledError()
            if task.exception() is not None:
                return task.exception()
        return None

    try:
        for coro in coros:
            if failed is not None:
                coro.close()
                continue
            running.add(spawn(coro))
            if len(running) >= size:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                failed = first_error(done)
        if running:
            done, running = await asyncio.wait(running)
            failed = failed or first_error(done)
    finally:
        for task in running:
            task.cancel()
    if failed is not None:
        raise failed


def agent_ids(scenario: Scenario) -> list[tuple[str, AgentGroup]]:
    """``{group name}-{n}`` for each agent (the group's index added if names repeat)."""
    names = [g.name for g in scenario.groups]
    out: list[tuple[str, AgentGroup]] = []
    for gi, group in enumerate(scenario.groups):
        prefix = group.name if names.count(group.name) == 1 else f"{group.name}{gi}"
        out += [(f"{prefix}-{i}", group) for i in range(group.count)]
    return out
