"""A swarm described as frozen values: agent groups, the task mix, the hook policy.

:func:`default_scenario` is what ``mistersmith run`` does with no options; :func:`load_scenario`
reads a YAML file (a bad file raises :class:`~simulator.errors.ConfigError` with one line naming
the file, the line and the key); :func:`with_overrides` applies command-line or fixture values.

Every key of a scenario file is optional (the defaults are :func:`default_scenario`'s); its
schema mirrors the dataclasses. ``examples/scenarios/small.yaml`` shows every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from simulator.errors import ConfigError
from simulator.protocol.topology import NodeReader
from simulator.swarm._checks import (
    _GROUP,
    _HOOKS,
    _TASKS,
    _TOP,
    TASK_TYPES,
    HookDecisionName,
    HookDialect,
    HookPolicyKind,
    _Bad,
    _Check,
    _int,
)

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "TASK_TYPES",
    "AgentGroup",
    "HookPolicy",
    "Scenario",
    "TaskMix",
    "default_scenario",
    "load_scenario",
    "loads_scenario",
    "with_overrides",
]


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
    #: Faults to inject on a cluster (``mistersmith run --faults``), as written.
    faults: tuple[str, ...] = ()
    #: JetStream's ``sync_interval`` ("always" or a duration); None: the server's default.
    sync_interval: str | None = None
    #: A topology file (streams' storage, replicas), relative to the scenario file.
    topology: str | None = None
    source: str = "<default>"

    @property
    def agent_count(self) -> int:
        """How many agents in all groups."""
        return sum(g.count for g in self.groups)

    def to_dict(self) -> dict[str, JsonValue]:
        """Plain data in the scenario file's schema (``loads_scenario`` reads it back)."""
        data: dict[str, JsonValue] = {
            "duration": self.duration,
            "seed": self.seed,
            "heartbeat_timeout": self.heartbeat_timeout,
            "groups": [
                {f.name: _plain(getattr(g, f.name)) for f in fields(AgentGroup)}
                for g in self.groups
            ],
            "tasks": {f.name: _plain(getattr(self.tasks, f.name)) for f in fields(TaskMix)},
            "hooks": {f.name: _plain(getattr(self.hooks, f.name)) for f in fields(HookPolicy)},
        }
        if self.faults:  # the run's faults and durability, when set
            data["faults"] = list(self.faults)
        if self.sync_interval is not None:
            data["sync_interval"] = self.sync_interval
        if self.topology is not None:
            data["topology"] = self.topology
        return data


def _plain(value: object) -> JsonValue:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"not plain data: {value!r}")


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


# --- reading a file: YAML nodes with line numbers ------------------------------------------


