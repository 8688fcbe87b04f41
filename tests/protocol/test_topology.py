"""The topology: loading (durations, errors with file and line), clamping, lint and coverage."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.errors import TopologyError
from simulator.protocol import subjects
from simulator.protocol.topology import (
    DEFAULT_MAX_PAYLOAD,
    Finding,
    LintReport,
    default_topology,
    for_cluster,
    format_duration,
    format_size,
    lint,
    load,
    loads,
    spec_topology,
    wire_ns,
)

_MINIMAL = """\
streams:
  s:
    subjects: ["a.>"]
    max_age: {max_age}
"""


def _messages(report: LintReport, rule: str) -> str:
    return "\n".join(f"{f.target}: {f.message}" for f in report.by_rule(rule))


@pytest.fixture(scope="module")
def spec_report() -> LintReport:
    """The spec's 12.3 as written, linted on one node."""
    return lint(spec_topology(), cluster_size=1)


# --- the spec as written ----------------------------------------------------------------------


def test_spec_durations_are_nanoseconds_on_the_wire() -> None:
    """ERRATA 1: spec_topology() keeps 12.3's bare numbers as raw nanoseconds."""
    spec = spec_topology()
    agent_events = spec.stream("agent_events")
    assert wire_ns(agent_events.max_age) == 604800
    assert wire_ns(agent_events.duplicate_window) == 120
    monitor = next(c for c in spec.consumers if c.name == "agent_status_monitor")
    assert wire_ns(monitor.config.ack_wait) == 30  # not 29: seconds_from_ns keeps it exact
    assert spec.max_payload == DEFAULT_MAX_PAYLOAD


def test_spec_lint_reports_every_errata_lint_item(spec_report: LintReport) -> None:
    """Every ERRATA item marked lint fires on the spec as written."""
    expected = {
        "duration-too-short": 1,
        "replicas-exceed-cluster": 2,
        "invalid-subject": 3,
        "filter-matches-nothing": 4,
        "template-not-stored": 5,
        "max-msg-size-over-payload": 7,
        "request-reply-on-stored": 10,
    }
    for rule, errata in expected.items():
        found = spec_report.by_rule(rule)
        assert found, f"{rule} did not fire"
        assert {f.errata for f in found} == {errata}
        assert any(f.severity == "error" for f in found), rule
    assert not spec_report.ok


def test_spec_lint_messages_name_the_offenders(spec_report: LintReport) -> None:
    """Each message names the offending subject or value, and each finding has a fix."""
    durations = _messages(spec_report, "duration-too-short")
    assert "agent_events: max_age is 604800 ns" in durations
    assert "agent_status_monitor: ack_wait is 30 ns" in durations
    assert "max_age: 7d" in " ".join(f.fix for f in spec_report.by_rule("duration-too-short"))

    replicas = spec_report.by_rule("replicas-exceed-cluster")
    assert {f.target for f in replicas} == {"agent_events", "task_lifecycle", "system_monitoring"}
    assert all("10074" in f.message for f in replicas)

    invalid = _messages(spec_report, "invalid-subject")
    for pattern in ("system.>.health", "system.>.alerts", "system.>.audit"):
        assert f"'{pattern}'" in invalid
    fixes = " ".join(f.fix for f in spec_report.by_rule("invalid-subject"))
    assert "'system.health.>'" in fixes

    (dead,) = spec_report.by_rule("filter-matches-nothing")
    assert dead.target == "system_alerting"
    assert "'system.*.alerts.>'" in dead.message
    assert "'system.alerts.>'" in dead.fix

    missing = _messages(spec_report, "template-not-stored")
    assert "agent_events: meant to store agent_status agents.{agent_id}.status.{status_type}" in (
        missing
    )
    assert "system.alerts.{severity}" in missing

    (too_big,) = [
        f for f in spec_report.by_rule("max-msg-size-over-payload") if f.severity == "error"
    ]
    assert too_big.target == "task_lifecycle"
    assert "10MiB" in too_big.message
    assert "1MiB" in too_big.message

    stored_rr = _messages(spec_report, "request-reply-on-stored")
    assert "cli.hooks.{hook_type}.{agent_id}" in stored_rr
    assert "tasks.{task_type}.assignment" in stored_rr

    assert all(f.fix for f in spec_report.findings)


def test_spec_on_three_nodes_still_has_errors() -> None:
    """On a cluster the replicas are fine, everything else still fails."""
    report = lint(spec_topology(), cluster_size=3)
    assert "replicas-exceed-cluster" not in report.rules()
    assert not report.ok


# --- ours -------------------------------------------------------------------------------------


def test_ours_on_three_nodes_has_no_error() -> None:
    """Our topology is clean where the spec's replicas apply as written."""
    report = lint(default_topology(), cluster_size=3)
    assert report.errors == (), [f.message for f in report.errors]


