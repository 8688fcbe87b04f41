"""The JSON report's numbers are the metrics'; the live view and summary render them."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from simulator.swarm.metrics import Metrics
from simulator.swarm.report import (
    REPORT_VERSION,
    build_report,
    live_view,
    progress_line,
    summary,
    write_json,
)
from simulator.swarm.scenario import default_scenario


@pytest.fixture
def metrics() -> Metrics:
    metrics = Metrics()
    metrics.begin()
    for i in range(200):
        metrics.message("agent_heartbeat")
        if i % 4 == 0:
            metrics.message("task_progress")
    for i in range(1, 101):
        metrics.task_finished("failed" if i % 10 == 0 else "completed", float(i))
        metrics.hook_answered("block" if i % 20 == 0 else "approve", i / 100)
    for i in range(6):
        metrics.agent_state(f"worker-{i}", "busy" if i < 2 else "idle")
    metrics.error("agent worker-1", "publish failed")
    metrics.end()
    return metrics


def _render(renderable: object, width: int = 200) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_the_json_report_has_the_metrics_numbers(tmp_path: Path, metrics: Metrics) -> None:
    scenario = default_scenario(agents=6, seed=7)
    path = tmp_path / "out" / "report.json"
    returned = write_json(path, metrics, scenario, server={"backend": "binary"})
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report == returned
    assert report["report_version"] == REPORT_VERSION
    assert report["seed"] == 7
    assert report["scenario"] == scenario.to_dict()
    assert report["server"] == {"backend": "binary"}
    assert report["interrupted"] is False
    assert report["messages"]["by_family"] == {"agent_heartbeat": 200, "task_progress": 50}
    assert report["messages"]["total"] == 250
    assert report["agents"] == {"total": 6, "by_state": {"busy": 2, "idle": 4}}
    tasks = report["tasks"]
    assert tasks["by_status"] == {"completed": 90, "failed": 10}
    latency = tasks["latency_ms"]
    assert latency["count"] == 100
    for key, value in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("max", 100.0)):
        assert latency[key] == pytest.approx(value, rel=1e-3), key
        assert latency[key] == round(metrics.task_latency.to_dict()[key], 3)
    rtt = report["hooks"]["rtt_ms"]
    assert report["hooks"]["by_decision"] == {"approve": 95, "block": 5}
    assert rtt["p99"] == pytest.approx(0.99, rel=1e-2)
    assert rtt["max"] == pytest.approx(1.0, rel=1e-2)
    assert report["errors"]["total"] == 1
    assert report["errors"]["first"] == ["agent worker-1: publish failed"]


def test_an_interrupted_run_says_so() -> None:
    report = build_report(Metrics(), interrupted=True)
    assert report["interrupted"] is True
    assert "scenario" not in report
    assert report["messages"]["total"] == 0


def test_the_live_view_shows_states_rates_tasks_and_hooks(metrics: Metrics) -> None:
    text = _render(live_view(metrics, duration=30, where="nats://127.0.0.1:4222"))
    for expected in ("Agents", "busy", "agent_heartbeat", "msg/s", "completed", "approve"):
        assert expected in text
    assert "/ 30 s" in text
    assert "publish failed" in text


def test_the_live_view_takes_the_swarms_counts(metrics: Metrics) -> None:
    text = _render(live_view(metrics, states={"starting": 3}))
    assert "starting" in text


def test_the_summary_fits_a_narrow_terminal(metrics: Metrics) -> None:
    text = _render(summary(metrics), width=80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "250 messages" in text
    assert "p99" in text


def test_the_progress_line_is_one_line(metrics: Metrics) -> None:
    line = progress_line(metrics)
    assert "\n" not in line
    assert "busy=2 idle=4" in line
    assert "completed=90 failed=10" in line


@pytest.mark.parametrize("size", [(80, 23), (100, 30), (120, 40), (200, 60)])
def test_the_live_view_fits_the_terminal_and_keeps_the_latency_table(
    metrics: Metrics, size: tuple[int, int]
) -> None:
    """A run publishes on ~35 subject families: at 80x24 the view used to be ~47 lines."""
    for family in ("task_event", "agent_state_event", "hook_triggered", "system_metrics"):
        for channel in range(8):
            metrics.message(f"{family}_{channel}")
    width, height = size
    text = _render(live_view(metrics, duration=30, size=size), width=width)
    lines = text.rstrip("\n").splitlines()
    assert len(lines) <= height, text
    assert all(len(line) <= width for line in lines)
    assert "Latency (ms)" in text and "heartbeat lag" in text
    assert "Agents" in text
    if "Messages by subject family" in text and height < 40:
        assert "more families" in text  # folded, not cut


def test_a_live_loop_searches_the_fitting_layout_only_when_the_view_changes_shape(
    metrics: Metrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fallback tried is a full render (~20 ms at 80 columns): not on every refresh."""
    from simulator.swarm import report

    renders: list[int] = []
    measure = report._height
    monkeypatch.setattr(
        report, "_height", lambda view, width: renders.append(1) or measure(view, width)
    )
    view = report.LiveView()
    first = _render(view.render(metrics, size=(80, 23)), width=80)
    searched = len(renders)
    assert searched >= 1
    again = _render(view.render(metrics, size=(80, 23)), width=80)
    assert len(renders) == searched and again.splitlines()[1:] == first.splitlines()[1:]
    metrics.message("a_new_family")  # one more row: search again
    view.render(metrics, size=(80, 23))
    assert len(renders) > searched
    assert len(_render(view.render(metrics, size=(80, 23)), width=80).splitlines()) <= 23
