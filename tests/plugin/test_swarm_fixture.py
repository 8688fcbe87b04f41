"""The swarm fixture on the test's server: agents, wait_idle, report, a responder of one's own."""

from __future__ import annotations

import asyncio
from typing import Any

import nats
import pytest

from pytest_mistersmith.factories.swarm import SwarmRun, swarm_factory
from simulator.agents.hooks import HookResponder
from simulator.errors import ConfigError
from simulator.protocol.models import HookDecision, HookEvent, HookResponse
from simulator.swarm.scenario import HookPolicy, default_scenario

swarm = swarm_factory("nats_server")

SwarmFn = Any


@pytest.mark.asyncio
async def test_twenty_agents_go_idle_and_report(swarm: SwarmFn) -> None:
    async with swarm(agents=20, seed=1, task_rate=0) as s:
        await s.wait_idle()
        assert len(s.agents) == 20
        assert s.counts()["idle"] == 20
        during = s.report
    assert during["agents"]["total"] == 20
    assert during["seed"] == 1
    report = s.report
    assert report["agents"]["by_state"] == {"offline": 20}
    assert report["messages"]["by_family"]["agent_status"] > 0
    assert report["errors"]["total"] == 0, report["errors"]


@pytest.mark.asyncio
async def test_tasks_run_and_their_latency_is_in_the_report(swarm: SwarmFn) -> None:
    async with swarm(agents=4, seed=2, task_rate=20, failure_rate=0) as s:
        await s.swarm.run(1.0)
    tasks = s.report["tasks"]
    assert tasks["finished"] > 0
    assert tasks["by_status"].get("failed", 0) == 0
    assert tasks["latency_ms"]["count"] == tasks["finished"]
    assert sum(a.tasks_done for a in s.agents) >= tasks["by_status"]["completed"]


@pytest.mark.asyncio
async def test_a_test_can_answer_the_hooks_itself(swarm: SwarmFn, nats_server: Any) -> None:
    seen: list[HookEvent] = []

    def decide(event: HookEvent) -> HookResponse:
        seen.append(event)
        return HookResponse(decision=HookDecision.APPROVE, reason="the test says so")

    # The swarm starts and stops a responder it is given.
    responder = HookResponder(nats_server.client_url, HookPolicy(), 0, decide=decide)
    async with swarm(agents=3, hook_responder=responder, task_rate=0) as s:
        await s.wait_idle()
    assert seen, "the swarm's agents sent no hook event"
    hooks = s.report["hooks"]
    assert hooks["answered"] > 0
    assert hooks["by_decision"] == {"approve": hooks["answered"]}


@pytest.mark.asyncio
async def test_without_the_dispatcher_no_task_is_sent(swarm: SwarmFn) -> None:
    async with swarm(agents=2, dispatcher=False) as s:
        await s.wait_idle()
    assert s.report["tasks"]["finished"] == 0
    assert "task_assignment" not in s.report["messages"]["by_family"]


@pytest.mark.asyncio
async def test_a_scenario_and_overrides(swarm: SwarmFn) -> None:
    scenario = default_scenario(agents=2, seed=5)
    run = swarm(scenario=scenario, heartbeat_interval=0.2, hook_kind="approve_all")
    assert isinstance(run, SwarmRun)
    assert run.scenario.groups[0].heartbeat_interval == 0.2
    assert run.scenario.hooks.kind == "approve_all"
    assert run.scenario.seed == 5
    with pytest.raises(ConfigError, match="colour: not a scenario override"):
        swarm(colour="red")


@pytest.mark.asyncio
async def test_a_swarm_left_running_is_drained_after_the_test(swarm: SwarmFn) -> None:
    run = await swarm(agents=2, task_rate=0).start()
    assert run.running  # the fixture's teardown stops it


def test_agents_before_the_start_is_a_clear_error() -> None:
    run = SwarmRun("nats://127.0.0.1:1", default_scenario())
    with pytest.raises(RuntimeError, match="async with swarm"):
        run.agents  # noqa: B018


@pytest.mark.asyncio
async def test_every_agent_is_heard_at_once_not_an_interval_later(
    swarm: SwarmFn, nats_server: Any
) -> None:
    """A 60 s heartbeat interval: the wheel's first round still reaches all 20 agents now."""
    client = await nats.connect(nats_server.client_url)
    heard: set[str] = set()
    everyone = asyncio.Event()

    async def beat(msg: Any) -> None:
        heard.add(msg.subject)
        if len(heard) == 20:
            everyone.set()

    try:
        await client.subscribe("agents.*.heartbeat", cb=beat)
        await client.flush()
        async with swarm(agents=20, task_rate=0, heartbeat_interval=60.0):
            await asyncio.wait_for(everyone.wait(), 20)  # deadline well under the interval
    finally:
        await client.close()
    assert len(heard) == 20


def test_the_default_scenario_runs_on_test_timing() -> None:
    from pytest_mistersmith.factories.swarm import TEST_TIMING, fixture_scenario

    timing = fixture_scenario(agents=4)
    assert timing.heartbeat_timeout == TEST_TIMING["heartbeat_timeout"] == 1.75
    assert {g.heartbeat_interval for g in timing.groups} == {0.5}
    mine = fixture_scenario(agents=4, heartbeat_interval=0.2, heartbeat_timeout=9.0)
    assert mine.heartbeat_timeout == 9.0
    assert {g.heartbeat_interval for g in mine.groups} == {0.2}
    given = fixture_scenario(scenario=default_scenario(agents=2))  # a scenario is kept as is
    assert given.heartbeat_timeout == default_scenario().heartbeat_timeout == 3.5


@pytest.mark.asyncio
async def test_a_hung_agent_is_reported_on_test_timing(swarm: SwarmFn, nats_server: Any) -> None:
    client = await nats.connect(nats_server.client_url)
    try:
        missed = await client.subscribe("events.agent_missed")
        await client.flush()
        async with swarm(agents=3, task_rate=0) as s:
            await s.wait_idle()
            hung = s.agents[0]
            hung.heartbeats = False
            while True:  # within the 1.75 s of TEST_TIMING plus a check, under a deadline
                msg = await missed.next_msg(timeout=10)
                if hung.agent_id.encode() in msg.data:
                    break
    finally:
        await client.close()
