"""Each fault kind injected into a real 3-node cluster through its handle, and healed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_mistersmith import factories
from simulator.faults import parse_faults
from simulator.faults.injector import FaultInjector
from simulator.servers import NatsCluster

faults_cluster = factories.nats_cluster_factory(backend="binary", scope="module")
faults_docker_cluster = factories.nats_cluster_factory(backend="docker", scope="module")


@pytest.fixture
def cluster(faults_cluster: NatsCluster) -> Iterator[NatsCluster]:
    yield faults_cluster
    faults_cluster.recover()


async def _inject(
    cluster: NatsCluster, spec: str, duration: float = 3.0
) -> tuple[list[str], list[dict[int, str]]]:
    """Run ``spec``; return what was said and the nodes down at each line."""
    lines: list[str] = []
    downs: list[dict[int, str]] = []

    def notify(line: str) -> None:
        lines.append(line)
        downs.append(cluster.down)

    injector = FaultInjector(cluster, parse_faults(spec), duration=duration, notify=notify)
    injector.start()
    try:
        await injector.wait()
    finally:
        await injector.close()
    assert cluster.down == {}
    records = [r.to_dict() for r in injector.records]
    assert all(r["verdict"] == "ok" for r in records), records
    return lines, downs


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("spec", "state"),
    [
        ("kill:node=1@0.1s for 0.5s", "killed"),
        ("stop:node=2@0.1s for 0.5s", "stopped"),
        ("pause:node=0@0.1s for 0.5s", "paused"),
    ],
)
async def test_a_node_fault_is_injected_then_healed(
    cluster: NatsCluster, spec: str, state: str
) -> None:
    node = int(spec.split("=")[1][0])
    lines, downs = await _inject(cluster, spec)
    assert lines[0].startswith(f"fault {spec.split('@')[0]} on node {node}: injected at")
    assert downs[0] == {node: state}
    assert "healed" in lines[1] and downs[1] == {}


@pytest.mark.asyncio
async def test_restart_of_the_stream_leader_moves_on_at_once(cluster: NatsCluster) -> None:
    leader = cluster.stream_leader("task_lifecycle")
    lines, downs = await _inject(cluster, "restart:stream-leader@0.1s")
    assert f"on node {leader}: injected" in lines[0]
    assert downs == [{}, {}]  # killed and started again before the line


@pytest.mark.asyncio
async def test_minority_and_meta_leader(cluster: NatsCluster) -> None:
    lines, downs = await _inject(
        cluster, "kill:minority@0.1s for 0.3s, pause:meta-leader@1.5s for 0.3s"
    )
    assert len(downs[0]) == 1 and set(downs[0].values()) == {"killed"}
    assert any(line.startswith("fault pause:meta-leader on node ") for line in lines)


@pytest.mark.docker
@pytest.mark.asyncio
async def test_partition_on_docker(faults_docker_cluster: NatsCluster) -> None:
    try:
        lines, downs = await _inject(faults_docker_cluster, "partition:node=1@0.1s for 1s")
    finally:
        faults_docker_cluster.recover()
    assert downs[0] == {1: "partitioned"}
    assert "healed" in lines[1]
