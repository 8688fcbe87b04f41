"""NatsCluster's handle against real 3-node clusters: topology at R3, leaders, node control."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.errors import APIError

import simulator.protocol.topology as topo
from pytest_mistersmith import factories
from simulator.errors import ConfigError, ServerError, ServerStartError, TopologyError
from simulator.protocol.topology import default_topology
from simulator.servers import HEALTHZ, NatsCluster, ServerConfig, _apply, get_json
from simulator.servers.cluster._views import settled_streams
from simulator.servers.health import probe_http, read_info

binary_cluster = factories.nats_cluster_factory(backend="binary", scope="module")
docker_cluster = factories.nats_cluster_factory(backend="docker", scope="module")


@pytest.fixture(params=["binary", pytest.param("docker", marks=pytest.mark.docker)])
def cluster(request: pytest.FixtureRequest) -> Iterator[NatsCluster]:
    """A 3-node cluster of each backend, with every node back and healthy after the test."""
    started: NatsCluster = request.getfixturevalue(f"{request.param}_cluster")
    yield started
    started.recover()
    assert started.down == {}


def _healthy(url: str) -> bool:
    try:
        return probe_http(url + HEALTHZ, 0.5)[0] == 200
    except OSError:
        return False


@pytest.mark.asyncio
async def test_default_fixture_applies_the_spec_topology_at_r3(nats_cluster: NatsCluster) -> None:
    assert len(nats_cluster.nodes) == 3
    assert len(set(nats_cluster.client_urls)) == 3
    # ready means led: every stream has a leader that sees all its replicas current
    led = set().union(
        *(
            settled_streams(u, n)
            for n, u in zip(nats_cluster.server_names, nats_cluster.monitor_urls, strict=True)
        )
    )
    assert led == {str(s.name) for s in default_topology().streams}
    nc = await nats.connect(nats_cluster.client_urls)
    try:
        js = nc.jsm()
        topology = default_topology()
        replicated = [s for s in topology.streams if s.num_replicas == 3]
        assert len(replicated) == 3  # the spec's R3 streams (claude_cli_integration is R1)
        for stream in topology.streams:
            info = await js.stream_info(str(stream.name))
            assert info.config.num_replicas == stream.num_replicas, stream.name
            assert info.cluster is not None and info.cluster.leader in nats_cluster.server_names
            assert len(info.cluster.replicas or ()) == (stream.num_replicas or 1) - 1
        for consumer in topology.consumers:
            consumer_info = await js.consumer_info(consumer.stream, consumer.name)
            assert consumer_info.cluster is not None
            replicas = topology.stream(consumer.stream).num_replicas or 1
            assert len(consumer_info.cluster.replicas or ()) == replicas - 1, consumer.name
    finally:
        await nc.close()


def test_leaders_are_node_indexes_the_leaders_confirm(cluster: NatsCluster) -> None:
    meta = cluster.meta_leader()
    jsz = get_json(f"{cluster.monitor_urls[meta]}/jsz")
    assert jsz["meta_cluster"]["leader"] == cluster.server_names[meta]
    stream = cluster.stream_leader("agent_events")
    jsz = get_json(f"{cluster.monitor_urls[stream]}/jsz?streams=true")
    details = [d for a in jsz["account_details"] for d in a["stream_detail"]]
    leader = next(d["cluster"]["leader"] for d in details if d["name"] == "agent_events")
    assert leader == cluster.server_names[stream]
    with pytest.raises(ServerError, match=r"not in 0\.\.2"):
        cluster.stop(3)


@pytest.mark.asyncio
async def test_a_stopped_node_comes_back_on_its_url_with_its_data(cluster: NatsCluster) -> None:
    index = (cluster.meta_leader() + 1) % 3
    url = cluster.client_urls[index]
    cluster.stop(index)
    assert cluster.down == {index: "stopped"}
    host, port = url.removeprefix("nats://").split(":")
    with pytest.raises(OSError):
        read_info(host, int(port), timeout=1.0)
    cluster.start(index)
    assert cluster.down == {}
    assert cluster.client_urls[index] == url
    assert _healthy(cluster.monitor_urls[index])
    nc = await nats.connect(url)
    try:
        info = await nc.jsm().stream_info("task_lifecycle")
        assert info.config.num_replicas == 3
    finally:
        await nc.close()


def test_killing_the_meta_leader_elects_another(cluster: NatsCluster) -> None:
    before = cluster.meta_leader()
    cluster.kill(before)
    assert cluster.down == {before: "killed"}
    after = cluster.meta_leader()
    assert after != before
    cluster.start(before)
    assert cluster.meta_leader() in range(3)


def test_a_paused_node_answers_nothing_until_resumed(cluster: NatsCluster) -> None:
    index = 2
    cluster.pause(index)
    started = time.monotonic()
    assert not _healthy(cluster.monitor_urls[index])
    assert time.monotonic() - started < 2.0  # the probe timed out, it did not hang
    cluster.resume(index)
    cluster.wait_healthy(30)
    assert _healthy(cluster.monitor_urls[index])


def test_partition_needs_docker(binary_cluster: NatsCluster) -> None:
    with pytest.raises(ServerError, match="docker backend"):
        binary_cluster.partition(0)
    assert binary_cluster.down == {}


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError, match="at least 1"):
        NatsCluster(0)
    with pytest.raises(ConfigError, match="binary, docker"):
        NatsCluster(3, backend="podman")  # type: ignore[arg-type]


def test_a_failed_start_leaves_nothing_behind(tmp_path: Path) -> None:
    broken = ServerConfig(extra=("this is not a nats option",))
    with pytest.raises(ServerStartError):
        NatsCluster(3, broken, base_dir=tmp_path, start_timeout=20).start()
    assert list(tmp_path.iterdir()) == []


def test_apply_retries_while_placement_finds_no_peers(
    binary_cluster: NatsCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A settling cluster's "no suitable peers" (10005) is retried; any other refusal is not."""
    real_apply = topo.apply
    calls: list[int] = []

    def refusal(code: int) -> TopologyError:
        error = TopologyError(f"stream agent_events refused by the server: {code}")
        error.__cause__ = APIError(code=503, err_code=code, description="refused")
        return error

    async def settling(js: object, topology: topo.Topology) -> topo.ApplyReport:
        calls.append(1)
        if len(calls) < 3:
            raise refusal(10005)
        return await real_apply(js, topology)  # type: ignore[arg-type]

    monkeypatch.setattr(_apply, "apply", settling)
    report, _ = binary_cluster.apply_topology()
    assert len(calls) == 3
    assert "agent_events" in {c.name for c in report.changes}

    async def refusing(js: object, topology: topo.Topology) -> topo.ApplyReport:
        calls.append(1)
        raise refusal(10052)

    calls.clear()
    monkeypatch.setattr(_apply, "apply", refusing)
    with pytest.raises(TopologyError, match="10052"):
        binary_cluster.apply_topology()
    assert len(calls) == 1


def _networks(cluster: NatsCluster) -> set[str]:
    text = subprocess.check_output(
        ["docker", "inspect", "--format", "{{json .NetworkSettings.Networks}}"]
        + [node.container_id for node in cluster.nodes]
    )
    return {name for line in text.splitlines() for name in json.loads(line)}


@pytest.mark.docker
def test_docker_nodes_dial_only_listeners_and_a_stopped_clusters_network_is_reused() -> None:
    first = NatsCluster(3, backend="docker").start()
    try:
        # every pair routed once the nodes listen: no dial refused, no lookup of a name not there
        assert "Error trying to connect to route" not in first.log_tail(1000)
        for index, node in enumerate(first.nodes):  # what a node started again reads
            names = first.server_names
            routes = {name for name in names if f"nats-route://{name}:6222" in node.rendered()}
            assert routes == set(names) - {names[index]}
        network = _networks(first)
        assert len(network) == 1
    finally:
        first.stop()
    second = NatsCluster(3, backend="docker").start()
    try:
        assert _networks(second) == network
    finally:
        second.stop()
