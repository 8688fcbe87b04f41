"""Swarms of simulated agents: the swarm, its dispatcher and heartbeat monitor, the scenario
that describes it, its metrics and its report.

``Swarm`` is imported on first use: the agents (a lower layer) read their scenario and metrics
types from this package, and the swarm imports the agents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.swarm.swarm import SWARM, Swarm

__all__ = ["SWARM", "Swarm"]


def __getattr__(name: str) -> object:
    if name in __all__:
        from simulator.swarm import swarm

        return getattr(swarm, name)
    raise AttributeError(f"module 'simulator.swarm' has no attribute {name!r}")
