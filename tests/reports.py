"""Reports of runs on a fake clock (shared by the timeline, HTML and CLI tests)."""

from __future__ import annotations

import random
from typing import Any

from simulator.swarm.metrics import Metrics
from simulator.swarm.report import build_report
from simulator.swarm.scenario import default_scenario
from simulator.swarm.timeline import Timeline

FAMILIES = ("agent_heartbeat", "agent_status", "task_assignment", "task_progress", "task_result")


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def metrics_on(clock: Clock) -> Metrics:
    """Metrics whose timeline reads ``clock``, begun."""
    metrics = Metrics(timeline=Timeline(clock=clock))
    metrics.begin()
    return metrics


def simulate(
    metrics: Metrics, clock: Clock, seconds: float, seed: int = 1, agents: int = 6
) -> None:
    """Four steps a second of seeded traffic: messages, tasks, hooks, lag, states, errors."""
    rnd = random.Random(seed)
    start = clock.now
    for i in range(agents):
        metrics.agent_state(f"a{i}", "idle")
    for step in range(int(seconds * 4)):
        clock.now = start + step / 4
        for family in FAMILIES:
            metrics.message(family, rnd.randint(0, 5))
        metrics.heartbeat_late(rnd.random() * 3)
        metrics.task_started()
        metrics.task_finished(
            rnd.choice(("completed",) * 8 + ("failed", "timeout")), rnd.random() * 500
        )
        metrics.hook_answered(rnd.choice(("approve",) * 9 + ("block",)), rnd.random() * 5)
        if step % 37 == 0:
            metrics.error("dispatcher", f"step {step}")
        metrics.agent_state(f"a{rnd.randrange(agents)}", rnd.choice(("idle", "busy")))
    clock.now = start + seconds


def synthetic_report(seconds: float = 60.0, seed: int = 1, **extra: Any) -> dict[str, Any]:
    """The JSON report of a run of ``seconds`` on a fake clock, with ``extra`` keys added."""
    clock = Clock()
    metrics = metrics_on(clock)
    simulate(metrics, clock, seconds, seed)
    metrics.end()
    report = build_report(metrics, default_scenario(agents=6, seed=seed))
    report["elapsed_s"] = seconds
    report.update(extra)
    return report
