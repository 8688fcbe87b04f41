"""``mistersmith worker``: run a share of a coordinated swarm's agents in this process."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers, number
from simulator.servers.credentials import add_arguments as add_credentials
from simulator.servers.credentials import from_arguments as credentials_from

__all__ = ["add"]


def _worker(args: argparse.Namespace, console: Console) -> int:
    import os
    import socket

    from simulator.signals import StopSignals
    from simulator.swarm.workers import Worker, WorkerOptions

    name = args.name if args.name is not None else f"{socket.gethostname()}-{os.getpid()}"
    credentials = credentials_from(args)
    connect_options = credentials.connect_options()
    agent_options = None
    if args.credentials_dir is not None:
        from simulator.errors import ConfigError
        from simulator.servers.credentials import ClientCredentials
        from simulator.servers.credentials_dir import CredentialsDir

        if credentials != ClientCredentials():
            raise ConfigError(
                "--credentials-dir: the directory holds every credential the worker needs; "
                "drop --creds/--user/--nkey-seed/--token-file/--tls-*"
            )
        directory = CredentialsDir(args.credentials_dir)
        connect_options = directory.connect_options()
        agent_options = directory.agent_options
    options = WorkerOptions(
        url=args.url,
        name=name,
        run_id=args.run,
        connect_options=connect_options,
        agent_options=agent_options,
        join_timeout=args.join_timeout,
    )
    worker = Worker(options)
    with StopSignals() as signals:

        async def main() -> str:
            return await worker.run(signals.bind())

        outcome = asyncio.run(main())
    figures = worker.metrics
    share = len(worker.swarm.agents) if worker.swarm is not None else 0
    console.print(
        f"worker {escape(name)}: {outcome}; {share} agent(s), "
        f"{figures.total_messages} message(s), {sum(figures.tasks.values())} task(s) finished"
    )
    return 1 if outcome == "coordinator gone" else 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "worker",
        help="join a coordinated run and run a share of its agents",
        description="Join the run of a `mistersmith run --workers/--expect-workers` "
        "coordinator on URL, run the share of agents it assigns, and drain when it says so "
        "(or on Ctrl-C). Stops by itself when the coordinator goes silent.",
    )
    parser.add_argument("--url", required=True, metavar="URL", help="the run's server nats:// URL")
    parser.add_argument("--name", default=None, metavar="NAME", help="default: HOST-PID")
    parser.add_argument(
        "--run", default="mistersmith", metavar="NAME", help="the run (default: mistersmith)"
    )
    parser.add_argument(
        "--join-timeout",
        type=number(float, 0, above=True),
        default=10.0,
        metavar="S",
        help="seconds to wait for the coordinator's answer (default: 10)",
    )
    group = parser.add_argument_group("credentials of a secured server")
    group.add_argument(
        "--credentials-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the credentials directory of the server `mistersmith run --auth/--tls` started "
        "(it prints it): coordination as admin, each agent as agent:<id>",
    )
    add_credentials(group)
    parser.set_defaults(handler=_worker)
