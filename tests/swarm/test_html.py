"""The HTML report: self-contained, every timeline drawn, faults shaded, runs side by side, the
page's numbers the JSON's, and one-line errors for a report it cannot read."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import ConfigError
from simulator.swarm._charts import CHARTS
from simulator.swarm.html import load_report, render_html, write_html
from tests.reports import synthetic_report

FAULTS = [
    {"name": "kill n2", "start_s": 10.0, "end_s": 20.0, "verdict": "pass"},
    {"name": "partition", "start_s": 40.0, "end_s": 45.5, "verdict": "fail", "detail": "2 lost"},
]


class _Page(HTMLParser):
    """The tags of a page: every (tag, attributes), and the text of each data-key cell."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.cells: dict[str, list[str]] = {}
        self._key: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        self._key = attributes.get("data-key")

    def handle_data(self, data: str) -> None:
        if self._key is not None:
            self.cells.setdefault(self._key, []).append(data)
            self._key = None


def external_references(text: str) -> list[str]:
    """What a page would load from elsewhere: src/href of any tag, and url() in styles."""
    page = _Page(text)
    found = [
        f"<{tag} {name}={value}>"
        for tag, attributes in page.tags
        for name, value in attributes.items()
        if name in {"src", "href", "xlink:href", "srcset", "data", "action", "poster"}
        and not value.startswith(("#", "data:"))
    ]
    found += [f"url({u})" for u in re.findall(r"url\(\s*['\"]?([^)'\"]+)", text) if u[0] != "#"]
    found += [f"@import {u}" for u in re.findall(r"@import\s+([^;]+)", text)]
    return found


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return synthetic_report(60, faults=FAULTS)


@pytest.fixture(scope="module")
def page(report: dict[str, Any]) -> str:
    return render_html([("run.json", report)])


