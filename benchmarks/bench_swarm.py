"""Benchmark of the swarm: sustained heartbeats at scale, and messages per second at full speed.

Run as a script: ``python benchmarks/bench_swarm.py [--agents 50000] [--seconds 10]``.

Everything runs in this one process against one embedded nats-server with our topology, phase
after phase (never two at once):

- **bare asyncio heartbeats** (the ceiling): ``--agents`` heartbeats a second from a wheel of
  ``--slots`` slots per second on one nats-py connection; each heartbeat is a ``json.dumps`` of
  an AgentStatus-shaped dict; no agent logic. Lag = publish time minus the slot's due time.
- **simulator, sustained**: a :class:`~simulator.swarm.Swarm` of ``--agents`` agents (one
  heartbeat a second, status changes, tasks at ``--task-rate``, hooks, monitor, dispatcher).
  Measured after the start and ``--warmup`` seconds, over ``--seconds``: heartbeats published
  over the target (agents x seconds), and the lag of each heartbeat, once published, behind
  the due time of its slot of the swarm's wheel (``AgentHub.slot_due``; the publish of the
  swarm's heartbeat connection is wrapped, about 0.3 us a call). Goal: 99% of the target
  rate, lag p99 under 10 ms.
- **simulator, full speed**: ``--fast-agents`` agents beating every 10 ms with tasks at
  ``--fast-task-rate``: every message the swarm publishes, per second. The schedule (500,000
  heartbeats a second by default) is more than one process can send, so the wheel runs flat
  out and the rate is the simulator's own limit.
- **raw nats-py, same payloads**: the (subject, payload) pairs the full-speed swarm published
  (the first 20,000, recorded by wrapping its bus), published again with ``await
  client.publish()`` in a loop for the same time. Goal: the simulator at least half of it.

Rates are messages counted by the publisher (nats-py buffers; a final flush is included in the
time). The machine's cores are shared with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import nats
from rich.console import Console
from rich.table import Table

from simulator.agents import HEARTBEAT_SLOTS
from simulator.bus import dump
from simulator.protocol import subjects
from simulator.protocol import topology as topo
from simulator.servers import find_nats_server
from simulator.servers.run import start_with_topology
from simulator.swarm import Swarm
from simulator.swarm.metrics import Latency, Metrics
from simulator.swarm.scenario import default_scenario, with_overrides

__all__ = ["GOAL_LAG_P99_MS", "GOAL_RATE_SHARE", "GOAL_RAW_SHARE", "Row", "main"]

GOAL_RATE_SHARE = 0.99
"""Share of the target heartbeat rate the sustained swarm must reach."""
GOAL_LAG_P99_MS = 10.0
"""Heartbeat lag p99 the sustained swarm must stay under, in milliseconds."""
GOAL_RAW_SHARE = 0.5
"""Share of raw nats-py publishing the full-speed simulator must reach."""
_SAMPLE = 20_000


@dataclass
class Row:
    """One line of the table."""

    name: str
    rate: float | None = None
    target: float | None = None
    lag: Latency | None = None
    note: str = ""
    verdict: str = ""


# -- bare asyncio heartbeats --------------------------------------------------------------------
async def bare_heartbeats(url: str, agents: int, seconds: float, slots: int) -> Row:
    """Heartbeats from a wheel, JSON-encoded per beat, no agent logic."""
    client = await nats.connect(url)
    ids = [f"bare-{i}" for i in range(agents)]
    heads = [subjects.agent_heartbeat(i) for i in ids]
    loop = asyncio.get_running_loop()
    lag = Latency()
    tick = 1.0 / slots
    due = loop.time()
    start = due + 1.0  # one warm-up second, not counted
    stop = start + seconds
    sent = slot = 0
    while due < stop:
        stamp = datetime.now(timezone.utc).isoformat()
        counted = due >= start
        for i in range(slot % slots, agents, slots):
            payload = {"agent_id": ids[i], "status": "idle", "timestamp": stamp,
                       "capacity": 1.0, "current_tasks": 0, "max_tasks": 2,
                       "last_heartbeat": stamp}  # fmt: skip
            await client.publish(heads[i], json.dumps(payload).encode())
            if counted:
                sent += 1
                lag.record((loop.time() - due) * 1000.0)
        slot += 1
        due += tick
        await asyncio.sleep(max(0.0, due - loop.time()))
    await client.flush()
    elapsed = loop.time() - start
    await client.close()
    return Row("bare asyncio heartbeats (no agent logic)", sent / elapsed, float(agents), lag)


# -- the simulator, sustained -------------------------------------------------------------------
class _HeartbeatClock:
    """Lag of each heartbeat, once published, behind the due time of its wheel slot."""

    def __init__(self) -> None:
        self.lag = Latency()
        self.counting = False

    def install(self, swarm: Any) -> None:
        """Wrap the publish of the swarm's heartbeat connection (it carries nothing else)."""
        hub, client = swarm.hub, swarm.bus.beats
        original = client.publish
        clock = self

        async def publish(subject: str, payload: bytes = b"", **kw: Any) -> None:
            await original(subject, payload, **kw)
            if clock.counting:
                clock.lag.record((time.monotonic() - hub.slot_due) * 1000.0)

        client.publish = publish


