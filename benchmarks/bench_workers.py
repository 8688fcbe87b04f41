"""Benchmark of workers: capacity of the bare loop, one simulator process and 2 workers; start-up;
messages per second at full speed. Every row measured in the same run, phase after phase.

Run as a script: ``python benchmarks/bench_workers.py [--steps 2000,4000,8000] [--seconds 5]``.

- **capacity**: the largest agent count of ``--steps`` (tried in order until one fails) held at
  >= 99% of the heartbeat target (one a second per agent) with heartbeat lag p99 within one wheel
  slot (10 ms), for: the bare asyncio loop (``bench_swarm.bare_heartbeats``: a wheel of
  heartbeats on one connection, no agent logic), one simulator process
  (``mistersmith run --url``), and 2 workers (``mistersmith run --url --workers 2``). The
  simulator rows are read from the run's JSON report: its per-second timeline, the buckets
  after ``--warmup`` s and before the last (the drain); lag = the merged HDR histograms of the
  same buckets (the wheel's slot lag, ``Metrics.heartbeat_late``). Goals: one process >= 90% of
  the bare loop's capacity; 2 workers >= 1.7x one process.
- **start-up**: seconds from the run's start to "running" for the largest count both held.
- **full speed**: ``--fast-agents`` agents beating every 10 ms (more than a process can send)
  with tasks: every message per second, one process and 2 workers. Goal: 2 workers >= 1.7x.
- **start ``--start-agents`` agents** (50,000): one process (a :class:`~simulator.swarm.Swarm`
  in this process with its hook responder and monitor, as ``mistersmith run`` has them:
  ``Swarm.start_seconds``, the agents made, subscribed and each ``idle``) and 2 workers
  (``mistersmith run --workers 2``: the report's ``workers.*.start_s``, from the coordinator's
  ``assign`` to each worker's ``ready``; the row is the last one's). Goal: at most 5 s on 2
  workers, 10,000 agents a second per worker. ``--start-only`` measures just these two rows.

The server's own CPU share is measured from ``/proc/<pid>/stat`` (utime + stime over the
phase's wall time): on 2 cores the server competes with the workers, which is what bounds the
2-worker rows. The load average is printed with the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_swarm import bare_heartbeats
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]
from rich.console import Console
from rich.table import Table

from simulator.protocol import topology as topo
from simulator.servers import find_nats_server
from simulator.servers.run import start_with_topology
from simulator.swarm.scenario import default_scenario, with_overrides
from simulator.swarm.timeline import new_histogram

__all__ = [
    "GOAL_LAG_P99_MS",
    "GOAL_ONE_VS_BARE",
    "GOAL_RATE_SHARE",
    "GOAL_START_PER_WORKER",
    "GOAL_START_S",
    "GOAL_TWO_VS_ONE",
    "main",
]

GOAL_RATE_SHARE = 0.99
GOAL_LAG_P99_MS = 10.0
GOAL_ONE_VS_BARE = 0.9
GOAL_TWO_VS_ONE = 1.7
GOAL_START_S = 5.0
GOAL_START_PER_WORKER = 10_000.0
_TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Step:
    """One measured hold: agents, heartbeats per second, lag p99, start-up, server CPU share."""

    agents: int
    rate: float
    lag_p99: float
    start_s: float
    server_cpu: float
    messages: float = 0.0

    @property
    def held(self) -> bool:
        """Whether the step met the target rate and the lag."""
        return self.rate >= GOAL_RATE_SHARE * self.agents and self.lag_p99 <= GOAL_LAG_P99_MS


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _window(report: dict[str, Any], warmup: float, seconds: float) -> tuple[float, float, float]:
    """Heartbeats/s, lag p99 (ms) and messages/s over the steady buckets of ``report``: the
    ``seconds`` after ``warmup``, never the drain's buckets after the run's duration."""
    tl = report["timeline"]
    width, n = float(tl["bucket_s"]), int(tl["buckets"])
    first = int(warmup // width) + 1  # skip start-up
    last = min(first + max(1, int(seconds // width)), n - 1)
    if last <= first:
        raise RuntimeError(f"run too short: {n} buckets of {width:g} s")
    beats = sum(tl["messages"].get("agent_heartbeat", [0] * n)[first:last])
    total = sum(sum(series[first:last]) for series in tl["messages"].values())
    lag = new_histogram()
    for encoded in tl["latency_ms"]["heartbeat_lag"]["hdr"][first:last]:
        if encoded is not None:
            lag.add(HdrHistogram.decode(encoded.encode("ascii")))
    seconds = (last - first) * width
    return beats / seconds, lag.get_value_at_percentile(99.0) / 1000.0, total / seconds


def _run(
    url: str, server_pid: int, scenario: Path, workers: int, seconds: float, warmup: float
) -> Step:
    """One ``mistersmith run`` on ``url``; its report's steady window."""
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        report = Path(tmp) / "report.json"
        argv = [sys.executable, "-m", "simulator", "run", "--url", url, "--scenario", str(scenario)]
        argv += ["--duration", f"{warmup + seconds + 1:g}", "--report", str(report)]
        if workers:
            argv += ["--workers", str(workers), "--run", f"bench-{uuid.uuid4().hex[:8]}"]
        cpu0, t0 = _cpu_seconds(server_pid), time.monotonic()
        child = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp
        )
        assert child.stdout is not None
        start_s = 0.0
        for line in child.stdout:
            if line.startswith("running ") and not start_s:
                start_s = time.monotonic() - t0
        child.wait()
        wall = time.monotonic() - t0
        server_cpu = (_cpu_seconds(server_pid) - cpu0) / wall
        if child.returncode != 0 or not report.exists():
            raise RuntimeError(f"mistersmith run exited with {child.returncode}")
        data = json.loads(report.read_text())
    rate, p99, messages = _window(data, warmup, seconds)
    agents = int(data["agents"]["total"])
    return Step(agents, rate, p99, start_s, server_cpu, messages)


