"""Benchmark of secured servers: start to a connected admin client, topology applied, per profile.

Run as a script: ``python benchmarks/bench_security.py [--runs N]``.

Each row is ``simulator.servers.start("binary", security=..., apply=True)`` (which makes the
profile's credentials and certificates in the server's temp dir, starts the server and applies
the topology as the admin), then ``nats.connect(**connect_options())`` and a flush, timed as
one, and the server stopped (not timed). The anchor is the same with no profile (an open
server), measured in the same run; the profiles run by turns so that a shared machine's
changing load falls on all alike. Reported as median, p95 (nearest rank) and the ratio of
medians to the open server. Goal (issue 13): ``nkey`` + ``tls`` at most 1.5x the open server.

The second table (``--agents``, skip with ``--agents ''``) is a swarm sustained on one
``nkey`` + ``tls`` server, with each agent on its own connection as ``agent:<id>``
(``Swarm(agent_options=...)``) beside all agents on the swarm's shared connection, in the same
run, by turns: the time to a started swarm, the heartbeats published over ``--seconds`` (after
one second of warm-up) against the target (one a second per agent), the process's CPU
seconds per wall second over that window, and its resident memory then (Linux) above what it
held before the swarm started. No tasks are dispatched: the connections' cost is what is
measured.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import time

import nats
from rich.console import Console
from rich.table import Table

from simulator.servers import start
from simulator.servers.base import NatsServer
from simulator.servers.security import Security
from simulator.swarm import Swarm
from simulator.swarm.metrics import Metrics
from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario, TaskMix

PROFILES: tuple[tuple[str, str], ...] = (
    ("none", "off"),
    ("password", "off"),
    ("nkey", "off"),
    ("nkey", "tls"),
    ("jwt", "tls"),
    ("password", "mtls"),
)
GOAL = ("nkey", "tls", 1.5)


def _once(auth: str, tls: str) -> float:
    began = time.perf_counter()
    security = Security(auth, tls) if (auth, tls) != ("none", "off") else None  # type: ignore[arg-type]
    server = start("binary", security=security, apply=True).server
    try:

        async def connect() -> None:
            client = await nats.connect(server.client_url, **server.connect_options())
            await client.flush()
            await client.close()

        asyncio.run(connect())
        return (time.perf_counter() - began) * 1000
    finally:
        server.stop()


def _rss_mb() -> float:
    """The process's resident memory now, in MiB (0 where /proc is missing)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _swarm_once(
    server: NatsServer, agents: int, seconds: float, per_agent: bool
) -> tuple[float, float, float, float]:
    """Start a swarm of ``agents`` (per-agent connections or shared), sustain it ``seconds``:
    start seconds, share of the target heartbeats, CPU seconds per wall second, MiB held."""
    scenario = Scenario(
        groups=(AgentGroup(count=agents, heartbeat_interval=1.0, failure_rate=0.0),),
        tasks=TaskMix(rate=0.0, workflows_per_minute=0.0),
        hooks=HookPolicy(kind="approve_all"),
        seed=1,
        heartbeat_timeout=5.0,
    )
    metrics = Metrics()

    async def run() -> tuple[float, float, float, float]:
        before = _rss_mb()
        began = time.perf_counter()
        swarm = Swarm(
            server.client_url,
            scenario,
            metrics=metrics,
            connect_options=server.connect_options(),
            agent_options=server.agent_options if per_agent else None,
            dispatcher=False,
        )
        async with swarm:
            started = time.perf_counter() - began
            await asyncio.sleep(1.0)  # warm-up: the announcing round and the first beats
            beats, cpu, wall = (
                metrics.published["agent_heartbeat"],
                time.process_time(),
                time.perf_counter(),
            )
            await asyncio.sleep(seconds)
            beats = metrics.published["agent_heartbeat"] - beats
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            held = _rss_mb() - before
        return started, beats / (agents * wall), cpu / wall, held

    return asyncio.run(run())


def _swarm_table(sizes: list[int], seconds: float, runs: int) -> Table:
    server = start("binary", security=Security("nkey", "tls"), apply=True).server
    table = Table(title=f"swarm on nkey + tls, sustained {seconds:g} s ({runs} runs, medians)")
    columns = ("agents", "connections", "start s", "heartbeats / target", "CPU s / s", "MiB")
    for column in columns:
        table.add_column(column)
    try:
        for agents in sizes:
            rows: dict[bool, list[tuple[float, float, float, float]]] = {False: [], True: []}
            for run in range(runs):
                for per_agent in (False, True) if run % 2 == 0 else (True, False):
                    rows[per_agent].append(_swarm_once(server, agents, seconds, per_agent))
            for per_agent, values in rows.items():
                start_s, share, cpu, held = (
                    statistics.median(v[i] for v in values) for i in range(4)
                )
                table.add_row(
                    str(agents),
                    "one per agent" if per_agent else "shared",
                    f"{start_s:.2f}",
                    f"{share:.1%}",
                    f"{cpu:.2f}",
                    f"{held:.0f}",
                )
    finally:
        server.stop()
    return table


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--agents", default="100,500,1000", help="swarm sizes ('' to skip)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--swarm-runs", type=int, default=3)
    args = parser.parse_args(argv)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    samples: dict[tuple[str, str], list[float]] = {p: [] for p in PROFILES}
    for profile in PROFILES:  # warm-up, not counted
        _once(*profile)
    for run in range(args.runs):
        order = PROFILES if run % 2 == 0 else tuple(reversed(PROFILES))
        for profile in order:
            samples[profile].append(_once(*profile))
    anchor = statistics.median(samples[("none", "off")])
    table = Table(title=f"start to a connected admin client, topology applied ({args.runs} runs)")
    for column in ("profile", "median ms", "p95 ms", "ratio", "goal"):
        table.add_column(column)
    for (auth, tls), values in samples.items():
        median = statistics.median(values)
        goal = ""
        if (auth, tls) == GOAL[:2]:
            goal = f"<= {GOAL[2]}x: {'met' if median / anchor <= GOAL[2] else 'missed'}"
        table.add_row(
            f"{auth} + {tls}",
            f"{median:.1f}",
            f"{_p95(values):.1f}",
            f"{median / anchor:.2f}x",
            goal,
        )
    console = Console()
    console.print(table)
    sizes = [int(n) for n in args.agents.split(",") if n.strip()]
    if sizes:
        console.print(_swarm_table(sizes, args.seconds, args.swarm_runs))
    console.print(
        f"load average at the start: {load}; at the end: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
