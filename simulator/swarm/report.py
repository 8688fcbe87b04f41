"""What a swarm run shows: the live view, the final summary, and the JSON report.

:func:`live_view` and :func:`summary` return rich renderables built from
:class:`~simulator.swarm.metrics.Metrics` only; :func:`build_report` is the JSON report's content
(the metrics, the scenario and its seed, where it ran), :func:`write_json` writes it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from rich.columns import Columns
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text
from typing_extensions import Unpack

from simulator import __version__
from simulator.swarm.metrics import PERCENTILES, Latency, Metrics
from simulator.swarm.scenario import Scenario

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = [
    "REPORT_VERSION",
    "LiveView",
    "ViewOptions",
    "build_report",
    "live_view",
    "progress_line",
    "summary",
    "write_json",
]

#: Bumped when the JSON report's layout changes incompatibly.
REPORT_VERSION = 1
_STATE_STYLES = {"idle": "green", "busy": "cyan", "error": "red", "offline": "dim"}
_TASK_STYLES = {"completed": "green", "failed": "red", "timeout": "yellow", "cancelled": "dim"}
_HOOK_STYLES = {"approve": "green", "block": "red", "continue": "cyan"}


def _counts_table(
    title: str, counts: Mapping[str, int], styles: Mapping[str, str], column: str
) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column(column)
    table.add_column("count", justify="right")
    for name, count in counts.items():
        table.add_row(Text(name, style=styles.get(name, "")), f"{count:,}")
    if not counts:
        table.add_row(Text("-", style="dim"), "0")
    table.add_section()
    table.add_row(Text("total", style="bold"), f"{sum(counts.values()):,}")
    return table


def _latency_cells(latency: Latency) -> list[str]:
    return [f"{latency.percentile(p):.1f}" for p in PERCENTILES] + [f"{latency.max:.1f}"]


def _latency_table(metrics: Metrics) -> Table:
    table = Table(title="Latency (ms)", title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    for p in PERCENTILES:
        table.add_column(f"p{p:g}", justify="right")
    table.add_column("max", justify="right")
    rows = (
        ("task", metrics.task_latency),
        ("hook rtt", metrics.hook_rtt),
        ("heartbeat lag", metrics.heartbeat_lag),
    )
    for name, latency in rows:
        table.add_row(name, f"{latency.count:,}", *_latency_cells(latency))
    return table


def _rates_table(
    metrics: Metrics, rates: Mapping[str, float] | None, rows: int | None = None
) -> Table:
    """Messages per family; with ``rows``, the busiest families and one row for the rest."""
    table = Table(title="Messages by subject family", title_justify="left")
    table.add_column("family")
    if rates is not None:
        table.add_column("msg/s", justify="right")
    table.add_column("total", justify="right")
    families = sorted(metrics.published.items())
    if rows is not None and len(families) > rows:
        busiest = sorted(families, key=lambda item: (-(rates or {}).get(item[0], 0.0), -item[1]))
        shown, rest = sorted(busiest[: max(rows - 1, 0)]), busiest[max(rows - 1, 0) :]
        families = shown
    else:
        rest = []
    for family, count in families:
        rate = [f"{rates.get(family, 0.0):,.1f}"] if rates is not None else []
        table.add_row(family, *rate, f"{count:,}")
    if rest:
        rate = [f"{sum((rates or {}).get(f, 0.0) for f, _ in rest):,.1f}"] if rates else []
        table.add_row(Text(f"{len(rest)} more families", style="dim"), *rate,
                      f"{sum(c for _, c in rest):,}")  # fmt: skip
    table.add_section()
    total_rate = [f"{sum(rates.values()):,.1f}"] if rates is not None else []
    table.add_row(Text("total", style="bold"), *total_rate, f"{metrics.total_messages:,}")
    return table


def _side_by_side(*tables: Table) -> Columns:
    return Columns(tables, padding=(0, 2))


#: What the live view gives up as rows run out, in order: (tables kept of agents, tasks, hooks;
#: rows of the families table, None for all, 0 for no table). The latency table stays.
_FALLBACKS: tuple[tuple[int, int | None], ...] = (
    *((3, rows) for rows in (None, 12, 8, 5, 3)),
    *((2, rows) for rows in (5, 3)),
    *((1, rows) for rows in (5, 3, 1, 0)),
    (0, 3),
    (0, 0),
)


def _height(view: RenderableType, width: int) -> int:
    console = Console(width=width, file=io.StringIO(), color_system=None)
    return len(console.render_lines(view, console.options, pad=False))


class ViewOptions(TypedDict, total=False):
    """What :func:`live_view` and :meth:`LiveView.render` take besides the metrics."""

    duration: float | None
    where: str
    states: Mapping[str, int] | None
    window: float
    size: tuple[int, int] | None


def live_view(metrics: Metrics, **options: Unpack[ViewOptions]) -> RenderableType:
    """The live view: agents by state, msgs/s by subject family, tasks, hook decisions.

    ``duration``, ``where`` (the server), ``states`` (agents by state; default: the metrics'),
    ``window`` (seconds of the rates). With ``size`` (the terminal's columns and rows) it fits:
    as rows run out the families table folds its quietest families into one row, then the hook
    and the task tables go, then the families table, then the agents table
    (:data:`_FALLBACKS`); the latency table stays. Fitting renders the view once per fallback
    tried: a live loop uses :class:`LiveView`.
    """
    return LiveView().render(metrics, **options)


class LiveView:
    """:func:`live_view` for a loop: the fallback that fits is searched again only when the
    terminal's size or the view's shape (its rows, the width of its counts) changes, so a
    refresh builds one view instead of rendering up to :data:`_FALLBACKS` of them."""

    def __init__(self) -> None:
        self._shape: tuple[object, ...] | None = None
        self._choice: tuple[int, int | None] = _FALLBACKS[0]

    def render(self, metrics: Metrics, **options: Unpack[ViewOptions]) -> RenderableType:
        """The live view now (see :func:`live_view`)."""
        duration, where = options.get("duration"), options.get("where", "")
        states, size = options.get("states"), options.get("size")
        rates = metrics.rates(options.get("window", 5.0))  # once: each call keeps a snapshot

        def build(keep: int, rows: int | None) -> RenderableType:
            return _live_parts(metrics, duration, where, states, rates, rows, keep)

        if size is None:
            return build(3, None)
        shape = (
            size,
            len(metrics.published),
            len(metrics.state_counts() if states is None else states),
            len(metrics.tasks),
            len(metrics.hook_decisions),
            bool(metrics.errors),
            bool(metrics.denied_subjects),
            len(f"{metrics.total_messages:,}"),
        )
        if shape != self._shape:
            self._shape, self._choice = shape, _FALLBACKS[-1]
            for keep, rows in _FALLBACKS:
                if _height(build(keep, rows), size[0]) <= size[1]:
                    self._choice = (keep, rows)
                    break
        return build(*self._choice)


def _live_parts(
    metrics: Metrics,
    duration: float | None,
    where: str,
    states: Mapping[str, int] | None,
    rates: Mapping[str, float],
    rows: int | None,
    keep: int,
) -> RenderableType:
    elapsed = metrics.elapsed
    clock = f"{elapsed:5.1f} s" + (f" / {duration:g} s" if duration else "")
    header = Text.assemble(
        ("mistersmith run ", "bold"),
        clock,
        f"  {where}" if where else "",
        ("  Ctrl-C stops", "dim"),
    )
    by_state = metrics.state_counts() if states is None else {k: v for k, v in states.items() if v}
    agents = _counts_table("Agents", by_state, _STATE_STYLES, "state")
    tasks = _counts_table("Tasks", dict(sorted(metrics.tasks.items())), _TASK_STYLES, "status")
    decisions = dict(sorted(metrics.hook_decisions.items()))
    hooks = _counts_table("Hook decisions", decisions, _HOOK_STYLES, "decision")
    parts: list[RenderableType] = [header]
    if keep:
        parts.append(_side_by_side(*(agents, tasks, hooks)[:keep]))
    if rows == 0:
        parts.append(_latency_table(metrics))
    else:
        parts.append(_side_by_side(_rates_table(metrics, rates, rows), _latency_table(metrics)))
    if metrics.denied_subjects:
        parts.append(Text(_denied_line(metrics, 3), style="red"))
    if metrics.errors:
        count = sum(metrics.error_counts.values())
        parts.append(Text(f"errors: {count}, last: {metrics.errors[-1]}", style="red"))
    return Group(*parts)


def _denied_line(metrics: Metrics, most: int) -> str:
    """The permission denials, the ``most`` frequent subjects first (``publish S x3``)."""
    top = metrics.denied_subjects.most_common(most)
    shown = ", ".join(f"{subject} x{count}" for subject, count in top)
    more = len(metrics.denied_subjects) - len(top)
    return f"permission denied: {metrics.permission_denied} ({shown}" + (
        f", {more} more subjects)" if more else ")"
    )


def progress_line(metrics: Metrics, states: Mapping[str, int] | None = None) -> str:
    """One plain line of progress, for a terminal that is not interactive (a log, a pipe)."""
    agents = metrics.state_counts() if states is None else states
    return (
        f"{metrics.elapsed:6.1f} s  agents "
        + (" ".join(f"{k}={v}" for k, v in agents.items() if v) or "-")
        + f"  messages {metrics.total_messages:,}  tasks "
        + (" ".join(f"{k}={v}" for k, v in sorted(metrics.tasks.items())) or "0")
        + "  hooks "
        + (" ".join(f"{k}={v}" for k, v in sorted(metrics.hook_decisions.items())) or "0")
        + f"  errors {sum(metrics.error_counts.values())}"
    )


def summary(metrics: Metrics, *, title: str = "Summary") -> RenderableType:
    """The final summary: counts, rates over the whole run, latency percentiles, errors."""
    elapsed = metrics.elapsed
    per_second = metrics.total_messages / elapsed if elapsed > 0 else 0.0
    head = Text.assemble(
        (f"{title}: ", "bold"),
        f"{elapsed:.1f} s, {len(metrics.states)} agents, {metrics.total_messages:,} messages "
        f"({per_second:,.1f}/s), {sum(metrics.tasks.values()):,} tasks finished, "
        f"{sum(metrics.hook_decisions.values()):,} hook decisions, "
        f"{sum(metrics.error_counts.values())} errors",
    )
    averages = {f: c / elapsed for f, c in metrics.published.items()} if elapsed > 0 else None
    parts: list[RenderableType] = [
        head,
        _side_by_side(
            _counts_table("Agents", metrics.state_counts(), _STATE_STYLES, "state"),
            _counts_table("Tasks", dict(sorted(metrics.tasks.items())), _TASK_STYLES, "status"),
            _counts_table(
                "Hook decisions",
                dict(sorted(metrics.hook_decisions.items())),
                _HOOK_STYLES,
                "decision",
            ),
        ),
        _side_by_side(_rates_table(metrics, averages), _latency_table(metrics)),
    ]
    if metrics.denied_subjects:
        parts.append(Text(_denied_line(metrics, 10), style="red"))
    for message in metrics.errors[:10]:
        parts.append(Text(f"error {message}", style="red"))
    return Group(*parts)


def build_report(
    metrics: Metrics,
    scenario: Scenario | None = None,
    *,
    server: Mapping[str, object] | None = None,
    interrupted: bool = False,
    workers: Mapping[str, JsonValue] | None = None,
) -> dict[str, JsonValue]:
    """The JSON report: metrics, the scenario and its seed, the server, whether interrupted,
    and for a run spread over workers, each worker (its agents, whether lost, its timeline)."""
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "mistersmith_version": __version__,
        "interrupted": interrupted,
    }
    if scenario is not None:
        report["seed"] = scenario.seed
        report["scenario_source"] = scenario.source
        report["scenario"] = scenario.to_dict()
    if server is not None:
        report["server"] = dict(server)
    report.update(metrics.to_dict())
    if workers is not None:
        report["workers"] = dict(workers)
    return report


def write_json(
    path: str | Path,
    metrics: Metrics,
    scenario: Scenario | None = None,
    *,
    server: Mapping[str, object] | None = None,
    interrupted: bool = False,
    workers: Mapping[str, JsonValue] | None = None,
) -> dict[str, JsonValue]:
    """Write :func:`build_report`'s content to ``path`` (parents made); return it."""
    report = build_report(
        metrics, scenario, server=server, interrupted=interrupted, workers=workers
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
