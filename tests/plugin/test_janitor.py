"""The per-test reset, called directly: one test per isolation guarantee, each standing alone.

Every test resets, changes one thing the way a test might, resets again and checks that thing
is as the topology says, asking the server (not only the state the reset returns). They run on
a server of this module's own, apart from ``nats_server``, whose state the plugin's janitor
owns; none relies on another having run before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from pytest_mistersmith import factories
from pytest_mistersmith.janitor import TopologyJanitor, TopologyState
from simulator.protocol import subjects
from simulator.protocol.topology import Consumer, Topology, drift
from simulator.servers import BinaryServer
from tests.plugin.janitors import janitor_of

janitor_server = factories.nats_server_factory(scope="module")
janitor_client = factories.nats_client_factory("janitor_server")

#: One subject stored by each stream of the topology.
ONE_PER_STREAM = {
    "task_lifecycle": subjects.task_assignment("analysis"),
    "agent_events": subjects.agent_status("a-1"),
    "system_monitoring": subjects.system_alerts("critical"),
    "claude_cli_integration": subjects.cli_hook("pre_task", "a-1"),
}


@pytest.fixture
def janitor(janitor_server: BinaryServer, topology: Topology) -> Iterator[TopologyJanitor]:
    """A janitor of the module's server, its first reset done."""
    with janitor_of(janitor_server, topology, reset=True) as janitor:
        yield janitor


async def reset(janitor: TopologyJanitor) -> TopologyState:
    return await asyncio.to_thread(janitor.reset)


def consumer(topology: Topology, name: str) -> Consumer:
    (found,) = [c for c in topology.consumers if c.name == name]
    return found


async def deliver(client: Client, stream: str, name: str, count: int, acked: int) -> None:
    """Have consumer ``name`` deliver ``count`` messages, ``acked`` of them acknowledged."""
    psub = await client.jetstream().pull_subscribe_bind(name, stream)
    try:
        msgs = await psub.fetch(count, timeout=2)
        assert len(msgs) == count
        for msg in msgs[:acked]:
            await msg.ack_sync()
    finally:
        await psub.unsubscribe()


async def publish(client: Client, subject: str, count: int = 1) -> None:
    js = client.jetstream()
    for i in range(count):
        await js.publish(subject, f'{{"n":{i}}}'.encode())


@pytest.mark.asyncio
async def test_reset_purges_every_stream(
    janitor: TopologyJanitor, janitor_client: Client, topology: Topology
) -> None:
    assert set(ONE_PER_STREAM) == {s.name for s in topology.streams}
    js = janitor_client.jetstream()
    for subject in ONE_PER_STREAM.values():
        await publish(janitor_client, subject)
    for stream in ONE_PER_STREAM:
        assert (await js.stream_info(stream)).state.messages == 1, stream
    state = await reset(janitor)
    for stream in ONE_PER_STREAM:
        assert (await js.stream_info(stream)).state.messages == 0, stream
        assert state.streams[stream].state.messages == 0
    for c in topology.consumers:
        assert (await js.consumer_info(c.stream, c.name)).num_pending == 0, c.name


@pytest.mark.asyncio
async def test_reset_deletes_a_stream_the_test_added(
    janitor: TopologyJanitor, janitor_client: Client, topology: Topology
) -> None:
    js = janitor_client.jetstream()
    await js.add_stream(name="scratch", subjects=["scratch.>"])
    await js.publish("scratch.x", b"left behind")
    state = await reset(janitor)
    ours = {s.name for s in topology.streams}
    assert {info.config.name for info in await js.streams_info()} == ours
    assert set(state.streams) == ours


