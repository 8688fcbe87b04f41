"""Per-agent connections: every agent of a swarm on a connection of its own, as itself.

The shared :class:`AgentHub` serves thousands of agents on one connection, which a secured
server sees as one identity. Here each agent gets what a real agent process has: a
:class:`~simulator.bus.Bus` of its own (one connection, its heartbeats on it too) opened with
its own credentials (``options(agent_ids)``, every agent's at once: a secured server's
``agent:<id>`` identities, e.g. :meth:`NatsServer.agent_options`), a
:class:`HookGateway` that subscribes to its hook responses only, and a small
:class:`AgentHub` (``own=<id>``) whose subscriptions name the agent where the subject does,
so that they stay inside its permissions. The server enforces every publish: a permissions
violation reaches the metrics from the agent's connection (``Metrics.denied``).

The agents still share the swarm's registry (task holders, early cancels, the ``changed``
event, the spawned tasks): each agent's :class:`Runtime` is the swarm's with its own bus and
gateway. A task one agent's connection takes that its agent cannot take goes to the least
loaded capable agent of the process. Connections open :data:`CONNECT_BATCH` at a time (each
may be a TLS handshake).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Mapping, Sequence

from simulator.agents._hub import TASK_CONSUMER, AgentHub
from simulator.agents._runtime import Runtime
from simulator.agents.agent import Agent
from simulator.agents.hooks import HookGateway
from simulator.bus import Bus
from simulator.swarm.scenario import AgentGroup

__all__ = ["CONNECT_BATCH", "AgentConnections", "AgentOptions"]

#: ``nats.connect`` keywords (credentials and TLS) of each agent id given, in order: one call
#: for all, so that a secured server learns every new identity with one reload.
AgentOptions = Callable[[Sequence[str]], Sequence[Mapping[str, object]]]
#: Connections opened at once (TLS handshakes on one event loop: more at once keep each
#: waiting longer, past the server's handshake timeout on a loaded machine).
CONNECT_BATCH = 20


class AgentConnections:
    """Every agent of ``agents`` on its own connection to ``url`` (see the module)."""

    def __init__(
        self,
        url: str,
        shared: Runtime,
        agents: Sequence[tuple[str, AgentGroup]],
        options: AgentOptions,
        *,
        consumer: str | None = TASK_CONSUMER,
    ) -> None:
        self.url = url
        self.shared = shared
        self._wanted = list(agents)
        self._options = options
        self._consumer = consumer
        self.agents: list[Agent] = []
        self.hubs: list[AgentHub] = []
        self._buses: list[Bus] = []
        self._gateways: list[HookGateway] = []

    async def open(self) -> list[Agent]:
        """Connect every agent, subscribe each hub and settle; the agents (not started yet).

        A connection the server refuses raises (nats-py's error); nothing stays open.
        """
        ids = [agent_id for agent_id, _ in self._wanted]
        options = self._options(ids)
        wanted = list(zip(ids, options, strict=True))
        try:
            for first in range(0, len(wanted), CONNECT_BATCH):
                batch = wanted[first : first + CONNECT_BATCH]
                done = await asyncio.gather(
                    *(self._connect(a, option) for a, option in batch), return_exceptions=True
                )
                self._buses += [bus for bus in done if isinstance(bus, Bus)]
                failed = [exc for exc in done if isinstance(exc, BaseException)]
                if failed:
                    raise failed[0]
            for (agent_id, group), bus in zip(self._wanted, self._buses, strict=True):
                gateway = HookGateway(bus, self.shared.policy, agent_id=agent_id)
                await gateway.start()  # the hub's subscribe settles it
                self._gateways.append(gateway)
                runtime = dataclasses.replace(self.shared, bus=bus, gateway=gateway)
                self.agents.append(Agent(agent_id, group, runtime))
            peers = {agent.agent_id: agent for agent in self.agents}  # shared by every hub
            self.hubs = [
                AgentHub(
                    agent.runtime,
                    [agent],
                    consumer=self._consumer,
                    own=agent.agent_id,
                    peers=peers,
                )
                for agent in self.agents
            ]
            for first in range(0, len(self.hubs), CONNECT_BATCH):
                hubs = self.hubs[first : first + CONNECT_BATCH]
                await asyncio.gather(*(hub.subscribe() for hub in hubs))  # each settles
        except BaseException:
            await self.close()
            await self.disconnect()
            raise
        return list(self.agents)

    async def _connect(self, agent_id: str, options: Mapping[str, object]) -> Bus:
        return await Bus.connect(
            self.url, self.shared.metrics, name=f"mistersmith-agent-{agent_id}", options=options
        )

    def start_loops(self) -> None:
        """Start every agent's heartbeat timer and task feed."""
        for hub in self.hubs:
            hub.start_loops()

    async def stop_intake(self) -> None:
        """No agent takes a new task."""
        await asyncio.gather(*(hub.stop_intake() for hub in self.hubs))

    async def close(self) -> None:
        """Stop the loops, unsubscribe; the agents' connections stay (see :meth:`disconnect`)."""
        await asyncio.gather(*(hub.close() for hub in self.hubs))
        for gateway in self._gateways:
            with contextlib.suppress(Exception):
                await gateway.stop()
        self.hubs, self._gateways = [], []

    async def disconnect(self) -> None:
        """Drain and close every agent's connection (after their last publish)."""
        buses, self._buses = self._buses, []
        await asyncio.gather(*(bus.close() for bus in buses), return_exceptions=True)
