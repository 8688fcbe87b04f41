"""A secured server's credentials directory, read back by another process.

A server we start and secure writes every identity's files into its credentials directory
(:mod:`simulator.servers.security`: ``<user>.password``, ``<user>.nk``, ``<user>.creds``,
``<user>.pem``/``<user>.key``, ``token``, ``ca.pem``). A worker of a spread run
(``mistersmith worker --credentials-dir DIR``) reads them to connect as ``admin`` for the run's
coordination and as ``agent:<id>`` for each of its agents: the same per-agent identities a
one-process run gives its agents (spec-notes 28). The profile is read from the files present.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from simulator.errors import ConfigError
from simulator.servers.security import Auth, Material, Security, TlsMode, _Secret

__all__ = ["CredentialsDir"]

_OPTION = "--credentials-dir"


class CredentialsDir:
    """The credentials of a secured server we started, read from ``path``.

    ConfigError (naming the option and the directory) when ``path`` is not one."""

    def __init__(self, path: Path) -> None:
        if not path.is_dir():
            raise ConfigError(f"{_OPTION} {path}: not a directory")
        self.path = path
        auth = self._auth()
        tls: TlsMode = "off"
        if (path / "admin.pem").is_file():
            tls = "mtls"
        elif (path / "ca.pem").is_file():
            tls = "tls"
        if (auth, tls) == ("none", "off"):
            raise ConfigError(
                f"{_OPTION} {path}: no admin credentials and no ca.pem: not the credentials "
                "directory of a server secured with --auth/--tls"
            )
        self.security = Security(auth, tls)
        token = self._read("token") if auth == "token" else ""
        ca = path / "ca.pem" if tls != "off" else None
        self._material = Material(self.security, path, token, ca)

    def _auth(self) -> Auth:
        for auth, name in (
            ("jwt", "admin.creds"),
            ("nkey", "admin.nk"),
            ("password", "admin.password"),
            ("token", "token"),
        ):
            if (self.path / name).is_file():
                return auth  # type: ignore[return-value]
        return "none"

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"{_OPTION} {self.path}: cannot read {name} ({error})") from None

    def _load(self, name: str) -> None:
        """Read ``name``'s secret into the material (once)."""
        from simulator.protocol.permissions import identity

        who = identity(name)
        if who.name in self._material.secrets:
            return
        auth, user = self.security.auth, who.user
        password = self._read(f"{user}.password") if auth == "password" else ""
        seed = self._read(f"{user}.nk").encode() if auth == "nkey" else b""
        creds = None
        if auth == "jwt":
            creds = self.path / f"{user}.creds"
            self._read(creds.name)  # missing: the one line now, not nats-py's later
        cert = key = None
        if self.security.tls == "mtls":
            cert, key = self.path / f"{user}.pem", self.path / f"{user}.key"
            self._read(cert.name)
        self._material.secrets[who.name] = _Secret(password, seed, "", cert, key, creds)

    def connect_options(self, name: str = "admin") -> dict[str, object]:
        """Keyword arguments of ``nats.connect`` for identity ``name`` (``admin`` by default)."""
        self._load(name)
        return self._material.connect_options(name)

    def agent_options(self, agent_ids: Sequence[str]) -> list[dict[str, object]]:
        """:meth:`connect_options` of ``agent:<id>`` for each of ``agent_ids``, in order (a
        swarm's ``agent_options``). The server must know them already: the coordinator adds
        every agent of the run before the workers start."""
        return [self.connect_options(f"agent:{agent_id}") for agent_id in agent_ids]
