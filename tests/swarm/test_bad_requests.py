"""A malformed request to a running swarm is answered at once, naming the broken field
(spec-notes 23), instead of leaving the requester to time out."""

from __future__ import annotations

import time
from typing import Any

import pytest
from nats.aio.client import Client

from pytest_mistersmith.janitor import TopologyState
from simulator.agents.hooks import HOOK_EVENT_HEADER, HookResponder
from simulator.protocol import subjects
from simulator.protocol.headers import SERVICE_ERROR, SERVICE_ERROR_CODE
from simulator.protocol.models import HookResponse
from simulator.servers import BinaryServer
from simulator.swarm import Swarm
from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario

BODIES = {
    "empty": (b"", "the payload"),
    "not JSON": (b"{nope", "Invalid JSON"),
    "not an object": (b"[1, 2]", "the payload"),
    "missing fields": (b'{"command_type": "pause"}', "command_id: Field required"),
}


def scenario() -> Scenario:
    group = AgentGroup(count=2, heartbeat_interval=0.5)
    return Scenario(groups=(group,), hooks=HookPolicy(kind="approve_all"), seed=4)


@pytest.mark.asyncio
@pytest.mark.parametrize("body", BODIES, ids=str)
async def test_a_bad_command_is_answered_at_once_with_the_field(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client, body: str
) -> None:
    data, named = BODIES[body]
    async with Swarm(nats_server.client_url, scenario(), dispatcher=False, monitor=False):
        for subject in (
            subjects.agent_commands("worker-0", "pause"),
            subjects.agent_commands("worker-0"),
        ):
            started = time.monotonic()
            reply = await nats_client.request(subject, data, timeout=5)
            assert time.monotonic() - started < 1.0
            headers = reply.headers or {}
            assert headers[SERVICE_ERROR_CODE] == "400"
            assert named in headers[SERVICE_ERROR] and subject in headers[SERVICE_ERROR]
            assert reply.data == b""


@pytest.mark.asyncio
async def test_a_bad_capability_query_is_answered_once(
    nats_server: BinaryServer, mistersmith_topology: TopologyState, nats_client: Client
) -> None:
    async with Swarm(nats_server.client_url, scenario(), dispatcher=False, monitor=False):
        subject = subjects.system_discovery("capabilities")
        reply = await nats_client.request(subject, b'{"query_id": 5}', timeout=5)
    error = (reply.headers or {})[SERVICE_ERROR]
    assert "CapabilityQuery: query_id" in error


@pytest.mark.asyncio
async def test_a_bad_hook_event_is_refused_naming_the_field(
    nats_server: BinaryServer,
    mistersmith_topology: TopologyState,
    nats_client: Client,
    nats_capture: Any,
) -> None:
    responder = HookResponder(nats_server.client_url, HookPolicy(kind="approve_all"), seed=1)
    await responder.start()
    try:
        reply = await nats_client.request(subjects.agent_hook("a-1", "pre"), b"{}", timeout=5)
        assert "HookEvent: hook_type: Field required" in (reply.headers or {})[SERVICE_ERROR]
        async with nats_capture("cli.responses.a-1", model=HookResponse) as answers:
            await nats_client.publish(
                subjects.cli_hook("pre_task", "a-1"), b"{}", headers={HOOK_EVENT_HEADER: "e-1"}
            )
            await answers.wait_for(1, timeout=5)
        answer = answers.models[0]
        assert answer.decision.value == "block"
        assert answer.reason is not None and "hook_type" in answer.reason
        assert (answers.messages[0].headers or {}).get(HOOK_EVENT_HEADER) == "e-1"
    finally:
        await responder.stop()
