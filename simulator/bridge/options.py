"""The bridge's command-line options, shared by ``mistersmith hook`` and the lean
``mistersmith-hook`` entry point (:func:`simulator.bridge.command.main`), read in one place."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulator.bridge.core import BridgeConfig

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
    for flag, meta, text in (
        ("--user", "NAME", "user name (with --password-file)"),
        ("--password-file", "FILE", "file holding the password"),
        ("--nkey-seed", "FILE", "file holding an nkey seed (SU...)"),
        ("--token-file", "FILE", "file holding the token"),
        ("--tls-ca", "FILE", "CA certificate to trust (turns TLS on)"),
        ("--tls-cert", "FILE", "client certificate, for mtls"),
        ("--tls-key", "FILE", "client key (if not in --tls-cert)"),
        ("--tls-hostname", "NAME", "name to verify the server's certificate against"),
        ("--inbox-prefix", "PREFIX", "inbox prefix of a secured identity (_INBOX.<user>)"),
    ):
        kind = str if meta in ("NAME", "PREFIX") else Path
        parser.add_argument(flag, default=s, type=kind, metavar=meta, help=text)
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
        user=getattr(args, "user", None),
        password_file=getattr(args, "password_file", None),
        nkey_seed=getattr(args, "nkey_seed", None),
        token_file=getattr(args, "token_file", None),
        tls_ca=getattr(args, "tls_ca", None),
        tls_cert=getattr(args, "tls_cert", None),
        tls_key=getattr(args, "tls_key", None),
        tls_hostname=getattr(args, "tls_hostname", None),
        inbox_prefix=getattr(args, "inbox_prefix", None),
    )
