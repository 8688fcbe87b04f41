"""``mistersmith asyncapi``: the AsyncAPI 3.0 document of the transport."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers

__all__ = ["add"]


def _asyncapi(args: argparse.Namespace, console: Console) -> int:
    from simulator.asyncapi import write_asyncapi

    write_asyncapi(args.output)
    if args.output is not None:
        console.print(f"wrote {escape(str(args.output))}")
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser("asyncapi", help="the AsyncAPI 3.0 document of the transport")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="JSON for .json, else YAML (default: stdout)",
    )
    parser.set_defaults(handler=_asyncapi)
