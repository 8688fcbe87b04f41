"""``mistersmith hook``: the Claude Code hook bridge (``command`` hook), and ``hook serve``
(``http`` hook), ``hook replay`` (recorded sessions) and ``hook install`` (``settings.json``).

Options of the bridge go after the action (``mistersmith hook serve --url ...``). A usage error
exits 2, which Claude Code takes as a block: a misconfigured hook fails closed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import threading
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.bridge.options import DEFAULT_TIMEOUT, DEFAULT_URL, add_options, bridge_config
from simulator.cli._common import Subparsers, number, positive_int

__all__ = ["add", "add_responder"]


def _hook(args: argparse.Namespace, console: Console) -> int:
    from simulator.bridge.command import run_hook

    config = bridge_config(args)
    return run_hook(config, record=getattr(args, "record", None))


def _serve(args: argparse.Namespace, console: Console) -> int:
    from simulator.bridge import HookServer, Recorder

    config = bridge_config(args)
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        from simulator.errors import MisterSmithError

        raise MisterSmithError(f"--listen {args.listen!r}: expected HOST:PORT (PORT 0: any)")
    record = getattr(args, "record", None)
    recorder = Recorder(record) if record is not None else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with HookServer(config, host=host or "127.0.0.1", port=int(port), recorder=recorder) as srv:
        print(srv.url, flush=True)
        console.print(f"[dim]bridging to {escape(config.url)}; Ctrl-C stops[/]", style=None)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    if recorder is not None:
        recorder.close()
    return 0


def _replay(args: argparse.Namespace, console: Console) -> int:
    from simulator.bridge import HookBridge, read_records, replay

    config = bridge_config(args)
    records = list(read_records(args.file))

    async def go() -> list[int]:
        bridge = HookBridge(config)
        try:
            answers = await replay(records, bridge.handle, speed=args.speed, agents=args.agents)
        finally:
            await bridge.close()
        return [a.exit_code for a in answers]

    codes = asyncio.run(go())
    blocked = sum(1 for c in codes if c == 2)
    console.print(
        f"replayed {len(records)} hooks x {args.agents} agent(s): "
        f"{len(codes)} answers, {blocked} failed closed (exit 2)"
    )
    return 0


def _install(args: argparse.Namespace, console: Console) -> int:
    from simulator.bridge import hook_command, install
    from simulator.bridge.install import DEFAULT_EVENTS

    timeout = getattr(args, "timeout", DEFAULT_TIMEOUT)
    command = hook_command(
        getattr(args, "url", DEFAULT_URL), timeout, getattr(args, "on_failure", "deny")
    )
    try:
        changes = install(args.settings, command, timeout, args.event or DEFAULT_EVENTS)
    except ValueError as error:
        from simulator.errors import MisterSmithError

        raise MisterSmithError(str(error)) from None
    for line in changes or [f"{args.settings}: the bridge's hooks are already there"]:
        console.print(escape(line))
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "hook", help="the Claude Code hook bridge (command hook; serve, replay, install)"
    )
    add_options(parser)
    parser.set_defaults(handler=_hook)
    actions = parser.add_subparsers(dest="action", required=False, metavar="ACTION")
    serve = actions.add_parser("serve", help="the bridge as an HTTP service for http hooks")
    add_options(serve)
    serve.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:0, a port the OS picks)",
    )
    serve.set_defaults(handler=_serve)
    replay = actions.add_parser("replay", help="feed a recorded JSONL file back through the bridge")
    replay.add_argument("file", type=Path, metavar="FILE")
    add_options(replay, record=False)
    replay.add_argument(
        "--speed",
        type=number(float, 0, above=False),
        default=1.0,
        metavar="X",
        help="pace: recorded gaps divided by X (0: no pause; default 1)",
    )
    replay.add_argument(
        "--agents",
        type=positive_int,
        default=1,
        metavar="N",
        help="copies of each session, as agents S-0..S-N-1 (default 1)",
    )
    replay.set_defaults(handler=_replay)
    install = actions.add_parser("install", help="merge the hook entries into settings.json")
    install.add_argument(
        "--settings",
        type=Path,
        default=Path(".claude/settings.json"),
        metavar="FILE",
        help="default .claude/settings.json",
    )
    install.add_argument(
        "--event",
        action="append",
        metavar="NAME",
        help="a Claude Code event to wire, repeatable (default: SessionStart, PreToolUse, "
        "PostToolUse, PostToolUseFailure, FileChanged; any other the bridge carries, e.g. Stop)",
    )
    add_options(install, record=False)
    install.set_defaults(handler=_install)


def _responder(args: argparse.Namespace, console: Console) -> int:
    from simulator.agents.hooks import HookResponder
    from simulator.bridge.responder import modify_rule, service_policy
    from simulator.errors import MisterSmithError
    from simulator.swarm.scenario import HookPolicy

    try:
        rules = [modify_rule(text) for text in args.modify]
    except ValueError as error:
        raise MisterSmithError(str(error)) from None
    decide = service_policy(args.block_tool, args.block_rate, rules, args.seed)

    async def serve() -> None:
        responder = HookResponder(args.url, HookPolicy(), args.seed, decide=decide)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await responder.start()
        print(f"answering hooks on {args.url}", flush=True)
        try:
            await stopping.wait()
        finally:
            await responder.stop()
            counts = ", ".join(f"{k} {v}" for k, v in sorted(responder.answered.items()))
            console.print(f"answered: {counts or 'nothing'}")

    asyncio.run(serve())
    return 0


def add_responder(commands: Subparsers) -> None:
    """``mistersmith hook-responder``: the built-in hook responder as a service."""
    parser = commands.add_parser(
        "hook-responder", help="answer hook events on NATS by a policy (both dialects)"
    )
    parser.add_argument("--url", default=DEFAULT_URL, metavar="URL", help="NATS URL")
    parser.add_argument(
        "--block-tool",
        action="append",
        default=[],
        metavar="NAME",
        help="block pre_task events of this tool (repeatable)",
    )
    parser.add_argument(
        "--block-rate",
        type=number(float, 0, above=False),
        default=0.0,
        metavar="R",
        help="block this share of the other pre_task events (seeded)",
    )
    parser.add_argument(
        "--modify",
        action="append",
        default=[],
        metavar="TOOL:KEY=VALUE",
        help="approve with modifications {KEY: VALUE} (VALUE as JSON, else text;"
        " TOOL '*' for every tool; repeatable)",
    )
    parser.add_argument(
        "--seed",
        type=number(int, 0, above=False),
        default=0,
        metavar="K",
        help="seed of --block-rate",
    )
    parser.set_defaults(handler=_responder)
