"""Pure, seeded decisions of the simulation: no I/O, no clock, testable without a server.

Every random choice is drawn from a ``random.Random`` derived from the scenario's seed and the
name of what is decided (a task id, an agent id, a hook event), never from a shared stream, so
the outcome of one decision does not depend on the order in which the swarm happened to make
the others: the same seed gives the same task ids, task mix, payload contents and hook decisions
whichever agent takes which task first. Faker is seeded per task the same way (one shared Faker
instance, re-seeded per use: cheap enough for 50,000 agents, where one Faker each is not).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import JsonValue

from simulator.protocol.models import (
    HookDecision,
    HookEvent,
    HookResponse,
    HookType,
    TaskAssignment,
    TaskRequirements,
    TaskType,
    make,
)
from simulator.swarm.scenario import AgentGroup, HookPolicy, TaskMix

if TYPE_CHECKING:
    from faker import Faker

__all__ = [
    "TOOLS",
    "TaskFactory",
    "TaskPlan",
    "WorkflowPlan",
    "derive_seed",
    "plan_task",
    "plan_workflow",
    "policy_decision",
    "rng_for",
    "seeded_uuid",
]

Path = Literal["stream", "queue"]

#: The Claude tools a task of each type uses (the hook event's ``tool_name``).
TOOLS: Mapping[str, tuple[str, ...]] = {
    "analysis": ("Read", "Grep"),
    "synthesis": ("Write", "Edit"),
    "execution": ("Bash", "Edit"),
    "validation": ("Read", "Bash"),
    "monitoring": ("Read",),
}
_WRITING_TOOLS = frozenset({"Write", "Edit"})
_faker: Faker | None = None


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed derived from ``seed`` and the names of what is being decided."""
    digest = hashlib.blake2b(repr((seed, *parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def rng_for(seed: int, *parts: object) -> random.Random:
    """A ``random.Random`` of its own for one decision (see :func:`derive_seed`)."""
    return random.Random(derive_seed(seed, *parts))


def seeded_uuid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng``."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _faker_for(seed: int) -> Faker:
    """The shared Faker, re-seeded with ``seed``."""
    global _faker
    if _faker is None:
        from faker import Faker

        _faker = Faker("en_US")
    _faker.seed_instance(seed)
    return _faker


@dataclass(frozen=True)
class TaskPlan:
    """How one task will go: its duration, tool, output lines and outcome."""

    duration: float
    fails: bool
    tool_name: str
    tool_input: dict[str, JsonValue]
    progress: tuple[str, ...]
    result_data: dict[str, JsonValue]
    file_path: str | None
    cpu_percent: float
    memory_mb: float
    io_operations: int


def plan_task(seed: int, group: AgentGroup, task_id: str, task_type: str) -> TaskPlan:
    """The plan of task ``task_id`` run by an agent of ``group`` (seeded by the task id)."""
    rng = rng_for(seed, "task", task_id)
    fake = _faker_for(derive_seed(seed, "task-text", task_id))
    low, high = group.task_duration
    duration = low + (high - low) * rng.random()
    fails = rng.random() < group.failure_rate
    tool = rng.choice(TOOLS.get(task_type, ("Read",)))
    path = f"/work/{fake.file_path(depth=2, extension='py').lstrip('/')}"
    tool_input: dict[str, JsonValue]
    if tool == "Bash":
        tool_input = {"command": f"pytest -q {path}", "description": fake.sentence(nb_words=5)}
    elif tool == "Grep":
        tool_input = {"pattern": fake.word(), "path": path}
    else:
        tool_input = {"file_path": path}
    lines = tuple(
        f"[{task_type}] step {i + 1}/{group.progress_lines}: {fake.sentence(nb_words=6)}"
        for i in range(group.progress_lines)
    )
    summary: dict[str, JsonValue] = {"summary": fake.paragraph(nb_sentences=2), "tool": tool}
    return TaskPlan(
        duration=duration,
        fails=fails,
        tool_name=tool,
        tool_input=tool_input,
        progress=lines,
        result_data=summary,
        file_path=path if tool in _WRITING_TOOLS else None,
        cpu_percent=round(5 + 90 * rng.random(), 1),
        memory_mb=round(64 + 960 * rng.random(), 1),
        io_operations=rng.randrange(1, 500),
    )


@dataclass(frozen=True)
class TaskFactory:
    """Seeded task assignments of a task mix: ids, types, priorities, data, path and agent.

    Each assignment is drawn from its own ``key`` (``("task", n)`` for the n-th task of a run,
    ``("workflow", workflow_id, step)`` for a workflow's step), so workflows finishing in a
    different order do not change the other tasks.
    """

    seed: int
    mix: TaskMix

    def weights(self, capable: Mapping[str, Sequence[str]]) -> dict[str, float]:
        """The mix's weights, restricted to task types some agent can take."""
        return {t: w for t, w in self.mix.weights.items() if w > 0 and capable.get(t)}

    def next_task(
        self,
        now: datetime,
        capable: Mapping[str, Sequence[str]],
        key: tuple[object, ...],
        *,
        task_type: str | None = None,
        task_id: str | None = None,
        dependencies: Sequence[str] = (),
        force_path: Path | None = None,
    ) -> tuple[TaskAssignment, Path]:
        """The assignment drawn from ``key`` (to a capable agent) and the path it takes.

        ``capable`` maps each capability to the ids of the agents offering it, sorted (the
        dispatcher keeps them so: sorting 50,000 ids per task would stall the heartbeats).
        """
        rng = rng_for(self.seed, "dispatch", *key)
        weights = self.weights(capable)
        drawn = rng.choices(list(weights), weights=list(weights.values()))[0] if weights else None
        task_type = task_type or drawn
        if task_type is None:
            raise LookupError("no agent offers any capability of the task mix")
        agents = capable.get(task_type, ())
        if not agents:
            raise LookupError(f"no agent offers the capability {task_type!r}")
        agent = agents[rng.randrange(len(agents))]
        drawn_id = seeded_uuid(rng)
        priority = rng.randint(1, 10)
        path: Path = "queue" if rng.random() < self.mix.queue_share else "stream"
        task_id = task_id or drawn_id
        deadline = self.mix.deadline
        fake = _faker_for(derive_seed(self.seed, "task-data", task_id))
        assignment = make(
            TaskAssignment,
            task_id=task_id,
            task_type=TaskType(task_type),
            assigned_agent=agent,
            timestamp=now,
            priority=priority,
            deadline=(now + timedelta(seconds=deadline) if deadline is not None else None),
            requirements=TaskRequirements(capabilities=[task_type]),
            task_data={"description": fake.sentence(nb_words=8), "ticket": fake.bothify("MS-####")},
            dependencies=list(dependencies) or None,
        )
        return assignment, force_path or path


@dataclass(frozen=True)
class WorkflowPlan:
    """A workflow: its id, its steps as (task type, indices of the steps it depends on)."""

    workflow_id: str
    steps: tuple[tuple[str, tuple[int, ...]], ...]
    task_ids: tuple[str, ...] = ()


def plan_workflow(seed: int, index: int, task_types: Sequence[str]) -> WorkflowPlan:
    """The ``index``-th workflow of a run: a small DAG over the task types agents can take."""
    rng = rng_for(seed, "workflow", index)
    workflow_id = seeded_uuid(rng)
    if not task_types:
        return WorkflowPlan(workflow_id, (), ())
    count = rng.randint(3, 4)
    steps: list[tuple[str, tuple[int, ...]]] = []
    for i in range(count):
        deps = () if i == 0 else tuple(sorted(rng.sample(range(i), k=min(i, rng.randint(1, 2)))))
        steps.append((rng.choice(sorted(task_types)), deps))
    ids = tuple(seeded_uuid(rng) for _ in steps)
    return WorkflowPlan(workflow_id, tuple(steps), ids)


def policy_decision(policy: HookPolicy, seed: int, event: HookEvent) -> HookResponse:
    """The built-in responder's answer to ``event`` under ``policy`` (seeded by the event)."""
    if event.hook_type is not HookType.PRE_TASK or policy.kind == "approve_all":
        return HookResponse(decision=HookDecision.APPROVE)
    if policy.kind == "block_tools":
        if event.tool_name in policy.tools:
            return HookResponse(
                decision=HookDecision.BLOCK, reason=f"tool {event.tool_name} is not allowed"
            )
        return HookResponse(decision=HookDecision.APPROVE)
    rng = rng_for(seed, "hook", event.hook_type.value, event.context_id or event.agent_id)
    if rng.random() < policy.rate:
        return HookResponse(decision=HookDecision.BLOCK, reason="blocked by seeded policy")
    return HookResponse(decision=HookDecision.APPROVE)
