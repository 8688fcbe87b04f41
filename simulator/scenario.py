"""A swarm described as frozen values: agent groups, the task mix, the hook policy.

:func:`default_scenario` is what ``mistersmith run`` does with no options; :func:`load_scenario`
reads a YAML file (a bad file raises :class:`~simulator.errors.ConfigError` with one line naming
the file, the line and the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = [
    "AgentGroup",
    "HookPolicy",
    "Scenario",
    "TaskMix",
    "default_scenario",
]

HookPolicyKind = Literal["approve_all", "block_tools", "block_rate"]
HookDialect = Literal["12.1", "2.1"]
HookDecisionName = Literal["approve", "block"]

_DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType(
    {"analysis": 3.0, "synthesis": 2.0, "execution": 3.0, "validation": 1.0, "monitoring": 1.0}
)


@dataclass(frozen=True)
class AgentGroup:
    """``count`` agents that behave alike."""

    name: str = "worker"
    count: int = 5
    capabilities: tuple[str, ...] = ("analysis", "synthesis", "execution", "validation")
    #: Concurrent tasks per agent (12.2 ``max_tasks``).
    max_tasks: int = 2
    #: Seconds between heartbeats on ``agents.{id}.heartbeat``.
    heartbeat_interval: float = 1.0
    #: Seconds a task takes: drawn uniformly from this range per task.
    task_duration: tuple[float, float] = (0.05, 0.5)
    #: Probability that a task fails (published on ``tasks.{task_id}.error``).
    failure_rate: float = 0.05
    #: Task output lines published on ``tasks.{task_id}.progress`` per task.
    progress_lines: int = 3


@dataclass(frozen=True)
class TaskMix:
    """The tasks the dispatcher publishes."""

    #: Tasks per second over the whole swarm.
    rate: float = 5.0
    #: Relative weight of each 12.2 task type.
    weights: Mapping[str, float] = field(default_factory=lambda: _DEFAULT_WEIGHTS)
    #: Seconds from assignment to deadline (status ``timeout`` past it); None: no deadline.
    deadline: float | None = 10.0
    #: Share of tasks sent through the core queue groups ``tasks.{type}.queue.{priority}``
    #: rather than the ``task_processor`` pull consumer.
    queue_share: float = 0.2
    #: Workflows with dependencies started per minute (``workflow.{id}.*``).
    workflows_per_minute: float = 6.0


@dataclass(frozen=True)
class HookPolicy:
    """How the built-in hook responder answers, and how agents wait for it."""

    kind: HookPolicyKind = "block_rate"
    #: Tools blocked by ``block_tools``.
    tools: tuple[str, ...] = ("Bash",)
    #: Share of pre_task hooks blocked by ``block_rate`` (seeded).
    rate: float = 0.05
    #: Seconds an agent waits for an answer before taking ``default``.
    timeout: float = 2.0
    default: HookDecisionName = "approve"
    #: ERRATA 17: 12.1 subjects (default) or the 2.1 request-reply dialect.
    dialect: HookDialect = "12.1"
    #: Run the built-in responder; False when the user's service under test answers.
    builtin_responder: bool = True


@dataclass(frozen=True)
class Scenario:
    """Everything a swarm run needs, frozen."""

    groups: tuple[AgentGroup, ...] = (AgentGroup(),)
    tasks: TaskMix = TaskMix()
    hooks: HookPolicy = HookPolicy()
    #: Seconds the run lasts (``mistersmith run --duration``).
    duration: float = 30.0
    seed: int = 0
    #: Seconds without heartbeats before the monitor raises an alert.
    heartbeat_timeout: float = 3.5
    source: str = "<default>"

    @property
    def agent_count(self) -> int:
        """How many agents in all groups."""
        return sum(g.count for g in self.groups)


def default_scenario(
    *,
    agents: int = 5,
    duration: float = 30.0,
    seed: int = 0,
    task_rate: float = 5.0,
) -> Scenario:
    """A sensible small swarm: ``agents`` workers, a task mix, seeded hook decisions."""
    return Scenario(
        groups=(AgentGroup(count=agents),),
        tasks=TaskMix(rate=task_rate),
        duration=duration,
        seed=seed,
    )
