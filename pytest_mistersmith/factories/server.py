"""The server fixture factory: a nats-server of the configured backend, for a scope."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

import pytest

from pytest_mistersmith.config import (
    CONFIG_KEY,
    NOT_GIVEN,
    Backend,
    MisterSmithConfig,
    NotGiven,
    Scope,
    pick,
)

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from typing import TypeAlias

    from simulator.protocol.topology import Topology
    from simulator.servers import (
        BinaryLookup,
        BinaryServer,
        DockerServer,
        ExternalServer,
        LogLevel,
        NatsServer,
    )
    from simulator.servers.security import Security

    #: What ``nats_server_factory``'s fixtures give: a server of one of the three backends.
    Server: TypeAlias = BinaryServer | DockerServer | ExternalServer


class StartOptions(TypedDict):
    """The keywords of :func:`simulator.servers.start` a factory's choices decide."""

    binary: BinaryLookup
    image: str | None
    log_level: LogLevel
    overrides: Mapping[str, object] | None
    keep_data: bool


__all__ = [
    "READY_KEY",
    "SERVERS_KEY",
    "USED_KEY",
    "Given",
    "StartOptions",
    "before_stop",
    "binary_for",
    "binary_lookup",
    "mark_used",
    "nats_server_factory",
    "serve",
    "session_security",
    "start_server",
]

S = TypeVar("S", bound="NatsServer")

#: Every server the factories started in this session.
SERVERS_KEY = pytest.StashKey["list[NatsServer]"]()
#: On a test item: the servers its fixtures used (for its failure report).
USED_KEY = pytest.StashKey["list[NatsServer]"]()
#: When each started server (by id) was ready: its log before that is its start-up.
READY_KEY = pytest.StashKey[dict[int, float]]()
#: The node of the scope of the fixture serving each started server (by id).
_SCOPE_NODES = pytest.StashKey[dict[int, pytest.Item | pytest.Collector]]()
#: Where this session looks for nats-server (the environment read once).
_LOOKUP_KEY = pytest.StashKey["BinaryLookup"]()


def binary_lookup(config: pytest.Config) -> BinaryLookup:
    """Where this session looks for nats-server: read once, the binary found once."""
    from simulator.servers import BinaryLookup

    if _LOOKUP_KEY not in config.stash:
        configured = config.stash[CONFIG_KEY].server_bin
        config.stash[_LOOKUP_KEY] = BinaryLookup.read(configured=configured)
    return config.stash[_LOOKUP_KEY]


def binary_for(
    cfg: MisterSmithConfig,
    lookup: BinaryLookup | None,
    server_bin: str | os.PathLike[str] | NotGiven | None = NOT_GIVEN,
) -> BinaryLookup:
    """A factory's lookup: the session's (else one read now), with its ``server_bin`` first."""
    from simulator.servers import BinaryLookup

    if lookup is None:
        lookup = BinaryLookup.read(configured=cfg.server_bin)
    if server_bin is NOT_GIVEN:
        return lookup
    return dataclasses.replace(lookup, explicit=None if server_bin is None else str(server_bin))


def mark_used(request: pytest.FixtureRequest, server: NatsServer) -> None:
    """Record that the test being set up uses ``server`` (a function-scoped fixture's call)."""
    if isinstance(request.node, pytest.Item):
        used = request.node.stash.setdefault(USED_KEY, [])
        if server not in used:
            used.append(server)


@dataclasses.dataclass(frozen=True)
class Given:
    """What a server or cluster factory was given; NOT_GIVEN takes the session's option."""

    backend: Backend | NotGiven = NOT_GIVEN
    server_bin: str | os.PathLike[str] | NotGiven | None = NOT_GIVEN
    image: str | NotGiven | None = NOT_GIVEN
    keep_data: bool | NotGiven = NOT_GIVEN
    log_level: LogLevel | NotGiven = NOT_GIVEN
    topology: Topology | str | Path | None = None
    overrides: Mapping[str, object] | None = None

    def start_options(self, cfg: MisterSmithConfig, lookup: BinaryLookup | None) -> StartOptions:
        """The keywords of :func:`simulator.servers.start` these choices and ``cfg`` make."""
        return {
            "binary": binary_for(cfg, lookup, self.server_bin),
            "image": pick(self.image, cfg.image),
            "log_level": pick(self.log_level, cfg.log_level),
            "overrides": self.overrides,
            "keep_data": pick(self.keep_data, cfg.keep_data),
        }


