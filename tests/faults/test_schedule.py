"""Fault specs: parsed as written, refused in one line naming the bad token."""

from __future__ import annotations

import pytest

from simulator.errors import ConfigError
from simulator.faults import check_faults, parse_duration, parse_faults
from simulator.faults.schedule import DEFAULT_STREAM


def test_the_issue_examples_parse() -> None:
    faults = parse_faults(
        "kill:stream-leader@every 10s, pause:random@15s for 3s; "
        "partition:meta-leader@20s for 5s, restart:all, kill:minority"
    )
    kill, pause, partition, restart, minority = faults
    assert (kill.action, kill.target, kill.stream, kill.every, kill.at) == (
        "kill",
        "stream-leader",
        DEFAULT_STREAM,
        10.0,
        10.0,
    )
    assert (pause.target, pause.at, pause.every, pause.duration) == ("random", 15.0, None, 3.0)
    assert (partition.target, partition.duration) == ("meta-leader", 5.0)
    assert (restart.target, restart.at, restart.duration) == ("all", None, 0.0)
    assert minority.target == "minority"


def test_times_within_the_run() -> None:
    every, once, default = parse_faults(
        ["kill:node=1@every 10s for 2s", "stop:stream-leader=agent_events@500ms", "restart:all"]
    )
    assert every.times(35) == [10.0, 20.0, 30.0]
    assert every.times(31) == [10.0, 20.0]  # the one at 30 s would end past the run
    assert (once.stream, once.times(35)) == ("agent_events", [0.5])
    assert default.times(30) == [15.0]


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("kil:random", "unknown fault 'kil'"),
        ("kill:leader", "unknown target 'leader'"),
        ("kill:node=x", "node='x' is not a node index"),
        ("kill:random@soon", "'soon' is not a duration"),
        ("kill:random@every 0s", "must be above 0"),
        ("pause:random@every 2s for 3s", "must be shorter than 'every 2s'"),
        ("restart:all for 3s", "drop 'for'"),
        ("kill", "not a fault"),
        ("kill:all=3", "takes no '=3'"),
        ("", "no fault given"),
    ],
)
def test_a_bad_spec_is_one_line_naming_the_token(spec: str, named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_faults(spec)
    message = str(info.value)
    assert named in message and "\n" not in message
    assert message.startswith("--faults")


def test_what_the_run_cannot_do_is_refused() -> None:
    (partition,) = parse_faults("partition:meta-leader@5s for 2s")
    with pytest.raises(ConfigError, match="partition needs docker nodes"):
        check_faults([partition], duration=30, nodes=3, nodes_on="binary")
    check_faults([partition], duration=30, nodes=3, nodes_on="docker")
    with pytest.raises(ConfigError, match=r"past the run's duration \(6 s\)"):
        check_faults([partition], duration=6, nodes=3, nodes_on="docker")
    with pytest.raises(ConfigError, match=r"node=3 is not in 0\.\.2"):
        check_faults(parse_faults("kill:node=3"), duration=30, nodes=3, nodes_on="binary")


def test_durations() -> None:
    assert parse_duration("500ms", "x") == 0.5
    assert parse_duration("2m", "x") == 120.0
    assert parse_duration("7", "x") == 7.0
    with pytest.raises(ConfigError, match="x: '7d' is not a duration"):
        parse_duration("7d", "x")
