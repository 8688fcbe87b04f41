"""Counters and latency histograms of a swarm run; ``report.py`` renders them.

The agents, the dispatcher and the hook responder call these methods; they are cheap and
synchronous (one event loop, no locks).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["Metrics"]


@dataclass
class Metrics:
    """What happened during a run."""

    #: Messages published, per subject family (the taxonomy template's name).
    published: Counter[str] = field(default_factory=Counter)
    #: Agents per lifecycle state, as last published.
    states: dict[str, str] = field(default_factory=dict)
    #: Finished tasks per final status (completed, failed, cancelled, timeout).
    tasks: Counter[str] = field(default_factory=Counter)
    #: Hook answers per decision (approve, block, continue, timeout-default).
    hook_decisions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    task_latencies_ms: list[float] = field(default_factory=list)
    hook_rtts_ms: list[float] = field(default_factory=list)

    def message(self, family: str) -> None:
        """One message published on a subject of ``family`` (e.g. ``agent_heartbeat``)."""
        self.published[family] += 1

    def agent_state(self, agent_id: str, state: str) -> None:
        """An agent published a new lifecycle state."""
        self.states[agent_id] = state

    def task_finished(self, status: str, latency_ms: float) -> None:
        """A task ended with ``status``, ``latency_ms`` after its assignment."""
        self.tasks[status] += 1
        self.task_latencies_ms.append(latency_ms)

    def hook_answered(self, decision: str, rtt_ms: float) -> None:
        """A hook event got ``decision`` after ``rtt_ms`` (``timeout`` when none came)."""
        self.hook_decisions[decision] += 1
        self.hook_rtts_ms.append(rtt_ms)

    def error(self, where: str, message: str) -> None:
        """Something went wrong that the run survived."""
        self.errors.append(f"{where}: {message}")
