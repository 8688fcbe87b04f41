"""Benchmark of the ``swarm`` fixture with 20 agents: what a downstream test waits for.

Run as a script: ``python benchmarks/bench_swarm_fixture.py [--runs 5] [--agents 20]``.

One embedded nats-server with our topology; each run starts a fresh swarm the way the fixture
does (:class:`pytest_mistersmith.factories.swarm.SwarmRun`, the fixture's default scenario,
``task_rate=0``) and times, one after the other (never two swarms at once):

- **start, idle, drained**: ``async with swarm(agents=20)`` around ``wait_idle()``: connect,
  subscribe, discovery, every agent idle, then the drain to offline. The fixture's own cost.
- **start to every agent heard**: from the start to the first heartbeat of every agent seen
  by another client (a test waiting for ``agents.*.heartbeat`` from each agent).
- **a hung agent reported**: one agent stops beating (``agent.heartbeats = False``, as a hung
  agent does); to ``events.agent_missed`` naming it, seen by another client.
- **floor**: ``nats.connect()``, one subscription, a flush and ``close()``, in the same run,
  so that rows from runs on differently loaded machines can be compared as ratios.

Median, p95 (nearest rank) and min over ``--runs``; the load average at the start and the end.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import nats
from rich.console import Console
from rich.table import Table

from pytest_mistersmith.factories import swarm as fixture
from pytest_mistersmith.factories.swarm import SwarmRun
from simulator.protocol import topology as topo
from simulator.servers import find_nats_server
from simulator.servers.start import start as start_server
from simulator.swarm.scenario import default_scenario, with_overrides

__all__ = ["main"]

_WAIT = 30.0


@dataclass
class Row:
    """One measurement: its samples in seconds."""

    name: str
    samples: list[float] = field(default_factory=list)


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _run(url: str, agents: int) -> SwarmRun:
    """A swarm as ``swarm(agents=N, seed=1, task_rate=0)`` makes it."""
    make = getattr(fixture, "fixture_scenario", None)
    if make is None:  # before the fixture had its own timing: the plain default scenario
        base = default_scenario(duration=3600.0)
        return SwarmRun(url, with_overrides(base, agents=agents, seed=1, task_rate=0))
    return SwarmRun(url, make(agents, 1, task_rate=0))


async def start_idle_drained(url: str, agents: int) -> float:
    t0 = time.perf_counter()
    async with _run(url, agents) as s:
        await s.wait_idle()
    return time.perf_counter() - t0


async def every_agent_heard(url: str, agents: int) -> float:
    client = await nats.connect(url)
    heard: set[str] = set()
    everyone = asyncio.Event()

    async def beat(msg: nats.aio.msg.Msg) -> None:
        heard.add(msg.subject)
        if len(heard) >= agents:
            everyone.set()

    await client.subscribe("agents.*.heartbeat", cb=beat)
    await client.flush()
    run = _run(url, agents)
    t0 = time.perf_counter()
    try:
        await run.start()
        await asyncio.wait_for(everyone.wait(), _WAIT)
        return time.perf_counter() - t0
    finally:
        await run.stop()
        await client.close()


async def hung_agent_reported(url: str, agents: int) -> float:
    client = await nats.connect(url)
    async with _run(url, agents) as s:
        await s.wait_idle()
        hung = s.agents[0]
        sub = await client.subscribe("events.agent_missed")
        await client.flush()
        t0 = time.perf_counter()
        hung.heartbeats = False
        while True:
            msg = await sub.next_msg(timeout=_WAIT)
            if hung.agent_id.encode() in msg.data:
                elapsed = time.perf_counter() - t0
                break
    await client.close()
    return elapsed


async def floor(url: str, agents: int) -> float:
    t0 = time.perf_counter()
    client = await nats.connect(url)
    await client.subscribe("agents.*.heartbeat")
    await client.flush()
    await client.close()
    return time.perf_counter() - t0


PHASES: list[tuple[str, Callable[[str, int], Awaitable[float]]]] = [
    ("start, idle, drained (async with swarm(agents=N): wait_idle())", start_idle_drained),
    ("start to every agent heard (a heartbeat from each)", every_agent_heard),
    ("a hung agent reported (events.agent_missed)", hung_agent_reported),
    ("floor: nats.connect(), subscribe, flush, close()", floor),
]


async def _bench(url: str, runs: int, agents: int) -> list[Row]:
    rows = [Row(name.replace("N", str(agents), 1)) for name, _ in PHASES]
    for phase in PHASES:  # warm-up, not counted
        await phase[1](url, agents)
    for _ in range(runs):
        for row, (_, measure) in zip(rows, PHASES, strict=True):
            row.samples.append(await measure(url, agents))
    return rows


def _table(rows: list[Row], agents: int) -> Table:
    table = Table(title=f"swarm fixture, {agents} agents", title_justify="left")
    for column in ("measurement", "median", "p95", "min", "x floor (median)"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    base = statistics.median(rows[-1].samples)
    for row in rows:
        med = statistics.median(row.samples)
        cells = [f"{x * 1000:,.0f} ms" for x in (med, _p95(row.samples), min(row.samples))]
        table.add_row(row.name, *cells, f"{med / base:,.0f}x")
    return table


def _load() -> str:
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def main(argv: list[str] | None = None) -> int:
    """Run the phases, print the table and the load average."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each phase (5)")
    parser.add_argument("--agents", type=int, default=20, help="agents per swarm (20)")
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=120)
    binary = find_nats_server(env=os.environ)
    console.print(
        f"python {platform.python_version()}, nats-server {binary.version}, "
        f"{os.cpu_count()} CPUs; load average at the start: {_load()}"
    )
    served = start_server("binary", topo.default_topology(), binary=binary, apply=True)
    try:
        rows = asyncio.run(_bench(served.server.client_url, args.runs, args.agents))
    finally:
        served.server.stop()
    console.print(_table(rows, args.agents))
    console.print(f"load average at the end: {_load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
