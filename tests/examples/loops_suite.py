"""Function-scoped client fixtures, written without asyncio marks (auto mode needs none).

For strict mode the runner prepends ``pytestmark = pytest.mark.asyncio``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Any

from nats.aio.client import Client
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState
from simulator.protocol import subjects
from simulator.protocol.models import AgentState, AgentStatus

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
CLIENTS: list[Client] = []


async def test_client_round_trip(nats_client: Client) -> None:
    CLIENTS.append(nats_client)
    sub = await nats_client.subscribe("loops.ping")
    await nats_client.publish("loops.ping", b"pong")
    msg = await sub.next_msg(timeout=2)
    assert msg.data == b"pong"


async def test_each_test_has_its_own_client(nats_client: Client) -> None:
    assert CLIENTS, "test_client_round_trip ran first"
    assert nats_client is not CLIENTS[0]
    assert CLIENTS[0].is_closed  # drained and closed after its test
    assert nats_client.is_connected


async def test_jetstream_publish(
    mistersmith_topology: TopologyState, jetstream: JetStreamContext
) -> None:
    ack = await jetstream.publish(subjects.task_assignment("analysis"), b"{}")
    assert ack.stream == "task_lifecycle"
    info = await jetstream.stream_info("task_lifecycle")
    assert info.state.messages == 1


async def test_capture_validates(nats_client: Client, nats_capture: Any) -> None:
    status = AgentStatus(agent_id="a1", status=AgentState.IDLE, timestamp=NOW)
    async with nats_capture("agents.*.status", model=AgentStatus) as cap:
        await nats_client.publish(
            subjects.agent_status("a1"),
            status.model_dump_json(by_alias=True, exclude_none=True).encode(),
        )
        await cap.wait_for(1, timeout=2)
    assert cap.models == [status]


async def test_capture_fails_on_a_message_that_does_not_fit(
    nats_client: Client, nats_capture: Any
) -> None:
    """Fails on purpose: the runner checks the report names subject, payload and fields."""
    async with nats_capture("agents.*.status", model=AgentStatus) as cap:
        await nats_client.publish(subjects.agent_status("a2"), b'{"agent_id": "a2"}')
        await cap.wait_for(1, timeout=2)


async def test_the_loop_is_this_tests(nats_client: Client) -> None:
    """The client's callbacks run on the loop the test runs on."""
    seen: list[asyncio.AbstractEventLoop] = []

    async def on_message(msg: Any) -> None:
        seen.append(asyncio.get_running_loop())

    await nats_client.subscribe("loops.where", cb=on_message)
    await nats_client.publish("loops.where", b"")
    await nats_client.flush()
    deadline = asyncio.get_running_loop().time() + 2
    while not seen and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.001)
    assert seen == [asyncio.get_running_loop()]
