"""The simulator keeps the spec's contracts: its agents and hook responder pass the checks
that users run against their own services."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import strategies as st
from nats.aio.client import Client

from pytest_mistersmith.contracts import (
    ASSIGNMENT_TO_RESULT,
    HOOK_EVENT_TO_RESPONSE,
    check_contract,
)
from pytest_mistersmith.janitor import TopologyState
from pytest_mistersmith.strategies import payloads
from simulator.agents.hooks import HookResponder
from simulator.protocol.models import TaskAssignment
from simulator.scenario import AgentGroup, HookPolicy, default_scenario
from simulator.servers import BinaryServer
from simulator.swarm import Swarm


@pytest.mark.asyncio
async def test_the_hook_responder_keeps_the_hook_contract(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client
) -> None:
    responder = HookResponder(nats_server.client_url, HookPolicy(kind="approve_all"), seed=1)
    await responder.start()
    try:
        await check_contract(HOOK_EVENT_TO_RESPONSE, nats_client, examples=20)
    finally:
        await responder.stop()


@pytest.mark.asyncio
async def test_simulated_agents_keep_the_assignment_contract(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client
) -> None:
    every_type = ("analysis", "synthesis", "execution", "validation", "monitoring")
    group = AgentGroup(count=3, capabilities=every_type, failure_rate=0.2)
    scenario = replace(default_scenario(seed=2), groups=(group,))
    async with Swarm(nats_server.client_url, scenario, dispatcher=False, monitor=False) as swarm:
        # Assignments name one of this swarm's agents, as the dispatcher's would.
        ids = [agent.agent_id for agent in swarm.agents]
        contract = replace(
            ASSIGNMENT_TO_RESULT,
            payloads=payloads(TaskAssignment, assigned_agent=st.sampled_from(ids)),
        )
        await check_contract(contract, nats_client, examples=15, timeout=5.0)
