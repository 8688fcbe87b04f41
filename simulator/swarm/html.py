"""The HTML report: one self-contained page of a run (or two side by side) from its JSON report.

:func:`render_html` lays out the settings and the verdict of each run on top, then the timelines
of :mod:`simulator.swarm._charts` (matplotlib, as inline SVG: the page has no script and loads
nothing, so it opens offline, prints, and reads the same in any browser). :func:`load_report`
reads a saved JSON report and says in one line which file and which key are wrong.

The page reads these keys of a report, besides the totals: ``timeline`` (the series,
:mod:`simulator.swarm.timeline`), ``faults`` (a list of ``{name, start_s, end_s, verdict,
detail}``: each fault's window is shaded on every chart and its verdict shown on top),
``workers`` (``{worker_id: {"timeline": ...}}``, drawn per worker), and, when a checker adds
them, ``lost_messages`` (a count) and ``goals`` (a list of ``{name, ok, detail}``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError

from simulator import __version__
from simulator.errors import ConfigError
from simulator.swarm.timeline import LATENCIES, TIMELINE_VERSION

__all__ = ["load_report", "render_html", "write_html"]

Report = Mapping[str, Any]


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _LatencySeries(_Loose):
    count: list[int]
    p50: list[float | None]
    p90: list[float | None]
    p99: list[float | None]
    max: list[float | None]


class _Timeline(_Loose):
    version: int
    bucket_s: float
    buckets: int
    messages: dict[str, list[int]]
    agents: dict[str, list[int]]
    tasks: dict[str, list[int]]
    hooks: dict[str, list[int]]
    errors: dict[str, list[int]]
    permission_denied: list[int]
    latency_ms: dict[str, _LatencySeries]


class _Fault(_Loose):
    name: str
    start_s: float
    end_s: float
    verdict: str


class _Worker(_Loose):
    timeline: _Timeline


class _Report(_Loose):
    report_version: int
    elapsed_s: float
    messages: dict[str, Any]
    tasks: dict[str, Any]
    hooks: dict[str, Any]
    errors: dict[str, Any]
    timeline: _Timeline
    faults: list[_Fault] = []
    workers: dict[str, _Worker] = {}


class _BadKey(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"key '{key}': {message}")


def _check_lengths(timeline: _Timeline, where: str) -> None:
    if timeline.version != TIMELINE_VERSION:
        raise _BadKey(f"{where}.version", f"{timeline.version}; this mistersmith reads 1")
    if timeline.bucket_s <= 0:
        raise _BadKey(f"{where}.bucket_s", "must be > 0")
    for group in ("messages", "agents", "tasks", "hooks", "errors"):
        for name, values in getattr(timeline, group).items():
            if len(values) != timeline.buckets:
                raise _BadKey(
                    f"{where}.{group}.{name}",
                    f"{len(values)} values for {timeline.buckets} buckets",
                )
    if "started" not in timeline.tasks:
        raise _BadKey(f"{where}.tasks.started", "missing")
    for name in LATENCIES:
        if name not in timeline.latency_ms:
            raise _BadKey(f"{where}.latency_ms.{name}", "missing")
        if len(timeline.latency_ms[name].count) != timeline.buckets:
            raise _BadKey(f"{where}.latency_ms.{name}.count", "not one value per bucket")


def load_report(path: str | Path) -> dict[str, JsonValue]:
    """A saved JSON report, checked for what the HTML report draws (ConfigError naming the key)."""
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the report: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{source}: not a JSON report: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: not a JSON report (an object is expected)")
    if "report_version" in data and "timeline" not in data:
        raise ConfigError(
            f"{source}: key 'timeline' missing: a report of an older mistersmith, without time "
            "series; run it again with this version"
        )
    try:
        report = _Report.model_validate(data)
        _check_lengths(report.timeline, "timeline")
        for name, worker in report.workers.items():
            _check_lengths(worker.timeline, f"workers.{name}.timeline")
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{source}: key '{key}': {first['msg']}") from None
    except _BadKey as exc:
        raise ConfigError(f"{source}: {exc}") from None
    return data


_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1500px;padding:12px 20px;color:#222}
h1{font-size:20px;margin:4px 0}h2{font-size:16px;margin:18px 0 4px}h3{font-size:14px;margin:6px 0}
.cols{display:grid;gap:16px;grid-template-columns:repeat(var(--n),minmax(0,1fr))}
table{border-collapse:collapse;margin:4px 0 8px}td,th{padding:1px 8px;text-align:left;
vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
th{font-weight:600;color:#555}.pass{color:#1a7f37;font-weight:600}
.fail{color:#c62828;font-weight:600}.run{border:1px solid #ddd;border-radius:6px;padding:8px 12px}
figure{margin:0}figure svg{width:100%;height:auto;display:block}.muted{color:#777}
@media (max-width:900px){.cols{grid-template-columns:minmax(0,1fr)}}
@media print{body{max-width:none;padding:0;font-size:10pt}section,figure,.run{break-inside:avoid}
.run{border-color:#999}}
"""


def _n(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.3f}".rstrip("0").rstrip(".")


def _cell(key: str, value: float | int | str) -> str:
    text = value if isinstance(value, str) else _n(value)
    return f'<td class="n" data-key="{escape(key)}">{escape(text)}</td>'


