"""Benchmark of the history checker: reading a stream back and checking it, per million messages.

Run as a script: ``python benchmarks/bench_checker.py [--messages N] [--runs N]``.

One embedded nats-server with our topology (clamped to one node); N task assignments stored in
``task_lifecycle`` (asynchronous JetStream publishes with a ``Nats-Msg-Id``),
each given an acknowledged :class:`~simulator.faults.history.PublishOp` at its sequence. Rows,
side by side in one run (median of the runs): storing them (the floor: what the server took to
write them), reading them back (:func:`simulator.faults.readback.read_streams`), checking the
history (:func:`simulator.faults.checker.check`), each also per million messages and as a
ratio to storing. The load average is printed beside the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid

import nats
from rich.console import Console
from rich.table import Table

from simulator.bus import MSG_ID_HEADER
from simulator.faults.checker import check
from simulator.faults.history import PublishOp
from simulator.faults.readback import read_streams
from simulator.servers import start

__all__ = ["main"]

_STREAM = "task_lifecycle"
_SUBJECT = "tasks.analysis.assignment"


async def _store(url: str, count: int) -> tuple[float, list[PublishOp]]:
    """Publish ``count`` assignments (asynchronously acknowledged); their ops and the time."""
    client = await nats.connect(url)
    try:
        await client.jsm().purge_stream(_STREAM)
        js = client.jetstream(publish_async_max_pending=4000)
        payload = b'{"task_id":"x","task_type":"analysis"}' + b" " * 200
        run = uuid.uuid4().hex[:8]  # ids of their own: the stream's duplicate window is 300 s
        t0 = time.perf_counter()
        futures = [
            await js.publish_async(_SUBJECT, payload, headers={MSG_ID_HEADER: f"{run}-{i}"})
            for i in range(count)
        ]
        await js.publish_async_completed()
        stored = time.perf_counter() - t0
        acks = [f.result() for f in futures]
    finally:
        await client.close()
    ops = [
        PublishOp(_SUBJECT, f"{run}-{i}", 0.0, 0.0, "ok", ack.stream, ack.seq, attempts=1)
        for i, ack in enumerate(acks)
    ]
    return stored, ops


def _once(url: str, count: int) -> tuple[float, float, float]:
    stored, ops = asyncio.run(_store(url, count))
    t0 = time.perf_counter()
    messages, _ = asyncio.run(read_streams(url, [_STREAM], timeout=600))
    read = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = check(ops, messages)
    checked = time.perf_counter() - t0
    if report.lost or report.streams[_STREAM].found != count:
        raise SystemExit(f"bench_checker: the checker found {report.lost} lost of {count}")
    return stored, read, checked


def main(argv: list[str] | None = None) -> int:
    """Store, read back and check; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000, help="per run (default 200k)")
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    args = parser.parse_args(argv)
    console = Console(width=130)
    started = start("binary", apply=True)
    try:
        samples = [_once(started.server.client_url, args.messages) for _ in range(args.runs)]
    finally:
        started.server.stop()
    per_million = 1_000_000 / args.messages
    table = Table(title=f"History checker, {args.messages:,} messages, median of {args.runs}")
    for column in ("step", "seconds", "per million", "x storing"):
        table.add_column(column, justify="right")
    store = statistics.median(s[0] for s in samples)
    for name, index in (("storing (floor)", 0), ("reading back", 1), ("checking", 2)):
        value = statistics.median(s[index] for s in samples)
        table.add_row(name, f"{value:.2f}", f"{value * per_million:.1f} s", f"{value / store:.2f}")
    console.print(table)
    console.print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
