"""``mistersmith report``: the HTML report of saved JSON reports (one run, or two side by side)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers
from simulator.errors import ConfigError

__all__ = ["add"]

#: Runs one page shows side by side (more would not read at a laptop's width).
MAX_RUNS = 2


def _labels(paths: list[Path]) -> list[str]:
    names = [path.name for path in paths]
    return names if len(set(names)) == len(names) else [str(path) for path in paths]


def _report(args: argparse.Namespace, console: Console) -> int:
    from simulator.swarm.html import load_report, write_html

    paths: list[Path] = args.reports
    if len(paths) > MAX_RUNS:
        raise ConfigError(f"report: {len(paths)} reports given; at most {MAX_RUNS} side by side")
    runs = [(label, load_report(path)) for label, path in zip(_labels(paths), paths, strict=True)]
    write_html(args.html, runs)
    console.print(f"HTML report written to {escape(str(args.html))}")
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "report",
        help="render saved JSON reports as a self-contained HTML report",
        description="Render the JSON report of a run (`mistersmith run --report FILE`, e.g. a CI "
        "artifact) as the HTML report `mistersmith run --html` writes; with two reports, the "
        "runs side by side on one time axis (before and after a change).",
    )
    parser.add_argument(
        "reports", type=Path, nargs="+", metavar="RUN.json", help="one or two JSON reports"
    )
    parser.add_argument(
        "--html", type=Path, required=True, metavar="FILE", help="the HTML file to write"
    )
    parser.set_defaults(handler=_report)
