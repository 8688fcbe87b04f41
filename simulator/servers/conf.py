"""A typed nats-server configuration, rendered to a nats-server config file.

Where each of the spec's RESOURCE_LIMITS lives (ERRATA 8):

- ``max_memory_store`` / ``max_file_store``: server JetStream limits, always rendered explicitly
  (left out, the server sizes them from free memory and disk, and a small disk then refuses the
  topology's stream reservations).
- ``max_streams`` / ``max_consumers``: exist only as *account* JetStream limits. The config
  declares one account (``MISTERSMITH`` by default) with those limits and makes every client
  that connects without credentials land in it (``no_auth_user``), so a plain
  ``nats.connect(url)`` works and is limited.
- ``max_connections``: per server.
- ``max_subscriptions``: enforced **per connection** by nats-server, not across the server.

``max_payload`` (ERRATA 7) must cover the largest stream ``max_msg_size`` (10 MiB for
``task_lifecycle``) plus the message headers, which count against it; the default is 16 MiB.
nats-server logs a warning for anything above 8 MB; it is harmless.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from simulator.errors import ConfigError

if TYPE_CHECKING:
    from simulator.protocol.topology import Topology
    from simulator.servers.security import Material

__all__ = [
    "ACCOUNT_NKEY",
    "DEFAULT_MAX_PAYLOAD",
    "MAX_PAYLOAD_LIMIT",
    "ClusterConfig",
    "LogLevel",
    "ServerConfig",
    "for_topology",
    "render",
    "resolve_topology",
]

MiB = 1024 * 1024
GiB = 1024 * MiB

#: Default ``max_payload``: ``task_lifecycle``'s 10 MiB ``max_msg_size`` plus header room.
DEFAULT_MAX_PAYLOAD = 16 * MiB
#: nats-server refuses a ``max_payload`` above its default ``max_pending`` (64 MiB).
MAX_PAYLOAD_LIMIT = 64 * MiB
#: nats-server's minimum ``lame_duck_duration``.
MIN_LAME_DUCK_DURATION = 30.0

#: The public user nkey that clients without credentials are mapped to (``no_auth_user``).
#: It is a well-formed key with no known seed (its key bytes are sha256("mistersmith")), so no
#: one can log in as it explicitly; unlike a user with a password it draws no "plaintext
#: password" warning, and unlike a bcrypt password it works with ``no_auth_user``.
ACCOUNT_NKEY = "UALILNHQWH7AYRP76U57PQ7OLYDDV3KVFXE3DF6WIOGJOMEE545P7FTO"
#: The user a secured cluster's nodes are to each other on their routes.
ROUTE_USER = "mistersmith-route"

LogLevel = Literal["info", "debug", "trace"]
_LOG_LEVELS: tuple[str, ...] = ("info", "debug", "trace")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_SYNC_RE = re.compile(r"^(always|\d+(\.\d+)?(ms|s|m|h))$")


@dataclass(frozen=True)
class ClusterConfig:
    """The ``cluster {}`` block: a cluster name, the route listener and the routes to solicit."""

    name: str
    host: str = "127.0.0.1"
    port: int = -1
    routes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name("cluster.name", self.name)
        _check_host("cluster.host", self.host)
        _check_port("cluster.port", self.port)
        for route in self.routes:
            if not route.startswith(("nats://", "nats-route://")):
                raise ConfigError(
                    f"cluster.routes: {route!r} is not a route URL; "
                    "write nats-route://HOST:PORT (or nats://HOST:PORT)"
                )


@dataclass(frozen=True)
class ServerConfig:
    """Everything we set on a nats-server, validated on construction (``ConfigError``)."""

    host: str = "127.0.0.1"
    #: -1: the server picks a free port (read back from its ports file).
    port: int = -1
    http_host: str = "127.0.0.1"
    http_port: int = -1
    server_name: str | None = None
    max_payload: int = DEFAULT_MAX_PAYLOAD
    max_connections: int = 10_000
    #: Per connection (nats-server has no server-wide subscription limit); 0 is unlimited.
    max_subscriptions: int = 100_000
    jetstream: bool = True
    #: None: the runner picks one (BinaryServer: inside its temp dir); nats-server appends
    #: ``jetstream/`` to it.
    store_dir: Path | None = None
    max_memory_store: int = 2 * GiB
    max_file_store: int = 100 * GiB
    #: JetStream's ``sync_interval``: "always" (fsync every write) or a duration such as
    #: "10s" (None: the server's default, 2 minutes).
    sync_interval: str | None = None
    account: str = "MISTERSMITH"
    #: Account JetStream limits; -1 is unlimited.
    max_streams: int = 50
    max_consumers: int = 500
    log_level: LogLevel = "info"
    #: Seconds; nats-server refuses less than 30 s. A server without clients exits at once.
    lame_duck_duration: float = MIN_LAME_DUCK_DURATION
    lame_duck_grace_period: float = 1.0
    cluster: ClusterConfig | None = None
    #: Credentials, permissions and TLS of a secured server (None: open, today's default).
    security: Material | None = None
    #: Raw lines appended verbatim at the end (options this class does not model).
    extra: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        _check_host("host", self.host)
        _check_port("port", self.port)
        _check_host("http_host", self.http_host)
        _check_port("http_port", self.http_port)
        if self.server_name is not None and not _NAME.match(self.server_name):
            raise ConfigError(
                f"server_name: {self.server_name!r} must be letters, digits, '_' or '-'"
            )
        if not 0 < self.max_payload <= MAX_PAYLOAD_LIMIT:
            raise ConfigError(
                f"max_payload: {self.max_payload} must be in 1..{MAX_PAYLOAD_LIMIT} bytes "
                f"(cover the largest stream max_msg_size plus headers; default "
                f"{DEFAULT_MAX_PAYLOAD})"
            )
        _check_positive("max_connections", self.max_connections)
        if self.max_subscriptions < 0:
            raise ConfigError(
                f"max_subscriptions: {self.max_subscriptions} must be >= 0 "
                "(per connection; 0 is unlimited)"
            )
        _check_positive("max_memory_store", self.max_memory_store)
        _check_positive("max_file_store", self.max_file_store)
        _check_name("account", self.account)
        if self.account.startswith("$"):
            raise ConfigError(f"account: {self.account!r} is reserved by nats-server")
        _check_limit("max_streams", self.max_streams)
        _check_limit("max_consumers", self.max_consumers)
        if self.log_level not in _LOG_LEVELS:
            raise ConfigError(
                f"log_level: {self.log_level!r} is not one of {', '.join(_LOG_LEVELS)}"
            )
        if self.lame_duck_duration < MIN_LAME_DUCK_DURATION:
            raise ConfigError(
                f"lame_duck_duration: {self.lame_duck_duration} s is below nats-server's "
                f"minimum of {MIN_LAME_DUCK_DURATION:g} s"
            )
        if not 0 <= self.lame_duck_grace_period < self.lame_duck_duration:
            raise ConfigError(
                f"lame_duck_grace_period: {self.lame_duck_grace_period} s must be >= 0 and "
                f"below lame_duck_duration ({self.lame_duck_duration} s)"
            )
        if self.sync_interval is not None and not _SYNC_RE.match(self.sync_interval):
            raise ConfigError(
                f"sync_interval: {self.sync_interval!r} is not 'always' or a duration "
                "(500ms, 10s, 2m)"
            )
        for line in self.extra:
            if "\n" in line:
                raise ConfigError(f"extra: {line!r} must be a single line")

    @property
    def account_limits(self) -> dict[str, int]:
        """The account's JetStream limits as a ``jwt`` security profile's account JWT has them."""
        return {
            "mem_storage": self.max_memory_store,
            "disk_storage": self.max_file_store,
            "streams": self.max_streams,
            "consumer": self.max_consumers,
        }

    def with_ports(
        self, port: int, http_port: int, cluster_port: int | None = None
    ) -> ServerConfig:
        """This configuration with concrete listen ports (to restart or reload in place)."""
        cluster = self.cluster
        if cluster is not None and cluster_port is not None:
            cluster = replace(cluster, port=cluster_port)
        return replace(self, port=port, http_port=http_port, cluster=cluster)


def render(config: ServerConfig) -> str:
    """The nats-server config file text for ``config``."""
    lines = [
        "# nats-server configuration rendered by simulator.servers.conf (pytest-mistersmith)",
        f"host: {_quote(config.host)}",
        f"port: {config.port}",
        f"http: {_quote(_hostport(config.http_host, config.http_port))}",
    ]
    if config.server_name is not None:
        lines.append(f"server_name: {_quote(config.server_name)}")
    lines += [
        f"max_payload: {config.max_payload}",
        f"max_connections: {config.max_connections}",
        "# max_subscriptions is enforced per connection (ERRATA 8)",
        f"max_subscriptions: {config.max_subscriptions}",
        f"debug: {_bool(config.log_level in ('debug', 'trace'))}",
        f"trace: {_bool(config.log_level == 'trace')}",
        "logtime: true",
        f"lame_duck_duration: {_duration(config.lame_duck_duration)}",
        f"lame_duck_grace_period: {_duration(config.lame_duck_grace_period)}",
    ]
    if config.jetstream:
        lines.append("jetstream {")
        if config.store_dir is not None:
            lines.append(f"  store_dir: {_quote(str(config.store_dir))}")
        lines += [
            f"  max_memory_store: {config.max_memory_store}",
            f"  max_file_store: {config.max_file_store}",
        ]
        if config.sync_interval is not None:
            lines.append(f"  sync_interval: {_quote(config.sync_interval)}")
        lines.append("}")
    security = config.security
    if security is not None and security.operator is not None:
        op = security.operator
        lines += [
            "# decentralised auth: the operator, and its account preloaded in memory",
            f"operator: {_quote(op.operator_jwt)}",
            "resolver: MEMORY",
            f"system_account: {op.system_public}",
            "resolver_preload: {",
            f"  {op.account_public}: {_quote(op.account_jwt)}",
            f"  {op.system_public}: {_quote(op.system_jwt)}",
            "}",
        ]
    elif security is not None and security.token:
        # nats-server has no token users in an account: the token's clients are in the
        # global account, without the account's JetStream limits (spec-notes 24)
        lines += [
            "# a token: one secret for every client, in the global account",
            f"authorization {{ token: {_quote(security.token)} }}",
        ]
    else:
        lines += ["accounts {", f"  {config.account} {{"]
        if config.jetstream:
            lines += [
                "    jetstream {",
                f"      max_streams: {config.max_streams}",
                f"      max_consumers: {config.max_consumers}",
                "    }",
            ]
        users = security.users() if security is not None else []
        if users:
            lines += [f"    users: {json.dumps(users)}", "  }", "}"]
            lines.append("# no no_auth_user: a client without credentials is refused")
        else:
            lines += [
                f"    users: [ {{ nkey: {_quote(ACCOUNT_NKEY)} }} ]",
                "  }",
                "}",
                "# clients that connect without credentials land in the account above",
                f"no_auth_user: {_quote(ACCOUNT_NKEY)}",
            ]
    tls = security.tls_block() if security is not None else None
    if tls is not None:
        lines.append(f"tls: {json.dumps(tls)}")
    if config.cluster is not None:
        cluster = config.cluster
        lines += [
            "cluster {",
            f"  name: {_quote(cluster.name)}",
            f"  listen: {_quote(_hostport(cluster.host, cluster.port))}",
        ]
        # a secured cluster's routes prove themselves too: no one else joins as a node
        route_auth = security.route_password if security is not None else ""
        if cluster.routes:
            lines.append("  routes: [")
            lines += [f"    {_quote(_route_url(route, route_auth))}" for route in cluster.routes]
            lines.append("  ]")
        if route_auth:
            user, password = _quote(ROUTE_USER), _quote(route_auth)
            lines.append(f"  authorization {{ user: {user}, password: {password} }}")
        route_tls = security.route_tls_block() if security is not None else None
        if route_tls is not None:  # routes verify both ends with the same CA
            lines.append(f"  tls: {json.dumps(route_tls)}")
        lines.append("}")
    lines += list(config.extra)
    return "\n".join(lines) + "\n"


def _route_url(route: str, password: str) -> str:
    """``route`` with the cluster's route credentials (none when ``password`` is empty)."""
    scheme, _, rest = route.partition("://")
    if not password or "@" in rest:
        return route
    return f"{scheme}://{ROUTE_USER}:{password}@{rest}"


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _duration(seconds: float) -> str:
    return _quote(f"{round(seconds * 1000)}ms")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _check_host(name: str, host: str) -> None:
    if not host or any(ch.isspace() or ch in "\"'/" for ch in host):
        raise ConfigError(f"{name}: {host!r} is not a host name or IP address")


