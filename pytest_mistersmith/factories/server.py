"""The server fixture factory: a nats-server of the configured backend, for a scope."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_mistersmith.config import CONFIG_KEY, NOT_GIVEN, MisterSmithConfig, pick

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from simulator.protocol.topology import Topology
    from simulator.servers import BinaryLookup, BinaryServer, DockerServer, ExternalServer

__all__ = [
    "SERVERS_KEY",
    "USED_KEY",
    "binary_for",
    "binary_lookup",
    "mark_used",
    "nats_server_factory",
    "serve",
    "start_server",
]

Scope = Any  # pytest's private _ScopeName literal

#: Every server the factories started in this session.
SERVERS_KEY = pytest.StashKey[list[Any]]()
#: On a test item: the servers its fixtures used (for its failure report).
USED_KEY = pytest.StashKey[list[Any]]()
#: Where this session looks for nats-server (the environment read once).
_LOOKUP_KEY = pytest.StashKey[Any]()


def binary_lookup(config: pytest.Config) -> BinaryLookup:
    """Where this session looks for nats-server: read once, the binary found once."""
    from simulator.servers import BinaryLookup

    if _LOOKUP_KEY not in config.stash:
        configured = config.stash[CONFIG_KEY].server_bin
        config.stash[_LOOKUP_KEY] = BinaryLookup.read(configured=configured)
    lookup: BinaryLookup = config.stash[_LOOKUP_KEY]
    return lookup


def binary_for(
    cfg: MisterSmithConfig, lookup: BinaryLookup | None, server_bin: Any = NOT_GIVEN
) -> BinaryLookup:
    """A factory's lookup: the session's (else one read now), with its ``server_bin`` first."""
    from simulator.servers import BinaryLookup

    if lookup is None:
        lookup = BinaryLookup.read(configured=cfg.server_bin)
    if server_bin is NOT_GIVEN:
        return lookup
    return dataclasses.replace(lookup, explicit=None if server_bin is None else str(server_bin))


def mark_used(request: pytest.FixtureRequest, server: Any) -> None:
    """Record that the test being set up uses ``server`` (a function-scoped fixture's call)."""
    if isinstance(request.node, pytest.Item):
        used = request.node.stash.setdefault(USED_KEY, [])
        if server not in used:
            used.append(server)


def start_server(
    cfg: MisterSmithConfig,
    *,
    backend: Any = NOT_GIVEN,
    server_bin: Any = NOT_GIVEN,
    url: Any = NOT_GIVEN,
    keep_data: Any = NOT_GIVEN,
    log_level: Any = NOT_GIVEN,
    topology: Topology | str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    image: Any = NOT_GIVEN,
    lookup: BinaryLookup | None = None,
) -> BinaryServer | DockerServer | ExternalServer:
    """Start (or, for an external server, wait for) a server; arguments override ``cfg``.

    ``lookup`` is the session's (see :func:`binary_lookup`); without it, one is read now.
    """
    __tracebackhide__ = True
    from simulator.servers import BinaryServer, DockerServer, ExternalServer, start

    if backend is NOT_GIVEN:
        backend = "external" if url is not NOT_GIVEN and url else cfg.backend
    server = start(
        backend,
        topology,
        binary=binary_for(cfg, lookup, server_bin),
        image=pick(image, cfg.image),
        url=pick(url, cfg.url),
        log_level=pick(log_level, cfg.log_level),
        overrides=overrides,
        keep_data=pick(keep_data, cfg.keep_data),
    ).server
    assert isinstance(server, (BinaryServer, DockerServer, ExternalServer))
    return server


def nats_server_factory(
    *,
    backend: str | Any = NOT_GIVEN,
    server_bin: str | Any = NOT_GIVEN,
    url: str | Any = NOT_GIVEN,
    keep_data: bool | Any = NOT_GIVEN,
    log_level: str | Any = NOT_GIVEN,
    topology: Topology | str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    image: str | Any = NOT_GIVEN,
    scope: Scope = "session",
) -> Any:
    """A fixture of a nats-server; each argument given here beats the CLI flag and ini key.

    ``topology`` sizes the server (max_payload, limits; ours by default); ``overrides`` sets
    any other :class:`~simulator.servers.ServerConfig` field. The server is stopped (its temp
    dir removed unless ``keep_data``) after the scope; an external one is never stopped.
    """

    @pytest.fixture(scope=scope)
    def nats_server_fixture(request: pytest.FixtureRequest) -> Iterator[Any]:
        __tracebackhide__ = True
        server = start_server(
            request.config.stash[CONFIG_KEY],
            lookup=binary_lookup(request.config),
            backend=backend,
            server_bin=server_bin,
            url=url,
            keep_data=keep_data,
            log_level=log_level,
            topology=topology,
            overrides=overrides,
            image=image,
        )
        yield from serve(request.config, server)

    return nats_server_fixture


def serve(config: pytest.Config, handle: Any) -> Iterator[Any]:
    """Yield a started server or cluster; then close its janitors and stop it."""
    from pytest_mistersmith.factories.topology import close_janitors

    started = config.stash.setdefault(SERVERS_KEY, [])
    started.append(handle)
    try:
        yield handle
    finally:
        started.remove(handle)
        close_janitors(config, handle)  # before the stop: they hold connections to it
        handle.stop()
