"""Benchmark of the Claude Code hook bridge: one PreToolUse decision, round trip.

Run as a script: ``python benchmarks/bench_bridge.py [--runs N] [--serve-runs N]``. One
embedded server with the topology applied and the simulator's HookResponder answering in this
process. Rows, each after one warm-up that is not counted (median, p99 nearest rank); the
three process rows run by turns, one of each per round, and also give the child's CPU time
(user + system), which a shared machine's load disturbs less than the wall time:

- **python -c "import nats"**: the interpreter and nats-py, started as a process; the floor
  of any Python command hook.
- **mistersmith hook** (``python -m simulator hook``): a new process per decision, as Claude
  Code runs a ``command`` hook. Goal: median at most 1.5x the row above.
- **mistersmith-hook**: the same through the lean entry point (no ``mistersmith`` command
  line, no rich), what ``hook install`` writes into Claude Code's settings.
- **bare nats-py request-reply**: one core request on an unstored subject, answered in-process.
- **hook serve** (:class:`~simulator.bridge.HookServer`): one POST per decision over a kept-
  alive HTTP connection, the server in this process (beside the responder's thread), then
  ``mistersmith hook serve`` as a process of its own, as it is deployed. Goal: p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import nats
from rich.console import Console
from rich.table import Table

from simulator.agents.hooks import HookResponder
from simulator.bridge import BridgeConfig, HookServer
from simulator.servers import start
from simulator.swarm.scenario import HookPolicy

PRE = Path(__file__).resolve().parents[1] / "tests" / "data" / "claude_hooks" / "PreToolUse.json"


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return statistics.median(ordered), p99


def _interleaved(
    fns: list[tuple[str, Callable[[], object]]], runs: int
) -> list[tuple[str, list[float], list[float]]]:
    """Each process row once per round, by turns (a load that comes and goes hits every row
    alike): wall ms and CPU ms (the child's user + system time, less sensitive to load)."""
    for _, fn in fns:
        fn()  # warm-up
    wall: dict[str, list[float]] = {name: [] for name, _ in fns}
    cpu: dict[str, list[float]] = {name: [] for name, _ in fns}
    for _ in range(runs):
        for name, fn in fns:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            fn()
            wall[name].append((time.perf_counter() - t) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            used = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            cpu[name].append(used * 1000)
    return [(name, wall[name], cpu[name]) for name, _ in fns]


def _timed(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _posted(hook_url: str, stdin: bytes, runs: int) -> list[float]:
    """``runs`` POSTs of ``stdin`` to ``hook_url`` over one kept-alive connection, timed."""
    host, port = hook_url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)

    def post() -> None:
        connection.request("POST", "/hook", body=stdin,
                           headers={"Content-Type": "application/json"})  # fmt: skip
        body = json.loads(connection.getresponse().read())
        assert body["hookSpecificOutput"]["permissionDecision"] == "allow", body

    try:
        return _timed(post, runs)
    finally:
        connection.close()


def _served(url: str, stdin: bytes, runs: int) -> list[float]:
    """POSTs to ``mistersmith hook serve`` run as its own process, as it is deployed (this
    process's threads, the responder's among them, then do not share its interpreter)."""
    serve = subprocess.Popen(
        [sys.executable, "-m", "simulator", "hook", "serve", "--url", url],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        hook_url = serve.stdout.readline().decode().strip()  # printed once it listens
        return _posted(hook_url, stdin, runs)
    finally:
        serve.terminate()
        serve.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="process rows (default 20)")
    parser.add_argument("--serve-runs", type=int, default=1000, help="in-process rows")
    args = parser.parse_args(argv)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    stdin = PRE.read_bytes()
    started = start("binary", apply=True)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    rows: list[tuple[str, list[float]]] = []
    cpu_ms: dict[str, list[float]] = {}
    with started.server as server:
        url = server.client_url
        thread.start()

        def run(coro: object) -> object:
            return asyncio.run_coroutine_threadsafe(coro, loop).result(60)  # type: ignore[arg-type]

        responder = HookResponder(url, HookPolicy(kind="approve_all"), seed=0)
        run(responder.start())
        client = run(nats.connect(url))

        async def echo() -> None:
            async def answer(msg: object) -> None:
                await msg.respond(b"{}")  # type: ignore[attr-defined]

            await client.subscribe("bench.echo", cb=answer)  # type: ignore[attr-defined]
            await client.flush()  # type: ignore[attr-defined]

        run(echo())

        def import_nats() -> None:
            subprocess.run([sys.executable, "-c", "import nats"], check=True)

        def hook() -> None:
            done = subprocess.run(
                [sys.executable, "-m", "simulator", "hook", "--url", url],
                input=stdin, capture_output=True, check=False,
            )  # fmt: skip
            assert done.returncode == 0 and b"allow" in done.stdout, done

        script = Path(sys.executable).with_name("mistersmith-hook")

        def lean_hook() -> None:
            done = subprocess.run(
                [str(script), "--url", url], input=stdin, capture_output=True, check=False
            )
            assert done.returncode == 0 and b"allow" in done.stdout, done

        processes = [
            ('python -c "import nats" (process)', import_nats),
            ("mistersmith hook (process per decision)", hook),
            ("mistersmith-hook (process per decision)", lean_hook),
        ]
        for name, wall, cpu in _interleaved(processes, args.runs):
            rows.append((name, wall))
            cpu_ms[name] = cpu

        def bare() -> None:
            run(client.request("bench.echo", b"{}", timeout=5))  # type: ignore[attr-defined]

        rows.append(("bare nats-py request-reply", _timed(bare, args.serve_runs)))
        with HookServer(BridgeConfig(url=url)) as hooks:
            posted = _posted(hooks.url, stdin, args.serve_runs)
            rows.append(("hook serve (POST per decision)", posted))
        rows.append(("hook serve, its own process", _served(url, stdin, args.serve_runs)))
        run(responder.stop())
        run(client.close())  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    base = {0: statistics.median(rows[0][1]), 3: statistics.median(rows[3][1])}
    table = Table(title=f"Hook bridge round trip (load average {load}, 1/5/15 min at start)")
    columns = ("row", "runs", "median ms", "p99 ms", "median ratio", "CPU ms", "CPU ratio")
    for column in columns:
        table.add_column(column, justify="left" if column == "row" else "right")
    cpu_base = statistics.median(cpu_ms[rows[0][0]])
    for index, (name, samples) in enumerate(rows):
        median, p99 = _stats(samples)
        ratio = median / base[0 if index < 3 else 3]
        cpu = [f"{statistics.median(cpu_ms[name]):.0f}"] if name in cpu_ms else ["", ""]
        if name in cpu_ms:
            cpu.append(f"{statistics.median(cpu_ms[name]) / cpu_base:.2f}x")
        table.add_row(name, str(len(samples)), f"{median:.2f}", f"{p99:.2f}", f"{ratio:.2f}x", *cpu)
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
