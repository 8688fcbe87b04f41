"""Benchmark of the docker backend and clusters, beside testcontainers' own NatsContainer.

Run as a script: ``python benchmarks/bench_docker_cluster.py [--runs N] [--cluster-runs N]``
(needs a Docker engine and an image: ``mistersmith image build`` makes one offline).

Rows, each over its runs after one warm-up run that is not counted (median, p95 nearest rank):

- **DockerServer cold start to connected client, topology applied**: a new container,
  ``nats.connect()``, our topology applied (clamped to one node). Goal: p95 at most 500 ms.
- **testcontainers NatsContainer to connected client** (same image, ``-js``, same run): it
  waits for "Server is ready" by polling the logs once a second.
- **cluster ready with the R3 topology** (docker and binary): ``NatsCluster(3).start()``
  (full ``/healthz`` on every node, a probe stream stored through every node) and the topology
  applied at R3.
- **engine floor**: three bare containers of the same image started at once through the Docker
  API (no network, no readiness, no topology): what the engine alone costs on this machine, the
  floor under any 3-node docker cluster.

  These three rows are measured by rounds (one of each per round, in turn), so that a machine
  whose load changes during the run weighs on each alike. Goal (docker cluster): median at most
  the engine floor's median plus the binary cluster's median of the same run: the engine's cost
  of three containers, plus what the servers themselves need to form a cluster and take the
  topology.
- **failover** (docker and binary): the leader of ``agent_events`` killed, to the next
  acknowledged publish of a publisher that retries every few ms.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import nats
from rich.console import Console
from rich.table import Table

from simulator.protocol import subjects
from simulator.protocol import topology as topo
from simulator.servers import DockerServer, NatsCluster, find_nats_server, for_topology
from simulator.servers._docker_cli import docker_available, labels
from simulator.servers.image import default_image

__all__ = ["main"]

GOAL_COLD_START_MS = 500.0
_STREAM = "agent_events"


@dataclass
class Row:
    """One line of the table: samples in seconds, a goal and what it applies to."""

    name: str
    samples: list[float] = field(default_factory=list)
    goal: str = ""
    check: Callable[[list[float]], bool] | None = None
    note: str = ""


def p95(samples: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _connect_and_apply(url: str, topology: topo.Topology) -> None:
    client = await nats.connect(url, connect_timeout=5)
    try:
        await topo.apply(client.jsm(), topology)
    finally:
        await client.close()


def _sample(row: Row, runs: int, once: Callable[[], float]) -> Row:
    """``once()`` (seconds) ``runs`` times after one warm-up call that is not counted."""
    once()
    row.samples.extend(once() for _ in range(runs))
    return row


def bench_cold_start(runs: int, image: str, topology: topo.Topology) -> Row:
    """DockerServer().start() + connect + topology, timed as one."""
    row = Row("DockerServer cold start → client, topology", goal="p95 ≤ 500 ms")
    row.check = lambda s: p95(s) * 1000 <= GOAL_COLD_START_MS
    clamped, _ = topo.for_cluster(topology, 1)

    def once() -> float:
        t0 = time.perf_counter()
        server = DockerServer(for_topology(topology), image=image).start()
        try:
            asyncio.run(_connect_and_apply(server.client_url, clamped))
            return time.perf_counter() - t0
        finally:
            server.stop()

    return _sample(row, runs, once)


async def _connect_retrying(url: str, deadline: float) -> Any:
    while True:
        try:
            return await nats.connect(url, connect_timeout=1, allow_reconnect=False)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.005)


def bench_natscontainer(runs: int, image: str) -> Row:
    """testcontainers' NatsContainer (same image, -js) until a client is connected."""
    from testcontainers.community.nats import NatsContainer
    from testcontainers.core.config import testcontainers_config

    testcontainers_config.ryuk_disabled = True
    row = Row("testcontainers NatsContainer → client")

    def once() -> float:
        t0 = time.perf_counter()
        container: Any = NatsContainer(image=image, jetstream=True).start()
        try:
            asyncio.run(_close_after(container.nats_uri()))
            return time.perf_counter() - t0
        finally:
            container.stop()

    return _sample(row, runs, once)


async def _close_after(url: str) -> None:
    client = await _connect_retrying(url, time.monotonic() + 30)
    await client.close()


def _engine_floor(image: str, nodes: int = 3) -> Callable[[], float]:
    """``nodes`` bare ``containers.run()`` calls at once, until the engine says all started."""
    import docker as docker_sdk

    client = docker_sdk.from_env()
    pool = ThreadPoolExecutor(nodes)

    def once() -> float:
        t0 = time.perf_counter()
        started = list(
            pool.map(
                lambda _: client.containers.run(image, ["-js"], detach=True, labels=labels()),
                range(nodes),
            )
        )
        elapsed = time.perf_counter() - t0
        for container in started:
            container.remove(force=True, v=True)
        return elapsed

    return once