class _ScenarioReader(NodeReader):
    """The topology file's reader (unknown and duplicate keys, lines), failing as ConfigError."""

    def fail(self, node: yaml.Node, path: str, problem: str) -> Any:
        line = node.start_mark.line + 1
        raise ConfigError(f"{self.source}:{line}: {path}: {' '.join(problem.split())}")

    def section(
        self, node: yaml.Node, path: str, table: Mapping[str, _Check], nested: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for key, (_, value_node) in self.mapping(node, path, {*table, *nested}).items():
            if key in nested:
                values[key] = value_node
                continue
            where = f"{path}.{key}" if path else key
            try:
                values[key] = table[key](self.loader.construct_object(value_node, deep=True))
            except _Bad as bad:
                at_node, where = _locate(value_node, where, bad.at)
                self.fail(at_node, where, bad.problem)
        return values


def _locate(node: yaml.Node, path: str, at: int | str | None) -> tuple[yaml.Node, str]:
    if isinstance(at, int) and isinstance(node, yaml.SequenceNode) and at < len(node.value):
        return node.value[at], f"{path}[{at}]"
    if isinstance(at, str) and isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == at:
                return value_node, f"{path}.{at}"
    return node, path


def _groups(reader: _ScenarioReader, node: yaml.Node) -> tuple[AgentGroup, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        reader.fail(node, "groups", f"{reader.show(node)} is not a non-empty list of groups")
    groups: list[AgentGroup] = []
    for i, item in enumerate(node.value):
        values = reader.section(item, f"groups[{i}]", _GROUP)
        values.setdefault("name", "worker" if i == 0 else f"worker{i + 1}")
        if any(g.name == values["name"] for g in groups):
            reader.fail(item, f"groups[{i}].name", f"duplicate group name {values['name']!r}")
        groups.append(AgentGroup(**values))
    return tuple(groups)


def loads_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse scenario YAML ``text``; ``source`` names it in error messages."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ConfigError(f"{source}:1: the file is empty; write at least `groups:`")
        reader = _ScenarioReader(source, loader)
        values = reader.section(root, "", _TOP, ("groups", "tasks", "hooks"))
        if "groups" in values:
            values["groups"] = _groups(reader, values["groups"])
        if "tasks" in values:
            values["tasks"] = TaskMix(**reader.section(values["tasks"], "tasks", _TASKS))
        if "hooks" in values:
            values["hooks"] = HookPolicy(**reader.section(values["hooks"], "hooks", _HOOKS))
        return Scenario(**values, source=source)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = " ".join(" ".join(p for p in (exc.context, exc.problem) if p).split())
        raise ConfigError(f"{source}{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML error: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()


def load_scenario(path: str | Path) -> Scenario:
    """Read the scenario file at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = " ".join(str(exc).split())
        raise ConfigError(f"{path}: cannot read the scenario file: {problem}") from None
    return loads_scenario(text, str(path))


# --- overrides from the command line or the swarm fixture ----------------------------------


def _scaled(groups: tuple[AgentGroup, ...], agents: int) -> tuple[AgentGroup, ...]:
    if agents < len(groups):
        raise ConfigError(f"agents: {agents} is fewer than the scenario's {len(groups)} groups")
    total = sum(g.count for g in groups)
    quotas = [g.count * agents / total for g in groups]
    counts = [max(1, int(q)) for q in quotas]
    while (missing := agents - sum(counts)) != 0:
        step = 1 if missing > 0 else -1
        movable = [i for i in range(len(counts)) if step > 0 or counts[i] > 1]
        i = max(movable, key=lambda i: step * (quotas[i] - counts[i]))
        counts[i] += step
    return tuple(replace(g, count=n) for g, n in zip(groups, counts, strict=True))


def with_overrides(scenario: Scenario, **changes: object) -> Scenario:
    """``scenario`` with ``changes``: ``agents`` (scaled over the groups), ``duration``, ``seed``,
    ``heartbeat_timeout``, any group field (every group), ``task_<field>``, ``hook_<field>``."""
    groups: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    hooks: dict[str, Any] = {}
    top: dict[str, Any] = {}
    agents = 0
    for key, value in changes.items():
        table: Mapping[str, _Check]
        target: dict[str, Any] | None
        if key == "agents":
            table, target, name = {"agents": _int(1)}, None, key
        elif key in _TOP:
            table, target, name = _TOP, top, key
        elif key in _GROUP and key != "name":
            table, target, name = _GROUP, groups, key
        elif key.startswith("task_") and key[5:] in _TASKS:
            table, target, name = _TASKS, tasks, key[5:]
        elif key.startswith("hook_") and key[5:] in _HOOKS:
            table, target, name = _HOOKS, hooks, key[5:]
        else:
            raise ConfigError(f"{key}: not a scenario override (see with_overrides)")
        try:
            checked = table[name](value)
        except _Bad as bad:
            raise ConfigError(f"{key}: {bad.problem}") from None
        if target is not None:
            target[name] = checked
        else:
            agents = checked
    new_groups = tuple(replace(g, **groups) for g in scenario.groups)
    if "agents" in changes:
        new_groups = _scaled(new_groups, agents)
    return replace(
        scenario,
        groups=new_groups,
        tasks=replace(scenario.tasks, **tasks),
        hooks=replace(scenario.hooks, **hooks),
        **top,
    )
