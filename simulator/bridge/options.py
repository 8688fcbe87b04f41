"""The bridge's command-line options, shared by ``mistersmith hook`` and the lean
``mistersmith-hook`` entry point (:func:`simulator.bridge.command.main`), read in one place."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.bridge.core import BridgeConfig
from simulator.servers.credentials import add_arguments as add_credentials
from simulator.servers.credentials import from_arguments as credentials_from

__all__ = ["DEFAULT_TIMEOUT", "DEFAULT_URL", "add_options", "bridge_config"]

DEFAULT_URL = "nats://127.0.0.1:4222"
DEFAULT_TIMEOUT = 5.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def add_options(parser: argparse.ArgumentParser, *, record: bool = True) -> None:
    """Add the bridge's options to ``parser`` (defaults suppressed: see :func:`bridge_config`).

    Suppressed defaults let an action's parser (``hook serve``) leave alone what ``hook``
    itself was given.
    """
    s = argparse.SUPPRESS
    parser.add_argument(
        "--url",
        default=s,
        metavar="URL",
        help=f"NATS URL (default {DEFAULT_URL}; "
        "credentials as nats://user:password@host or nats://token@host)",
    )
    parser.add_argument(
        "--timeout",
        default=s,
        type=_seconds,
        metavar="S",
        help=f"seconds to wait for the answer (default {DEFAULT_TIMEOUT:g}; "
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
    add_credentials(parser, default=s)
    if record:
        parser.add_argument(
            "--record",
            default=s,
            type=Path,
            metavar="FILE",
            help="append every hook and its answer to FILE (JSONL)",
        )


def bridge_config(args: argparse.Namespace) -> BridgeConfig:
    """The :class:`BridgeConfig` of parsed options (the defaults where one was not given)."""
    return BridgeConfig(
        url=getattr(args, "url", DEFAULT_URL),
        timeout=getattr(args, "timeout", DEFAULT_TIMEOUT),
        on_failure=getattr(args, "on_failure", "deny"),
        agent_id=getattr(args, "agent_id", None),
        dialect=getattr(args, "dialect", "12.1"),
        credentials=credentials_from(args),
    )
