"""The default fixtures against the real embedded server."""

from __future__ import annotations

import json
import urllib.request
import uuid
from datetime import datetime, timezone

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState
from simulator.protocol import subjects
from simulator.protocol.models import AgentState, AgentStatus, TaskAssignment, TaskType
from simulator.servers import BinaryServer
from tests.examples import FAST, example, ini

pytest_plugins = ["pytester"]

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_nats_server_is_of_the_configured_backend(
    nats_server: BinaryServer, pytestconfig: pytest.Config
) -> None:
    from simulator.servers import DockerServer

    backend = pytestconfig.getoption("nats_backend") or "binary"
    assert isinstance(nats_server, DockerServer if backend == "docker" else BinaryServer)
    assert nats_server.client_url.startswith("nats://127.0.0.1:")
    with urllib.request.urlopen(f"{nats_server.monitor_url}/varz") as response:
        varz = json.load(response)
    assert varz["max_payload"] == 11 * 2**20  # ERRATA 7: our topology's max_payload


@pytest.mark.asyncio
async def test_nats_client_is_connected(nats_client: Client) -> None:
    assert nats_client.is_connected
    sub = await nats_client.subscribe("x.y")
    await nats_client.publish("x.y", b"hi")
    msg = await sub.next_msg(timeout=2)
    assert msg.data == b"hi"


def test_topology_has_every_stream_and_consumer(mistersmith_topology: TopologyState) -> None:
    assert set(mistersmith_topology.streams) == {
        "agent_events",
        "task_lifecycle",
        "system_monitoring",
        "claude_cli_integration",
    }
    assert set(mistersmith_topology.consumers) == {
        "agent_status_monitor",
        "event_processor",
        "task_processor",
        "system_alerting",
    }
    assert all(info.state.messages == 0 for info in mistersmith_topology.streams.values())
    # one node: the spec's R3 is clamped, and the clamp is said (ERRATA 2)
    assert mistersmith_topology.streams["agent_events"].config.num_replicas == 1
    assert any("agent_events" in note for note in mistersmith_topology.notes)


def _assignment() -> TaskAssignment:
    return TaskAssignment(
        task_id=str(uuid.uuid4()),
        task_type=TaskType.ANALYSIS,
        assigned_agent="agent-1",
        timestamp=NOW,
    )


@pytest.mark.asyncio
async def test_the_topology_comes_empty_and_stores_what_is_published(
    mistersmith_topology: TopologyState, jetstream: JetStreamContext
) -> None:
    info = await jetstream.stream_info("task_lifecycle")
    assert info.state.messages == 0
    payload = _assignment().model_dump_json(by_alias=True, exclude_none=True).encode()
    ack = await jetstream.publish(subjects.task_assignment("analysis"), payload)
    assert ack.stream == "task_lifecycle"
    consumer = await jetstream.consumer_info("task_lifecycle", "task_processor")
    assert consumer.num_pending == 1


def test_the_next_test_finds_everything_a_test_changed_reset(pytester: pytest.Pytester) -> None:
    """Both halves in one inner session: messages, a consumer that delivered, a stray stream,
    a deleted stream, a changed consumer and a deleted one (tests/test_janitor.py: each alone)."""
    pytester.makeini(ini())
    pytester.makepyfile(test_isolation=example("isolation_suite.py"))
    result = pytester.runpytest_subprocess(*FAST, "-v", timeout=60)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_1_changes_everything PASSED*", "*test_2_finds_*PASSED*"])


@pytest.mark.asyncio
async def test_capture_records_and_validates(nats_client: Client, nats_capture) -> None:  # type: ignore[no-untyped-def]
    async with nats_capture("agents.*.status", model=AgentStatus) as cap:
        for i in range(3):
            status = AgentStatus(agent_id=f"a{i}", status=AgentState.IDLE, timestamp=NOW)
            await nats_client.publish(
                subjects.agent_status(f"a{i}"),
                status.model_dump_json(by_alias=True, exclude_none=True).encode(),
            )
        got = await cap.wait_for(3, timeout=2)
    assert [m.subject for m in got] == ["agents.a0.status", "agents.a1.status", "agents.a2.status"]
    assert [m.agent_id for m in cap.models] == ["a0", "a1", "a2"]
