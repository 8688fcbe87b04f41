"""Two tests in order, one session: the first changes all a test can, the second finds it reset.

Run by ``tests/test_fixtures.py`` as one inner session, so both halves always run together.
"""

from __future__ import annotations

import dataclasses

import pytest
from nats.js import JetStreamContext

from pytest_mistersmith.janitor import TopologyState
from simulator.protocol.topology import default_topology, drift, for_cluster

TOPOLOGY, _ = for_cluster(default_topology(), 1)
CONSUMERS = {c.name: c for c in TOPOLOGY.consumers}


@pytest.mark.asyncio
async def test_1_changes_everything(
    mistersmith_topology: TopologyState, jetstream: JetStreamContext
) -> None:
    for _ in range(2):
        await jetstream.publish("tasks.analysis.assignment", b"{}")
    psub = await jetstream.pull_subscribe_bind("task_processor", "task_lifecycle")
    assert len(await psub.fetch(1, timeout=2)) == 1  # delivered, never acked
    await psub.unsubscribe()
    await jetstream.add_stream(name="scratch", subjects=["scratch.>"])
    await jetstream.delete_stream("claude_cli_integration")
    monitor = CONSUMERS["agent_status_monitor"]
    changed = dataclasses.replace(monitor.config, max_deliver=9, ack_wait=7.0)
    await jetstream.add_consumer(monitor.stream, changed)
    await jetstream.delete_consumer("system_monitoring", "system_alerting")
    names = {info.config.name for info in await jetstream.streams_info()}
    assert "scratch" in names and "claude_cli_integration" not in names
    info = await jetstream.consumer_info(monitor.stream, monitor.name)
    assert set(drift(monitor.config, info.config)) == {"ack_wait", "max_deliver"}


@pytest.mark.asyncio
async def test_2_finds_everything_reset(
    mistersmith_topology: TopologyState, jetstream: JetStreamContext
) -> None:
    names = {info.config.name for info in await jetstream.streams_info()}
    assert names == {s.name for s in TOPOLOGY.streams}
    for stream in names:
        assert (await jetstream.stream_info(stream)).state.messages == 0, stream
    for name, consumer in CONSUMERS.items():
        info = await jetstream.consumer_info(consumer.stream, name)
        assert drift(consumer.config, info.config) == (), name
        assert info.delivered is not None and info.delivered.consumer_seq == 0, name
        assert info.num_ack_pending == 0, name
