"""The ``mistersmith`` command: one module per command (``topology``, ``schemas``, ``server``,
``run``, ``worker``, ``report``, ``image``, ``asyncapi``, ``permissions``, ``hook`` and
``hook-responder`` in ``bridge``), each with an ``add(commands)`` that builds its parser and
sets its handler ``(args, console) -> exit code``. The commands are thin: they parse, call the
packages, and print. A :class:`~simulator.errors.MisterSmithError` prints one line to stderr
and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from simulator import __version__
from simulator.errors import MisterSmithError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["build_parser", "main"]

#: What makes ``mistersmith hook ...`` more than the command hook itself.
_NOT_THE_HOOK = frozenset({"serve", "replay", "install", "-h", "--help"})


def build_parser() -> argparse.ArgumentParser:
    """The ``mistersmith`` argument parser with every command."""
    from simulator.cli import (
        asyncapi,
        bridge,
        image,
        permissions,
        report,
        run,
        schemas,
        server,
        topology,
        worker,
    )

    parser = argparse.ArgumentParser(
        prog="mistersmith", description="Mister Smith NATS transport testbed."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    topology.add(commands)
    schemas.add(commands)
    server.add(commands)
    run.add(commands)
    report.add(commands)
    image.add(commands)
    asyncapi.add(commands)
    permissions.add(commands)
    bridge.add(commands)
    bridge.add_responder(commands)
    worker.add(commands)
    return parser


def _console() -> Console:
    from rich.console import Console

    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:  # piped: wide, unless told
        console = Console(
            file=sys.stdout, highlight=False, soft_wrap=True, width=max(console.width, 200)
        )
    return console


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``mistersmith`` with ``argv`` (default: the process arguments); return the exit code."""
    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["hook"] and not _NOT_THE_HOOK & set(given[1:]):
        # the command hook: a process per Claude Code hook, so none of the rest is imported
        from simulator.bridge.command import main as hook

        try:
            return hook(given[1:], prog="mistersmith hook")
        except SystemExit as exc:  # a usage error: 2, which Claude Code takes as a block
            return exc.code if isinstance(exc.code, int) else 2
    from simulator.cli._common import Handler

    parser = build_parser()
    try:
        args = parser.parse_args(given)
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
