"""Metrics: counters, HDR percentiles, the rate window, the report's plain data."""

from __future__ import annotations

import json

import pytest

from simulator.swarm.metrics import ERRORS_KEPT, Latency, Metrics


def test_latency_percentiles_are_within_the_histogram_precision() -> None:
    latency = Latency()
    for i in range(1, 1001):
        latency.record(i / 10)  # 0.1 ms to 100 ms
    assert latency.count == 1000
    assert latency.percentile(50) == pytest.approx(50.0, rel=1e-3)
    assert latency.percentile(90) == pytest.approx(90.0, rel=1e-3)
    assert latency.percentile(99) == pytest.approx(99.0, rel=1e-3)
    assert latency.max == pytest.approx(100.0, rel=1e-3)
    assert latency.mean == pytest.approx(50.05, rel=1e-3)


def test_an_empty_latency_is_zero() -> None:
    assert Latency().to_dict() == {
        "count": 0,
        "p50": 0.0,
        "p90": 0.0,
        "p99": 0.0,
        "max": 0.0,
        "mean": 0.0,
    }


def test_out_of_range_latencies_are_clamped_and_counted() -> None:
    latency = Latency()
    latency.record(-5.0)
    latency.record(10 * 3_600_000.0)  # ten hours
    assert latency.count == 2
    assert latency.percentile(0) == 0.0
    assert latency.max == pytest.approx(3_600_000.0, rel=1e-3)
    assert latency.to_dict()["clamped"] == 2


def test_the_agents_calls_feed_counters_and_histograms() -> None:
    metrics = Metrics()
    metrics.message("agent_heartbeat")
    metrics.message("agent_heartbeat")
    metrics.message("task_progress")
    metrics.agent_state("a1", "busy")
    metrics.agent_state("a2", "idle")
    metrics.agent_state("a1", "idle")
    metrics.task_finished("completed", 12.0)
    metrics.task_finished("failed", 30.0)
    metrics.hook_answered("approve", 1.5)
    metrics.heartbeat_late(0.4)
    metrics.error("agent a1", "boom")
    assert metrics.published == {"agent_heartbeat": 2, "task_progress": 1}
    assert metrics.total_messages == 3
    assert metrics.state_counts() == {"idle": 2}
    assert metrics.tasks == {"completed": 1, "failed": 1}
    assert metrics.task_latency.count == 2
    assert metrics.hook_rtt.percentile(50) == pytest.approx(1.5, rel=1e-3)
    assert metrics.heartbeat_lag.count == 1
    assert metrics.errors == ["agent a1: boom"]


def test_errors_past_the_kept_ones_are_only_counted() -> None:
    metrics = Metrics()
    for i in range(ERRORS_KEPT + 5):
        metrics.error("bus", f"error {i}")
    assert len(metrics.errors) == ERRORS_KEPT
    assert metrics.error_counts == {"bus": ERRORS_KEPT + 5}


def test_rates_are_over_the_window() -> None:
    metrics = Metrics()
    start = metrics.started
    for _ in range(100):
        metrics.message("agent_heartbeat")
    assert metrics.rates(window=5.0, now=start + 1.0) == {"agent_heartbeat": 100.0}
    for _ in range(50):
        metrics.message("agent_heartbeat")
    assert metrics.rates(window=5.0, now=start + 2.0) == {"agent_heartbeat": 75.0}
    metrics.rates(window=5.0, now=start + 6.5)
    for _ in range(40):
        metrics.message("agent_heartbeat")
    # At 10 s the oldest snapshot kept is the newest one at least 5 s old (2 s): 40 in 8 s.
    assert metrics.rates(window=5.0, now=start + 10.0) == {"agent_heartbeat": 5.0}


def test_elapsed_counts_from_begin_to_end() -> None:
    metrics = Metrics()
    metrics.begin()
    metrics.end()
    frozen = metrics.elapsed
    assert frozen >= 0.0
    assert metrics.elapsed == frozen


def test_to_dict_is_json_and_matches_the_counters() -> None:
    metrics = Metrics()
    for i in range(10):
        metrics.message("agent_status")
        metrics.task_finished("completed", float(i))
    metrics.hook_answered("block", 3.0)
    metrics.error("x", "y")
    data = json.loads(json.dumps(metrics.to_dict()))
    assert data["messages"]["total"] == 10
    assert data["messages"]["by_family"] == {"agent_status": 10}
    assert data["tasks"]["finished"] == 10
    assert data["tasks"]["latency_ms"]["count"] == 10
    assert data["tasks"]["latency_ms"]["p50"] == pytest.approx(4.0, abs=0.01)
    assert data["hooks"]["by_decision"] == {"block": 1}
    assert data["errors"] == {"total": 1, "by_place": {"x": 1}, "first": ["x: y"]}
