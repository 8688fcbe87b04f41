"""The dispatcher on its own: assignment by capability, workflow steps in dependency order."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from pytest_mistersmith.janitor import TopologyState
from simulator.protocol.models import TaskEvent
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario, TaskMix

ANALYSTS = AgentGroup(
    name="analyst", count=2, capabilities=("analysis",), task_duration=(0.01, 0.03),
    failure_rate=0.0, heartbeat_interval=0.2,
)  # fmt: skip
RUNNERS = AgentGroup(
    name="runner", count=2, capabilities=("execution", "validation"),
    task_duration=(0.01, 0.03), failure_rate=0.0, heartbeat_interval=0.2,
)  # fmt: skip


def scenario() -> Scenario:
    return Scenario(
        groups=(ANALYSTS, RUNNERS),
        tasks=TaskMix(
            weights={"analysis": 1.0, "execution": 1.0, "validation": 1.0},
            workflows_per_minute=0.0,
        ),
        hooks=HookPolicy(kind="approve_all"),
        seed=5,
    )


@pytest.mark.asyncio
async def test_tasks_go_only_to_agents_that_offer_their_type(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> None:
    async with Swarm(nats_server.client_url, scenario()) as s:
        d = s.dispatcher
        assert d is not None
        assert d.capable["analysis"] == ["analyst-0", "analyst-1"]
        assert d.capable["execution"] == ["runner-0", "runner-1"]
        assert d.capable["synthesis"] == []
        for task_type in ("analysis", "execution", "validation") * 4:
            await d.submit(task_type)
        await d.dispatch(12)  # drawn from the mix
        await s.wait_idle()
    for a in d.assigned:
        wanted = "analyst" if a.task_type.value == "analysis" else "runner"
        assert a.assigned_agent.startswith(wanted), a
    assert set(d.finished) == {a.task_id for a in d.assigned}


@pytest.mark.asyncio
async def test_a_workflow_step_is_assigned_only_after_its_dependencies_completed(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_capture: Any
) -> None:
    async with (
        nats_capture("task.*", model=TaskEvent) as events,
        Swarm(nats_server.client_url, scenario()) as s,
    ):
        d = s.dispatcher
        assert d is not None
        ids = [await d.start_workflow() for _ in range(4)]
        await s.wait_idle()
        await events.wait_for(3 * len(d.assigned))  # created, assigned, completed
    order = [(e.event, e.task_id) for e in events.models]
    checked = 0
    for workflow_id in ids:
        wf = d.workflows[workflow_id]
        assert wf.done and len(wf.completed) == len(wf.steps)
        for i, (_, deps) in enumerate(wf.steps):
            assigned_at = order.index(("assigned", wf.task_ids[i]))
            for dep in deps:
                assert order.index(("completed", wf.task_ids[dep])) < assigned_at
                checked += 1
    assert checked > 0  # the plans had dependencies to check


@pytest.mark.asyncio
@pytest.mark.parametrize("rate", [0.0, 2.0])
async def test_the_dispatching_lasts_the_duration_even_when_the_plan_ends_sooner(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, rate: float
) -> None:
    quiet = dataclasses.replace(scenario(), tasks=dataclasses.replace(scenario().tasks, rate=rate))
    async with Swarm(nats_server.client_url, quiet) as s:
        assert s.dispatcher is not None
        loop = asyncio.get_running_loop()
        began = loop.time()
        await s.dispatcher.run(1.2)  # the last planned task (rate 2) goes at 0.5 s
        assert loop.time() - began >= 1.2
        assert len(s.dispatcher.assigned) == int(rate * 1.2)