def _check_port(name: str, port: int) -> None:
    if port != -1 and not 1 <= port <= 65535:
        raise ConfigError(f"{name}: {port} must be 1..65535, or -1 to let the server pick one")


def _check_positive(name: str, value: int) -> None:
    if value <= 0:
        raise ConfigError(f"{name}: {value} must be a positive number")


def _check_limit(name: str, value: int) -> None:
    if value == 0 or value < -1:
        raise ConfigError(f"{name}: {value} must be a positive number, or -1 for unlimited")


def _check_name(name: str, value: str) -> None:
    if not _NAME.match(value):
        raise ConfigError(f"{name}: {value!r} must be letters, digits, '_' or '-'")


def for_topology(topology: Topology, **overrides: object) -> ServerConfig:
    """A server configuration that can hold ``topology``: its max_payload and its limits.

    ERRATA 7: ``max_payload`` covers the largest ``max_msg_size`` plus headers; ERRATA 8: each
    resource limit goes where nats-server has it. ``overrides`` set any other field.
    """
    limits = topology.limits
    values: dict[str, Any] = {
        "max_payload": topology.max_payload,
        **limits.server_options(),
        **limits.jetstream_options(),
        **limits.account_jetstream_options(),
    }
    values.update(overrides)
    return ServerConfig(**values)


def resolve_topology(topology: Topology | str | Path | None = None) -> Topology:
    """``topology`` itself, the one loaded from a YAML file, or ours (None)."""
    from simulator.protocol import topology as topo

    if topology is None:
        return topo.default_topology()
    if isinstance(topology, (str, Path)):
        return topo.load(topology)
    return topology
