"""Run under --nats-auth/--nats-tls: every fixture works unchanged; an agent is confined."""

import asyncio

import pytest
from hypothesis import settings

from pytest_mistersmith import factories
from pytest_mistersmith.contracts import COMMAND_TO_REPLY
from simulator.protocol import subjects
from simulator.protocol.models import AgentStatus

agent_a1 = factories.nats_client_factory(identity="agent:a1")
#: Per auth, a client fixture whose credential is wrong (a seed and a JWT no one signed).
wrong_password = factories.nats_client_factory(identity="agent:a1", password="wrong")
wrong_token = factories.nats_client_factory(identity="agent:a1", token="wrong")
STRANGER_SEED = "SUAG6NOSP2DYPANCQO4MBOTZJYHBXNSVA2IQIDI7RVRMYP4ISCXEDIIRRI"
wrong_nkey = factories.nats_client_factory(identity="agent:a1", nkeys_seed_str=STRANGER_SEED)
wrong_jwt = factories.nats_client_factory(identity="agent:a1", user_credentials="/dev/null")


@pytest.mark.asyncio
async def test_admin_fixtures_work(mistersmith_topology, nats_client, jetstream, nats_capture):
    ack = await jetstream.publish(subjects.agent_heartbeat("a1"), b"{}")
    assert ack.stream == "agent_events"
    async with nats_capture("agents.*.status", model=AgentStatus) as cap:
        await nats_client.publish(
            subjects.agent_status("a1"),
            b'{"agent_id": "a1", "status": "idle", "timestamp": "2026-01-01T00:00:00Z"}',
        )
        await cap.wait_for(1)


@pytest.mark.asyncio
async def test_the_swarm_and_a_contract_run(mistersmith_topology, swarm, mistersmith_contracts):
    async with swarm(agents=3, seed=1) as s:
        assert s.swarm.connections is not None  # every agent as itself on a secured server
        await s.wait_idle()
        ids = [agent.agent_id for agent in s.agents]
        mine = COMMAND_TO_REPLY.narrowed(agent_id=ids, command_type=("pause", "resume"))
        await mistersmith_contracts.check(mine, settings=settings(max_examples=3))
    assert s.report["errors"]["total"] == 0


@pytest.mark.asyncio
async def test_an_agent_cannot_publish_as_another(mistersmith_topology, agent_a1):
    denied = asyncio.get_running_loop().create_future()

    async def on_error(exc):
        if not denied.done():
            denied.set_result(str(exc))

    agent_a1._error_cb = on_error
    await agent_a1.publish(subjects.agent_heartbeat("a1"), b"{}")
    await agent_a1.publish(subjects.agent_heartbeat("a2"), b"{}")
    await agent_a1.flush()
    assert "agents.a2.heartbeat" in await asyncio.wait_for(denied, 5)


def test_wrong_credentials_fail_in_one_line(request, pytestconfig):
    request.getfixturevalue(f"wrong_{pytestconfig.getini('nats_auth')}")
