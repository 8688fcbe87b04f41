"""The cluster fixture factory: N routed nodes with the topology applied at its replicas."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

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
from pytest_mistersmith.factories.server import Given, binary_lookup, serve, session_security

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from simulator.protocol.topology import Topology
    from simulator.servers import BinaryLookup, LogLevel, NatsCluster

__all__ = ["nats_cluster_factory", "start_cluster"]


def start_cluster(
    cfg: MisterSmithConfig,
    nodes: int = 3,
    *,
    backend: Backend | NotGiven = NOT_GIVEN,
    server_bin: str | os.PathLike[str] | NotGiven | None = NOT_GIVEN,
    image: str | NotGiven | None = NOT_GIVEN,
    keep_data: bool | NotGiven = NOT_GIVEN,
    log_level: LogLevel | NotGiven = NOT_GIVEN,
    topology: Topology | str | Path | None = None,
    overrides: Mapping[str, object] | None = None,
    apply_topology: bool = True,
    start_timeout: float = 60.0,
    lookup: BinaryLookup | None = None,
) -> NatsCluster:
    """Start a cluster, wait for its health and apply ``topology`` at its replicas (R3 on 3).

    ``lookup`` is the session's (see :func:`binary_lookup`); without it, one is read now.
    """
    __tracebackhide__ = True
    given = Given(backend, server_bin, image, keep_data, log_level, topology, overrides)
    return _start_cluster(cfg, nodes, given, apply_topology, start_timeout, lookup)


def _start_cluster(
    cfg: MisterSmithConfig,
    nodes: int,
    given: Given,
    apply_topology: bool,
    start_timeout: float,
    lookup: BinaryLookup | None,
) -> NatsCluster:
    __tracebackhide__ = True
    from simulator.servers import NatsCluster, start
    from simulator.servers.backend import node_backend

    cluster = start(
        "cluster",
        given.topology,
        nodes=nodes,
        nodes_on=node_backend(pick(given.backend, cfg.backend)),
        apply=apply_topology,
        start_timeout=start_timeout,
        security=session_security(cfg),
        **given.start_options(cfg, lookup),
    ).server
    assert isinstance(cluster, NatsCluster)
    return cluster


def nats_cluster_factory(
    nodes: int = 3,
    *,
    backend: Backend | NotGiven = NOT_GIVEN,
    server_bin: str | os.PathLike[str] | NotGiven | None = NOT_GIVEN,
    image: str | NotGiven | None = NOT_GIVEN,
    keep_data: bool | NotGiven = NOT_GIVEN,
    log_level: LogLevel | NotGiven = NOT_GIVEN,
    topology: Topology | str | Path | None = None,
    overrides: Mapping[str, object] | None = None,
    apply_topology: bool = True,
    start_timeout: float = 60.0,
    scope: Scope = "session",
) -> Callable[..., Iterator[NatsCluster]]:
    """A fixture of a :class:`~simulator.servers.NatsCluster` of ``nodes`` nodes.

    ``backend`` is binary or docker (default: ``--nats-backend``; external means binary here).
    The topology (ours by default) is applied at the spec's replicas, clamped to ``nodes``
    (ERRATA 2). The fixture returns once a first publish to a stored subject through any node
    is acknowledged (see :mod:`simulator.servers.cluster`'s ``_cluster`` for how that is
    checked). The cluster is stopped after the scope.
    """

    given = Given(backend, server_bin, image, keep_data, log_level, topology, overrides)

    @pytest.fixture(scope=scope)
    def nats_cluster_fixture(request: pytest.FixtureRequest) -> Iterator[NatsCluster]:
        __tracebackhide__ = True
        cfg, lookup = request.config.stash[CONFIG_KEY], binary_lookup(request.config)
        cluster = _start_cluster(cfg, nodes, given, apply_topology, start_timeout, lookup)
        yield from serve(request, cluster)

    return nats_cluster_fixture
