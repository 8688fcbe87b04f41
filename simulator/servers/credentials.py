"""Credentials of a client of a server someone else secures: files named on a command line
(``mistersmith run --url``, the hook bridge), read into the keyword arguments of
``nats.connect``."""

from __future__ import annotations

import argparse
import ssl
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import ConfigError

__all__ = ["OPTIONS", "ClientCredentials", "add_arguments", "from_arguments"]


@dataclass(frozen=True)
class ClientCredentials:
    """How a client reaches a server someone else secures: files named on a command line.

    Each file is read when :meth:`connect_options` is called; one that cannot be read, or a
    CA or certificate that is not one, is a ConfigError naming the option and the file.
    """

    creds: Path | None = None
    user: str | None = None
    password_file: Path | None = None
    nkey_seed: Path | None = None
    token_file: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_hostname: str | None = None
    inbox_prefix: str | None = None

    def connect_options(self) -> dict[str, object]:
        """Keyword arguments of ``nats.connect`` for the credentials and TLS above."""
        options: dict[str, object] = {}
        if self.creds is not None:
            _read_file("--creds", self.creds)  # nats-py reads it later, with a worse error
            options["user_credentials"] = str(self.creds)
        if self.user is not None:
            options["user"] = self.user
        if self.password_file is not None:
            options["password"] = _read_file("--password-file", self.password_file)
        if self.token_file is not None:
            options["token"] = _read_file("--token-file", self.token_file)
        if self.nkey_seed is not None:
            options["nkeys_seed_str"] = _read_file("--nkey-seed", self.nkey_seed)
        if self.inbox_prefix is not None:
            options["inbox_prefix"] = self.inbox_prefix
        if self.tls_ca is not None or self.tls_cert is not None:
            options["tls"] = self._context()
            if self.tls_hostname is not None:
                options["tls_hostname"] = self.tls_hostname
        return options

    def _context(self) -> ssl.SSLContext:
        for option, path in (("--tls-ca", self.tls_ca), ("--tls-cert", self.tls_cert)):
            if path is not None:
                _read_file(option, path)
        try:
            context = ssl.create_default_context(
                cafile=None if self.tls_ca is None else str(self.tls_ca)
            )
        except ssl.SSLError as error:
            raise ConfigError(f"--tls-ca {self.tls_ca}: not a CA certificate ({error})") from None
        if self.tls_cert is not None:
            key = None if self.tls_key is None else str(self.tls_key)
            try:
                context.load_cert_chain(str(self.tls_cert), key)
            except (OSError, ssl.SSLError) as error:
                raise ConfigError(
                    f"--tls-cert {self.tls_cert} / --tls-key {self.tls_key}: not a certificate "
                    f"and its key ({error})"
                ) from None
        return context


def _read_file(option: str, path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not text"
        raise ConfigError(f"{option} {path}: {reason or error}") from None


#: The command-line options of :class:`ClientCredentials`: flag, metavar, help.
OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--creds", "FILE", "a .creds file (user JWT and nkey seed)"),
    ("--user", "NAME", "user name (with --password-file)"),
    ("--password-file", "FILE", "file holding the password"),
    ("--nkey-seed", "FILE", "file holding an nkey seed (SU...)"),
    ("--token-file", "FILE", "file holding the token"),
    ("--tls-ca", "FILE", "CA certificate to trust (turns TLS on)"),
    ("--tls-cert", "FILE", "client certificate, for mtls"),
    ("--tls-key", "FILE", "client key (if not in --tls-cert)"),
    ("--tls-hostname", "NAME", "name to verify the server's certificate against"),
    ("--inbox-prefix", "PREFIX", "inbox prefix of a secured identity (_INBOX.<user>)"),
)


def add_arguments(parser: argparse._ActionsContainer, *, default: object = None) -> None:
    """Add :data:`OPTIONS` to ``parser`` (or an argument group of one)."""
    for flag, meta, text in OPTIONS:
        kind = str if meta in ("NAME", "PREFIX") else Path
        parser.add_argument(flag, default=default, type=kind, metavar=meta, help=text)


def from_arguments(args: argparse.Namespace) -> ClientCredentials:
    """The credentials parsed by :func:`add_arguments` (an option not given is None)."""
    names = [flag[2:].replace("-", "_") for flag, _, _ in OPTIONS]
    return ClientCredentials(**{name: getattr(args, name, None) for name in names})
