"""Security profiles of a server: who may connect, how they prove it, and over what.

A :class:`Security` names an ``auth`` (``none``, ``token``, ``password``, ``nkey``, ``jwt``:
decentralised, an operator, one account and a user JWT per identity, memory resolver) and a
``tls`` (``off``, ``tls``: the server has a certificate; ``mtls``: clients need one too, and
the certificate's e-mail name is the user, ``verify_and_map``). :func:`make_material` creates
what the profile needs in a directory (the server's temp dir): one password or nkey seed per
identity (``nkeys``), a server certificate and one client certificate per identity from the
session's CA (``trustme``; the CA and each certificate made once per process), and writes
them as files for tools outside Python (``<user>.nk``, ``<user>.password``,
``<user>.pem``/``<user>.key``, ``ca.pem``). :class:`Material` renders the server's side
(:meth:`Material.users`, :meth:`Material.tls_block`) and the client's
(:meth:`Material.connect_options`, the keyword arguments of ``nats.connect``).

Every identity's permissions come from :mod:`simulator.protocol.permissions`; ``admin`` has
none. ``token`` is one secret for everyone: nats-server has no users with a token, so it gives
no per-identity permissions (docs/spec-notes.md section 24). With any auth but ``none`` the
server refuses clients without credentials (no ``no_auth_user``): it fails closed.
"""

from __future__ import annotations

import functools
import secrets
import ssl
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal, get_args

from simulator.errors import ConfigError

if TYPE_CHECKING:
    import trustme

    from simulator.protocol.permissions import Identity
    from simulator.servers._jwt import KeyPair

__all__ = [
    "AUTHS",
    "TLS_MODES",
    "Auth",
    "Material",
    "Security",
    "TlsMode",
    "make_material",
]

Auth = Literal["none", "token", "password", "nkey", "jwt"]
TlsMode = Literal["off", "tls", "mtls"]
AUTHS: tuple[str, ...] = get_args(Auth)
TLS_MODES: tuple[str, ...] = get_args(TlsMode)
_MAIL_DOMAIN = "mistersmith.invalid"
#: Seconds a TLS handshake may take (nats-server's default is 0.5 s): a swarm opens hundreds
#: of connections from one Python event loop, whose handshakes wait their turn on a busy
#: machine; past this the server resets the connection.
TLS_HANDSHAKE_TIMEOUT = 5


@dataclass(frozen=True)
class Security:
    """A security profile: the auth, the TLS mode, and the agents that get identities."""

    auth: Auth = "none"
    tls: TlsMode = "off"
    #: Agent ids with an ``agent:<id>`` identity (admin and every other role always have one).
    agents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.auth not in AUTHS:
            raise ConfigError(f"auth: {self.auth!r} is not one of {', '.join(AUTHS)}")
        if self.tls not in TLS_MODES:
            raise ConfigError(f"tls: {self.tls!r} is not one of {', '.join(TLS_MODES)}")
        from simulator.protocol.permissions import identity

        for agent in self.agents:
            identity(f"agent:{agent}")  # ConfigError naming a bad id

    @property
    def open(self) -> bool:
        """No auth and no TLS: today's server, nothing to make."""
        return self.auth == "none" and self.tls == "off"

    def identities(self) -> tuple[Identity, ...]:
        """``admin``, every role, and one identity per agent."""
        from simulator.protocol.permissions import identities

        return identities(self.agents)

    def __str__(self) -> str:
        return f"auth={self.auth} tls={self.tls}"


@dataclass(frozen=True)
class _Secret:
    password: str = ""
    seed: bytes = b""
    public: str = ""
    cert: Path | None = None
    key: Path | None = None
    creds: Path | None = None


