"""The server fixture factory: a nats-server of the configured backend, for a scope."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

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
        BinaryServer,
        DockerServer,
        ExternalServer,
        LogLevel,
        NatsServer,
    )

    #: What ``nats_server_factory``'s fixtures give: a server of one of the three backends.
    Server: TypeAlias = BinaryServer | DockerServer | ExternalServer

__all__ = [
    "SERVERS_KEY",
    "USED_KEY",
    "before_stop",
    "mark_used",
    "nats_server_factory",
    "serve",
    "start_server",
]

S = TypeVar("S", bound="NatsServer")

#: Every server the factories started in this session.
SERVERS_KEY = pytest.StashKey["list[NatsServer]"]()
#: On a test item: the servers its fixtures used (for its failure report).
USED_KEY = pytest.StashKey["list[NatsServer]"]()
#: The node of the scope of the fixture serving each started server (by id).
_SCOPE_NODES = pytest.StashKey[dict[int, pytest.Item | pytest.Collector]]()


def mark_used(request: pytest.FixtureRequest, server: NatsServer) -> None:
    """Record that the test being set up uses ``server`` (a function-scoped fixture's call)."""
    if isinstance(request.node, pytest.Item):
        used = request.node.stash.setdefault(USED_KEY, [])
        if server not in used:
            used.append(server)


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
) -> Server:
    """Start (or, for an external server, wait for) a server; arguments override ``cfg``."""
    __tracebackhide__ = True
    from simulator.protocol import topology as topo
    from simulator.servers import BinaryServer, ExternalServer, find_nats_server, for_topology

    if backend is NOT_GIVEN:
        backend = "external" if url is not NOT_GIVEN and url else cfg.backend
    address = pick(url, cfg.url)
    if backend == "external":
        if not address:
            raise pytest.UsageError("the external backend needs a URL: --nats-url or url=...")
        return ExternalServer(address).start()
    if isinstance(topology, (str, Path)):
        topology = topo.load(topology)
    config = for_topology(
        topology or topo.default_topology(),
        log_level=pick(log_level, cfg.log_level),
        **(overrides or {}),
    )
    if backend == "docker":
        from simulator.servers import DockerServer

        return DockerServer(config, image=pick(image, cfg.image)).start()
    binary = find_nats_server(
        server_bin if server_bin is not NOT_GIVEN else None, cfg.server_bin, os.environ
    )
    return BinaryServer(config, binary=binary, keep_data=pick(keep_data, cfg.keep_data)).start()


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

    @pytest.fixture(scope=scope)
    def nats_server_fixture(request: pytest.FixtureRequest) -> Iterator[Server]:
        __tracebackhide__ = True
        server = start_server(
            request.config.stash[CONFIG_KEY],
            backend=backend,
            server_bin=server_bin,
            url=url,
            keep_data=keep_data,
            log_level=log_level,
            topology=topology,
            overrides=overrides,
            image=image,
        )
        yield from serve(request, server)

    return nats_server_fixture


def serve(request: pytest.FixtureRequest, handle: S) -> Iterator[S]:
    """Yield a started server or cluster from its fixture; stop it at the fixture's teardown."""
    started = request.config.stash.setdefault(SERVERS_KEY, [])
    scopes = request.config.stash.setdefault(_SCOPE_NODES, {})
    started.append(handle)
    scopes[id(handle)] = request.node  # the node of the fixture's scope (session, module...)
    try:
        yield handle
    finally:
        started.remove(handle)
        del scopes[id(handle)]
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
