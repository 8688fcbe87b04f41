"""The heartbeat monitor: missed-heartbeat alerts, health and recovery, periodic swarm reports."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest
from nats.aio.client import Client

from pytest_mistersmith.janitor import TopologyState
from simulator.agents.payloads import HealthReport, SystemAlert
from simulator.bus import Bus
from simulator.protocol import subjects
from simulator.protocol.models import SystemEvent, SystemMetrics
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.metrics import Metrics
from simulator.swarm.monitor import HeartbeatMonitor
from simulator.swarm.scenario import AgentGroup
from tests.scenarios import quick_scenario as scenario


@pytest.mark.asyncio
async def test_missed_heartbeats_raise_alerts_and_health(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    async with (
        nats_capture("system.alerts.*", model=SystemAlert) as alerts,
        nats_capture("system.health.agent", model=HealthReport) as health,
        Swarm(nats_server.client_url, scenario(), dispatcher=False) as s,
    ):
        s.agent("worker-2").heartbeats = False
        await alerts.wait_for(1, timeout=3)
        assert alerts.subjects == ["system.alerts.warning"]
        assert alerts.models[0].agent_id == "worker-2"
        await health.wait_for(1)
        assert health.models[0].status == "unhealthy"
        s.agent("worker-2").heartbeats = True
        await alerts.wait_for(2, timeout=3)
        await health.wait_for(2)
        assert alerts.subjects[1] == "system.alerts.info"
        assert health.models[1].status == "healthy"
        await s.agent("worker-1").crash()
        await alerts.wait_for(3, timeout=3)
        assert alerts.subjects[2] == "system.alerts.critical"


#: How late an alert may come, on top of the monitor's own period (a quarter of the timeout):
#: the scheduling of a shared 2-core machine, and the alert's trip through the server.
ALERT_SLACK = 0.5


@pytest.mark.asyncio
async def test_an_alert_comes_one_timeout_after_the_last_heartbeat(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    """From an agent's last heartbeat to its alert: the timeout, plus at most a check period."""
    timeout = 1.0
    latest = timeout * 1.25 + ALERT_SLACK  # checked every quarter of the timeout
    sc = dataclasses.replace(scenario(), heartbeat_timeout=timeout)
    last_beat = 0.0
    beaten = asyncio.Event()

    def heard(agents: list[str]) -> None:
        nonlocal last_beat
        if "worker-2" in agents:
            last_beat = time.monotonic()
            beaten.set()

    async with (
        nats_capture("system.alerts.*", model=SystemAlert) as alerts,
        Swarm(nats_server.client_url, sc, dispatcher=False) as s,
    ):
        remove = s.runtime.bus.on_heartbeat(heard)  # after the monitor's: seen no earlier
        try:
            await asyncio.wait_for(beaten.wait(), 2)
            s.agent("worker-2").heartbeats = False
            await alerts.wait_for(1, timeout=latest)
            silence = time.monotonic() - last_beat
        finally:
            remove()
    assert [(a.agent_id, a.severity) for a in alerts.models] == [("worker-2", "warning")]
    assert timeout - 0.01 <= silence <= latest, f"alerted {silence:.3f} s after the last beat"


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.asyncio
async def test_the_check_alerts_exactly_past_the_timeout_by_its_clock(
    nats_server: BinaryServer, nats_capture: Any
) -> None:
    """One check at a time, on a controlled clock: silent for just under the timeout is fine,
    just over it is one alert (and one unhealthy report); a beat again is healthy."""
    clock = Clock()
    bus = await Bus.connect(nats_server.client_url, Metrics(), heartbeats=True)
    monitor = HeartbeatMonitor(bus, heartbeat_timeout=2.0, clock=clock)
    beat = [("a-1", subjects.agent_heartbeat("a-1"), b"{}")]
    try:
        async with (
            nats_capture("system.alerts.*", model=SystemAlert) as alerts,
            nats_capture("system.health.agent", model=HealthReport) as health,
        ):
            await monitor.start(check=False)
            await bus.settle()
            await bus.publish_heartbeats(beat)  # seen at 1000.0
            clock.now = 1000.0 + 2.0 - 0.001
            await monitor.check()
            assert monitor.alerts == 0 and monitor.silent == set()
            clock.now = 1000.0 + 2.0 + 0.001
            await monitor.check()
            assert monitor.alerts == 1 and monitor.silent == {"a-1"}
            clock.now += 10.0
            await monitor.check()  # still silent: no second alert
            assert monitor.alerts == 1
            await alerts.wait_for(1)
            await health.wait_for(1)
            await bus.publish_heartbeats(beat)
            await alerts.wait_for(2)
            await health.wait_for(2)
    finally:
        await monitor.stop()
        await bus.close()
    assert [(a.agent_id, a.severity) for a in alerts.models] == [
        ("a-1", "warning"),
        ("a-1", "info"),
    ]
    assert alerts.models[0].message == "no heartbeat from a-1 for 2 s"
    assert [h.status for h in health.models] == ["unhealthy", "healthy"]