async def simulator_sustained(
    url: str, agents: int, seconds: float, warmup: float, task_rate: float
) -> tuple[Row, Row]:
    """The swarm at one heartbeat a second: share of the target and lag; all its messages."""
    slots = max(1, min(HEARTBEAT_SLOTS, agents))
    clock = _HeartbeatClock()
    scenario = with_overrides(
        default_scenario(agents=agents, seed=1), task_rate=task_rate, duration=3600.0
    )
    metrics = Metrics()
    began = time.monotonic()
    async with Swarm(url, scenario, metrics=metrics) as swarm:
        started = time.monotonic() - began
        clock.install(swarm)
        dispatching = asyncio.create_task(swarm.run(3600.0))
        await asyncio.sleep(warmup)
        beats0, total0 = metrics.published["agent_heartbeat"], metrics.total_messages
        clock.counting = True
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        clock.counting = False
        elapsed = time.monotonic() - t0
        beats = metrics.published["agent_heartbeat"] - beats0
        total = metrics.total_messages - total0
        dispatching.cancel()
    note = f"start {started:.1f} s; {slots} slots/s; tasks {task_rate:g}/s"
    heartbeat = Row(f"simulator heartbeats, {agents:,} agents", beats / elapsed, float(agents))
    heartbeat.lag, heartbeat.note = clock.lag, note
    everything = Row("  every message of that swarm", total / elapsed, note="per second")
    return heartbeat, everything


# -- full speed, and raw nats-py with the same payloads ------------------------------------------
async def simulator_full_speed(
    url: str, agents: int, seconds: float, task_rate: float
) -> tuple[Row, list[tuple[str, bytes]]]:
    """The swarm as fast as it goes; the first payloads it published, for the raw row."""

    scenario = with_overrides(
        default_scenario(agents=agents, seed=2),
        heartbeat_interval=0.01,
        task_rate=task_rate,
        duration=3600.0,
    )
    metrics = Metrics()
    sample: list[tuple[str, bytes]] = []
    async with Swarm(url, scenario, metrics=metrics) as swarm:
        bus = swarm.bus
        assert bus is not None
        publish = bus.publish

        publish_heartbeats = bus.publish_heartbeats

        async def recording(family: str, subject: str, payload: Any, **kw: Any) -> None:
            if len(sample) < _SAMPLE:
                sample.append((subject, dump(payload)))
            await publish(family, subject, payload, **kw)

        async def recording_beats(beats: list[tuple[str, str, bytes]]) -> None:
            if len(sample) < _SAMPLE:
                sample.extend((subject, payload) for _, subject, payload in beats)
            await publish_heartbeats(beats)

        dispatching = asyncio.create_task(swarm.run(3600.0))
        await asyncio.sleep(1.0)
        bus.publish = recording  # type: ignore[method-assign]
        bus.publish_heartbeats = recording_beats  # type: ignore[method-assign]
        total0, t0 = metrics.total_messages, time.monotonic()
        await asyncio.sleep(seconds)
        await bus.client.flush()
        elapsed = time.monotonic() - t0
        total = metrics.total_messages - total0
        bus.publish = publish  # type: ignore[method-assign]
        bus.publish_heartbeats = publish_heartbeats  # type: ignore[method-assign]
        dispatching.cancel()
    note = f"{agents:,} agents every 10 ms, tasks {task_rate:g}/s"
    return Row("simulator at full speed, every message", total / elapsed, note=note), sample


async def raw_publish(url: str, sample: list[tuple[str, bytes]], seconds: float) -> Row:
    """``await client.publish()`` of the recorded pairs, round and round, for ``seconds``."""
    client = await nats.connect(url)
    sent = 0
    t0 = time.monotonic()
    end = t0 + seconds
    while time.monotonic() < end:
        for subject, data in sample[:1000]:
            await client.publish(subject, data)
        sent += min(len(sample), 1000)
        sample = sample[1000:] + sample[:1000]
    await client.flush()
    elapsed = time.monotonic() - t0
    await client.close()
    note = f"{len(sample):,} recorded (subject, payload) pairs"
    return Row("raw nats-py publish, same payloads", sent / elapsed, note=note)


