"""Swarms on a secured server with per-agent connections: each agent as itself (issue 13)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from rich.console import Console

from simulator.protocol import subjects
from simulator.servers import BinaryServer, get_json
from simulator.servers.security import Auth, TlsMode
from simulator.swarm import Swarm
from simulator.swarm.metrics import Metrics, denied_subject
from simulator.swarm.report import summary
from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario, TaskMix
from tests.secured import secured_server

PROFILES: list[tuple[Auth, TlsMode]] = [
    ("nkey", "mtls"),
    ("password", "tls"),
    ("jwt", "off"),
    ("token", "off"),
    ("none", "tls"),
]
TEN = AgentGroup(count=10, task_duration=(0.01, 0.03), heartbeat_interval=0.2, failure_rate=0.0)
WEIGHTS = {"analysis": 3.0, "execution": 3.0, "validation": 1.0}


def clean_scenario(agents: AgentGroup = TEN) -> Scenario:
    """Ten approving agents that never fail; a third of the tasks on the core queue."""
    return Scenario(
        groups=(agents,),
        tasks=TaskMix(rate=40.0, weights=WEIGHTS, queue_share=0.3, workflows_per_minute=0.0),
        hooks=HookPolicy(kind="approve_all"),
        duration=0.5,
        seed=5,
        heartbeat_timeout=0.8,
    )


@pytest.fixture(scope="module", params=PROFILES, ids=lambda p: f"{p[0]}+{p[1]}")
def secured(request: pytest.FixtureRequest) -> Iterator[BinaryServer]:
    with secured_server(*request.param, agents=()) as server:  # agents: added by the swarm
        yield server


def agent_connections(server: BinaryServer) -> list[str]:
    """The names of the server's client connections of per-agent swarms."""
    connz = get_json(f"{server.monitor_url}/connz?limit=1000")
    names = [str(c.get("name", "")) for c in connz["connections"]]
    return sorted(n for n in names if n.startswith("mistersmith-agent-"))


@pytest.mark.asyncio
async def test_ten_agents_on_their_own_connections_run_clean(secured: BinaryServer) -> None:
    metrics = Metrics()
    swarm = Swarm(
        secured.client_url,
        clean_scenario(),
        metrics=metrics,
        connect_options=secured.connect_options(),
        agent_options=secured.agent_options,
    )
    async with swarm:
        assert swarm.hub is None and swarm.connections is not None
        assert len(agent_connections(secured)) == 10  # one connection per agent
        await swarm.run()
    report = metrics.to_dict()
    assert metrics.errors == [], metrics.errors
    assert report["permission_denied"] == 0
    assert report["permission_denied_by_subject"] == {}
    assert sum(metrics.tasks.values()) > 0 and set(metrics.tasks) == {"completed"}
    assert metrics.published["system_alerts"] == 0  # the monitor heard every agent's beats
    assert metrics.published["agent_heartbeat"] >= 10
    assert set(metrics.states.values()) == {"offline"}  # every agent drained
    assert agent_connections(secured) == []  # and closed its connection


@pytest.mark.asyncio
async def test_a_misbehaving_agent_is_denied_and_reported_per_subject() -> None:
    metrics = Metrics()
    with secured_server("nkey", "off", agents=()) as server:
        two = AgentGroup(count=2, task_duration=(0.01, 0.02), heartbeat_interval=0.2)
        swarm = Swarm(
            server.client_url,
            clean_scenario(two),
            metrics=metrics,
            connect_options=server.connect_options(),
            agent_options=server.agent_options,
            dispatcher=False,
        )
        async with swarm:
            rogue, victim = swarm.agents
            bus = rogue.runtime.bus
            await bus.publish("agent_heartbeat", victim.heartbeat_subject, b"{}")
            await bus.publish("agent_heartbeat", victim.heartbeat_subject, b"{}")
            await bus.subscribe(subjects.agent_commands(victim.agent_id, "stop"), _ignore)
            await bus.publish("agent_heartbeat", rogue.heartbeat_subject, b"{}")  # its own: fine

            deadline = asyncio.get_running_loop().time() + 5
            while metrics.permission_denied < 3 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
    stop_subject = subjects.agent_commands(victim.agent_id, "stop")
    assert metrics.to_dict()["permission_denied_by_subject"] == {
        f"publish {victim.heartbeat_subject}": 2,
        f"subscription {stop_subject}": 1,
    }
    console = Console(width=200, record=True)
    console.print(summary(metrics))
    assert f"publish {victim.heartbeat_subject} x2" in console.export_text()


async def _ignore(msg: object) -> None:
    """A handler for a subscription the server refuses."""
    await asyncio.sleep(0)


def test_a_denial_is_counted_under_its_operation_and_subject() -> None:
    said = 'nats: permissions violation for publish to "agents.a2.heartbeat"'
    assert denied_subject(said) == "publish agents.a2.heartbeat"
    assert denied_subject("Permissions Violation for Subscription to cli.responses.a2") == (
        "subscription cli.responses.a2"
    )
    assert denied_subject("something else") == "something else"