@pytest.mark.asyncio
async def test_monitor_watches_remote_agents_too(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    nats_capture: Any,
) -> None:
    """An agent of another connection is watched through the bus: alert once it goes quiet."""
    beat = subjects.agent_heartbeat("remote-7")
    async with (
        nats_capture("system.alerts.*", model=SystemAlert) as alerts,
        Swarm(nats_server.client_url, scenario(), dispatcher=False),
    ):
        await nats_client.publish(beat, b"{}")  # one beat, then silence
        await nats_client.flush()
        await alerts.wait_for(1, timeout=3)  # only an agent the monitor watched is alerted on
        assert [(a.agent_id, a.severity) for a in alerts.models] == [("remote-7", "warning")]


@pytest.mark.asyncio
async def test_no_alarm_while_a_swarm_drains(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    """A stopping agent beats no more; a drain longer than the timeout raises no alert."""
    slow = AgentGroup(count=2, task_duration=(1.2, 1.2), heartbeat_interval=0.1, failure_rate=0.0)
    async with nats_capture("system.alerts.*") as alerts:
        async with Swarm(nats_server.client_url, scenario(slow)) as s:
            assert s.dispatcher is not None
            task = await s.dispatcher.submit("analysis", path="queue")
            async with nats_capture(subjects.task_progress(task.task_id)) as progress:
                await progress.wait_for(1, timeout=3)
        # the drain waited for the task (three times the 0.4 s heartbeat timeout)
        assert alerts.messages == []


@pytest.mark.asyncio
async def test_the_monitor_reports_the_swarm_periodically_and_events_on_misses(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    """system.health.swarm while healthy (degraded while an agent is silent), system.metrics
    with the swarm's figures, and events.agent_missed / events.agent_recovered."""
    async with (
        nats_capture("system.health.swarm", model=HealthReport) as health,
        nats_capture("system.metrics", model=SystemMetrics) as figures,
        nats_capture("events.*", model=SystemEvent) as events,
        Swarm(nats_server.client_url, scenario(), dispatcher=False) as s,
    ):
        await health.wait_for(2, timeout=3)  # the first at once, the next a timeout later
        assert [h.status for h in health.models[:2]] == ["healthy", "healthy"]
        await figures.wait_for(1)
        assert figures.models[0].agents == 3
        s.agent("worker-0").heartbeats = False
        await events.wait_for(1, timeout=3)
        assert (events.subjects[0], events.models[0].agent_id) == (
            "events.agent_missed",
            "worker-0",
        )
        while health.models[-1].status != "degraded":
            await health.wait_for(len(health.models) + 1, timeout=3)
        s.agent("worker-0").heartbeats = True
        await events.wait_for(2, timeout=3)
        assert events.subjects[1] == "events.agent_recovered"
