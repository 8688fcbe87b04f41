"""The HTML report's size and render time: a minute and an hour of traffic on a fake clock.

Run as a script: ``python benchmarks/bench_html_report.py [--out DIR]``.

What is measured: a seeded swarm's traffic fed to :class:`~simulator.swarm.metrics.Metrics` on a
fake clock (no server: the numbers are the report's, not the swarm's), 50 agents, 12 subject
families, about 480 messages a second, four steps a second for 60 s and for one hour; then the
JSON report's size, the HTML report's size and the time to render it, alone and side by side.
The README's table quotes these sizes (the timeline's shape, not the traffic, sets them: an hour
has 225 buckets of 16 s).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from simulator.swarm.html import write_html
from simulator.swarm.metrics import Metrics
from simulator.swarm.report import build_report
from simulator.swarm.scenario import default_scenario
from simulator.swarm.timeline import Timeline

FAMILIES = (
    "agent_heartbeat", "agent_status", "task_assignment", "task_progress", "task_result",
    "task_error", "hook_pre_task", "hook_post_task", "agent_log", "agent_metric",
    "system_alert", "workflow",
)  # fmt: skip


def traffic(seconds: int, agents: int = 50, seed: int = 1) -> dict[str, Any]:
    """The JSON report of ``seconds`` of seeded traffic on a fake clock."""
    now = [0.0]
    metrics = Metrics(timeline=Timeline(clock=lambda: now[0]))
    metrics.begin()
    rnd = random.Random(seed)
    for i in range(agents):
        metrics.agent_state(f"agent-{i}", "idle")
    for step in range(seconds * 4):
        now[0] = step / 4
        for family in FAMILIES:
            metrics.message(family, rnd.randint(0, 20))
        metrics.heartbeat_late(rnd.random() * 3)
        for _ in range(3):
            metrics.task_started()
            status = rnd.choice(("completed",) * 8 + ("failed", "timeout"))
            metrics.task_finished(status, rnd.random() * 500)
            metrics.hook_answered(rnd.choice(("approve",) * 9 + ("block",)), rnd.random() * 5)
        if rnd.random() < 0.02:
            metrics.error("dispatcher", "a seeded error")
        metrics.agent_state(f"agent-{rnd.randrange(agents)}", rnd.choice(("idle", "busy")))
    report = build_report(metrics, default_scenario(agents=agents, seed=seed))
    report["elapsed_s"] = float(seconds)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        reports = {"60 s": traffic(60), "1 h": traffic(3600)}
        rows = []
        for name, report in reports.items():
            stem = name.replace(" ", "")
            (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
            started = time.perf_counter()
            write_html(out / f"{stem}.html", [(name, report)])
            took = time.perf_counter() - started
            rows.append((name, (out / f"{stem}.json").stat().st_size, out / f"{stem}.html", took))
        started = time.perf_counter()
        write_html(out / "side-by-side.html", list(reports.items()))
        rows.append(("60 s | 1 h", 0, out / "side-by-side.html", time.perf_counter() - started))
        print(f"load average {os.getloadavg()[0]:.2f}")
        print(f"{'report':<12}{'JSON':>10}{'HTML':>10}{'render':>10}")
        for name, json_size, html, took in rows:
            size = f"{json_size / 1000:,.0f} KB" if json_size else "-"
            print(f"{name:<12}{size:>10}{html.stat().st_size / 1000:>7,.0f} KB{took:>8.1f} s")


if __name__ == "__main__":
    main()
