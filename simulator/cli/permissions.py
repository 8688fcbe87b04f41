"""``mistersmith permissions show``: each identity's publish and subscribe allow lists."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers, fitted_table

__all__ = ["add"]

#: The agent the full table shows (every agent's lists are these with its own id).
_EXAMPLE_AGENT = "a1"


def _show(args: argparse.Namespace, console: Console) -> int:
    from simulator.protocol import permissions as perms

    who = [perms.identity(args.role)] if args.role else perms.identities([_EXAMPLE_AGENT])
    rows = []
    for identity in who:
        granted = perms.permissions(identity)
        rows.append(
            (
                escape(identity.name),
                escape("\n".join(granted.publish)) if granted.publish is not None else "(all)",
                escape("\n".join(granted.subscribe)) if granted.subscribe is not None else "(all)",
                "yes" if granted.allow_responses else "no",
            )
        )
    columns = ("identity", "publish allow", "subscribe allow", "allow_responses")
    title = "Permissions from the channel catalogue"
    if not args.role:
        title += f" (agent:{_EXAMPLE_AGENT} stands for every agent, with its own id)"
    console.print(fitted_table(console, title, columns, rows))
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "permissions", help="per-identity permissions derived from the channel catalogue"
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="print each identity's allow lists")
    show.add_argument(
        "--role",
        metavar="R",
        help="one identity: admin, agent:<id>, dispatcher, monitor, hook_responder, "
        "orchestrator or operator (default: all, with an agent as agent:<id>)",
    )
    show.set_defaults(handler=_show)