def start_server(
    cfg: MisterSmithConfig,
    *,
    backend: Backend | NotGiven = NOT_GIVEN,
    server_bin: str | os.PathLike[str] | NotGiven | None = NOT_GIVEN,
    url: str | NotGiven | None = NOT_GIVEN,
    keep_data: bool | NotGiven = NOT_GIVEN,
    log_level: LogLevel | NotGiven = NOT_GIVEN,
    topology: Topology | str | Path | None = None,
    overrides: Mapping[str, object] | None = None,
    image: str | NotGiven | None = NOT_GIVEN,
    lookup: BinaryLookup | None = None,
) -> Server:
    """Start (or, for an external server, wait for) a server; arguments override ``cfg``.

    ``lookup`` is the session's (see :func:`binary_lookup`); without it, one is read now.
    """
    __tracebackhide__ = True
    given = Given(backend, server_bin, image, keep_data, log_level, topology, overrides)
    return _start_server(cfg, given, url, lookup)


def _start_server(
    cfg: MisterSmithConfig,
    given: Given,
    url: str | NotGiven | None,
    lookup: BinaryLookup | None,
) -> Server:
    __tracebackhide__ = True
    from simulator.servers import BinaryServer, DockerServer, ExternalServer, start

    backend = given.backend
    if backend is NOT_GIVEN:
        backend = "external" if url is not NOT_GIVEN and url else cfg.backend
    server = start(
        backend,
        given.topology,
        url=pick(url, cfg.url),
        security=session_security(cfg) if backend != "external" else None,
        **given.start_options(cfg, lookup),
    ).server
    assert isinstance(server, (BinaryServer, DockerServer, ExternalServer))
    return server


def session_security(cfg: MisterSmithConfig) -> Security | None:
    """The session's security profile (--nats-auth, --nats-tls), or None when open."""
    if (cfg.auth, cfg.tls) == ("none", "off"):
        return None
    from simulator.servers.security import Security

    return Security(cfg.auth, cfg.tls)  # type: ignore[arg-type]  # validated by get_config


def nats_server_factory(
    *,
    backend: Backend | NotGiven = NOT_GIVEN,
    server_bin: str | os.PathLike[str] | NotGiven | None = NOT_GIVEN,
    url: str | NotGiven | None = NOT_GIVEN,
    keep_data: bool | NotGiven = NOT_GIVEN,
    log_level: LogLevel | NotGiven = NOT_GIVEN,
    topology: Topology | str | Path | None = None,
    overrides: Mapping[str, object] | None = None,
    image: str | NotGiven | None = NOT_GIVEN,
    scope: Scope = "session",
) -> Callable[..., Iterator[Server]]:
    """A fixture of a nats-server; each argument given here beats the CLI flag and ini key.

    ``topology`` sizes the server (max_payload, limits; ours by default); ``overrides`` sets
    any other :class:`~simulator.servers.ServerConfig` field. The server is stopped (its temp
    dir removed unless ``keep_data``) after the scope; an external one is never stopped.
    """

    given = Given(backend, server_bin, image, keep_data, log_level, topology, overrides)

    @pytest.fixture(scope=scope)
    def nats_server_fixture(request: pytest.FixtureRequest) -> Iterator[Server]:
        __tracebackhide__ = True
        config = request.config
        server = _start_server(config.stash[CONFIG_KEY], given, url, binary_lookup(config))
        yield from serve(request, server)

    return nats_server_fixture


def serve(request: pytest.FixtureRequest, handle: S) -> Iterator[S]:
    """Yield a started server or cluster from its fixture; stop it at the fixture's teardown."""
    started = request.config.stash.setdefault(SERVERS_KEY, [])
    scopes = request.config.stash.setdefault(_SCOPE_NODES, {})
    started.append(handle)
    request.config.stash.setdefault(READY_KEY, {})[id(handle)] = time.time()
    scopes[id(handle)] = request.node  # the node of the fixture's scope (session, module...)
    try:
        yield handle
    finally:
        started.remove(handle)
        del scopes[id(handle)]
        request.config.stash[READY_KEY].pop(id(handle), None)
        handle.stop()


def before_stop(config: pytest.Config, server: NatsServer, close: Callable[[], None]) -> None:
    """Call ``close`` before the fixture that serves ``server`` stops it (else at exit).

    ``close`` becomes a finalizer of the node of the server fixture's scope, added after the
    fixture's own teardown; pytest runs a node's finalizers last in, first out, so ``close``
    (a janitor's, say, which holds a connection to the server) runs first.
    """
    node = config.stash.get(_SCOPE_NODES, {}).get(id(server))
    if node is None:
        config.add_cleanup(close)
    else:
        node.addfinalizer(close)