@pytest.mark.asyncio
async def test_reset_restores_a_stream_the_test_deleted(
    janitor: TopologyJanitor, janitor_client: Client, topology: Topology
) -> None:
    js = janitor_client.jetstream()
    await js.delete_stream("task_lifecycle")  # and with it its consumer, task_processor
    await reset(janitor)
    info = await js.stream_info("task_lifecycle")
    assert drift(topology.stream("task_lifecycle"), info.config) == ()
    processor = consumer(topology, "task_processor")
    found = await js.consumer_info(processor.stream, processor.name)
    assert drift(processor.config, found.config) == ()


@pytest.mark.asyncio
async def test_reset_rewinds_a_consumer_that_delivered(
    janitor: TopologyJanitor, janitor_client: Client
) -> None:
    js = janitor_client.jetstream()
    await publish(janitor_client, ONE_PER_STREAM["task_lifecycle"], 3)
    await deliver(janitor_client, "task_lifecycle", "task_processor", count=2, acked=1)
    await reset(janitor)
    info = await js.consumer_info("task_lifecycle", "task_processor")
    assert info.delivered is not None and info.delivered.consumer_seq == 0
    assert info.ack_floor is not None and info.ack_floor.consumer_seq == 0
    assert (info.num_ack_pending, info.num_redelivered, info.num_pending) == (0, 0, 0)
    await publish(janitor_client, ONE_PER_STREAM["task_lifecycle"])
    psub = await js.pull_subscribe_bind("task_processor", "task_lifecycle")
    try:
        (msg,) = await psub.fetch(1, timeout=2)
    finally:
        await psub.unsubscribe()
    assert (msg.metadata.sequence.consumer, msg.metadata.num_delivered) == (1, 1)


def _changed(config: ConsumerConfig) -> ConsumerConfig:
    return dataclasses.replace(
        config, ack_wait=7.0, max_deliver=9, max_ack_pending=7, description="changed by a test"
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("delivered", [False, True], ids=["untouched", "delivered"])
async def test_reset_restores_a_consumer_whose_config_a_test_changed(
    janitor: TopologyJanitor, janitor_client: Client, topology: Topology, delivered: bool
) -> None:
    js = janitor_client.jetstream()
    processor = consumer(topology, "task_processor")
    if delivered:
        await publish(janitor_client, ONE_PER_STREAM["task_lifecycle"])
        await deliver(janitor_client, processor.stream, processor.name, count=1, acked=0)
    await js.add_consumer(processor.stream, _changed(processor.config))  # create or update
    before = await js.consumer_info(processor.stream, processor.name)
    assert set(drift(processor.config, before.config)) >= {"ack_wait", "max_deliver"}
    state = await reset(janitor)
    after = await js.consumer_info(processor.stream, processor.name)
    assert drift(processor.config, after.config) == ()
    assert after.config.description is None
    assert drift(processor.config, state.consumers[processor.name].config) == ()
    assert after.delivered is not None and after.delivered.consumer_seq == 0


@pytest.mark.asyncio
async def test_reset_recreates_a_consumer_the_test_deleted(
    janitor: TopologyJanitor, janitor_client: Client, topology: Topology
) -> None:
    js = janitor_client.jetstream()
    alerting = consumer(topology, "system_alerting")
    await js.delete_consumer(alerting.stream, alerting.name)
    state = await reset(janitor)
    found = await js.consumer_info(alerting.stream, alerting.name)
    assert drift(alerting.config, found.config) == ()
    assert set(state.consumers) == {c.name for c in topology.consumers}


@pytest.mark.asyncio
async def test_reset_deletes_a_consumer_the_test_added_on_a_stream_of_the_topology(
    janitor: TopologyJanitor, janitor_client: Client, topology: Topology
) -> None:
    js = janitor_client.jetstream()
    await js.add_consumer("task_lifecycle", ConsumerConfig(durable_name="scratch_reader"))
    state = await reset(janitor)
    names = {c.name for c in await js.consumers_info("task_lifecycle")}
    assert names == {c.name for c in topology.consumers_of("task_lifecycle")}
    assert state.streams["task_lifecycle"].state.consumer_count == len(names)
