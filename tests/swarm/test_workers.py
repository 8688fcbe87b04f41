"""The workers package: the deterministic split, exact merges of figures, and the coordinator's
answers and alarms on a real server."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import nats
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import JsonValue

from simulator import __version__
from simulator.bus import Bus, dump
from simulator.protocol.models import ControlMessage
from simulator.servers import BinaryServer
from simulator.swarm.metrics import Metrics
from simulator.swarm.monitor import HeartbeatMonitor
from simulator.swarm.scenario import default_scenario
from simulator.swarm.swarm import agent_ids
from simulator.swarm.timeline import Timeline
from simulator.swarm.workers import Coordinator, WorkersError, split
from simulator.swarm.workers import control as c
from simulator.swarm.workers.coordinator import STARTING_LOST_AFTER
from tests.reports import Clock, metrics_on, simulate
from tests.swarm.test_timeline import assert_adds_up


@settings(deadline=None)  # no timing thresholds in tests
@given(st.integers(0, 20_000), st.integers(1, 64))
def test_the_split_covers_every_agent_once_in_order_and_evenly(total: int, parts: int) -> None:
    shares = split(total, parts)
    assert len(shares) == parts
    assert [i for share in shares for i in share] == list(range(total))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1


def test_the_shares_hold_the_same_agents_whatever_the_count() -> None:
    scenario = default_scenario(agents=10, seed=4)
    everyone = agent_ids(scenario)
    for parts in (1, 3, 7):
        ids = [everyone[i][0] for share in split(10, parts) for i in share]
        assert ids == [agent_id for agent_id, _ in everyone]
    with pytest.raises(ValueError, match="parts: at least 1, not 0"):
        split(10, 0)


def test_a_timeline_comes_back_from_its_dict_exactly() -> None:
    clock = Clock()
    metrics = metrics_on(clock)
    simulate(metrics, clock, 30)
    data = json.loads(json.dumps(metrics.timeline.to_dict()))
    assert Timeline.from_dict(data).to_dict() == data


def test_absorbed_snapshots_add_up_exactly() -> None:
    """Two workers' figures, sent as JSON and absorbed: every count adds, the histograms hold
    every latency (HDR add, not averaged percentiles), the timeline adds bucket by bucket."""
    clock = Clock()
    one, two = metrics_on(clock), metrics_on(clock)
    simulate(one, clock, 20, seed=1)
    clock.now = 100.0
    simulate(two, clock, 20, seed=2)
    merged = metrics_on(Clock())
    for name, worker in (("w1", one), ("w2", two)):
        merged.absorb(json.loads(json.dumps(worker.snapshot())), label=name)
    got = merged.to_dict()
    assert merged.published == one.published + two.published
    assert merged.tasks == one.tasks + two.tasks
    assert merged.hook_decisions == one.hook_decisions + two.hook_decisions
    assert merged.error_counts == one.error_counts + two.error_counts
    assert merged.errors[0].startswith("w1: dispatcher: step 0")
    assert merged.tasks_started == one.tasks_started + two.tasks_started
    assert got["agents"] == {"total": 12, "by_state": dict(
        sorted((Counter(one.states.values()) + Counter(two.states.values())).items())
    )}  # fmt: skip
    for name in ("task_latency", "hook_rtt", "heartbeat_lag"):
        lat = getattr(merged, name)
        assert lat.count == getattr(one, name).count + getattr(two, name).count
        assert lat.max == max(getattr(one, name).max, getattr(two, name).max)
    series = [m.timeline.to_dict()["messages"] for m in (one, two)]
    for family, values in got["timeline"]["messages"].items():
        assert values == [a + b for a, b in zip(*(s[family] for s in series), strict=True)]
    assert_adds_up({**got, "elapsed_s": 1})


async def _listen(url: str, into: list[ControlMessage]) -> Any:
    client = await nats.connect(url)

    async def keep(msg: Any) -> None:
        message = c.parse(msg)
        if message is not None:
            into.append(message)

    await client.subscribe(c.wildcard(), cb=keep)
    await client.flush()
    return client


async def _join(client: Any, run: str, name: str, version: str = __version__) -> None:
    subject, message = c.control(c.JOIN, c.WORKER, run, {"name": name, "version": version})
    await client.publish(subject, dump(message))
    await client.flush()


async def _say(client: Any, run: str, op: str, name: str) -> None:
    subject, message = c.control(op, c.WORKER, run, {"name": name})
    await client.publish(subject, dump(message))
    await client.flush()


async def _answer(heard: list[ControlMessage], op: str, name: str) -> ControlMessage:
    for _ in range(200):
        for m in heard:
            if m.operation == op and (m.data or {}).get("name") == name:
                return m
        await asyncio.sleep(0.025)
    raise AssertionError(f"no {op} for {name}: {[m.operation for m in heard]}")


@pytest.mark.asyncio
async def test_the_coordinator_refuses_another_version_a_full_run_and_a_started_one(
    nats_server: BinaryServer,
) -> None:
    heard: list[ControlMessage] = []
    client = await _listen(nats_server.client_url, heard)
    bus = await Bus.connect(nats_server.client_url, Metrics())
    coordinator = Coordinator(bus, default_scenario(agents=4), run_id="r1", expected=1)
    try:
        await coordinator.open()
        with pytest.raises(WorkersError, match=r"'r1': 0 of 1 worker\(s\) joined within 0.2 s"):
            await coordinator.gather(0.2)
        await _join(client, "r1", "old", version="0.0.1")
        refused = await _answer(heard, c.REFUSE, "old")
        assert "version 0.0.1 cannot join a run of version" in str(refused.data)
        await _join(client, "other-run", "stray")  # another run's join: not ours to answer
        await _join(client, "r1", "w1")
        await coordinator.gather(5)
        await _join(client, "r1", "w2")
        assert "expects 1 worker(s), all joined" in str((await _answer(heard, c.REFUSE, "w2")).data)
        await coordinator.assign()
        assigned = await _answer(heard, c.ASSIGN, "w1")
        assert (assigned.data or {})["first"] == 0 and (assigned.data or {})["stop"] == 4
        await _join(client, "r1", "late")
        assert "has started" in str((await _answer(heard, c.REFUSE, "late")).data)
        said = [m for m in heard if m.component == c.COORDINATOR]
        assert not any((m.data or {}).get("name") == "stray" for m in said)
        assert list(coordinator.workers) == ["w1"]
    finally:
        await coordinator.close()
        await bus.close()
        await client.close()


@pytest.mark.asyncio
async def test_a_silent_worker_is_lost_within_two_intervals_of_its_last_word(
    nats_server: BinaryServer,
) -> None:
    """Must fail: a worker that stops sending stats. The ``lost`` message comes at most two
    intervals after the last stats (message timestamps, not a speed goal)."""
    heard: list[ControlMessage] = []
    client = await _listen(nats_server.client_url, heard)
    bus = await Bus.connect(nats_server.client_url, Metrics())
    coordinator = Coordinator(
        bus, default_scenario(agents=2), run_id="r2", expected=1, interval=0.2
    )
    try:
        await coordinator.open()
        await _join(client, "r2", "w1")
        await coordinator.gather(5)
        await coordinator.assign()
        await _say(client, "r2", c.READY, "w1")  # its agents started
        for _ in range(3):  # alive for a while
            subject, stats = c.control(c.STATS, c.WORKER, "r2", {"name": "w1", "held": ["t-1"]})
            await client.publish(subject, dump(stats))
            await client.flush()
            await asyncio.sleep(0.1)
        lost = await _answer(heard, c.LOST, "w1")
        last = max(m.timestamp for m in heard if m.operation == c.STATS)
        assert (lost.timestamp - last).total_seconds() <= 2 * 0.2
        assert (lost.data or {})["held"] == ["t-1"]
        report = coordinator.workers_report()["w1"]
        assert report["lost"] is True and report["held"] == ["t-1"]
        assert any("worker w1 lost" in e for e in bus.metrics.errors)
        # vouched for while it spoke: the monitor watches its agents, then they go silent
        assert coordinator.monitor is None  # (no monitor here; see the next test)
        await coordinator.drain(5)  # the lost one is not waited on, nor blamed again
        assert not any("sent no figures" in e for e in bus.metrics.errors)
    finally:
        await coordinator.close()
        await bus.close()
        await client.close()


@contextlib.asynccontextmanager
async def _one_ready_worker(
    url: str, run: str, offline: str | None = None, **kw: float
) -> AsyncIterator[tuple[Any, list[ControlMessage], HeartbeatMonitor, Coordinator]]:
    """A coordinator with its monitor (4 agents), whose one worker ``w1`` joined, was assigned
    and said ready; ``offline`` is an agent the monitor already saw go offline."""
    heard: list[ControlMessage] = []
    client = await _listen(url, heard)
    bus = await Bus.connect(url, Metrics())
    monitor = HeartbeatMonitor(bus, heartbeat_timeout=60, wire_heartbeats=False)
    coordinator = Coordinator(bus, default_scenario(agents=4), run_id=run, expected=1, **kw)
    coordinator.monitor = monitor
    try:
        await monitor.start(check=False)
        if offline is not None:
            monitor.last_state[offline] = "offline"
        await coordinator.open()
        await _join(client, run, "w1")
        await coordinator.gather(5)
        await coordinator.assign()
        await _say(client, run, c.READY, "w1")
        yield client, heard, monitor, coordinator
    finally:
        await coordinator.close()
        await monitor.stop()
        await bus.close()
        await client.close()


async def _stats(client: Any, run: str, **data: JsonValue) -> None:
    subject, stats = c.control(c.STATS, c.WORKER, run, {"name": "w1", **data})
    await client.publish(subject, dump(stats))
    await client.flush()


@pytest.mark.asyncio
async def test_a_worker_that_speaks_again_is_live_again_and_vouches_for_its_agents(
    nats_server: BinaryServer,
) -> None:
    """A worker starved of CPU is lost, then back; while it speaks, the monitor counts its
    agents as heard (not its offline ones); nothing is taken off the wire for them."""
    url = nats_server.client_url
    async with _one_ready_worker(url, "r3", "worker-3", interval=0.2) as ready:
        client, heard, monitor, coordinator = ready
        await _answer(heard, c.LOST, "w1")
        await _stats(client, "r3")
        for _ in range(200):
            if not coordinator.workers["w1"].lost:
                break
            await asyncio.sleep(0.025)
        worker = coordinator.workers["w1"]
        assert (worker.lost, worker.silences) == (False, 1)
        assert sorted(monitor.last_seen) == ["worker-0", "worker-1", "worker-2"]


@pytest.mark.asyncio
async def test_a_worker_does_not_vouch_for_its_agents_that_stopped_beating(
    nats_server: BinaryServer,
) -> None:
    """An agent of a live worker that crashed or hung is named in the worker's stats: the
    coordinator's monitor counts the others as heard, not it (its missed alert follows)."""
    async with _one_ready_worker(nats_server.client_url, "r5") as (client, _, monitor, _c):
        monitor.last_seen.clear()
        await _stats(client, "r5", silent=["worker-1"])
        for _ in range(200):
            if monitor.last_seen:
                break
            await asyncio.sleep(0.025)
        assert sorted(monitor.last_seen) == ["worker-0", "worker-2", "worker-3"]


