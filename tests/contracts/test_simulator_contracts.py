"""The simulator keeps the spec's contracts: its agents and hook responder pass every ready-made
contract (one per flow of the channel catalogue), ``check`` and ``rejects``, which a broken
responder fails."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.aio.msg import Msg

from pytest_mistersmith.contracts import (
    ASSIGNMENT_TO_RESULT,
    CAPABILITY_QUERY_TO_RESPONSES,
    COMMAND_21_TO_REPLY,
    COMMAND_TO_REPLY,
    HOOK_EVENT_TO_RESPONSE,
    HOOK_REQUEST_TO_REPLY,
    QUEUED_21_TO_RESULT,
    QUEUED_TO_RESULT,
    READY_MADE,
    STARTUP_TO_RESPONSE,
    Contract,
    ContractViolation,
    check_contract,
    check_rejects_invalid,
)
from pytest_mistersmith.janitor import TopologyState
from simulator.agents.hooks import HookResponder
from simulator.bus import settle
from simulator.protocol.channels import channel
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.scenario import AgentGroup, HookPolicy, default_scenario

EVERY_TYPE = ("analysis", "synthesis", "execution", "validation", "monitoring")
#: ``stop`` drains the agent it names, which then rightly answers nothing more.
LIVE_COMMANDS = ("execute", "pause", "resume", "configure")

TASK_FLOWS = (ASSIGNMENT_TO_RESULT, QUEUED_TO_RESULT, QUEUED_21_TO_RESULT)
COMMAND_FLOWS = (COMMAND_TO_REPLY, COMMAND_21_TO_REPLY)
HOOK_FLOWS = (HOOK_EVENT_TO_RESPONSE, STARTUP_TO_RESPONSE, HOOK_REQUEST_TO_REPLY)


def test_these_are_all_the_ready_made_contracts() -> None:
    tested = (*TASK_FLOWS, *COMMAND_FLOWS, *HOOK_FLOWS, CAPABILITY_QUERY_TO_RESPONSES)
    assert sorted(c.name for c in tested) == sorted(c.name for c in READY_MADE)


@contextlib.asynccontextmanager
async def swarm(url: str) -> AsyncIterator[Swarm]:
    group = AgentGroup(
        count=3, capabilities=EVERY_TYPE, failure_rate=0.2, task_duration=(0.01, 0.05)
    )
    scenario = replace(default_scenario(seed=2), groups=(group,))
    async with Swarm(url, scenario, dispatcher=False, monitor=False) as s:
        yield s


@pytest.mark.asyncio
@pytest.mark.parametrize("contract", HOOK_FLOWS, ids=lambda c: c.name)
async def test_the_hook_responder_keeps_the_hook_contracts(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    contract: Contract,
) -> None:
    responder = HookResponder(nats_server.client_url, HookPolicy(kind="approve_all"), seed=1)
    await responder.start()
    try:
        await check_contract(contract, nats_client, examples=15)
        await check_rejects_invalid(contract, nats_client, examples=15)
    finally:
        await responder.stop()


@pytest_asyncio.fixture
async def simulated(
    nats_server: BinaryServer, mistersmith_topology: TopologyState
) -> AsyncIterator[list[str]]:
    """The ids of a running swarm's agents (the swarm stops after the test)."""
    async with swarm(nats_server.client_url) as s:
        yield [agent.agent_id for agent in s.agents]


@pytest.mark.asyncio
@pytest.mark.parametrize("contract", TASK_FLOWS, ids=lambda c: c.name)
async def test_simulated_agents_keep_the_task_contracts(
    simulated: list[str], nats_client: Client, contract: Contract
) -> None:
    # Assignments name one of this swarm's agents, as the dispatcher's would (one that asks
    # for capabilities nobody here has is rightly left for another swarm); that agent takes
    # it, so the simulator keeps the strict option too.
    mine = contract.narrowed(assigned_agent=simulated)
    await check_contract(mine, nats_client, examples=10, timeout=5.0)
    await check_rejects_invalid(mine, nats_client, examples=10, timeout=5.0)
    mine = mine.with_options(same_agent=True)
    await check_contract(mine, nats_client, examples=5, timeout=5.0)


@pytest.mark.asyncio
@pytest.mark.parametrize("contract", COMMAND_FLOWS, ids=lambda c: c.name)
async def test_simulated_agents_keep_the_command_contracts(
    simulated: list[str], nats_client: Client, contract: Contract
) -> None:
    mine = contract.narrowed(agent_id=simulated, command_type=LIVE_COMMANDS)
    await check_contract(mine, nats_client, examples=15)
    # a malformed command gets a service error reply naming the field (spec-notes 23)
    await check_rejects_invalid(mine, nats_client, examples=15)


@pytest.mark.asyncio
async def test_simulated_agents_keep_the_capability_contract(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client
) -> None:
    async with swarm(nats_server.client_url):
        await check_contract(CAPABILITY_QUERY_TO_RESPONSES, nats_client, examples=10)
        await check_rejects_invalid(CAPABILITY_QUERY_TO_RESPONSES, nats_client, examples=10)


async def _answer_badly(nc: Client, contract: Contract, msg: Msg) -> None:
    """Answer where and as the contract expects, with a payload that fits no model."""
    if msg.reply:
        await nc.publish(msg.reply, b'{"broken": true}')
        return
    sent = json.loads(msg.data)
    first = contract.expect[-1].subjects[0]
    subject = channel(first).subject_for(sent)
    await nc.publish(subject, b'{"broken": true}', headers=msg.headers)  # the event id too


@pytest.mark.asyncio
@pytest.mark.parametrize("contract", READY_MADE, ids=lambda c: c.name)
async def test_every_ready_made_contract_fails_against_a_broken_responder(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    contract: Contract,
) -> None:
    nc = await nats.connect(nats_server.client_url)
    try:
        chan = channel(contract.subject)

        async def answer(msg: Msg) -> None:
            await _answer_badly(nc, contract, msg)

        await nc.subscribe(chan.template.wildcard, cb=answer)
        await settle(nc)
        with pytest.raises(ContractViolation, match="does not fit"):
            await check_contract(contract, nats_client, examples=3)
    finally:
        await nc.close()