def _rows(rows: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{escape(name)}</th>{cell}</tr>" for name, cell in rows)


def _settings(report: Report) -> str:
    scenario = report.get("scenario") or {}
    server = report.get("server") or {}
    groups = scenario.get("groups") or []
    rows = [
        ("started", _cell("started_at", str(report.get("started_at", "-")))),
        ("elapsed (s)", _cell("elapsed_s", report["elapsed_s"])),
        ("scenario", _cell("scenario_source", str(report.get("scenario_source", "-")))),
        ("seed", _cell("seed", report.get("seed", "-"))),
        ("agents", _cell("scenario.agents", sum(g.get("count", 0) for g in groups) or "-")),
        (
            "task rate (/s)",
            _cell("scenario.tasks.rate", (scenario.get("tasks") or {}).get("rate", "-")),
        ),
        ("server", _cell("server", " ".join(str(v) for v in server.values()) or "-")),
        ("mistersmith", _cell("mistersmith_version", str(report.get("mistersmith_version")))),
    ]
    return f"<h3>Settings</h3><table>{_rows(rows)}</table>"


def _verdict(report: Report) -> str:
    errors = int(report["errors"]["total"])
    denied = int(report.get("permission_denied", 0))
    faults = report.get("faults") or []
    goals = report.get("goals") or []
    lost = report.get("lost_messages")
    failed = (
        errors > 0
        or bool(lost)
        or any(f.get("verdict") == "fail" for f in faults)
        or any(not g.get("ok") for g in goals)
    )
    word = "fail" if failed else "pass"
    rows = [
        ("errors", _cell("errors.total", errors)),
        ("permission denials", _cell("permission_denied", denied)),
        ("lost messages", _cell("lost_messages", "not checked" if lost is None else lost)),
        ("interrupted", _cell("interrupted", "yes" if report.get("interrupted") else "no")),
    ]
    for goal in goals:
        mark = "met" if goal.get("ok") else "missed"
        rows.append((f"goal {goal.get('name')}", _cell(f"goals.{goal.get('name')}", mark)))
    for fault in faults:
        label = f"fault {fault['name']} ({_n(fault['start_s'])}-{_n(fault['end_s'])} s)"
        detail = f"{fault['verdict']}" + (f": {fault['detail']}" if fault.get("detail") else "")
        rows.append((label, _cell(f"faults.{fault['name']}", detail)))
    head = f'<h3>Verdict: <span class="{word}" data-key="verdict">{word}</span></h3>'
    first = report["errors"].get("first") or []
    shown = "".join(f"<li>{escape(str(e))}</li>" for e in first[:5])
    return head + f"<table>{_rows(rows)}</table>" + (f"<ul>{shown}</ul>" if shown else "")


def _totals(report: Report) -> str:
    messages, tasks, hooks = report["messages"], report["tasks"], report["hooks"]
    rows = [
        ("messages", _cell("messages.total", messages["total"])),
        ("messages/s", _cell("messages.per_second", messages["per_second"])),
        ("tasks started", _cell("tasks.started", tasks.get("started", 0))),
        ("tasks finished", _cell("tasks.finished", tasks["finished"])),
    ]
    rows += [(f"  {k}", _cell(f"tasks.by_status.{k}", v)) for k, v in tasks["by_status"].items()]
    rows += [("hook decisions", _cell("hooks.answered", hooks["answered"]))]
    rows += [
        (f"  {k}", _cell(f"hooks.by_decision.{k}", v)) for k, v in hooks["by_decision"].items()
    ]
    latency = "<tr><th>latency (ms)</th><th>count</th><th>p50</th><th>p90</th><th>p99</th>"
    latency += "<th>max</th></tr>"
    for name, key in (("task", "tasks.latency_ms"), ("hook rtt", "hooks.rtt_ms")):
        summary = (tasks if key.startswith("tasks") else hooks)[key.split(".")[1]]
        latency += f"<tr><th>{name}</th>" + "".join(
            _cell(f"{key}.{p}", summary[p]) for p in ("count", "p50", "p90", "p99", "max")
        )
    lag = report.get("heartbeat_lag_ms") or {}
    if lag:
        latency += "<tr><th>heartbeat lag</th>" + "".join(
            _cell(f"heartbeat_lag_ms.{p}", lag[p]) for p in ("count", "p50", "p90", "p99", "max")
        )
    return f"<h3>Totals</h3><table>{_rows(rows)}</table><table>{latency}</table>"


def render_html(runs: Sequence[tuple[str, Report]]) -> str:
    """The page of one run, or of several side by side: ``(label, report)`` each."""
    try:
        from simulator.swarm._charts import CHARTS, render_row
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"the HTML report needs {exc.name}: pip install 'pytest-mistersmith[html]'"
        ) from None
    if not runs:
        raise ConfigError("render_html: no report given")
    labels = [f"r{i}" for i in range(len(runs))]
    reports = [report for _, report in runs]
    n = len(runs)
    cols = f'class="cols" style="--n:{n}"'
    heads = "".join(
        f'<div class="run" data-run="{i}"><h2>{escape(name)}</h2>'
        f"{_verdict(r)}{_settings(r)}{_totals(r)}</div>"
        for i, (name, r) in enumerate(runs)
    )
    sections = []
    for chart in CHARTS:
        svgs = render_row(chart, reports, labels)
        figures = "".join(
            f'<figure class="chart" data-chart="{chart.key}" data-run="{i}">{svg}</figure>'
            for i, svg in enumerate(svgs)
        )
        sections.append(
            f'<section data-chart="{chart.key}"><h2>{escape(chart.title)}</h2>'
            f"<div {cols}>{figures}</div></section>"
        )
    title = "mistersmith run report" + (" (side by side)" if n > 1 else "")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}: {escape(', '.join(name for name, _ in runs))}</title>"
        f"<style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="muted">mistersmith {escape(__version__)}; every '
        "timeline shares one time axis; shaded spans are fault windows.</p>"
        f"<div {cols}>{heads}</div>{''.join(sections)}</body></html>\n"
    )


def write_html(path: str | Path, runs: Sequence[tuple[str, Report]]) -> Path:
    """Write :func:`render_html`'s page to ``path`` (parents made); return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(runs), encoding="utf-8")
    return target