@pytest.mark.asyncio
async def test_a_worker_starting_its_agents_is_not_lost_for_two_intervals_of_silence(
    nats_server: BinaryServer,
) -> None:
    """Must fail: a worker assigned its share and silent while it starts (its stats wait behind
    its agents' start on the coordinator's connection) is lost only after
    STARTING_LOST_AFTER intervals, not 1.5; a ready worker's start time is reported."""
    heard: list[ControlMessage] = []
    client = await _listen(nats_server.client_url, heard)
    bus = await Bus.connect(nats_server.client_url, Metrics())
    coordinator = Coordinator(
        bus, default_scenario(agents=4), run_id="r4", expected=2, interval=0.1
    )
    try:
        await coordinator.open()
        await _join(client, "r4", "w1")
        await _join(client, "r4", "w2")
        await coordinator.gather(5)
        await coordinator.assign()
        await _say(client, "r4", c.READY, "w1")
        await asyncio.sleep(4 * 0.1)  # twice the silence that loses a ready worker
        assert not coordinator.workers["w2"].lost
        assert coordinator.start_seconds is None  # w2 is not ready
        lost = await _answer(heard, c.LOST, "w2")
        assert (lost.data or {})["first"] == 2
        assert any(f"silent {STARTING_LOST_AFTER * 0.1:g} s" in e for e in bus.metrics.errors)
        report = coordinator.workers_report()
        w1_start = report["w1"]["start_s"]
        assert isinstance(w1_start, float) and 0 <= w1_start < 5
        assert report["w2"]["start_s"] is None
    finally:
        await coordinator.close()
        await bus.close()
        await client.close()
