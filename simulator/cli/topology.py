"""``mistersmith topology lint|show``: the linter and the stream/consumer tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console, RenderableType
from rich.markup import escape

from simulator.cli._common import Subparsers, fitted_table, positive_int
from simulator.protocol import topology as topo

__all__ = ["add", "load"]

_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_STORED_STYLES = {"fully": "green", "partly": "yellow", "none": "dim"}


def add_topology_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="topology YAML (default: ours)"
    )
    source.add_argument(
        "--spec", action="store_true", help="the spec's 12.3 exactly as written (raw durations)"
    )


def load(args: argparse.Namespace) -> topo.Topology:
    if args.spec:
        return topo.spec_topology()
    if args.file is not None:
        return topo.load(args.file)
    return topo.default_topology()


def _topology_lint(args: argparse.Namespace, console: Console) -> int:
    topology = load(args)
    report = topo.lint(topology, cluster_size=args.cluster_size, max_payload=args.max_payload)
    payload = topo.format_size(args.max_payload or topology.max_payload)
    counts = {s: sum(f.severity == s for f in report.findings) for s in _STYLES}
    console.print(
        f"{escape(topology.source)}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} info(s) on a cluster of {args.cluster_size}, max_payload {payload}"
    )
    for finding in report.findings:
        style = _STYLES[finding.severity]
        console.print(
            f"[{style}]{finding.severity:<7}[/] {escape(finding.target)}: "
            f"{escape(finding.rule_label)}"
        )
        console.print(f"        {escape(finding.message)}")
        console.print(f"        fix: {escape(finding.fix)}")
    return 0 if report.ok else 1


def _coverage_table(report: topo.LintReport, console: Console) -> RenderableType:
    columns = ("template", "pattern", "example subject", "stored", "stream", "consumers")
    rows = [
        (
            escape(row.template.name),
            escape(row.template.pattern),
            escape(row.template.example()),
            f"[{_STORED_STYLES[row.stored]}]{row.stored}[/]",
            escape(", ".join(row.streams) or "-"),
            escape(", ".join(row.consumers) or "-"),
        )
        for row in report.coverage
    ]
    return fitted_table(console, "Subject taxonomy coverage", columns, rows)


def _streams_table(topology: topo.Topology, console: Console) -> RenderableType:
    columns = ("stream", "subjects", "storage", "replicas", "max_age", "dup window")
    rows = [
        (
            escape(str(s.name)),
            escape(", ".join(s.subjects or ())),
            str(s.storage.value if s.storage else "-"),
            str(s.num_replicas or 1),
            topo.format_duration(s.max_age),
            topo.format_duration(s.duplicate_window),
            topo.format_size(s.max_bytes),
            topo.format_size(s.max_msg_size),
        )
        for s in topology.streams
    ]
    return fitted_table(console, "Streams", (*columns, "max_bytes", "max_msg_size"), rows)


def _consumers_table(topology: topo.Topology, console: Console) -> RenderableType:
    columns = ("consumer", "stream", "filters", "deliver", "ack", "ack_wait", "max_deliver")
    rows = [
        (
            escape(c.name),
            escape(c.stream),
            escape(", ".join(c.filters) or "(all)"),
            str(c.config.deliver_policy.value if c.config.deliver_policy else "-"),
            str(c.config.ack_policy.value if c.config.ack_policy else "-"),
            topo.format_duration(c.config.ack_wait) if c.config.ack_wait else "server default",
            str(c.config.max_deliver if c.config.max_deliver is not None else "unlimited"),
        )
        for c in topology.consumers
    ]
    return fitted_table(console, "Consumers (durable)", columns, rows)


def _topology_show(args: argparse.Namespace, console: Console) -> int:
    topology = load(args)
    cluster = args.cluster_size or 1
    if args.cluster_size is not None:
        topology, notes = topo.for_cluster(topology, args.cluster_size)
        for note in notes:
            console.print(f"[cyan]clamped[/] {escape(note)}")
    limits = topology.limits
    console.print(
        f"{escape(topology.source)}: server max_payload {topo.format_size(topology.max_payload)}; "
        f"JetStream max_memory_store {topo.format_size(limits.max_memory)}, max_file_store "
        f"{topo.format_size(limits.max_storage)}; account max_streams {limits.max_streams}, "
        f"max_consumers {limits.max_consumers}; max_connections {limits.max_connections}, "
        f"max_subscriptions {limits.max_subscriptions} per connection",
        soft_wrap=False,
    )
    report = topo.lint(topology, cluster_size=cluster)
    console.print(_coverage_table(report, console))
    console.print(_streams_table(topology, console))
    console.print(_consumers_table(topology, console))
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser("topology", help="lint and show the JetStream topology")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    lint = actions.add_parser("lint", help="report every ERRATA defect; exit 1 on an error")
    add_topology_source(lint)
    lint.add_argument(
        "--cluster-size",
        type=positive_int,
        default=1,
        metavar="N",
        help="nodes of the cluster it is meant for (default: 1)",
    )
    lint.add_argument(
        "--max-payload",
        type=positive_int,
        default=None,
        metavar="BYTES",
        help="the server's max_payload (default: the topology's own)",
    )
    lint.set_defaults(handler=_topology_lint)

    show = actions.add_parser("show", help="coverage of the subject taxonomy, streams, consumers")
    add_topology_source(show)
    show.add_argument(
        "--cluster-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="clamp replicas to a cluster of N nodes (default: as written)",
    )
    show.set_defaults(handler=_topology_show)
