"""The swarm fixture factory: simulated agents on the test's server, as an async context manager.

::

    async def test_agents_settle(swarm):
        async with swarm(agents=20, seed=1) as s:
            await s.wait_idle()
            assert len(s.agents) == 20
        assert s.report["errors"]["total"] == 0
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Literal, Protocol

import pytest
import pytest_asyncio

from pytest_mistersmith.config import Scope
from pytest_mistersmith.factories.server import mark_used

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from typing import TypeAlias

    from pydantic import JsonValue

    from simulator.agents import Agent, AgentOptions, HookResponder
    from simulator.swarm import Swarm
    from simulator.swarm.metrics import Metrics
    from simulator.swarm.scenario import Scenario

    #: Who answers the agents' hook requests: the swarm's own responder, yours, or nobody.
    Responder: TypeAlias = HookResponder | Literal["builtin"] | None

__all__ = ["TEST_TIMING", "SwarmFn", "SwarmRun", "fixture_scenario", "swarm_factory"]

#: The fixture's default scenario beats twice as often as ``mistersmith run`` and calls an
#: agent missed after half the time (1.75 s, the same 3.5 heartbeats): a test waits less.
TEST_TIMING: dict[str, object] = {"heartbeat_interval": 0.5, "heartbeat_timeout": 1.75}


class SwarmFn(Protocol):
    """What a swarm fixture gives: call it for a :class:`SwarmRun` (``async with`` runs it)."""

    def __call__(
        self,
        agents: int | None = None,
        seed: int | None = None,
        scenario: Scenario | None = None,
        hook_responder: Responder = "builtin",
        dispatcher: bool = True,
        agent_connections: bool | None = None,
        **scenario_overrides: object,
    ) -> SwarmRun: ...


class SwarmRun:
    """One swarm on a server: ``async with`` starts it and drains it; ``report`` after or during."""

    def __init__(
        self,
        client_url: str,
        scenario: Scenario,
        *,
        hook_responder: Responder = "builtin",
        dispatcher: bool = True,
        monitor: bool = True,
        connect_options: Mapping[str, object] | None = None,
        agent_options: AgentOptions | None = None,
    ) -> None:
        from simulator.swarm.metrics import Metrics

        self._agent_options = agent_options
        self.client_url = client_url
        self._connect_options = dict(connect_options or {})
        self.scenario = scenario
        self.metrics: Metrics = Metrics()
        self._hook_responder: Responder = hook_responder
        self._dispatcher = dispatcher
        self._monitor = monitor
        self._swarm: Swarm | None = None
        self.running = False

    @property
    def swarm(self) -> Swarm:
        """The :class:`simulator.swarm.Swarm` (after ``async with`` has started it)."""
        if self._swarm is None:
            raise RuntimeError("the swarm is not started: use `async with swarm(...) as s:`")
        return self._swarm

    @property
    def agents(self) -> list[Agent]:
        """The swarm's agents (``agent_id``, ``state``, ``capabilities``, ``tasks_done``)."""
        return list(self.swarm.agents)

    def counts(self) -> dict[str, int]:
        """Agents by state."""
        return dict(self.swarm.counts())

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every agent is idle and no task is in flight."""
        await self.swarm.wait_idle(timeout=timeout)

    @property
    def report(self) -> dict[str, JsonValue]:
        """The run's report as the JSON report has it: counts, percentiles, errors, scenario."""
        from simulator.swarm.report import build_report

        return build_report(self.metrics, self.scenario, server={"client_url": self.client_url})

    async def start(self) -> SwarmRun:
        """Start the swarm (``async with`` does it)."""
        from simulator.swarm import Swarm

        self._swarm = Swarm(
            self.client_url,
            self.scenario,
            metrics=self.metrics,
            hook_responder=self._hook_responder,
            dispatcher=self._dispatcher,
            monitor=self._monitor,
            connect_options=self._connect_options,
            agent_options=self._agent_options,
        )
        await self._swarm.start()
        self.metrics.begin()
        self.running = True
        return self

    async def stop(self) -> None:
        """Drain and stop the swarm (idempotent)."""
        if self.running:
            self.running = False
            try:
                await self.swarm.stop()
            finally:
                self.metrics.end()

    async def __aenter__(self) -> SwarmRun:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def fixture_scenario(
    agents: int | None = None,
    seed: int | None = None,
    scenario: Scenario | None = None,
    **overrides: object,
) -> Scenario:
    """The scenario a swarm fixture runs: ``scenario``, else the default one on
    :data:`TEST_TIMING` for an hour, with ``agents``, ``seed`` and ``overrides`` applied."""
    from simulator.swarm.scenario import default_scenario, with_overrides

    base = default_scenario(duration=3600.0) if scenario is None else scenario
    given = {"agents": agents, "seed": seed}
    changes = {k: v for k, v in given.items() if v is not None}
    timing = TEST_TIMING if scenario is None else {}
    return with_overrides(base, **{**timing, **changes, **overrides})


def swarm_factory(
    server_fixture_name: str = "nats_server",
    *,
    topology_fixture_name: str | None = "mistersmith_topology",
    scope: Scope = "function",
    loop_scope: Scope | None = None,
) -> Callable[..., AsyncIterator[SwarmFn]]:
    """A fixture returning ``swarm(agents=5, seed=0, scenario=None, hook_responder="builtin",
    dispatcher=True, agent_connections=None, **scenario_overrides)``, an async context manager
    over a swarm. ``agent_connections``: every agent on its own connection as ``agent:<id>``
    (default: on a secured server, as ``mistersmith run`` does), else one shared connection.

    The swarm runs on the server fixture ``server_fixture_name``; ``topology_fixture_name``
    (the topology, reset before the test) is requested first, ``None`` to skip it. The
    overrides are :func:`simulator.swarm.scenario.with_overrides`'s (``task_rate=0``,
    ``failure_rate=0``, ``hook_kind="approve_all"``...). Without a ``scenario``, the default
    one runs on test timing (:data:`TEST_TIMING`: a heartbeat every 0.5 s, an agent missed
    after 1.75 s; override either). Swarms left running are drained after the test.
    """

    @pytest_asyncio.fixture(scope=scope, loop_scope=loop_scope or scope)
    async def swarm_fixture(request: pytest.FixtureRequest) -> AsyncIterator[SwarmFn]:
        if topology_fixture_name is not None:
            request.getfixturevalue(topology_fixture_name)
        server = request.getfixturevalue(server_fixture_name)
        mark_used(request, server)
        runs: list[SwarmRun] = []

        def swarm(
            agents: int | None = None,
            seed: int | None = None,
            scenario: Scenario | None = None,
            hook_responder: Responder = "builtin",
            dispatcher: bool = True,
            agent_connections: bool | None = None,
            **scenario_overrides: object,
        ) -> SwarmRun:
            chosen = fixture_scenario(agents, seed, scenario, **scenario_overrides)
            own = server.material is not None if agent_connections is None else agent_connections
            run = SwarmRun(
                server.client_url,
                chosen,
                hook_responder=hook_responder,
                dispatcher=dispatcher,
                connect_options=server.connect_options(),  # the admin's, on a secured server
                agent_options=server.agent_options if own else None,
            )
            runs.append(run)
            return run

        try:
            yield swarm
        finally:
            for run in runs:
                await run.stop()

    return swarm_fixture
