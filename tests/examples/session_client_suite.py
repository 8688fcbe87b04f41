"""Tests sharing the session client run on the session loop: mark them so."""

from __future__ import annotations

from typing import Any

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState
from simulator.protocol import subjects

# Every test of this module runs on the session's event loop, where session_client lives.
pytestmark = pytest.mark.asyncio(loop_scope="session")

SEEN: list[Client] = []


@pytest.mark.parametrize("n", range(3))
async def test_one_client_for_the_session(session_client: Client, n: int) -> None:
    SEEN.append(session_client)
    assert all(client is session_client for client in SEEN)
    assert session_client.is_connected
    if n == 0:  # a subscription made in one test still serves the next ones

        async def echo(msg: Msg) -> None:
            await msg.respond(msg.data)

        await session_client.subscribe("session.echo", cb=echo)
    reply = await session_client.request("session.echo", str(n).encode(), timeout=2)
    assert reply.data == str(n).encode()


async def test_jetstream_and_topology(
    mistersmith_topology: TopologyState, session_jetstream: JetStreamContext
) -> None:
    ack = await session_jetstream.publish(subjects.task_assignment("analysis"), b"{}")
    assert ack.stream == "task_lifecycle"
    info = await session_jetstream.stream_info("task_lifecycle")
    assert info.state.messages == 1


async def test_capture(session_client: Client, session_capture: Any) -> None:
    async with session_capture("session.captured") as cap:
        await session_client.publish("session.captured", b"one")
        got = await cap.wait_for(1, timeout=2)
    assert [m.data for m in got] == [b"one"]
