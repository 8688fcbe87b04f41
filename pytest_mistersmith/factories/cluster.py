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
from pytest_mistersmith.factories.server import serve

# Imported by the plugin at start-up: the simulator loads when a fixture runs.
if TYPE_CHECKING:
    from simulator.protocol.topology import Topology
    from simulator.servers import ClusterBackend, LogLevel, NatsCluster

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
) -> NatsCluster:
    """Start a cluster, wait for its health and apply ``topology`` at its replicas (R3 on 3)."""
    __tracebackhide__ = True
    from simulator.protocol import topology as topo
    from simulator.servers import find_nats_server, for_topology
    from simulator.servers.cluster import NatsCluster

    # a cluster is never external: --nats-backend external still gets binary clusters
    chosen: ClusterBackend = "docker" if pick(backend, cfg.backend) == "docker" else "binary"
    if isinstance(topology, (str, Path)):
        topology = topo.load(topology)
    resolved = topology or topo.default_topology()
    config = for_topology(resolved, log_level=pick(log_level, cfg.log_level), **(overrides or {}))
    binary = None
    if chosen == "binary":
        explicit = server_bin if server_bin is not NOT_GIVEN else None
        binary = find_nats_server(explicit, cfg.server_bin, os.environ)
    cluster = NatsCluster(
        nodes,
        config,
        backend=chosen,
        binary=binary,
        image=pick(image, cfg.image),
        keep_data=pick(keep_data, cfg.keep_data),
        start_timeout=start_timeout,
    ).start()
    if apply_topology:
        try:
            cluster.apply_topology(resolved)
        except BaseException:
            cluster.stop()
            raise
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
    (ERRATA 2). The cluster is stopped after the scope.
    """

    @pytest.fixture(scope=scope)
    def nats_cluster_fixture(request: pytest.FixtureRequest) -> Iterator[NatsCluster]:
        __tracebackhide__ = True
        cluster = start_cluster(
            request.config.stash[CONFIG_KEY],
            nodes,
            backend=backend,
            server_bin=server_bin,
            image=image,
            keep_data=keep_data,
            log_level=log_level,
            topology=topology,
            overrides=overrides,
            apply_topology=apply_topology,
            start_timeout=start_timeout,
        )
        yield from serve(request, cluster)

    return nats_cluster_fixture
