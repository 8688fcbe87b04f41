"""Fault injection against real servers: leader loss, lost quorum, restarts, pauses."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import nats
import nats.errors
import pytest
from nats.aio.client import Client
from nats.js.errors import APIError, NoStreamResponseError

from pytest_mistersmith import factories
from simulator.protocol import subjects
from simulator.servers import BinaryServer, NatsCluster

binary_cluster = factories.nats_cluster_factory(backend="binary", scope="module")
docker_cluster = factories.nats_cluster_factory(backend="docker", scope="module")
STREAM = "agent_events"  # one of the spec's R3 streams
PUBLISH_ERRORS = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    NoStreamResponseError,
    APIError,
)


@pytest.fixture(params=["binary", pytest.param("docker", marks=pytest.mark.docker)])
def cluster(request: pytest.FixtureRequest) -> Iterator[NatsCluster]:
    """A 3-node cluster of each backend, with every node back and healthy after the test."""
    started: NatsCluster = request.getfixturevalue(f"{request.param}_cluster")
    yield started
    started.recover()


async def _quiet(exc: Exception) -> None:
    """Connection errors are expected while nodes die; the calls' exceptions say enough."""


async def _connect(urls: list[str] | str) -> Client:
    return await nats.connect(
        urls, reconnect_time_wait=0.05, max_reconnect_attempts=-1, error_cb=_quiet
    )


async def _read_ids(nc: Client, stream: str, subject: str) -> list[str]:
    js = nc.jetstream()
    info = await js.stream_info(stream)
    sub = await js.subscribe(subject, ordered_consumer=True)
    ids: list[str] = []
    try:
        for _ in range(info.state.messages):
            msg = await sub.next_msg(timeout=5)
            ids.append(msg.data.decode())
    finally:
        await sub.unsubscribe()
    return ids


@pytest.mark.asyncio
async def test_a_killing_the_stream_leader_loses_and_duplicates_nothing(
    cluster: NatsCluster,
) -> None:
    subject = subjects.agent_events(f"fault-{uuid.uuid4().hex[:8]}", "published")
    nc = await _connect(cluster.client_urls)
    try:
        js = nc.jetstream()
        await js.purge_stream(STREAM)
        leader = cluster.stream_leader(STREAM)
        acked: list[str] = []
        retries = 0
        deadline = time.monotonic() + 90
        for n in range(200):
            if n == 50:
                cluster.kill(leader)  # mid-stream, while the publisher waits for acks
            message_id = f"m{n}"
            while True:  # until acked; Nats-Msg-Id makes a retry of a stored message a no-op
                assert time.monotonic() < deadline, f"no ack for {message_id} ({retries} retries)"
                try:
                    await js.publish(
                        subject,
                        message_id.encode(),
                        timeout=1.0,
                        headers={"Nats-Msg-Id": message_id},
                    )
                except PUBLISH_ERRORS:
                    retries += 1
                    continue
                acked.append(message_id)
                break
        assert retries > 0  # the kill did interrupt the publisher
        assert cluster.stream_leader(STREAM) != leader
        cluster.start(leader)
        ids = await _read_ids(nc, STREAM, subject)
    finally:
        await nc.close()
    counts = Counter(ids)
    assert [i for i in acked if i not in counts] == []  # none lost
    assert [i for i, c in counts.items() if c > 1] == []  # none duplicated
    assert len(ids) == len(acked) == 200


@pytest.mark.asyncio
async def test_b_without_quorum_publishes_fail_fast_then_recover(cluster: NatsCluster) -> None:
    subject = subjects.agent_events("quorum-agent", "published")
    survivor = 0
    nc = await _connect(cluster.client_urls[survivor])
    try:
        js = nc.jetstream()
        await js.publish(subject, b"before", timeout=5)
        cluster.stop(1)
        cluster.stop(2)
        timeout = 2.0
        started = time.monotonic()
        with pytest.raises(PUBLISH_ERRORS):
            await js.publish(subject, b"no quorum", timeout=timeout)
        assert time.monotonic() - started < timeout + 1.0  # fails, never hangs
        cluster.start(1)
        cluster.start(2)
        deadline = time.monotonic() + 30
        while True:
            try:
                ack = await js.publish(subject, b"after", timeout=2)
                break
            except PUBLISH_ERRORS:
                assert time.monotonic() < deadline, "publishes did not recover with quorum"
        assert ack.stream == STREAM
    finally:
        await nc.close()


