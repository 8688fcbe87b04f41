"""A small quick scenario the agent and swarm tests share."""

from __future__ import annotations

from typing import Any

from simulator.swarm.scenario import AgentGroup, HookPolicy, Scenario, TaskMix

WEIGHTS = {"analysis": 1.0, "execution": 1.0}


def quick_scenario(group: AgentGroup | None = None, **mix: Any) -> Scenario:
    """Three approving agents, no failures, quick heartbeats."""
    group = group or AgentGroup(
        count=3, task_duration=(0.01, 0.03), heartbeat_interval=0.1, failure_rate=0.0
    )
    return Scenario(
        groups=(group,),
        tasks=TaskMix(**{"weights": WEIGHTS, "workflows_per_minute": 0.0, **mix}),
        hooks=HookPolicy(kind="approve_all"),
        seed=3,
        heartbeat_timeout=0.4,
    )