def test_ours_on_one_node_clamps_and_says_so() -> None:
    """ERRATA 2: replicas are clamped to the cluster size, never silently."""
    topology = default_topology()
    report = lint(topology, cluster_size=1)
    assert report.ok
    infos = report.by_rule("replicas-exceed-cluster")
    assert {f.severity for f in infos} == {"info"}
    assert len(infos) == 3

    clamped, notes = for_cluster(topology, 1)
    assert {s.num_replicas for s in clamped.streams} == {1}
    assert len(notes) == 3
    assert any("agent_events" in n and "3" in n and "clamped to 1" in n for n in notes)
    assert topology.stream("agent_events").num_replicas == 3  # the original is untouched
    assert lint(clamped, cluster_size=1).findings == ()

    same, none = for_cluster(topology, 3)
    assert none == []
    assert same.streams == topology.streams


def test_ours_as_errata_decide() -> None:
    """The corrections of ERRATA 1-9 are in topology.yaml."""
    ours = default_topology()
    assert ours.stream("system_monitoring").subjects == [
        "system.health.>",
        "system.alerts.>",
        "system.audit.>",
    ]
    by_name = {c.name: c for c in ours.consumers}
    assert by_name["system_alerting"].filters == ("system.alerts.>",)
    assert set(by_name["agent_status_monitor"].filters) == {"agents.*.status", "agents.*.status.>"}
    events = by_name["event_processor"]
    assert events.stream == "agent_events"
    assert events.config.durable_name == "event_processor"
    assert events.config.deliver_policy == "all"
    assert events.config.ack_policy == "explicit"
    agent_events = ours.stream("agent_events").subjects or []
    assert {"agents.*.status.>", "agents.*.events"} <= set(agent_events)
    assert ours.stream("agent_events").max_age == 7 * 86400
    assert by_name["agent_status_monitor"].config.ack_wait == 30
    largest = max(s.max_msg_size or 0 for s in ours.streams)
    assert ours.max_payload > largest
    assert ours.limits.server_options() == {"max_connections": 10000, "max_subscriptions": 100000}
    assert set(ours.limits.jetstream_options()) == {"max_memory_store", "max_file_store"}
    assert set(ours.limits.account_jetstream_options()) == {"max_streams", "max_consumers"}


def test_coverage_of_alerts_ours_versus_spec(spec_report: LintReport) -> None:
    """system.alerts.{severity}: stored and seen in ours, lost in the spec's."""
    ours = lint(default_topology(), cluster_size=3).coverage_of("system_alerts")
    assert ours.template.pattern == "system.alerts.{severity}"
    assert (ours.stored, ours.streams, ours.consumers) == (
        "fully",
        ("system_monitoring",),
        ("system_alerting",),
    )
    spec = spec_report.coverage_of("system_alerts")
    assert (spec.stored, spec.streams, spec.consumers) == ("none", (), ())
    assert len(spec_report.coverage) == len(subjects.TEMPLATES)


def test_coverage_of_status_forms() -> None:
    """ERRATA 5: both status forms are stored in ours and seen by the monitor."""
    report = lint(default_topology(), cluster_size=3)
    for name in ("agent_status", "agent_status_base"):
        row = report.coverage_of(name)
        assert row.stored == "fully"
        assert row.consumers == ("agent_status_monitor",)


# --- other rules on small hand-written topologies ---------------------------------------------


def test_overlapping_streams_are_an_error() -> None:
    """ERRATA 9: no subject may be in two streams (10065), nor twice in one (10052)."""
    topology = loads(
        'streams:\n  a: {subjects: ["x.*", "x.y"]}\n  b: {subjects: ["x.>"]}\n', "t.yaml"
    )
    found = lint(topology).by_rule("subjects-overlap")
    assert {f.target for f in found} == {"a", "b"}
    assert all(f.severity == "error" and f.errata == 9 for f in found)
    assert any("10065" in f.message and "'x.>'" in f.message for f in found)


def test_payload_override_and_resources() -> None:
    """ERRATA 7 uses the max_payload given; ERRATA 6 checks reservations against limits."""
    topology = loads(
        "limits: {max_storage: 1GiB}\n"
        "streams:\n  big: {subjects: [a], max_bytes: 2GiB, max_msg_size: 2MiB, storage: file}\n",
        "t.yaml",
    )
    report = lint(topology)
    assert [f.severity for f in report.by_rule("max-msg-size-over-payload")] == ["error"]
    assert lint(topology, max_payload=4 * 1024 * 1024).by_rule("max-msg-size-over-payload") == ()
    (over,) = report.by_rule("resources-exceeded")
    assert "2GiB" in over.message
    assert "1GiB" in over.message


def test_finding_label() -> None:
    """A finding shows its rule with the ERRATA number."""
    finding = Finding("error", "s", "invalid-subject", "m", "f", 3)
    assert finding.rule_label == "invalid-subject (ERRATA 3)"


# --- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("7d", 604800),
        ("120s", 120),
        ("300ms", 0.3),
        ("5m", 300),
        ("1h", 3600),
        ("90", 90),
        ("1.5", 1.5),
        ("250us", 0.00025),
    ],
)
def test_durations_convert_to_seconds(text: str, seconds: float) -> None:
    """Bare numbers are seconds; a unit may be given."""
    topology = loads(_MINIMAL.format(max_age=text))
    max_age = topology.stream("s").max_age
    assert max_age == pytest.approx(seconds)
    assert wire_ns(max_age) == round(seconds * 10**9)