@dataclass
class Start:
    """One start-up measure: agents, seconds until every one is up, and what it cost."""

    label: str
    agents: int
    seconds: float
    #: (agents, seconds, CPU seconds) of each process that started agents.
    shares: list[tuple[int, float, float]]
    server_cpu: float
    #: CPU seconds of the coordinator (hook responder, monitor), when apart from the agents.
    coordinator_cpu: float | None = None

    @property
    def per_worker(self) -> float:
        """Agents a second of the slowest process."""
        return min(n / s for n, s, _ in self.shares)

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per agent over every Python process (the server's apart)."""
        spent = sum(c for _, _, c in self.shares) + (self.coordinator_cpu or 0.0)
        return spent / self.agents * 1e6


async def _start_here(url: str, agents: int) -> tuple[float, float]:
    from simulator.swarm import Swarm

    scenario = with_overrides(default_scenario(agents=agents, seed=1), task_rate=0.0)
    cpu = time.process_time()
    async with Swarm(url, scenario, dispatcher=False) as swarm:
        assert swarm.start_seconds is not None
        return swarm.start_seconds, time.process_time() - cpu


def _start_one(url: str, pid: int, agents: int) -> Start:
    cpu0, t0 = _cpu_seconds(pid), time.monotonic()
    seconds, cpu = asyncio.run(_start_here(url, agents))
    server = (_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
    return Start("one process", agents, seconds, [(agents, seconds, cpu)], server)


def _start_spread(url: str, pid: int, folder: Path, agents: int, workers: int) -> Start:
    """``mistersmith run --workers``: the workers' start from the report; the coordinator's
    CPU from its ``waiting for`` line (workers joining) to its ``running`` line (which also
    holds the dispatcher's discovery: an upper bound)."""
    scenario = _scenario(folder, agents, 1.0, 0.0)
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        report = Path(tmp) / "report.json"
        argv = [sys.executable, "-m", "simulator", "run", "--url", url, "--scenario", str(scenario)]
        argv += ["--duration", "1", "--report", str(report), "--workers", str(workers)]
        argv += ["--run", f"bench-{uuid.uuid4().hex[:8]}"]
        cpu0, t0 = _cpu_seconds(pid), time.monotonic()
        child = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp
        )
        assert child.stdout is not None
        marks: dict[str, float] = {}
        tail: list[str] = []
        for line in child.stdout:
            tail = [*tail[-20:], line.strip()]
            for word in ("waiting", "running"):
                if line.startswith(word) and word not in marks:
                    marks[word] = _cpu_seconds(child.pid)
        child.wait()
        server = (_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
        if child.returncode != 0 or not report.exists():
            raise RuntimeError(f"mistersmith run exited with {child.returncode}: {tail}")
        entries = json.loads(report.read_text())["workers"].values()
    shares = []
    for entry in entries:
        if entry["start_s"] is None:
            raise RuntimeError(f"a worker never said ready: {entry}")
        first, stop = entry["agents"]
        shares.append((stop - first, float(entry["start_s"]), float(entry["start_cpu_s"])))
    seconds = max(s for _, s, _ in shares)
    coordinator = marks.get("running", 0.0) - marks.get("waiting", 0.0)
    return Start(f"{workers} workers", agents, seconds, shares, server, coordinator)


def _scenario(directory: Path, agents: int, interval: float, task_rate: float) -> Path:
    scenario = with_overrides(
        default_scenario(agents=agents, seed=1), heartbeat_interval=interval, task_rate=task_rate
    )
    path = directory / f"scenario-{agents}-{interval:g}.yaml"
    path.write_text(json.dumps(scenario.to_dict()))  # JSON is YAML
    return path


def _capacity(
    console: Console, label: str, steps: list[int], measure: Any
) -> tuple[int, list[Step]]:
    held, seen = 0, []
    for agents in steps:
        console.print(f"{label}: {agents:,} agents ...")
        try:
            step = measure(agents)
        except Exception as exc:  # a failed step ends the search
            console.print(f"  failed: {' '.join(str(exc).split())[:120]}")
            break
        seen.append(step)
        console.print(
            f"  {step.rate:,.0f} beats/s of {agents:,}, lag p99 {step.lag_p99:.2f} ms, "
            f"server CPU {step.server_cpu:.0%}" + (" (held)" if step.held else " (not held)")
        )
        if not step.held:
            break
        held = agents
    return held, seen


def main(argv: list[str] | None = None) -> int:
    """Measure every row, print the table; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--steps", default="2000,4000,8000,12000,16000,24000,32000")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds (5)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    parser.add_argument("--task-rate", type=float, default=20.0, help="tasks/s while held")
    parser.add_argument("--fast-agents", type=int, default=2000, help="full-speed agents")
    parser.add_argument("--fast-task-rate", type=float, default=100.0)
    parser.add_argument("--start-agents", type=int, default=50_000, help="start-up agents")
    parser.add_argument("--start-only", action="store_true", help="only the start-up rows")
    args = parser.parse_args(argv)
    steps = [int(s) for s in args.steps.split(",")]
    console = Console(highlight=False, width=160)
    binary = find_nats_server(env=os.environ)
    console.print(
        f"python {platform.python_version()}, nats-server {binary.version}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    served = start_with_topology(topo.default_topology(), binary=binary)
    url, pid = served.server.client_url, served.server.pid
    assert pid is not None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
            folder = Path(tmp)

            def bare(agents: int) -> Step:
                cpu0, t0 = _cpu_seconds(pid), time.monotonic()
                row = asyncio.run(bare_heartbeats(url, agents, args.seconds, 100))
                cpu = (_cpu_seconds(pid) - cpu0) / (time.monotonic() - t0)
                assert row.rate is not None and row.lag is not None
                return Step(agents, row.rate, row.lag.percentile(99), 0.0, cpu)

            def spread(workers: int) -> Any:
                def measure(agents: int) -> Step:
                    scenario = _scenario(folder, agents, 1.0, args.task_rate)
                    return _run(url, pid, scenario, workers, args.seconds, args.warmup)

                return measure

            starts = []
            for workers in (0, 2):
                what = f"{workers} workers" if workers else "one process"
                console.print(f"start {args.start_agents:,} agents, {what} ...")
                start = (
                    _start_spread(url, pid, folder, args.start_agents, workers)
                    if workers
                    else _start_one(url, pid, args.start_agents)
                )
                console.print(f"  {start.seconds:.1f} s, {start.per_worker:,.0f} agents/s")
                starts.append(start)
            if args.start_only:
                return _report_starts(console, starts)
            results = {
                "bare asyncio loop": _capacity(console, "bare loop", steps, bare),
                "one simulator process": _capacity(console, "one process", steps, spread(0)),
                "2 workers": _capacity(console, "2 workers", steps, spread(2)),
            }
            fast = {}
            for label, workers in (("one simulator process", 0), ("2 workers", 2)):
                console.print(f"full speed, {label}: {args.fast_agents:,} agents every 10 ms ...")
                scenario = _scenario(folder, args.fast_agents, 0.01, args.fast_task_rate)
                fast[label] = _run(url, pid, scenario, workers, args.seconds, args.warmup)
    finally:
        served.server.stop()
    ok = _report(console, results, fast)
    return max(ok, _report_starts(console, starts))


def _report_starts(console: Console, starts: list[Start]) -> int:
    """The start-up rows, beside each other; 1 when the 2-worker goal is missed."""
    table = Table(title="Start-up", title_justify="left")
    columns = ("what", "seconds", "agents/s per worker", "CPU us/agent", "server CPU", "goal")
    for column in columns:
        table.add_column(column, justify="left" if column in ("what", "goal") else "right")
    ok = True
    for start in starts:
        verdict = ""
        if start.label != "one process":
            met = start.seconds <= GOAL_START_S and start.per_worker >= GOAL_START_PER_WORKER
            ok &= met
            verdict = (
                f"<= {GOAL_START_S:g} s and >= {GOAL_START_PER_WORKER:,.0f}/s per worker: "
                f"{'met' if met else 'missed'}"
            )
        table.add_row(
            f"start {start.agents:,} agents: {start.label}",
            f"{start.seconds:.1f} s",
            f"{start.per_worker:,.0f}",
            f"{start.cpu_us:,.0f}",
            f"{start.server_cpu:.0%}",
            verdict,
        )
    console.print(table)
    for start in starts:
        parts = [f"{n:,} agents {s:.1f} s, {c:.1f} CPU s" for n, s, c in start.shares]
        if start.coordinator_cpu is not None:
            parts.append(f"coordinator {start.coordinator_cpu:.1f} CPU s")
        console.print(f"{start.label}: {'; '.join(parts)}")
    load = os.getloadavg()
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if ok else 1


def _report(
    console: Console, results: dict[str, tuple[int, list[Step]]], fast: dict[str, Step]
) -> int:
    table = Table(title="Workers benchmark", title_justify="left")
    for column in ("what", "capacity", "beats/s", "lag p99", "start", "server CPU", "goal"):
        table.add_column(column, justify="left" if column in ("what", "goal") else "right")
    bare = results["bare asyncio loop"][0]
    one = results["one simulator process"][0]
    two = results["2 workers"][0]
    goals = {
        "one simulator process": (one >= GOAL_ONE_VS_BARE * bare, f"{one / bare:.0%} of bare"),
        "2 workers": (two >= GOAL_TWO_VS_ONE * one, f"{two / one:.2f}x one process"),
    } if bare and one else {}  # fmt: skip
    ok = bool(goals) and all(met for met, _ in goals.values())
    for label, (capacity, seen) in results.items():
        last = next((s for s in reversed(seen) if s.agents == capacity), None)
        met, said = goals.get(label, (True, ""))
        verdict = f"{'met' if met else 'missed'} ({said})" if said else ""
        cells = (
            [f"{last.rate:,.0f}", f"{last.lag_p99:.2f} ms", f"{last.start_s:.1f} s" if
             last.start_s else "", f"{last.server_cpu:.0%}"] if last else ["", "", "", ""]
        )  # fmt: skip
        table.add_row(label, f"{capacity:,}", *cells, verdict)
    f1, f2 = fast["one simulator process"], fast["2 workers"]
    share = f2.messages / f1.messages if f1.messages else 0.0
    ok &= share >= GOAL_TWO_VS_ONE
    for label, step in fast.items():
        verdict = ""
        if label == "2 workers":
            verdict = f"{'met' if share >= GOAL_TWO_VS_ONE else 'missed'} ({share:.2f}x)"
        table.add_row(
            f"full speed, {label}: msg/s", "", f"{step.messages:,.0f}", "",
            f"{step.start_s:.1f} s", f"{step.server_cpu:.0%}", verdict,
        )  # fmt: skip
    console.print(table)
    load = os.getloadavg()
    console.print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