def _cluster(backend: Any, image: str | None, topology: topo.Topology) -> Callable[[], float]:
    """NatsCluster(3).start() with the topology applied at R3."""

    def once() -> float:
        t0 = time.perf_counter()
        cluster = NatsCluster(3, for_topology(topology), backend=backend, image=image).start()
        try:
            cluster.apply_topology(topology)
            return time.perf_counter() - t0
        finally:
            cluster.stop()

    return once


def bench_cluster_start(runs: int, image: str, topology: topo.Topology) -> list[Row]:
    """The engine floor, the docker cluster and the binary cluster, by rounds (see the module)."""
    floor = Row("engine floor: 3 bare containers started at once")
    docker_row = Row("cluster of 3 (docker) ready, R3 topology", goal="median ≤ floor + binary")
    binary = Row("cluster of 3 (binary) ready, R3 topology")

    def check(samples: list[float]) -> bool:
        if not floor.samples or not binary.samples:
            return False
        bound = statistics.median(floor.samples) + statistics.median(binary.samples)
        docker_row.note = f"bound {_ms(bound)}"
        return statistics.median(samples) <= bound

    docker_row.check = check
    calls = [
        (floor, _engine_floor(image)),
        (docker_row, _cluster("docker", image, topology)),
        (binary, _cluster("binary", None, topology)),
    ]
    for _, once in calls:
        once()  # a warm-up of each, not counted
    for _ in range(runs):
        for row, once in calls:
            row.samples.append(once())
    return [floor, docker_row, binary]


async def _quiet(exc: Exception) -> None:
    """Connection errors are expected while the leader dies."""


async def _failover_once(cluster: NatsCluster) -> float:
    subject = subjects.agent_events("bench-agent", "published")
    client = await nats.connect(
        cluster.client_urls, reconnect_time_wait=0.02, error_cb=_quiet, max_reconnect_attempts=-1
    )
    try:
        js = client.jetstream()
        await js.publish(subject, b"warm", timeout=5)  # recover() waited for a settled leader
        leader = cluster.stream_leader(_STREAM)
        t0 = time.perf_counter()
        cluster.kill(leader)
        while True:
            try:
                await js.publish(subject, b"after", timeout=0.5)
                return time.perf_counter() - t0
            except Exception:
                await asyncio.sleep(0.002)
    finally:
        await client.close()


def bench_failover(runs: int, backend: Any, image: str | None, topology: topo.Topology) -> Row:
    """Stream leader killed → next acknowledged publish."""
    row = Row(f"failover ({backend}): leader killed → next ack")
    cluster = NatsCluster(3, for_topology(topology), backend=backend, image=image).start()

    def once() -> float:
        elapsed = asyncio.run(_failover_once(cluster))
        cluster.recover()
        return elapsed

    try:
        cluster.apply_topology(topology)
        return _sample(row, runs, once)
    finally:
        cluster.stop()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(rows: list[Row], console: Console) -> bool:
    """Print the table; whether every row was measured and every goal met."""
    table = Table(title="Docker backend and clusters (median, p95, min after a warm-up)")
    for column in ("measure", "runs", "median", "p95", "min", "goal", "met?"):
        table.add_column(column)
    ok = True
    for row in rows:
        if not row.samples:  # asked for and missing: a failure, not a pass
            table.add_row(row.name, "0", "-", "-", "-", row.goal, row.note or "not measured")
            ok = False
            continue
        met = "" if row.check is None else ("yes" if row.check(row.samples) else "no")
        ok = ok and met != "no"
        table.add_row(
            row.name,
            str(len(row.samples)),
            _ms(statistics.median(row.samples)),
            _ms(p95(row.samples)),
            _ms(min(row.samples)),
            row.goal,
            f"{met} ({row.note})" if met and row.note else met,
        )
    console.print(table)
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the table; exit 1 when a goal is missed or a row is not
    measured, 2 without a Docker engine (nothing measured)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="cold starts per row (default 20)")
    parser.add_argument("--cluster-runs", type=int, default=5, help="cluster runs (default 5)")
    parser.add_argument("--image", default=None, help="image (default: default_image())")
    parser.add_argument(
        "--starts-only",
        action="store_true",
        help="only the engine floor and the cluster starts (no cold starts, no failover)",
    )
    args = parser.parse_args(argv)
    console = Console(width=150)
    why = docker_available()
    if why is not None:
        console.print(f"bench_docker_cluster: nothing measured, no Docker engine: {why}")
        return 2
    image = args.image or default_image(find_nats_server().version)
    topology = topo.default_topology()
    console.print(f"image {image}; {args.runs} cold starts, {args.cluster_runs} cluster runs")
    console.print(f"load average at the start: {_load()}")
    rows = (
        []
        if args.starts_only
        else [
            bench_cold_start(args.runs, image, topology),
            bench_natscontainer(args.runs, image),
        ]
    )
    rows += bench_cluster_start(args.cluster_runs, image, topology)
    if not args.starts_only:
        rows += [
            bench_failover(args.cluster_runs, "docker", image, topology),
            bench_failover(args.cluster_runs, "binary", None, topology),
        ]
    ok = report(rows, console)
    console.print(f"load average at the end: {_load()}")
    return 0 if ok else 1


def _load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