def _single(tmp_path: Path) -> BinaryServer:
    return BinaryServer(base_dir=tmp_path, runtime_dir=tmp_path / "run").start()


@pytest.mark.asyncio
async def test_c_a_restarted_server_keeps_streams_consumers_and_messages(tmp_path: Path) -> None:
    server = _single(tmp_path)
    try:
        nc = await _connect(server.client_url)
        js = nc.jetstream()
        await js.add_stream(name="restart", subjects=["restart.>"])
        await js.add_consumer("restart", durable_name="reader", ack_policy="explicit")
        for n in range(10):
            await js.publish(f"restart.{n}", str(n).encode())
        await nc.close()
        server.restart()
        nc = await _connect(server.client_url)
        js = nc.jetstream()
        info = await js.stream_info("restart")
        assert info.state.messages == 10
        consumer = await js.consumer_info("restart", "reader")
        assert consumer.num_pending == 10
        sub = await js.pull_subscribe_bind("reader", "restart")
        msgs = await sub.fetch(10, timeout=5)
        assert [m.data for m in msgs] == [str(n).encode() for n in range(10)]
        await nc.close()
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_d_a_paused_server_times_out_cleanly_then_recovers(tmp_path: Path) -> None:
    server = _single(tmp_path)
    try:
        nc = await _connect(server.client_url)
        js = nc.jetstream()
        await js.add_stream(name="paused", subjects=["paused.>"])
        server.pause()
        started = time.monotonic()
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish("paused.1", b"frozen", timeout=1.0)
        assert time.monotonic() - started < 2.0
        server.resume()
        ack = await js.publish("paused.2", b"thawed", timeout=5)
        assert ack.stream == "paused"
        await nc.close()
    finally:
        server.stop()


@pytest.mark.asyncio
async def test_d_a_paused_cluster_node_recovers_on_resume(cluster: NatsCluster) -> None:
    index = 1
    subject = subjects.agent_events("paused-agent", "published")
    nc = await _connect(cluster.client_urls[index])
    try:
        js = nc.jetstream()
        cluster.pause(index)
        started = time.monotonic()
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish(subject, b"frozen", timeout=1.0)
        assert time.monotonic() - started < 2.0
        cluster.resume(index)
        deadline = time.monotonic() + 30
        while True:
            try:
                ack = await js.publish(subject, b"thawed", timeout=2)
                break
            except PUBLISH_ERRORS:
                assert time.monotonic() < deadline, "the resumed node did not recover"
        assert ack.stream == STREAM
        assert nc.is_connected
    finally:
        await nc.close()


@pytest.mark.docker
@pytest.mark.asyncio
async def test_e_a_partitioned_leader_is_replaced_and_writes_go_on(
    docker_cluster: NatsCluster,
) -> None:
    subject = subjects.agent_events("partition-agent", "published")
    leader = docker_cluster.stream_leader(STREAM)
    majority = [i for i in range(3) if i != leader]
    docker_cluster.partition(leader)
    try:
        assert docker_cluster.down == {leader: "partitioned"}
        new_leader = docker_cluster.stream_leader(STREAM)
        assert new_leader in majority
        nc = await _connect([docker_cluster.client_urls[i] for i in majority])
        try:
            js = nc.jetstream()
            deadline = time.monotonic() + 30
            acked = 0
            while acked < 20:
                assert time.monotonic() < deadline, f"the majority took only {acked} writes"
                try:
                    await js.publish(subject, b"majority", timeout=2)
                    acked += 1
                except PUBLISH_ERRORS:
                    continue
        finally:
            await nc.close()
    finally:
        docker_cluster.heal(leader)
    docker_cluster.wait_healthy(60)
    assert docker_cluster.down == {}