@dataclass
class _Operator:
    """The decentralised-auth keys and JWTs of a ``jwt`` profile."""

    operator_jwt: str
    account_public: str
    account_jwt: str
    #: The account's and the operator's keys, kept to sign users and revocations.
    account: KeyPair
    operator: KeyPair
    jetstream: dict[str, int]
    system_public: str = ""
    system_jwt: str = ""
    revocations: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Material:
    """The credentials and certificates of one server (see the module)."""

    security: Security
    directory: Path
    token: str = ""
    ca: Path | None = None
    server_cert: Path | None = None
    server_key: Path | None = None
    secrets: dict[str, _Secret] = field(default_factory=dict)
    operator: _Operator | None = None
    #: The trustme CA, kept to issue client certificates for identities added later.
    ca_issuer: trustme.CA | None = None
    #: The password a cluster's nodes give each other on their routes ("" when open).
    route_password: str = ""
    _contexts: dict[str, ssl.SSLContext] = field(default_factory=dict, repr=False)

    def add(self, name: str | Identity) -> bool:
        """Give ``name`` credentials too (``agent:<id>`` not known at the start); True when
        the server must reload its configuration to know it (every auth but ``jwt``)."""
        from simulator.protocol.permissions import identity

        who = identity(name) if isinstance(name, str) else name
        if who.name in self.secrets:
            return False
        self.secrets[who.name] = _secret_for(
            self.security, who, self.directory, self.ca_issuer, self.operator
        )
        return self.security.tls == "mtls" or self.security.auth in ("password", "nkey")

    def identity(self, name: str | Identity) -> Identity:
        """The identity called ``name``; ConfigError naming the known ones if it has none."""
        from simulator.protocol.permissions import identity

        who = identity(name) if isinstance(name, str) else name
        if who.name not in self.secrets:
            known = ", ".join(self.secrets)
            raise ConfigError(
                f"identity {who.name!r} has no credentials on this server ({self.security}); "
                f"known: {known}"
            )
        return who

    def users(self) -> list[dict[str, object]]:
        """The account's ``users`` entries: one per identity, with its permissions."""
        from simulator.protocol.permissions import identity, permissions

        if self.security.auth in ("none", "token", "jwt") and self.security.tls != "mtls":
            return []
        entries: list[dict[str, object]] = []
        for name, secret in self.secrets.items():
            who = identity(name)
            entry: dict[str, object]
            if self.security.tls == "mtls":
                entry = {"user": _mail(who)}
            elif self.security.auth == "nkey":
                entry = {"nkey": secret.public}
            else:
                entry = {"user": who.user, "password": secret.password}
            block = permissions(who).as_conf()
            if block:
                entry["permissions"] = block
            entries.append(entry)
        return entries

    def revoke(self, name: str | Identity) -> None:
        """Revoke the user JWT of ``name`` (``jwt`` profile) in the account JWT; the server
        learns it on its next reload (``BinaryServer.reload()``)."""
        import simulator.servers._jwt as _jwt

        who = self.identity(name)
        op = self.operator
        if op is None:
            raise ConfigError(f"revoke {who.name}: only a jwt profile has revocable users")
        revoked = dict(op.revocations)
        revoked[self.secrets[who.name].public] = int(time.time()) + 1
        op.revocations = revoked
        op.account_jwt = _jwt.account_jwt(
            op.operator, op.account, "MISTERSMITH", op.jetstream, revoked
        )

    def tls_block(self) -> dict[str, object] | None:
        """The server's ``tls {}`` block, or None without TLS."""
        if self.security.tls == "off":
            return None
        block: dict[str, object] = {
            "cert_file": str(self.server_cert),
            "key_file": str(self.server_key),
            "ca_file": str(self.ca),
            "timeout": TLS_HANDSHAKE_TIMEOUT,
        }
        if self.security.tls == "mtls":
            block["verify_and_map"] = True
        return block

    def route_tls_block(self) -> dict[str, object] | None:
        """The ``tls {}`` block of a cluster's routes (the server certificate, which names
        every node; nats-server verifies both ends of a route), or None without TLS."""
        if self.security.tls == "off":
            return None
        return {
            "cert_file": str(self.server_cert),
            "key_file": str(self.server_key),
            "ca_file": str(self.ca),
            "timeout": TLS_HANDSHAKE_TIMEOUT,
        }

    def server_files(self) -> tuple[Path, ...]:
        """The files the server itself reads (CA, certificate, key); () without TLS."""
        found = (self.ca, self.server_cert, self.server_key)
        return tuple(path for path in found if path is not None)

    def relocated(self, directory: PurePosixPath) -> Material:
        """This material as a server sees it with :meth:`server_files` copied to
        ``directory`` (a container's): the same credentials, the files' paths there."""

        def moved(path: Path | None) -> Path | None:
            return None if path is None else Path(directory / path.name)

        return replace(
            self,
            ca=moved(self.ca),
            server_cert=moved(self.server_cert),
            server_key=moved(self.server_key),
        )

    def ssl_context(self, who: Identity | None = None) -> ssl.SSLContext | None:
        """A client TLS context trusting our CA (with ``who``'s certificate under mtls); made
        once per identity (every test's client asks for one)."""
        if self.security.tls == "off":
            return None
        key = who.name if self.security.tls == "mtls" and who is not None else ""
        context = self._contexts.get(key)
        if context is None:
            context = ssl.create_default_context(cafile=str(self.ca))
            if key:
                secret = self.secrets[key]
                context.load_cert_chain(str(secret.cert), str(secret.key))
            self._contexts[key] = context
        return context

    def connect_options(self, name: str | Identity = "admin") -> dict[str, object]:
        """Keyword arguments of ``nats.connect`` for ``name``: credentials, TLS, inbox prefix."""
        from simulator.protocol.permissions import inbox_prefix

        who = self.identity(name)
        secret = self.secrets[who.name]
        options: dict[str, object] = {"inbox_prefix": inbox_prefix(who)}
        if self.security.auth == "jwt":
            options["user_credentials"] = str(secret.creds)
        elif self.security.tls != "mtls":
            if self.security.auth == "token":
                options["token"] = self.token
            elif self.security.auth == "password":
                options["user"], options["password"] = who.user, secret.password
            elif self.security.auth == "nkey":
                options["nkeys_seed_str"] = secret.seed.decode()
        context = self.ssl_context(who)
        if context is not None:
            options["tls"] = context
            options["tls_hostname"] = "localhost"
        return options


