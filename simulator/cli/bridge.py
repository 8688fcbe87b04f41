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

from simulator.cli._common import Subparsers, number, positive_int

__all__ = ["add", "add_responder"]

_DEFAULT_URL = "nats://127.0.0.1:4222"
_DEFAULT_TIMEOUT = 5.0


def _config(args: argparse.Namespace) -> object:
    from simulator.bridge import BridgeConfig

    return BridgeConfig(
        url=getattr(args, "url", _DEFAULT_URL),
        timeout=getattr(args, "timeout", _DEFAULT_TIMEOUT),
        on_failure=getattr(args, "on_failure", "deny"),
        agent_id=getattr(args, "agent_id", None),
        dialect=getattr(args, "dialect", "12.1"),
    )


def _hook(args: argparse.Namespace, console: Console) -> int:
    from simulator.bridge.command import run_hook
    from simulator.bridge.core import BridgeConfig

    config = _config(args)
    assert isinstance(config, BridgeConfig)
    return run_hook(config, record=getattr(args, "record", None))


def _serve(args: argparse.Namespace, console: Console) -> int:
    from simulator.bridge import BridgeConfig, HookServer, Recorder

    config = _config(args)
    assert isinstance(config, BridgeConfig)
    host, _, port = args.listen.rpartition(":")
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
    from simulator.bridge import BridgeConfig, HookBridge, read_records, replay

    config = _config(args)
    assert isinstance(config, BridgeConfig)
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

    timeout = getattr(args, "timeout", _DEFAULT_TIMEOUT)
    command = hook_command(
        getattr(args, "url", _DEFAULT_URL), timeout, getattr(args, "on_failure", "deny")
    )
    try:
        changes = install(args.settings, command, timeout)
    except ValueError as error:
        from simulator.errors import MisterSmithError

        raise MisterSmithError(str(error)) from None
    for line in changes or [f"{args.settings}: the bridge's hooks are already there"]:
        console.print(escape(line))
    return 0


def _bridge_options(parser: argparse.ArgumentParser, *, record: bool = True) -> None:
    # SUPPRESS: an action's parser does not reset what `hook` itself was given.
    s = argparse.SUPPRESS
    parser.add_argument(
        "--url",
        default=s,
        metavar="URL",
        help=f"NATS URL (default {_DEFAULT_URL}; "
        "credentials as nats://user:password@host or nats://token@host)",
    )
    parser.add_argument(
        "--timeout",
        default=s,
        type=number(float, 0, above=True),
        metavar="S",
        help=f"seconds to wait for the answer (default {_DEFAULT_TIMEOUT:g}; "
        "keep it under Claude Code's hook timeout)",
    )
    parser.add_argument(
        "--on-failure",
        default=s,
        choices=("deny", "allow"),
        help="what a failure answers (default deny: fail closed)",
    )
    parser.add_argument(
        "--agent-id",
        default=s,
        metavar="ID",
        help="the agent id (default: the session id, made a subject token)",
    )
    parser.add_argument(
        "--dialect",
        default=s,
        choices=("12.1", "2.1"),
        help="hook subjects (default 12.1; spec-notes 17)",
    )
    if record:
        parser.add_argument(
            "--record",
            default=s,
            type=Path,
            metavar="FILE",
            help="append every hook and its answer to FILE (JSONL)",
        )


def add(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "hook", help="the Claude Code hook bridge (command hook; serve, replay, install)"
    )
    _bridge_options(parser)
    parser.set_defaults(handler=_hook)
    actions = parser.add_subparsers(dest="action", required=False, metavar="ACTION")
    serve = actions.add_parser("serve", help="the bridge as an HTTP service for http hooks")
    _bridge_options(serve)
    serve.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="where to listen (default 127.0.0.1:0, a port the OS picks)",
    )
    serve.set_defaults(handler=_serve)
    replay = actions.add_parser("replay", help="feed a recorded JSONL file back through the bridge")
    replay.add_argument("file", type=Path, metavar="FILE")
    _bridge_options(replay, record=False)
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
    _bridge_options(install, record=False)
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
    parser.add_argument("--url", default=_DEFAULT_URL, metavar="URL", help="NATS URL")
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