def test_duration_unit_ns() -> None:
    """With duration_unit: ns, bare numbers are nanoseconds; units still apply."""
    topology = loads(
        "duration_unit: ns\n" + _MINIMAL.format(max_age=30) + "    duplicate_window: 2s\n"
    )
    stream = topology.stream("s")
    assert wire_ns(stream.max_age) == 30
    assert stream.duplicate_window == 2


def test_format_helpers() -> None:
    """Durations and sizes print in the largest exact unit."""
    assert [format_duration(x) for x in (604800, 120, 0.3, 0, None)] == [
        "7d",
        "2m",
        "300ms",
        "0",
        "0",
    ]
    assert [format_size(x) for x in (1024**3, 11 * 1024**2, 1000, -1)] == [
        "1GiB",
        "11MiB",
        "1000B",
        "unlimited",
    ]


def _one_line_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TopologyError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:")
    return message


@pytest.mark.parametrize(
    ("text", "line", "key", "problem"),
    [
        (_MINIMAL.format(max_age="'7 days'"), 4, "streams.s.max_age", "is not a duration"),
        (
            _MINIMAL.format(max_age="7d") + "    max_agee: 3\n",
            5,
            "streams.s.max_agee",
            "unknown key",
        ),
        (
            _MINIMAL.format(max_age="7d") + "    max_msgs: lots\n",
            5,
            "streams.s.max_msgs",
            "integer",
        ),
        (
            _MINIMAL.format(max_age="7d") + "    storage: disk\n",
            5,
            "streams.s.storage",
            "file, memory",
        ),
        (
            _MINIMAL.format(max_age="7d") + "    subjects: a.>\n",
            5,
            "streams.s.subjects",
            "duplicate",
        ),
        ("streams:\n  s:\n    subjects: a.>\n", 3, "streams.s.subjects", "not a non-empty list"),
        ("streams:\n  s: {subjects: [a], max_bytes: 1GB}\n", 2, "streams.s.max_bytes", "size"),
        ("streams:\n  s: {max_age: 1}\n", 2, "streams.s", "has no subjects"),
        ("colour: red\nstreams: {}\n", 1, "colour", "unknown key"),
        ("streams:\n  a.b: {subjects: [a]}\n", 2, "streams.a.b", "not a valid stream name"),
        (
            "streams:\n  s: {subjects: [a]}\nconsumers:\n  c: {stream: t}\n",
            4,
            "consumers.c.stream",
            "'t' is not a stream",
        ),
        (
            "streams:\n  s: {subjects: [a], stores: [nope]}\n",
            2,
            "streams.s.stores[0]",
            "not a template",
        ),
        ("request_reply: [agent_commands, 3]\nstreams: {}\n", 1, "request_reply[1]", "string"),
        ("duration_unit: weeks\nstreams: {}\n", 1, "duration_unit", "not one of"),
    ],
)
def test_bad_files_give_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, problem: str
) -> None:
    """Every problem is one line: FILE:LINE: KEY: what is wrong."""
    message = _one_line_error(tmp_path, text)
    assert re.match(rf"^.*bad\.yaml:{line}: {re.escape(key)}: ", message), message
    assert problem in message


def test_bad_duration_message_says_how(tmp_path: Path) -> None:
    """The message of a bad duration shows the accepted forms."""
    message = _one_line_error(tmp_path, _MINIMAL.format(max_age="'7 days'"))
    assert message.endswith(
        "bad.yaml:4: streams.s.max_age: '7 days' is not a duration (use seconds or 7d, 120s, 300ms)"
    )


def test_yaml_syntax_error_gives_file_and_line(tmp_path: Path) -> None:
    """A YAML syntax error is one line with the file and line."""
    message = _one_line_error(tmp_path, "streams:\n  s:\n    subjects: [a, b\n  t: 1\n")
    assert re.match(r"^.*bad\.yaml:\d+: YAML syntax error: ", message), message


def test_missing_and_empty_files(tmp_path: Path) -> None:
    """A missing or empty file is a TopologyError naming it."""
    with pytest.raises(TopologyError, match="cannot read"):
        load(tmp_path / "absent.yaml")
    assert "empty" in _one_line_error(tmp_path, "")


def test_a_file_is_read_once_and_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(_MINIMAL.format(max_age="60"))
    first, second = load(path), load(path)
    assert first == second and first is not second  # a copy each: configs are mutable
    assert first.streams[0] is not second.streams[0]
    first.streams[0].max_age = 1.0
    assert load(path).streams[0].max_age == 60.0  # a caller's change stays its own
    path.write_text(_MINIMAL.format(max_age="90"))  # same size, maybe the same mtime
    assert load(path).streams[0].max_age == 90.0
    path.unlink()
    with pytest.raises(TopologyError, match="cannot read"):
        load(path)


def test_default_topology_is_the_same_each_call() -> None:
    assert default_topology() == default_topology()
    assert default_topology() is not default_topology()