# -- the table ----------------------------------------------------------------------------------
def _table(rows: list[Row]) -> Table:
    table = Table(title="Swarm benchmark", title_justify="left")
    for column in ("what", "msg/s", "target/s", "share", "lag p50", "lag p99", "lag max", "goal"):
        table.add_column(column, justify="left" if column in ("what", "goal") else "right")
    table.add_column("note")
    for row in rows:
        share = f"{row.rate / row.target:.1%}" if row.rate and row.target else ""
        lag = row.lag
        cells = [f"{lag.percentile(50):.2f}", f"{lag.percentile(99):.2f}", f"{lag.max:.2f}"] if (
            lag and lag.count) else ["", "", ""]  # fmt: skip
        rate = f"{row.rate:,.0f}" if row.rate is not None else "not measured"
        target = f"{row.target:,.0f}" if row.target else ""
        table.add_row(row.name, rate, target, share, *cells, row.verdict, row.note)
    return table


def _judge(rows: list[Row]) -> bool:
    """Set each row's verdict; whether every goal was met and every row measured."""
    ok = True
    for row in rows:
        if not row.rate:  # a failed phase: a measurement asked for and missing
            row.verdict, ok = "not measured", False
        elif row.name.startswith("simulator heartbeats") and row.target and row.lag:
            met = row.rate / row.target >= GOAL_RATE_SHARE and (
                row.lag.percentile(99) < GOAL_LAG_P99_MS
            )
            row.verdict = "met" if met else "missed"
            ok &= met
    fast = next((r for r in rows if r.name.startswith("simulator at full speed")), None)
    raw = next((r for r in rows if r.name.startswith("raw nats-py")), None)
    if fast and raw and fast.rate and raw.rate:
        share = fast.rate / raw.rate
        fast.verdict = f"{'met' if share >= GOAL_RAW_SHARE else 'missed'} ({share:.0%} of raw)"
        ok &= share >= GOAL_RAW_SHARE
    return ok


def _failed(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
        return "failed: did not finish within --start-timeout"
    return f"failed: {type(exc).__name__}: {' '.join(str(exc).split())[:120]}"


async def _bench(url: str, args: argparse.Namespace, console: Console) -> list[Row]:
    rows: list[Row] = []
    console.print(f"bare heartbeats: {args.agents:,} agents, {args.seconds:g} s ...")
    rows.append(await bare_heartbeats(url, args.agents, args.seconds, args.slots))
    limit = args.warmup + args.seconds + args.start_timeout
    console.print(f"simulator sustained: {args.agents:,} agents ...")
    try:
        rows.extend(
            await asyncio.wait_for(
                simulator_sustained(url, args.agents, args.seconds, args.warmup, args.task_rate),
                limit,
            )
        )
    except Exception as exc:  # a failed phase is a row, the others still run
        rows.append(Row(f"simulator heartbeats, {args.agents:,} agents", note=_failed(exc)))
    console.print(f"simulator full speed: {args.fast_agents:,} agents ...")
    try:
        fast, sample = await asyncio.wait_for(
            simulator_full_speed(url, args.fast_agents, args.seconds, args.fast_task_rate),
            limit,
        )
    except Exception as exc:
        rows.append(Row("simulator at full speed", note=_failed(exc)))
        raw = Row("raw nats-py publish, same payloads", note="no payloads: full speed failed")
        rows.append(raw)
        return rows
    rows.append(fast)
    console.print("raw nats-py publish of the same payloads ...")
    rows.append(await raw_publish(url, sample, args.seconds))
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the phases, print the table; exit 1 when a goal is missed or a phase failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=50_000, help="sustained agents (50,000)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds (10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring (3)")
    parser.add_argument("--slots", type=int, default=100, help="bare wheel slots a second (100)")
    parser.add_argument("--task-rate", type=float, default=50.0, help="sustained tasks/s (50)")
    parser.add_argument(
        "--start-timeout", type=float, default=120.0, help="seconds a swarm may take to start"
    )
    parser.add_argument("--fast-agents", type=int, default=5000, help="full-speed agents (5000)")
    parser.add_argument("--fast-task-rate", type=float, default=200.0, help="full-speed tasks/s")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 160))
    binary = find_nats_server(env=os.environ)
    console.print(
        f"python {platform.python_version()}, nats-server {binary.version}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    served = start_with_topology(topo.default_topology(), binary=binary)
    try:
        rows = asyncio.run(_bench(served.server.client_url, args, console))
    finally:
        served.server.stop()
    ok = _judge(rows)
    console.print(_table(rows))
    unmeasured = [row.name.strip() for row in rows if not row.rate]
    if unmeasured:
        console.print(f"not measured (exit 1): {'; '.join(unmeasured)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
