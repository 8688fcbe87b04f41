"""A cluster is ready when a first publish through any node is stored: fresh clusters, many times.

Issue #12 item 1: with a function-scoped cluster fixture, a test that connected to each node and
published to a stored subject right away failed in about 1 of 40 runs (no responders, no
response from stream) while ``/healthz`` said healthy on every node. Each case here is that
downstream test: a fresh cluster from the factory, then a first publish to every stream through
every node, with nothing between. The issue's goal is 0 failures in 200 fresh clusters on the
binary backend and 50 on docker: CI runs that many (``CI`` set, as for the ci hypothesis
profile). A fresh 3-node cluster with the topology takes 1.5-2 s here (2 cores, load 3-4), so
200 would add about 6 minutes to a developer's run of the suite: there it runs 20 and 5, still
about four times the 1-in-40 failure rate the issue measured.
"""

from __future__ import annotations

import asyncio
import time

import nats
import pytest

from pytest_mistersmith import factories
from simulator.errors import ServerNotReadyError
from simulator.protocol.topology import default_topology
from simulator.servers import NatsCluster
from simulator.servers.cluster._ready import PROBE_PREFIX, wait_answers
from tests.prerequisites import under_ci

#: Fresh clusters whose first publishes must all be stored (the issue's goal under CI).
BINARY_RUNS = 200 if under_ci() else 20
DOCKER_RUNS = 50 if under_ci() else 5

fresh_binary_cluster = factories.nats_cluster_factory(backend="binary", scope="function")
fresh_docker_cluster = factories.nats_cluster_factory(backend="docker", scope="function")


def _subject(template: str) -> str:
    return ".".join("first" if token in ("*", ">") else token for token in template.split("."))


async def _first_publishes(cluster: NatsCluster) -> None:
    """Publish once to every stream of the topology through every node; each must be acked."""
    streams = default_topology().streams
    for url in cluster.client_urls:
        client = await nats.connect(url, allow_reconnect=False)
        try:
            js = client.jetstream(timeout=2.0)
            for stream in streams:
                assert stream.subjects
                ack = await js.publish(_subject(stream.subjects[0]), b"first")
                assert ack.stream == str(stream.name)
        finally:
            await client.close()
    # what was published is what is stored: readiness itself stored nothing in these streams
    client = await nats.connect(cluster.client_url)
    try:
        for stream in streams:
            info = await client.jsm().stream_info(str(stream.name))
            assert info.state.messages == cluster.size, stream.name
        names = [str(info.config.name) for info in await client.jsm().streams_info()]
        assert not [n for n in names if n.startswith(PROBE_PREFIX)], names
    finally:
        await client.close()


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.parametrize("run", range(BINARY_RUNS))
async def test_a_fresh_binary_clusters_first_publish_through_every_node_is_stored(
    fresh_binary_cluster: NatsCluster, run: int
) -> None:
    await _first_publishes(fresh_binary_cluster)


@pytest.mark.slow
@pytest.mark.docker
@pytest.mark.asyncio
@pytest.mark.parametrize("run", range(DOCKER_RUNS))
async def test_a_fresh_docker_clusters_first_publish_through_every_node_is_stored(
    fresh_docker_cluster: NatsCluster, run: int
) -> None:
    await _first_publishes(fresh_docker_cluster)


def test_readiness_names_the_node_that_does_not_answer() -> None:
    """A paused node answers nothing: the wait fails at its deadline, naming that node."""
    with NatsCluster(3) as cluster:
        cluster.apply_topology()
        names = [str(s.name) for s in default_topology().streams if s.num_replicas == 3]
        leaders = {name: cluster.stream_leader(name) for name in names}
        # pause a node that leads neither the meta layer nor the streams asked of the others
        meta = cluster.meta_leader()
        led = {i: sum(leader == i for leader in leaders.values()) for i in range(3) if i != meta}
        paused = min(led, key=lambda i: led[i])
        streams = [name for name in names if leaders[name] != paused]
        assert streams
        others = [i for i in range(3) if i != paused]
        cluster.pause(paused)
        try:
            urls = cluster.client_urls
            with pytest.raises(ServerNotReadyError) as caught:
                asyncio.run(
                    # time enough for the others, however loaded the machine
                    wait_answers(urls, cluster.server_names, streams, time.monotonic() + 5, 5.0)
                )
            message = str(caught.value)
            assert f"node {paused} ({cluster.server_names[paused]}, {urls[paused]})" in message
            assert all(f"node {i} " not in message for i in others), message
        finally:
            cluster.resume(paused)
