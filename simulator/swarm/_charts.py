"""The HTML report's charts: matplotlib figures of a report's ``timeline``, as inline SVG.

Private to :mod:`simulator.swarm`; :mod:`simulator.swarm.html` lays them out. Every chart of a
page shares one time axis (seconds since the run began, the same range for every run shown),
the same width and margins, and draws the report's fault windows as shaded spans. Side by side,
the charts of one row share their y range too, so two runs compare at a glance.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

__all__ = ["CHARTS", "Chart", "render_row", "span_s"]

Report = Mapping[str, Any]
Series = Sequence[float | int | None]

_STATE_COLORS = {"idle": "#2ca02c", "busy": "#1f77b4", "error": "#d62728", "offline": "#9a9a9a"}
_TASK_COLORS = {
    "completed": "#2ca02c",
    "failed": "#d62728",
    "timeout": "#ff7f0e",
    "cancelled": "#9a9a9a",
}
_HOOK_COLORS = {"approve": "#2ca02c", "block": "#d62728", "continue": "#17becf"}
_LATENCY_TITLES = {"task": "task", "hook_rtt": "hook rtt", "heartbeat_lag": "heartbeat lag"}
_FAMILIES_SHOWN = 7
_WIDTH_IN = 10.0
_RC: dict[Any, Any] = {
    "svg.fonttype": "none",  # text stays text: smaller, selectable, searchable
    "svg.hashsalt": "mistersmith",  # the same report renders the same bytes
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.fontsize": 8.0,
    "legend.frameon": False,
}


def span_s(report: Report) -> float:
    """The seconds a report's timeline covers (its buckets times their width)."""
    timeline = report["timeline"]
    return float(timeline["buckets"] * timeline["bucket_s"])


def _edges(report: Report) -> list[float]:
    timeline = report["timeline"]
    return [i * timeline["bucket_s"] for i in range(timeline["buckets"] + 1)]


def _post(values: Series, scale: float = 1.0) -> list[float]:
    """A step series drawn ``where="post"``: each bucket's value, the last one repeated."""
    out = [float("nan") if v is None else float(v) * scale for v in values]
    return [*out, out[-1]] if out else out


def _rate(report: Report) -> float:
    return 1.0 / float(report["timeline"]["bucket_s"])


