"""The timeline: series that add up to the run's totals, buckets that stay few, exact merges."""

from __future__ import annotations

from typing import Any

import pytest
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from simulator.swarm.metrics import Latency, Metrics
from simulator.swarm.timeline import MAX_BUCKETS, Timeline
from tests.reports import Clock, metrics_on, simulate


def _sums(series: dict[str, list[int]]) -> dict[str, int]:
    return {name: sum(values) for name, values in series.items() if sum(values)}


def assert_adds_up(report: dict[str, Any]) -> None:
    """Every series of the timeline sums to the report's total of the same thing."""
    timeline = report["timeline"]
    assert _sums(timeline["messages"]) == report["messages"]["by_family"]
    tasks = dict(timeline["tasks"])
    assert sum(tasks.pop("started")) == report["tasks"]["started"]
    assert _sums(tasks) == report["tasks"]["by_status"]
    assert _sums(timeline["hooks"]) == report["hooks"]["by_decision"]
    assert _sums(timeline["errors"]) == report["errors"]["by_place"]
    assert sum(timeline["permission_denied"]) == report["permission_denied"]
    latency = timeline["latency_ms"]
    assert sum(latency["task"]["count"]) == report["tasks"]["latency_ms"]["count"]
    assert sum(latency["hook_rtt"]["count"]) == report["hooks"]["rtt_ms"]["count"]
    assert sum(latency["heartbeat_lag"]["count"]) == report["heartbeat_lag_ms"]["count"]
    last = {state: values[-1] for state, values in timeline["agents"].items() if values[-1]}
    assert last == report["agents"]["by_state"]


def test_a_minute_has_one_bucket_a_second_and_adds_up_to_the_totals() -> None:
    clock = Clock()
    metrics = metrics_on(clock)
    simulate(metrics, clock, 60)
    report = metrics.to_dict()
    timeline = report["timeline"]
    assert (timeline["buckets"], timeline["bucket_s"]) == (60, 1.0)
    assert timeline["tasks"]["started"] == [4] * 60
    assert_adds_up(report)


def test_the_check_fails_on_a_series_that_lost_a_message() -> None:
    clock = Clock()
    metrics = metrics_on(clock)
    simulate(metrics, clock, 5)
    report = metrics.to_dict()
    report["timeline"]["messages"]["agent_status"][2] -= 1
    with pytest.raises(AssertionError):
        assert_adds_up(report)


def test_an_hour_stays_within_max_buckets_and_still_adds_up() -> None:
    clock = Clock()
    metrics = metrics_on(clock)
    simulate(metrics, clock, 3600)
    report = metrics.to_dict()
    timeline = report["timeline"]
    assert timeline["bucket_s"] == 16.0  # 1 s doubled until 3,600 s fit in 360 buckets
    assert timeline["buckets"] == 225 <= MAX_BUCKETS
    assert_adds_up(report)


def test_the_buckets_histograms_merge_exactly_into_the_runs_totals() -> None:
    clock = Clock()
    metrics = metrics_on(clock)
    simulate(metrics, clock, 1000)  # coarsened twice: 4 s buckets
    merged = metrics.timeline.histogram("task")
    for name, latency in (("task", metrics.task_latency), ("hook_rtt", metrics.hook_rtt)):
        merged = metrics.timeline.histogram(name)
        assert merged.get_total_count() == latency.count
        for p in (50.0, 90.0, 99.0, 99.9, 100.0):
            assert merged.get_value_at_percentile(p) / 1000.0 == latency.percentile(p)
    # and each bucket's encoding decodes to what the bucket reports
    series = metrics.to_dict()["timeline"]["latency_ms"]["task"]
    decoded = HdrHistogram.decode(series["hdr"][7])
    assert decoded.get_total_count() == series["count"][7] == 16
    assert decoded.get_value_at_percentile(99.0) / 1000.0 == series["p99"][7]


def test_what_came_before_the_start_folds_into_the_first_bucket() -> None:
    clock = Clock()
    metrics = Metrics(timeline=Timeline(clock=clock))
    metrics.message("agent_status", 3)  # during the swarm's start-up
    clock.now += 7.5
    metrics.agent_state("a0", "idle")
    metrics.begin()
    clock.now += 1.2
    metrics.message("agent_status")
    timeline = metrics.to_dict()["timeline"]
    assert timeline["messages"] == {"agent_status": [3, 1]}
    assert timeline["agents"] == {"idle": [1, 1]}


def test_agents_by_state_are_carried_forward_through_quiet_buckets() -> None:
    clock = Clock()
    timeline = Timeline(clock=clock)
    timeline.state(None, "idle")
    timeline.state(None, "idle")
    clock.now += 3.1
    timeline.state("idle", "busy")
    clock.now += 2
    timeline.message("x")
    assert timeline.to_dict()["agents"] == {
        "busy": [0, 0, 0, 1, 1, 1],
        "idle": [2, 2, 2, 1, 1, 1],
    }


def test_two_workers_timelines_merge_exactly_even_at_different_widths() -> None:
    clock = Clock()
    one, two = Timeline(clock=clock), Timeline(clock=clock)
    both = Latency()
    for step in range(800):  # 400 s: `one` doubles to 2 s buckets, `two` stops at 200 s
        clock.now = 100.0 + step / 2
        one.message("agent_heartbeat")
        one.latency("task", both.record(step % 97))
        if step < 400:
            two.message("agent_heartbeat", 2)
            two.latency("task", both.record(step % 13 * 10))
        if step in (0, 300):
            one.state(None if step == 0 else "idle", "idle" if step == 0 else "busy")
            two.state(None, "idle") if step == 0 else None
    assert (one.width, two.width) == (2.0, 1.0)
    one.merge(two)
    merged = one.to_dict()
    assert merged["bucket_s"] == 2.0
    assert sum(merged["messages"]["agent_heartbeat"]) == 800 + 800
    assert merged["messages"]["agent_heartbeat"][:3] == [12, 12, 12]  # 4 + 8 a bucket of 2 s
    total = one.histogram("task")
    assert total.get_total_count() == both.count == 1200
    for p in (50.0, 99.0, 100.0):
        assert total.get_value_at_percentile(p) / 1000.0 == both.percentile(p)
    agents = merged["agents"]
    assert (agents["idle"][0], agents["busy"][0]) == (2, 0)
    assert (agents["idle"][-1], agents["busy"][-1]) == (1, 1)  # `two` idle as last known
