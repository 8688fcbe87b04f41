"""``mistersmith schemas export``: one JSON Schema per model."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers

__all__ = ["add"]


def _schemas_export(args: argparse.Namespace, console: Console) -> int:
    from simulator.protocol.models import export_schemas  # lazy: pydantic models

    written = export_schemas(Path(args.directory))
    for path in written:
        console.print(escape(str(path)))
    console.print(f"{len(written)} schema(s) written to {escape(str(args.directory))}")
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser("schemas", help="JSON schemas of the messages")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write one JSON schema per message into DIR")
    export.add_argument("directory", type=Path, metavar="DIR")
    export.set_defaults(handler=_schemas_export)
