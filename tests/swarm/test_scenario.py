"""Scenario files: the example loads, every bad value is one line naming file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from simulator.errors import ConfigError
from simulator.protocol.models import TaskType
from simulator.swarm.scenario import (
    TASK_TYPES,
    AgentGroup,
    Scenario,
    default_scenario,
    load_scenario,
    loads_scenario,
    with_overrides,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "scenarios" / "small.yaml"


def test_the_example_loads_with_every_key() -> None:
    scenario = load_scenario(EXAMPLE)
    assert scenario.source == str(EXAMPLE)
    assert [g.name for g in scenario.groups] == ["analysts", "runners"]
    assert scenario.agent_count == 6
    assert scenario.groups[0].task_duration == (0.1, 0.8)
    assert scenario.tasks.weights["analysis"] == 3.0
    assert scenario.hooks.dialect == "12.1"
    assert scenario.seed == 1


def test_an_empty_mapping_is_the_default_scenario() -> None:
    assert loads_scenario("{}", "<s>") == Scenario(source="<s>")


def test_to_dict_reads_back_the_same_scenario() -> None:
    scenario = load_scenario(EXAMPLE)
    again = loads_scenario(yaml.safe_dump(scenario.to_dict()), scenario.source)
    assert again == scenario


def test_task_types_are_the_12_2_enum() -> None:
    assert set(TASK_TYPES) == {t.value for t in TaskType}


def test_groups_without_names_get_distinct_ones() -> None:
    scenario = loads_scenario("groups: [{count: 1}, {count: 2}]")
    assert [g.name for g in scenario.groups] == ["worker", "worker2"]


@pytest.mark.parametrize("dialect, expected", [("12.1", "12.1"), ("'2.1'", "2.1"), ("2.1", "2.1")])
def test_the_hook_dialect_may_be_unquoted(dialect: str, expected: str) -> None:
    assert loads_scenario(f"hooks: {{dialect: {dialect}}}").hooks.dialect == expected


BAD = [
    ("bogus: 1", 1, "bogus", "unknown key"),
    ("duration: 0", 1, "duration", "out of range"),
    ("seed: -1", 1, "seed", "below the minimum 0"),
    ("seed: one", 1, "seed", "is not an integer"),
    ("groups: []", 1, "groups", "non-empty list"),
    ("groups:\n  - count: 0", 2, "groups[0].count", "below the minimum 1"),
    ("groups:\n  - count: 2.5", 2, "groups[0].count", "not an integer"),
    ("groups:\n  - {count: 1}\n  - {colour: red}", 3, "groups[1].colour", "unknown key"),
    ("groups:\n  - name: a b", 2, "groups[0].name", "not a valid name"),
    ("groups:\n  - {name: a}\n  - {name: a}", 3, "groups[1].name", "duplicate group name"),
    ("groups:\n  - capabilities:\n      - analysis\n      - 7", 4, "groups[0].capabilities[1]", ""),
    ("groups:\n  - failure_rate: 1.5", 2, "groups[0].failure_rate", "from 0 to 1"),
    ("groups:\n  - heartbeat_interval: 0", 2, "groups[0].heartbeat_interval", "> 0"),
    ("groups:\n  - task_duration: [2, 1]", 2, "groups[0].task_duration", "above max"),
    ("groups:\n  - task_duration: 3", 2, "groups[0].task_duration", "[min, max]"),
    ("groups:\n  - progress_lines: true", 2, "groups[0].progress_lines", "not an integer"),
    ("tasks:\n  rate: -1", 2, "tasks.rate", ">= 0"),
    ("tasks:\n  weights:\n    analysis: 1\n    planning: 2", 4, "tasks.weights.planning", "12.2"),
    ("tasks:\n  weights:\n    analysis: -1", 3, "tasks.weights.analysis", ">= 0"),
    ("tasks:\n  weights: {analysis: 0}", 2, "tasks.weights", "every weight is 0"),
    ("tasks:\n  queue_share: 2", 2, "tasks.queue_share", "from 0 to 1"),
    ("tasks:\n  deadline: 0", 2, "tasks.deadline", "> 0"),
    ("hooks:\n  kind: sometimes", 2, "hooks.kind", "approve_all, block_tools, block_rate"),
    ("hooks:\n  default: maybe", 2, "hooks.default", "approve, block"),
    ("hooks:\n  dialect: 3.0", 2, "hooks.dialect", "12.1, 2.1"),
    ("hooks:\n  builtin_responder: yes please", 2, "hooks.builtin_responder", "true or false"),
    ("hooks:\n  tools: Bash", 2, "hooks.tools", "list of strings"),
    ("hooks: [1]", 1, "hooks", "not a mapping"),
    ("- 1", 1, "", "not a mapping"),
]


@pytest.mark.parametrize("text, line, key, problem", BAD)
def test_a_bad_file_is_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, problem: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert problem in message


@pytest.mark.parametrize(
    "text, pattern",
    [
        ("", r"^s\.yaml:1: the file is empty"),
        ("groups: [", r"^s\.yaml:\d+: YAML syntax error: "),
        ("seed: 1\nseed: 2", r"^s\.yaml:2: seed: duplicate key"),
    ],
)
def test_empty_and_broken_yaml(text: str, pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        loads_scenario(text, "s.yaml")


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: cannot read"):
        load_scenario(path)


def test_overrides_scale_the_groups_and_set_fields() -> None:
    scenario = load_scenario(EXAMPLE)  # groups of 4 and 2
    assert [g.count for g in with_overrides(scenario, agents=12).groups] == [8, 4]
    assert [g.count for g in with_overrides(scenario, agents=2).groups] == [1, 1]
    assert sum(g.count for g in with_overrides(scenario, agents=7).groups) == 7
    changed = with_overrides(
        scenario, seed=9, duration=1.5, task_rate=0, failure_rate=0, hook_kind="approve_all"
    )
    assert (changed.seed, changed.duration, changed.tasks.rate) == (9, 1.5, 0.0)
    assert all(g.failure_rate == 0 for g in changed.groups)
    assert changed.hooks.kind == "approve_all"
    assert with_overrides(scenario) == scenario


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"agents": 1}, "agents: 1 is fewer than the scenario's 2 groups"),
        ({"agents": 0}, "agents: 0 is below the minimum 1"),
        ({"colour": "red"}, "colour: not a scenario override"),
        ({"name": "x"}, "name: not a scenario override"),
        ({"task_rate": -1.0}, "task_rate: -1.0 is out of range"),
        ({"hook_dialect": "3"}, "hook_dialect: '3' is not one of 12.1, 2.1"),
    ],
)
def test_bad_overrides_are_config_errors(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        with_overrides(load_scenario(EXAMPLE), **changes)


def test_the_default_scenario_is_a_small_swarm_for_30_seconds() -> None:
    scenario = default_scenario()
    assert scenario.agent_count == 5
    assert scenario.duration == 30.0
    assert scenario.groups == (AgentGroup(),)