def test_the_page_loads_nothing_from_elsewhere(page: str) -> None:
    assert external_references(page) == []
    tags = {tag for tag, _ in _Page(page).tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert "<style>" in page and "<svg" in page


@pytest.mark.parametrize(
    "bad",
    [
        '<script src="https://cdn.example/plotly.js"></script>',
        '<link rel="stylesheet" href="http://example.org/a.css">',
        '<img src="//example.org/a.png">',
        "<style>body{background:url(https://example.org/a.png)}</style>",
        "<style>@import 'x.css';</style>",
    ],
)
def test_the_self_containment_check_catches_a_reference(page: str, bad: str) -> None:
    assert external_references(page.replace("</body>", f"{bad}</body>"))


def test_every_timeline_is_drawn(page: str) -> None:
    for chart in CHARTS:
        section = re.search(rf'<section data-chart="{chart.key}">(.*?)</section>', page, re.S)
        assert section is not None, chart.key
        figures = re.findall(r"<figure[^>]*>(.*?)</figure>", section.group(1), re.S)
        assert len(figures) == 1, chart.key
        assert figures[0].startswith("<svg"), chart.key
        assert len(re.findall(r"<path ", figures[0])) > 10, chart.key  # axes, ticks, data
    throughput = page[page.index('data-chart="throughput"') :]
    for family in ("agent_heartbeat", "task_progress"):  # its legend names the families
        assert family in throughput.split("</section>")[0]


def test_fault_windows_are_shaded_on_every_chart(page: str) -> None:
    for chart in CHARTS:
        for i in range(len(FAULTS)):
            assert re.search(rf'id="{chart.key}-r0-fault-{i}-0"', page), (chart.key, i)
    assert "kill n2" in page and "partition" in page
    cells = _Page(page).cells
    assert cells["faults.partition"] == ["fail: 2 lost"]
    assert cells["verdict"] == ["fail"]


def test_no_faults_no_shading() -> None:
    page = render_html([("run.json", synthetic_report(5))])
    assert "-fault-" not in page
    assert _Page(page).cells["verdict"] == ["fail"]  # the synthetic run has errors


def test_the_numbers_on_the_page_are_the_reports(report: dict[str, Any], page: str) -> None:
    cells = {key: values[0] for key, values in _Page(page).cells.items()}
    assert cells["messages.total"] == f"{report['messages']['total']:,}"
    assert cells["tasks.started"] == f"{report['tasks']['started']:,}"
    assert cells["tasks.finished"] == f"{report['tasks']['finished']:,}"
    for status, count in report["tasks"]["by_status"].items():
        assert cells[f"tasks.by_status.{status}"] == f"{count:,}"
    for decision, count in report["hooks"]["by_decision"].items():
        assert cells[f"hooks.by_decision.{decision}"] == f"{count:,}"
    for p in ("p50", "p90", "p99", "max"):
        assert float(cells[f"tasks.latency_ms.{p}"]) == report["tasks"]["latency_ms"][p]
        assert float(cells[f"heartbeat_lag_ms.{p}"]) == report["heartbeat_lag_ms"][p]
    assert cells["errors.total"] == str(report["errors"]["total"])
    assert cells["seed"] == "1" and cells["lost_messages"] == "not checked"


def test_two_runs_side_by_side_share_the_axes(tmp_path: Path) -> None:
    before, after = synthetic_report(60, seed=1), synthetic_report(90, seed=2, faults=FAULTS)
    path = write_html(
        tmp_path / "out" / "ab.html", [("before.json", before), ("after.json", after)]
    )
    page = path.read_text(encoding="utf-8")
    assert external_references(page) == []
    assert "before.json" in page and "after.json" in page
    assert len(re.findall(r'<div class="run" data-run="\d"', page)) == 2
    for chart in CHARTS:
        assert len(re.findall(rf'<figure class="chart" data-chart="{chart.key}"', page)) == 2
    assert "r1-fault-0" in page and "r0-fault-" not in page
    # one time axis: the 60 s run is drawn on the 90 s run's axis
    throughput = re.findall(r'data-chart="throughput" data-run="\d">(.*?)</figure>', page, re.S)
    assert all(">80<" in svg for svg in throughput)  # a tick label both show


def test_a_saved_report_loads_and_renders(tmp_path: Path, report: dict[str, Any]) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    assert load_report(path) == report


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda r: r.pop("timeline"), "'timeline' missing"),
        (lambda r: r["timeline"].pop("latency_ms"), "'timeline.latency_ms'"),
        (lambda r: r["timeline"].update(bucket_s="one"), "'timeline.bucket_s'"),
        (
            lambda r: r["timeline"]["messages"]["agent_status"].pop(),
            "timeline.messages.agent_status",
        ),
        (lambda r: r["timeline"].update(version=9), "'timeline.version'"),
        (lambda r: r.update(faults=[{"name": "x"}]), "'faults.0.start_s'"),
    ],
)
def test_an_older_or_broken_report_is_one_line_naming_file_and_key(
    tmp_path: Path, report: dict[str, Any], change: Any, key: str
) -> None:
    broken = json.loads(json.dumps(report))
    change(broken)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_report(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and key in message and "\n" not in message


def test_a_corrupt_file_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text('{"report_version": 1, "elapsed', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"run\.json: not a JSON report"):
        load_report(path)


def test_workers_are_drawn_one_line_each(report: dict[str, Any]) -> None:
    workers = {
        name: {"timeline": synthetic_report(30, seed=seed)["timeline"]}
        for name, seed in (("worker-a", 3), ("worker-b", 4))
    }
    page = render_html([("run.json", {**report, "workers": workers})])
    figure = re.search(r'data-chart="workers" data-run="0">(.*?)</figure>', page, re.S)
    assert figure is not None
    assert "worker-a" in figure.group(1) and "worker-b" in figure.group(1)
    assert "no workers" not in figure.group(1)
    assert "one process: no workers" in render_html([("run.json", report)])
