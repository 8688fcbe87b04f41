"""A small suite for ``pytest -n 2``: each worker has its own server, topology and clients.

Each test records its worker and its server's URL in ``workers/`` beside the ini file.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState
from simulator.protocol import subjects


def record(config: pytest.Config, name: str, server: Any) -> None:
    """Write this worker's id and its server's URL."""
    out = config.rootpath / "workers"
    out.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    facts = {"worker": worker, "client_url": server.client_url}
    (out / f"{name}.json").write_text(json.dumps(facts))


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(4))
async def test_publish_into_a_fresh_stream(
    nats_server: Any,
    mistersmith_topology: TopologyState,
    jetstream: JetStreamContext,
    pytestconfig: pytest.Config,
    n: int,
) -> None:
    record(pytestconfig, f"stream-{n}", nats_server)
    ack = await jetstream.publish(subjects.task_assignment("analysis"), b"{}")
    assert ack.stream == "task_lifecycle"
    info = await jetstream.stream_info("task_lifecycle")
    assert info.state.messages == 1  # the reset purged the stream: no other test's message


@pytest.mark.asyncio
@pytest.mark.parametrize("n", range(4))
async def test_request_reply(
    nats_server: Any, nats_client: Client, pytestconfig: pytest.Config, n: int
) -> None:
    record(pytestconfig, f"request-{n}", nats_server)

    async def echo(msg: Any) -> None:
        await msg.respond(msg.data)

    await nats_client.subscribe("echo", cb=echo)
    reply = await nats_client.request("echo", f"{n}".encode(), timeout=2)
    assert reply.data == f"{n}".encode()