def _stack(
    ax: Axes,
    report: Report,
    series: Mapping[str, Series],
    colors: Mapping[str, str],
    scale: float,
) -> None:
    if not series:
        ax.text(0.5, 0.5, "none", transform=ax.transAxes, ha="center", color="#777")
        return
    names = list(series)
    ax.stackplot(
        _edges(report),
        *[_post(series[name], scale) for name in names],
        labels=names,
        colors=[colors[name] for name in names] if all(n in colors for n in names) else None,
        step="post",
        alpha=0.85,
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _throughput(report: Report, ax: Axes) -> None:
    messages: Mapping[str, Series] = report["timeline"]["messages"]
    busiest = sorted(messages, key=lambda f: -sum(v or 0 for v in messages[f]))
    shown = {f: messages[f] for f in sorted(busiest[:_FAMILIES_SHOWN])}
    rest = busiest[_FAMILIES_SHOWN:]
    if rest:
        n = report["timeline"]["buckets"]
        shown[f"{len(rest)} more"] = [sum(messages[f][i] or 0 for f in rest) for i in range(n)]
    _stack(ax, report, shown, {}, _rate(report))
    ax.set_ylabel("msg/s")


def _latency(report: Report, axes: Sequence[Axes]) -> None:
    latencies = report["timeline"]["latency_ms"]
    for ax, (name, title) in zip(axes, _LATENCY_TITLES.items(), strict=True):
        series = latencies[name]
        for key, style in (("p50", "-"), ("p90", "--"), ("p99", ":"), ("max", "")):
            if style:
                ax.step(_edges(report), _post(series[key]), where="post", ls=style, label=key)
            else:
                x = [e + report["timeline"]["bucket_s"] / 2 for e in _edges(report)[:-1]]
                ax.plot(x, _post(series[key])[:-1], ".", ms=2, color="#999", label=key)
        ax.set_ylabel(f"{title}\nms")
        ax.set_ylim(bottom=0)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _agents(report: Report, ax: Axes) -> None:
    _stack(ax, report, report["timeline"]["agents"], _STATE_COLORS, 1.0)
    ax.set_ylabel("agents")


def _tasks(report: Report, ax: Axes) -> None:
    tasks = dict(report["timeline"]["tasks"])
    started = tasks.pop("started")
    _stack(ax, report, tasks, _TASK_COLORS, _rate(report))
    ax.step(_edges(report), _post(started, _rate(report)), where="post", color="k", lw=1)
    ax.plot([], [], color="k", lw=1, label="started")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_ylabel("tasks/s")


def _hooks(report: Report, ax: Axes) -> None:
    _stack(ax, report, report["timeline"]["hooks"], _HOOK_COLORS, _rate(report))
    ax.set_ylabel("decisions/s")


def _errors(report: Report, ax: Axes) -> None:
    series = dict(report["timeline"]["errors"])
    if any(report["timeline"]["permission_denied"]):
        series["permission denied (also in permissions)"] = report["timeline"]["permission_denied"]
    _stack(ax, report, series, {}, _rate(report))
    ax.set_ylabel("errors/s")


def _workers(report: Report, ax: Axes) -> None:
    workers: Mapping[str, Report] = report.get("workers") or {}
    for name, worker in sorted(workers.items()):
        timeline = worker["timeline"]
        n, width = timeline["buckets"], timeline["bucket_s"]
        totals = [sum(series[i] or 0 for series in timeline["messages"].values()) for i in range(n)]
        edges = [i * width for i in range(n + 1)]
        ax.step(edges, _post(totals, 1.0 / width), where="post", label=name)
    if workers:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.text(0.5, 0.5, "one process: no workers", transform=ax.transAxes, ha="center")
    ax.set_ylabel("msg/s")


class Chart:
    """One row of the page: a title, how many stacked axes, how to draw one run into them."""

    def __init__(
        self, key: str, title: str, draw: Callable[[Report, Sequence[Axes]], None], rows: int = 1
    ) -> None:
        self.key, self.title, self.draw, self.rows = key, title, draw, rows


def _one(draw: Callable[[Report, Axes], None]) -> Callable[[Report, Sequence[Axes]], None]:
    return lambda report, axes: draw(report, axes[0])


#: The page's timelines, top to bottom.
CHARTS = (
    Chart("throughput", "Throughput by subject family", _one(_throughput)),
    Chart("latency", "Latency percentiles per bucket", _latency, rows=3),
    Chart("agents", "Agents by state", _one(_agents)),
    Chart("tasks", "Tasks started and finished", _one(_tasks)),
    Chart("hooks", "Hook decisions", _one(_hooks)),
    Chart("errors", "Errors and permission denials", _one(_errors)),
    Chart("workers", "Per worker: messages published", _one(_workers)),
)


def _shade_faults(report: Report, axes: Sequence[Axes]) -> None:
    for i, fault in enumerate(report.get("faults") or []):
        for j, ax in enumerate(axes):
            ax.axvspan(
                fault["start_s"],
                fault["end_s"],
                color="#d62728" if fault.get("verdict") == "fail" else "#ff7f0e",
                alpha=0.15,
                lw=0,
                gid=f"fault-{i}-{j}",  # _svg prefixes every id with the figure's
            )
        axes[0].annotate(
            str(fault["name"]),
            (fault["start_s"], 1.0),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            va="bottom",
            color="#a00",
        )


def _svg(figure: Figure, prefix: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]  # no XML declaration, no DOCTYPE (it names a URL)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # ids unique across the page's figures (clip paths are referenced by id)
    text = re.sub(r'(\sid="|url\(#|href="#)', rf"\1{prefix}-", text)
    return re.sub(r'(<svg[^>]*?)\s(width|height)="[^"]*"', r"\1", text, count=2)


def render_row(chart: Chart, reports: Sequence[Report], labels: Sequence[str]) -> list[str]:
    """One chart per report as inline SVG, on one time axis and (side by side) one y range."""
    end = max((span_s(r) for r in reports), default=1.0) or 1.0
    figures: list[tuple[Figure, list[Axes], str]] = []
    with rc_context(_RC):
        for report, label in zip(reports, labels, strict=True):
            height = 0.9 + 1.4 * chart.rows
            figure = Figure(figsize=(_WIDTH_IN, height))
            axes = list(figure.subplots(chart.rows, 1, sharex=True, squeeze=False)[:, 0])
            figure.subplots_adjust(
                left=0.08, right=0.78, top=1 - 0.25 / height, bottom=0.5 / height, hspace=0.15
            )
            chart.draw(report, axes)
            prefix = f"{chart.key}-{label}"
            _shade_faults(report, axes)
            axes[-1].set_xlim(0, end)
            axes[-1].set_xlabel("seconds since the run began")
            figures.append((figure, axes, prefix))
        for row in range(chart.rows):
            top = max(axes[row].get_ylim()[1] for _, axes, _ in figures)
            for _, axes, _ in figures:
                axes[row].set_ylim(0, top)
        return [_svg(figure, prefix) for figure, _, prefix in figures]
