"""Benchmark of secured servers: start to a connected admin client, topology applied, per profile.

Run as a script: ``python benchmarks/bench_security.py [--runs N]``.

Each row is ``simulator.servers.start("binary", security=..., apply=True)`` (which makes the
profile's credentials and certificates in the server's temp dir, starts the server and applies
the topology as the admin), then ``nats.connect(**connect_options())`` and a flush, timed as
one, and the server stopped (not timed). The anchor is the same with no profile (an open
server), measured in the same run; the profiles run by turns so that a shared machine's
changing load falls on all alike. Reported as median, p95 (nearest rank) and the ratio of
medians to the open server. Goal (issue 13): ``nkey`` + ``tls`` at most 1.5x the open server.
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
from simulator.servers.security import Security

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


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
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
    console.print(
        f"load average at the start: {load}; at the end: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