def _mail(who: Identity) -> str:
    return f"{who.user}@{_MAIL_DOMAIN}"


def make_material(
    security: Security,
    directory: Path,
    jetstream: dict[str, int] | None = None,
    hosts: tuple[str, ...] = (),
) -> Material:
    """Create ``security``'s credentials and certificates under ``directory`` (made 0700).

    ``jetstream``: the account's JetStream limits of a ``jwt`` profile (``mem_storage``,
    ``disk_storage``, ``streams``, ``consumer``). ``hosts``: more names the server
    certificate holds beside ``localhost`` and ``127.0.0.1`` (a cluster's route host names).
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24) if security.auth == "token" else ""
    if token:
        _write(directory / "token", token)
    ca_path = cert_path = key_path = None
    ca = None
    if security.tls != "off":
        ca = _session_ca()
        ca_path = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_path))
        cert_path, key_path = _issue(ca, directory, "server", "localhost", "127.0.0.1", *hosts)
    operator = _make_operator(jetstream or {}) if security.auth == "jwt" else None
    made: dict[str, _Secret] = {}
    for who in security.identities():
        made[who.name] = _secret_for(security, who, directory, ca, operator)
    route = "" if security.open else secrets.token_urlsafe(18)  # nodes of one cluster only
    return Material(
        security, directory, token, ca_path, cert_path, key_path, made, operator, ca, route
    )


def _make_operator(jetstream: dict[str, int]) -> _Operator:
    import simulator.servers._jwt as _jwt

    operator, account = _jwt.new_key("operator"), _jwt.new_key("account")
    system = _jwt.new_key("account")  # JetStream needs the server's system account
    return _Operator(
        _jwt.operator_jwt(operator, "mistersmith"),
        account.public,
        _jwt.account_jwt(operator, account, "MISTERSMITH", jetstream),
        account,
        operator,
        dict(jetstream),
        system.public,
        _jwt.account_jwt(operator, system, "SYS", {}),
    )


def _secret_for(
    security: Security,
    who: Identity,
    directory: Path,
    ca: trustme.CA | None,
    operator: _Operator | None,
) -> _Secret:
    seed = b""
    public = text_password = ""
    creds = None
    if security.auth == "password":
        text_password = secrets.token_urlsafe(18)
        _write(directory / f"{who.user}.password", text_password)
    elif security.auth == "nkey":
        import simulator.servers._jwt as _jwt

        key = _jwt.new_key("user")
        seed, public = key.seed, key.public
        _write(directory / f"{who.user}.nk", seed.decode())
    elif security.auth == "jwt" and operator is not None:
        creds = directory / f"{who.user}.creds"
        text, public = user_creds(operator, who)
        _write(creds, text)
    cert = key_file = None
    if security.tls == "mtls" and ca is not None:
        cert, key_file = _issue(ca, directory, who.user, _mail(who))
    return _Secret(text_password, seed, public, cert, key_file, creds)


@functools.cache
def _session_ca() -> trustme.CA:
    """The CA of this process (the session): made once, its key never written anywhere."""
    import trustme

    return trustme.CA(organization_name="mistersmith test CA")


@functools.cache
def _leaf(ca: trustme.CA, names: tuple[str, ...]) -> trustme.LeafCert:
    """``ca``'s leaf certificate for ``names``, made once per process (each server's temp dir
    gets its own copy of the files)."""
    return ca.issue_cert(*names)


def _issue(ca: trustme.CA, directory: Path, stem: str, *names: str) -> tuple[Path, Path]:
    """A leaf certificate of ``ca`` for ``names``, written as ``<stem>.pem`` and ``.key``."""
    leaf = _leaf(ca, names)
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


def user_creds(operator: _Operator, who: Identity, expires: int | None = None) -> tuple[str, str]:
    """A ``.creds`` text for ``who`` in the operator's account (``expires``: a Unix time),
    and the user's public key."""
    import simulator.servers._jwt as _jwt
    from simulator.protocol.permissions import permissions

    user = _jwt.new_key("user")
    token = _jwt.user_jwt(operator.account, user, who.user, permissions(who).as_conf(), expires)
    return _jwt.creds(token, user), user.public


def _write(path: Path, text: str) -> None:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(0o600)
